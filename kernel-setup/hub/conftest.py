# Makes course_hub importable in its tests from any working folder: pytest puts the
# folder of this file on sys.path, as JupyterHub's config file does for the hub.
