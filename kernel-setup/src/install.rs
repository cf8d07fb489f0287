//! The installation itself: evcxr built into `.local/cargo`, the pinned JupyterLab in
//! `.local/venv`, and the commands that run Jupyter from there.

use crate::error::{Result, SetupError, io_error};
use crate::files::write_lab_overrides;
use crate::kernelspec::ensure_kernelspec;
use crate::layout::Layout;
use crate::progress::Step;
use crate::venv::{Announced, ensure_pinned_venv};
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

/// The evcxr release this course is written and tested against.
pub const EVCXR_VERSION: &str = "0.22.0";

/// A complete installation: the kernel is registered and Jupyter can run it.
#[derive(Debug, Clone)]
pub struct Installation {
    /// The checkout it is installed in.
    pub layout: Layout,
}

impl Installation {
    /// `jupyter <subcommand>` from the project's virtualenv, with the project's kernel
    /// first on Jupyter's search path and Jupyter's state kept under `.local/jupyter`.
    pub fn jupyter(&self, subcommand: &str) -> Command {
        let mut command = self.in_venv("jupyter");
        command.arg(subcommand);
        command
    }

    /// The virtualenv's `python`, in the same environment as [`jupyter`](Self::jupyter)
    /// (the notebook harness runs its nbclient driver with it).
    pub fn python(&self) -> Command {
        self.in_venv("python")
    }

    fn in_venv(&self, program: &str) -> Command {
        let layout = &self.layout;
        let mut command = Command::new(layout.venv_bin().join(program));
        let jupyter_home = layout.local().join("jupyter");
        let path = std::env::var_os("PATH").unwrap_or_default();
        let mut paths = vec![layout.venv_bin()];
        paths.extend(std::env::split_paths(&path));
        command
            .env(
                "PATH",
                std::env::join_paths(paths).expect("PATH entries are valid"),
            )
            .env("VIRTUAL_ENV", layout.venv())
            .env("JUPYTER_PATH", layout.jupyter_path())
            .env("JUPYTER_CONFIG_DIR", jupyter_home.join("config"))
            .env("JUPYTER_DATA_DIR", jupyter_home.join("data"))
            .env("JUPYTER_RUNTIME_DIR", jupyter_home.join("runtime"))
            .env("JUPYTER_PLATFORM_DIRS", "1")
            .env_remove("PYTHONHOME");
        command
    }
}

/// Installs whatever is missing and returns the installation. A second call that
/// finds everything in place only checks files and takes well under a second.
pub fn ensure(layout: &Layout) -> Result<Installation> {
    fs::create_dir_all(layout.logs()).map_err(io_error("create", &layout.logs()))?;
    let lock_path = layout.local().join("setup.lock");
    let lock = fs::File::create(&lock_path).map_err(io_error("create", &lock_path))?;
    if lock.try_lock().is_err() {
        eprintln!("kernel-setup: another setup is running in this checkout; waiting for it...");
        lock.lock().map_err(io_error("lock", &lock_path))?;
    }
    check_prerequisites()?;
    ensure_evcxr(layout)?;
    ensure_venv(layout)?;
    write_lab_overrides(&layout.venv())?;
    ensure_kernelspec(layout)?;
    Ok(Installation {
        layout: layout.clone(),
    })
}

fn check_prerequisites() -> Result<()> {
    let runs = |program: &str, args: &[&str]| {
        Command::new(program)
            .args(args)
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .status()
            .is_ok_and(|s| s.success())
    };
    if !runs("cargo", &["--version"]) {
        return Err(SetupError::new(
            "kernel-setup: `cargo` is not on PATH; install the Rust toolchain (https://rustup.rs) and retry",
        ));
    }
    if !runs("python3", &["-c", "import venv, ensurepip"]) {
        return Err(SetupError::new(
            "kernel-setup: needs `python3` (3.9 or newer) with the venv module; on Debian/Ubuntu: apt-get install python3-venv",
        ));
    }
    Ok(())
}

/// Whether cargo's install record in `root` lists `evcxr_jupyter` at the pinned version.
fn evcxr_installed(layout: &Layout) -> bool {
    let record = fs::read_to_string(layout.cargo_root().join(".crates.toml")).unwrap_or_default();
    layout.evcxr_jupyter().is_file()
        && record.contains(&format!("\"evcxr_jupyter {EVCXR_VERSION} "))
}

/// Whether `folder`, a cargo build folder, holds a finished release build of
/// evcxr_jupyter (a build that copies it resumes with nothing left to compile).
pub fn holds_evcxr_build(folder: &Path) -> bool {
    fs::read_dir(folder.join("release").join(".fingerprint")).is_ok_and(|entries| {
        entries.flatten().any(|entry| {
            entry
                .file_name()
                .to_string_lossy()
                .starts_with("evcxr_jupyter-")
        })
    })
}

fn ensure_evcxr(layout: &Layout) -> Result<()> {
    if evcxr_installed(layout) {
        return Ok(());
    }
    let step = Step::start(
        &format!("building evcxr_jupyter {EVCXR_VERSION} into .local/cargo"),
        "about 10 min on 2 cores, once; an interrupted build resumes",
    );
    // A build directory of our own (not a temporary one) lets an interrupted build
    // resume; cargo installs the binary only once it is complete.
    let mut command = Command::new("cargo");
    command
        .args([
            "install",
            "evcxr_jupyter",
            "--locked",
            "--version",
            EVCXR_VERSION,
            // A run killed after cargo put the binary in place but before it recorded
            // the install leaves a binary cargo would refuse to overwrite.
            "--force",
        ])
        .arg("--root")
        .arg(layout.cargo_root())
        .env("CARGO_TARGET_DIR", layout.evcxr_build())
        .env_remove("RUSTFLAGS");
    step.run(
        command,
        &layout.logs().join("evcxr-build.log"),
        Duration::from_secs(60 * 60),
    )?;
    if !evcxr_installed(layout) {
        return Err(SetupError::new(format!(
            "kernel-setup: cargo install finished but {} is missing; see {}",
            layout.evcxr_jupyter().display(),
            layout.logs().join("evcxr-build.log").display()
        )));
    }
    step.done();
    Ok(())
}

fn ensure_venv(layout: &Layout) -> Result<()> {
    ensure_pinned_venv(
        layout,
        &layout.venv(),
        &layout.requirements(),
        || Ok(PathBuf::from("python3")),
        Announced {
            title: "installing the pinned JupyterLab and nbconvert into .local/venv",
            typical: "about 1 min, once",
            log: "jupyterlab",
        },
    )
}
