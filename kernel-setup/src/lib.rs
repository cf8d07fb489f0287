//! Project-local installation of the Rust Jupyter kernel (evcxr) and of JupyterLab.
//!
//! Everything lives under `.local/` in the repository: the `evcxr_jupyter` binary
//! (`.local/cargo`), its build directory (`.local/build`, so an interrupted build
//! resumes), a virtualenv with the pinned JupyterLab and nbconvert (`.local/venv`), the
//! kernelspec inside that virtualenv, Jupyter's own config/data/runtime folders,
//! evcxr's compiled-dependency cache and the folders where kernels build their cells.
//! Nothing is written to `~/.local/share/jupyter`, `~/.jupyter` or `~/.cargo/bin`.
//!
//! [`ensure`] installs what is missing (idempotently, showing progress) and returns an
//! [`Installation`], whose [`jupyter`](Installation::jupyter) builds `jupyter ...`
//! commands that use this project's kernel even when another `rust` kernel is
//! installed for the user.

mod hub;
mod log;
mod progress;
mod wait;

use std::fmt;
use std::fs;
use std::io;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

pub use hub::{
    ACCOUNT_MARK, Account, Hub, account, can_serve_from, check_learner_name, ensure_hub,
    ensure_learner, read_learners,
};
pub use log::last_lines;
pub use progress::Step;
pub use wait::{child_within, poll_until};

/// The evcxr release this course is written and tested against.
pub const EVCXR_VERSION: &str = "0.22.0";

/// What went wrong during setup, in one line a learner can act on.
#[derive(Debug)]
pub struct SetupError(String);

impl fmt::Display for SetupError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for SetupError {}

impl From<String> for SetupError {
    fn from(message: String) -> Self {
        SetupError(message)
    }
}

impl SetupError {
    fn new(message: impl Into<String>) -> Self {
        SetupError(message.into())
    }
}

fn io_error(what: &str, path: &Path) -> impl FnOnce(io::Error) -> SetupError {
    let context = format!("{what} {}", path.display());
    move |e| SetupError(format!("kernel-setup: cannot {context}: {e}"))
}

pub type Result<T> = std::result::Result<T, SetupError>;

/// The folders of one checkout of the course.
#[derive(Debug, Clone)]
pub struct Layout {
    /// The repository root (holds `notebooks/`).
    pub root: PathBuf,
}

impl Layout {
    /// The checkout this crate was built from.
    pub fn of_this_checkout() -> Self {
        let manifest_dir = Path::new(env!("CARGO_MANIFEST_DIR"));
        Layout {
            root: manifest_dir
                .parent()
                .expect("kernel-setup lives in the repository")
                .to_path_buf(),
        }
    }

    pub fn notebooks(&self) -> PathBuf {
        self.root.join("notebooks")
    }
    fn local(&self) -> PathBuf {
        self.root.join(".local")
    }
    fn cargo_root(&self) -> PathBuf {
        self.local().join("cargo")
    }
    /// The installed kernel binary.
    pub fn evcxr_jupyter(&self) -> PathBuf {
        self.cargo_root().join("bin").join("evcxr_jupyter")
    }
    pub fn venv(&self) -> PathBuf {
        self.local().join("venv")
    }
    fn venv_bin(&self) -> PathBuf {
        self.venv().join("bin")
    }
    /// Where Jupyter finds the project's kernelspecs (put first on `JUPYTER_PATH`).
    pub fn jupyter_path(&self) -> PathBuf {
        self.venv().join("share").join("jupyter")
    }
    /// JupyterLab's settings overrides for every user of this installation.
    pub fn lab_overrides(&self) -> PathBuf {
        self.venv()
            .join("share/jupyter/lab/settings/overrides.json")
    }
    pub fn kernel_dir(&self) -> PathBuf {
        self.jupyter_path().join("kernels").join("rust")
    }
    /// `XDG_CACHE_HOME` of the project's kernels: evcxr keeps its compiled-dependency
    /// cache in `evcxr/` there, and the test harness's runs take turns at it through
    /// `evcxr.lock` beside it.
    pub fn kernel_cache(&self) -> PathBuf {
        self.local().join("cache")
    }
    /// Where kernels build their cells (each in a folder of its own, removed when
    /// the kernel exits).
    pub fn kernel_tmpdir(&self) -> PathBuf {
        self.local().join("evcxr-tmp")
    }
    fn requirements(&self) -> PathBuf {
        self.root.join("kernel-setup").join("requirements.txt")
    }
    fn evcxr_config(&self) -> PathBuf {
        self.root.join("kernel-setup").join("evcxr-config")
    }
    /// Log files of the long installation steps.
    pub fn logs(&self) -> PathBuf {
        self.local().join("logs")
    }
}

/// A complete installation: the kernel is registered and Jupyter can run it.
#[derive(Debug, Clone)]
pub struct Installation {
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

/// Whether this process runs as root (Jupyter refuses root unless told; apt needs it).
pub fn running_as_root() -> bool {
    use std::os::unix::fs::MetadataExt;
    fs::metadata("/proc/self").is_ok_and(|m| m.uid() == 0)
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
    ensure_lab_settings(layout)?;
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
        .env("CARGO_TARGET_DIR", layout.local().join("build"))
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
    let requirements = fs::read_to_string(layout.requirements())
        .map_err(io_error("read", &layout.requirements()))?;
    let stamp = layout.venv().join("installed-requirements.txt");
    if fs::read_to_string(&stamp).is_ok_and(|installed| installed == requirements) {
        return Ok(());
    }
    let step = Step::start(
        "installing the pinned JupyterLab and nbconvert into .local/venv",
        "about 1 min, once",
    );
    // Present from the start of an installation until its stamp is written: found at
    // the start, it means an earlier run was killed midway (Ctrl-C, a closed
    // terminal), perhaps while pip was writing a package, so that virtualenv cannot be
    // trusted and is built afresh (pip's download cache makes that quick).
    let unfinished = layout.local().join("venv-unfinished");
    let python = layout.venv_bin().join("python");
    let pip_works = || {
        Command::new(&python)
            .args(["-m", "pip", "--version"])
            .output()
            .is_ok_and(|o| o.status.success())
    };
    if (unfinished.exists() || !pip_works()) && layout.venv().exists() {
        eprintln!(
            "kernel-setup: .local/venv is from an unfinished installation; starting it afresh"
        );
        fs::remove_dir_all(layout.venv()).map_err(io_error("remove", &layout.venv()))?;
    }
    fs::write(&unfinished, "").map_err(io_error("write", &unfinished))?;
    if !layout.venv().exists() {
        let mut venv = Command::new("python3");
        venv.args(["-m", "venv"]).arg(layout.venv());
        step.run(
            venv,
            &layout.logs().join("venv.log"),
            Duration::from_secs(5 * 60),
        )?;
    }
    let mut pip = Command::new(&python);
    pip.args([
        "-m",
        "pip",
        "install",
        "--disable-pip-version-check",
        "--no-input",
        "-r",
    ])
    .arg(layout.requirements());
    step.run(
        pip,
        &layout.logs().join("pip.log"),
        Duration::from_secs(30 * 60),
    )?;
    fs::write(&stamp, requirements).map_err(io_error("write", &stamp))?;
    fs::remove_file(&unfinished).map_err(io_error("remove", &unfinished))?;
    step.done();
    Ok(())
}

/// JupyterLab's defaults for this project, in the virtualenv's `overrides.json` (a
/// learner's own settings still win): nothing pops up in front of a class, neither the
/// "get notified about official Jupyter news?" prompt nor update checks; and a RISE
/// slide taller than the screen (a long output) scrolls instead of being cut off.
fn lab_overrides() -> String {
    let overrides = serde_json::json!({
        "@jupyterlab/apputils-extension:notification": {
            "fetchNews": "false",
            "checkForUpdates": false,
        },
        "jupyterlab-rise:plugin": {
            "scroll": true,
        },
    });
    pretty_json(&overrides)
}

/// A JSON document as Jupyter's own files are written: indented, ending in a newline.
fn pretty_json(value: &serde_json::Value) -> String {
    serde_json::to_string_pretty(value).expect("a JSON value serializes") + "\n"
}

/// Replaces the file at `path` with `text` in one step (a reader never sees half).
fn write_atomically(path: &Path, text: &str) -> Result<()> {
    let tmp = path.with_extension("tmp");
    fs::write(&tmp, text).map_err(io_error("write", &tmp))?;
    fs::rename(&tmp, path).map_err(io_error("write", path))
}

fn ensure_lab_settings(layout: &Layout) -> Result<()> {
    let path = layout.lab_overrides();
    let wanted = lab_overrides();
    if fs::read_to_string(&path).is_ok_and(|current| current == wanted) {
        return Ok(());
    }
    let folder = path.parent().expect("overrides.json has a folder");
    fs::create_dir_all(folder).map_err(io_error("create", folder))?;
    write_atomically(&path, &wanted)
}

/// The kernelspec, as evcxr's own `--install` writes it, plus the environment that
/// keeps the kernel's configuration, cache and self-update inside the project;
/// `overrides` replace entries of that environment (the hub's learners keep their
/// cache in their own homes).
fn kernel_json(layout: &Layout, overrides: &[(&str, PathBuf)]) -> String {
    let env = [
        ("EVCXR_CONFIG_DIR", layout.evcxr_config()),
        ("XDG_CACHE_HOME", layout.kernel_cache()),
        // evcxr re-installs its kernelspec at start-up when the one in
        // $JUPYTER_PATH/kernels/rust differs from its version: pointing it here keeps
        // it from touching a user's global `rust` kernel.
        ("JUPYTER_PATH", layout.jupyter_path()),
        // evcxr builds each kernel's cells in a fresh folder under $TMPDIR. Inside the
        // project, cargo reads the project's .cargo/config.toml there, whose profile
        // lets evcxr's cache keep the support crate (the warm first `:dep` drops from
        // 2.9 s to 1.7 s).
        ("TMPDIR", layout.kernel_tmpdir()),
    ];
    let env: serde_json::Map<String, serde_json::Value> = env
        .into_iter()
        .chain(overrides.iter().cloned())
        .map(|(key, value)| (key.to_owned(), value.to_string_lossy().into()))
        .collect();
    let spec = serde_json::json!({
        "argv": [layout.evcxr_jupyter().to_string_lossy(), "--control_file", "{connection_file}"],
        "display_name": "Rust",
        "language": "rust",
        "interrupt_mode": "message",
        "env": env,
    });
    pretty_json(&spec)
}

/// Removes the build folders of kernels that are gone. A kernel removes its own when
/// it exits, but not when it is killed (a timeout in the tests, a crash), and each
/// holds a compiled copy of the crate's dependencies. A folder counts as abandoned
/// when no process has a file from it mapped (a kernel's cells are shared objects
/// loaded from there) and it is more than an hour old, so a kernel that is starting
/// or has not yet run a cell keeps its folder.
fn remove_abandoned_kernel_dirs(tmpdir: &Path) {
    let Ok(entries) = fs::read_dir(tmpdir) else {
        return;
    };
    let candidates: Vec<PathBuf> = entries
        .flatten()
        .filter(|entry| {
            entry
                .metadata()
                .and_then(|m| m.modified())
                .is_ok_and(|modified| {
                    modified.elapsed().unwrap_or_default() > Duration::from_secs(3600)
                })
        })
        .map(|entry| entry.path())
        .collect();
    if candidates.is_empty() {
        return;
    }
    let mut mapped = String::new();
    if let Ok(processes) = fs::read_dir("/proc") {
        for process in processes.flatten() {
            if let Ok(maps) = fs::read_to_string(process.path().join("maps")) {
                mapped.push_str(&maps);
            }
        }
    }
    for dir in candidates {
        let prefix = format!("{}/", dir.display());
        if !mapped.contains(&prefix) {
            let _ = fs::remove_dir_all(&dir);
        }
    }
}

fn ensure_kernelspec(layout: &Layout) -> Result<()> {
    let tmpdir = layout.kernel_tmpdir();
    fs::create_dir_all(&tmpdir).map_err(io_error("create", &tmpdir))?;
    remove_abandoned_kernel_dirs(&tmpdir);
    let wanted = kernel_json(layout, &[]);
    let kernel_json_path = layout.kernel_dir().join("kernel.json");
    if fs::read_to_string(&kernel_json_path).is_ok_and(|current| current == wanted)
        && layout.kernel_dir().join("version.txt").is_file()
    {
        return Ok(());
    }
    let step = Step::start("registering the Rust kernel in .local/venv", "a second");
    // evcxr's --install writes the logos and client files next to kernel.json.
    let mut install = Command::new(layout.evcxr_jupyter());
    install
        .arg("--install")
        .env("JUPYTER_PATH", layout.jupyter_path());
    step.run(
        install,
        &layout.logs().join("kernel-install.log"),
        Duration::from_secs(60),
    )?;
    write_atomically(&kernel_json_path, &wanted)?;
    step.done();
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kernel_json_is_valid_and_points_inside_the_project() {
        let layout = Layout {
            root: PathBuf::from("/home/a \"quoted\" dir"),
        };
        let json: serde_json::Value = serde_json::from_str(&kernel_json(&layout, &[])).unwrap();
        assert_eq!(
            json["argv"][0],
            "/home/a \"quoted\" dir/.local/cargo/bin/evcxr_jupyter"
        );
        assert_eq!(
            json["env"]["JUPYTER_PATH"],
            "/home/a \"quoted\" dir/.local/venv/share/jupyter"
        );
        assert_eq!(json["display_name"], "Rust");
    }

    #[test]
    fn only_old_unmapped_kernel_dirs_are_removed() {
        let tmpdir = std::env::temp_dir().join(format!("kernel-dirs-{}", std::process::id()));
        let (old, fresh) = (tmpdir.join(".tmpOld"), tmpdir.join(".tmpFresh"));
        fs::create_dir_all(old.join("target")).unwrap();
        fs::create_dir_all(&fresh).unwrap();
        let two_hours_ago = std::time::SystemTime::now() - Duration::from_secs(7200);
        fs::File::open(&old)
            .and_then(|dir| dir.set_modified(two_hours_ago))
            .unwrap();
        remove_abandoned_kernel_dirs(&tmpdir);
        let (old_left, fresh_left) = (old.exists(), fresh.exists());
        let _ = fs::remove_dir_all(&tmpdir);
        assert!(!old_left, "an abandoned folder was kept");
        assert!(fresh_left, "a new kernel's folder was removed");
    }
}
