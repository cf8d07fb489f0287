//! What a hub needs beyond the project's installation, in order: its state folder,
//! its virtualenv, the proxy, the toolchain and registry, the kernelspec, the git
//! configuration and the seed cache.

use crate::error::{Result, SetupError, io_error};
use crate::files::{write_atomically, write_lab_overrides};
use crate::hub::kernelspec::ensure_hub_kernelspec;
use crate::hub::seed::ensure_seed_cache;
use crate::hub::toolchain::{Toolchain, ensure_cargo_home, ensure_toolchain};
use crate::install::Installation;
use crate::layout::Layout;
use crate::npm::{NpmPackages, ensure_npm_packages};
use crate::permissions::readable_by_all;
use crate::progress::Step;
use crate::venv::{Announced, ensure_pinned_venv};
use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::PathBuf;
use std::process::Command;
use std::time::Duration;

/// Installs what the hub needs on top of `installation`; quick when all is in place.
pub fn ensure_hub(installation: &Installation) -> Result<()> {
    let layout = &installation.layout;
    fs::create_dir_all(layout.hub_state()).map_err(io_error("create", &layout.hub_state()))?;
    fs::set_permissions(layout.hub_state(), fs::Permissions::from_mode(0o700))
        .map_err(io_error("protect", &layout.hub_state()))?;
    ensure_hub_venv(layout)?;
    ensure_proxy(layout)?;
    let toolchain = Toolchain::on_path()?;
    ensure_toolchain(layout, &toolchain)?;
    ensure_cargo_home(layout, &toolchain)?;
    ensure_hub_kernelspec(layout)?;
    ensure_git_config(layout)?;
    ensure_seed_cache(layout, &toolchain)
}

/// The git configuration learners' servers read as the system's: it trusts this
/// checkout, which root owns, so that nbgitpuller may clone it into a learner's home
/// (git refuses repositories of other accounts, and ignores a trust given on the
/// command line or in the environment when it clones from a local path).
fn ensure_git_config(layout: &Layout) -> Result<()> {
    let text = format!(
        "[safe]\n\tdirectory = {}\n\tdirectory = {}\n",
        layout.root.join(".git").display(),
        layout.root.display()
    );
    write_atomically(&layout.hub_git_config(), &text)
}

/// A Python every learner's account can run: the one on PATH if it is outside any
/// private home, else the system's, which apt installs when it is missing (the hub
/// runs as root).
fn shared_python(layout: &Layout) -> Result<PathBuf> {
    if let Some(python) = usable_shared_python() {
        return Ok(python);
    }
    let step = Step::start(
        "installing Debian's python3-venv for the hub's virtualenv",
        "a minute, once",
    );
    let mut apt = Command::new("sh");
    apt.args([
        "-c",
        "apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends python3-venv",
    ]);
    step.run(
        apt,
        &layout.logs().join("apt-python3-venv.log"),
        Duration::from_secs(900),
    )?;
    step.done();
    usable_shared_python().ok_or_else(|| {
        SetupError::new(
            "kernel-setup: the hub needs a python3 (with venv) that every learner's account can run, e.g. /usr/bin/python3: apt-get install python3-venv, then retry",
        )
    })
}

fn usable_shared_python() -> Option<PathBuf> {
    let on_path = Command::new("python3")
        .args(["-c", "import sys; print(sys.executable)"])
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map(|o| PathBuf::from(String::from_utf8_lossy(&o.stdout).trim()));
    [on_path, Some(PathBuf::from("/usr/bin/python3"))]
        .into_iter()
        .flatten()
        .find(|python| {
            fs::canonicalize(python).is_ok_and(|real| readable_by_all(&real).unwrap_or(false))
                && Command::new(python)
                    .args(["-c", "import venv, ensurepip"])
                    .output()
                    .is_ok_and(|o| o.status.success())
        })
}

/// The hub's own virtualenv (`.local/hub/venv`): JupyterLab's pinned stack plus the
/// hub's, on a Python learners' accounts can run (the project's virtualenv may use a
/// Python inside root's home).
fn ensure_hub_venv(layout: &Layout) -> Result<()> {
    ensure_pinned_venv(
        layout,
        &layout.hub_venv(),
        &layout.kernel_setup().join("requirements-hub.txt"),
        || shared_python(layout),
        Announced {
            title: "installing JupyterLab and the pinned JupyterHub, idle culler and nbgitpuller into .local/hub/venv",
            typical: "about 1 min, once",
            log: "hub",
        },
    )?;
    write_lab_overrides(&layout.hub_venv())
}

fn ensure_proxy(layout: &Layout) -> Result<()> {
    ensure_npm_packages(
        layout,
        &NpmPackages {
            from: &layout.hub_files(),
            into: &layout.proxy_dir(),
            title: "installing the pinned configurable-http-proxy into .local/hub/proxy",
            needed_by: "the hub's proxy (configurable-http-proxy)",
            log: "npm-proxy.log",
        },
    )?;
    if !layout.proxy().is_file() {
        return Err(SetupError::new(format!(
            "kernel-setup: the configurable-http-proxy install is missing ({}); remove {} and retry",
            layout.proxy().display(),
            layout.proxy_dir().display()
        )));
    }
    Ok(())
}
