//! The files setup writes itself: whole or not at all, JSON as Jupyter writes it, and
//! the stamps that say an installation step is done.

use crate::error::{Result, io_error};
use std::fs;
use std::path::{Path, PathBuf};

/// Replaces the file at `path` with `text` in one step (a reader never sees half).
pub(crate) fn write_atomically(path: &Path, text: &str) -> Result<()> {
    let tmp = path.with_extension("tmp");
    fs::write(&tmp, text).map_err(io_error("write", &tmp))?;
    fs::rename(&tmp, path).map_err(io_error("write", path))
}

/// A JSON document as Jupyter's own files are written: indented, ending in a newline.
pub(crate) fn pretty_json(value: &serde_json::Value) -> String {
    serde_json::to_string_pretty(value).expect("a JSON value serializes") + "\n"
}

/// Runs `install` unless `stamp` already holds `wanted`; then writes it.
pub(crate) fn once(stamp: &Path, wanted: &str, install: impl FnOnce() -> Result<()>) -> Result<()> {
    if fs::read_to_string(stamp).is_ok_and(|done| done == wanted) {
        return Ok(());
    }
    install()?;
    write_atomically(stamp, wanted)
}

/// JupyterLab's settings overrides of the virtualenv `venv`.
pub(crate) fn lab_overrides_in(venv: &Path) -> PathBuf {
    venv.join("share/jupyter/lab/settings/overrides.json")
}

/// Writes this project's JupyterLab defaults into the virtualenv `venv`'s
/// `overrides.json` (a learner's own settings still win): nothing pops up in front of
/// a class, neither the "get notified about official Jupyter news?" prompt nor update
/// checks; and a RISE slide taller than the screen (a long output) scrolls instead of
/// being cut off.
pub(crate) fn write_lab_overrides(venv: &Path) -> Result<()> {
    let path = lab_overrides_in(venv);
    let wanted = pretty_json(&serde_json::json!({
        "@jupyterlab/apputils-extension:notification": {
            "fetchNews": "false",
            "checkForUpdates": false,
        },
        "jupyterlab-rise:plugin": {
            "scroll": true,
        },
    }));
    if fs::read_to_string(&path).is_ok_and(|current| current == wanted) {
        return Ok(());
    }
    let folder = path.parent().expect("overrides.json has a folder");
    fs::create_dir_all(folder).map_err(io_error("create", folder))?;
    write_atomically(&path, &wanted)
}
