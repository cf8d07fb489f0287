//! Virtualenvs with exactly the packages a requirements file pins: the project's
//! (JupyterLab), the hub's, and the Python tools' the tests run.

use crate::error::{Result, io_error};
use crate::files::once;
use crate::layout::Layout;
use crate::progress::Step;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

/// `python -m pip install -r requirements`, without questions or pip's update notice.
fn pip_install(python: &Path, requirements: &Path) -> Command {
    let mut pip = Command::new(python);
    pip.args([
        "-m",
        "pip",
        "install",
        "--disable-pip-version-check",
        "--no-input",
        "-r",
    ])
    .arg(requirements);
    pip
}

/// What [`ensure_pinned_venv`] says while it works, and the names of its logs
/// (`LOG-venv.log`, `LOG-pip.log`).
pub(crate) struct Announced<'a> {
    pub(crate) title: &'a str,
    pub(crate) typical: &'a str,
    pub(crate) log: &'a str,
}

/// Makes `venv` with `python` and installs `requirements` into it, unless it already
/// holds exactly those; a changed file gets a fresh virtualenv (pip's download cache
/// makes that quick), so nothing of an earlier pin stays behind. The stamp is written
/// last, so a virtualenv without one is from an installation killed midway (Ctrl-C, a
/// closed terminal), perhaps while pip was writing a package: it is built afresh too.
pub(crate) fn ensure_pinned_venv(
    layout: &Layout,
    venv: &Path,
    requirements: &Path,
    python: impl FnOnce() -> Result<PathBuf>,
    announced: Announced,
) -> Result<()> {
    let wanted = fs::read_to_string(requirements).map_err(io_error("read", requirements))?;
    let stamp = venv.join("installed-requirements.txt");
    once(&stamp, &wanted, || {
        let step = Step::start(announced.title, announced.typical);
        if venv.exists() {
            if !stamp.exists() {
                eprintln!(
                    "kernel-setup: {} is from an unfinished installation; starting it afresh",
                    venv.strip_prefix(&layout.root).unwrap_or(venv).display()
                );
            }
            fs::remove_dir_all(venv).map_err(io_error("remove", venv))?;
        }
        let mut create = Command::new(python()?);
        create.args(["-m", "venv"]).arg(venv);
        let logs = layout.logs();
        fs::create_dir_all(&logs).map_err(io_error("create", &logs))?;
        step.run(
            create,
            &logs.join(format!("{}-venv.log", announced.log)),
            Duration::from_secs(300),
        )?;
        step.run(
            pip_install(&venv.join("bin").join("python"), requirements),
            &logs.join(format!("{}-pip.log", announced.log)),
            Duration::from_secs(30 * 60),
        )?;
        step.done();
        Ok(())
    })
}

/// A virtualenv of Python tools in `.local/NAME`, made by `python3` on PATH with
/// exactly the packages pinned in `requirements`: on first use, and afresh whenever
/// that file changes. Returns its folder (the tools are in its `bin`).
pub fn ensure_tool_venv(layout: &Layout, name: &str, requirements: &Path) -> Result<PathBuf> {
    let venv = layout.local().join(name);
    fs::create_dir_all(layout.local()).map_err(io_error("create", &layout.local()))?;
    // Test targets run at once: one of them installs, the others wait for it.
    let lock_path = layout.local().join(format!("{name}.lock"));
    let lock = fs::File::create(&lock_path).map_err(io_error("create", &lock_path))?;
    lock.lock().map_err(io_error("lock", &lock_path))?;
    ensure_pinned_venv(
        layout,
        &venv,
        requirements,
        || Ok(PathBuf::from("python3")),
        Announced {
            title: &format!("installing {} into .local/{name}", requirements.display()),
            typical: "about a minute, once",
            log: name,
        },
    )?;
    Ok(venv)
}
