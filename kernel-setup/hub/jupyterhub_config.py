# JupyterHub for a class, as `cargo hub` starts it: it writes the hub's settings
# (kernel-setup/src/hub/settings.rs) into one JSON file, named in COURSE_HUB_SETTINGS,
# and course_hub.configurer applies them (its tests: kernel-setup/hub/tests).
import os
import sys
from pathlib import Path

# course_hub sits beside this file; JupyterHub also imports the spawner from there.
# The hub runs as root: it leaves no __pycache__ owned by root in the checkout.
sys.path.insert(0, str(Path(__file__).parent))
sys.dont_write_bytecode = True

from course_hub import configurer  # noqa: E402 (after the two lines above)

configurer.apply_config(
    configurer.HubSettings.load(Path(os.environ["COURSE_HUB_SETTINGS"])),
    get_config(),  # type: ignore[name-defined]  # noqa: F821 (JupyterHub's config loader provides it)
)
