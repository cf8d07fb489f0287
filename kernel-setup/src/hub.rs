//! A class on one machine: JupyterHub (`cargo hub`) with one system account per
//! learner, as The Littlest JupyterHub does it.
//!
//! [`ensure_hub`] adds to an [`Installation`] what a hub needs: the pinned JupyterHub,
//! idle culler, nbgitpuller and first-use authenticator (in the same virtualenv as
//! JupyterLab), the pinned configurable-http-proxy (npm, `.local/hub/proxy`), a Rust
//! toolchain and a crate registry every learner account can read, and the kernelspec
//! learners' servers find. [`Hub::command`] is the `jupyterhub` command for a list of
//! learners, after [`ensure_learner`] made their accounts.

use crate::progress::Step;
use crate::{Installation, Layout, Result, SetupError, io_error, write_atomically};
use std::fs;
use std::io;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

/// Marks the system accounts the hub created (their GECOS field), so that it never
/// takes over an account that was there before.
pub const ACCOUNT_MARK: &str = "concurrency course learner";

/// Where the hub keeps what it installs and its state (database, cookie secret,
/// learners' password hashes), all under `.local/hub`.
impl Layout {
    pub fn hub(&self) -> PathBuf {
        self.local().join("hub")
    }
    fn hub_files(&self) -> PathBuf {
        self.root.join("kernel-setup").join("hub")
    }
    /// The virtualenv the hub and learners' servers run from.
    pub fn hub_venv(&self) -> PathBuf {
        self.hub().join("venv")
    }
    /// The hub's database, cookie secret and password hashes (mode 700).
    pub fn hub_state(&self) -> PathBuf {
        self.hub().join("state")
    }
    fn proxy_dir(&self) -> PathBuf {
        self.hub().join("proxy")
    }
    fn proxy(&self) -> PathBuf {
        self.proxy_dir()
            .join("node_modules/.bin/configurable-http-proxy")
    }
    /// The Rust toolchain learners' kernels run (their own accounts cannot reach a
    /// toolchain inside root's home).
    pub fn hub_toolchain(&self) -> PathBuf {
        self.hub().join("toolchain")
    }
    /// Cargo's home for learners: the registry with every crate the course uses, read
    /// only, and a config that keeps cargo offline.
    pub fn hub_cargo_home(&self) -> PathBuf {
        self.hub().join("cargo-home")
    }
    /// The git configuration of learners' servers (GIT_CONFIG_SYSTEM).
    pub fn hub_git_config(&self) -> PathBuf {
        self.hub().join("gitconfig")
    }
    /// The home the hub compiles its seed cache in (`.cache/evcxr` below it).
    fn hub_seed_home(&self) -> PathBuf {
        self.hub().join("seed-home")
    }
    /// The kernelspec folder of learners' servers.
    pub fn hub_jupyter_path(&self) -> PathBuf {
        self.hub().join("share").join("jupyter")
    }
    /// The Zero to JupyterHub values file, whose limits the local hub also uses.
    pub fn hub_values(&self) -> PathBuf {
        self.hub_files().join("z2jh-values.yaml")
    }
}

/// Installs what the hub needs on top of `installation`; quick when all is in place.
pub fn ensure_hub(installation: &Installation) -> Result<()> {
    let layout = &installation.layout;
    fs::create_dir_all(layout.hub_state()).map_err(io_error("create", &layout.hub_state()))?;
    fs::set_permissions(layout.hub_state(), fs::Permissions::from_mode(0o700))
        .map_err(io_error("protect", &layout.hub_state()))?;
    ensure_hub_venv(layout)?;
    ensure_proxy(layout)?;
    let toolchain = toolchain()?;
    ensure_toolchain(layout, &toolchain)?;
    ensure_cargo_home(layout, &toolchain)?;
    ensure_hub_kernelspec(layout)?;
    ensure_git_config(layout)?;
    ensure_seed_cache(layout, &toolchain)
}

/// The `:dep` lines of the course's complete notebooks, with the support crate's path
/// made absolute: what the seed cache compiles.
fn course_deps(layout: &Layout) -> Result<Vec<String>> {
    let crate_path = layout.root.join("crate");
    let mut deps: Vec<String> = Vec::new();
    for folder in ["slides", "solutions"] {
        let dir = layout.notebooks().join(folder);
        for entry in fs::read_dir(&dir).map_err(io_error("read", &dir))? {
            let path = entry.map_err(io_error("read", &dir))?.path();
            if path.extension().is_none_or(|e| e != "ipynb") {
                continue;
            }
            let text = fs::read_to_string(&path).map_err(io_error("read", &path))?;
            let notebook: serde_json::Value = serde_json::from_str(&text)
                .map_err(|e| SetupError::new(format!("kernel-setup: {}: {e}", path.display())))?;
            let sources = notebook["cells"].as_array().into_iter().flatten().map(
                |cell| match &cell["source"] {
                    serde_json::Value::Array(lines) => {
                        lines.iter().filter_map(|l| l.as_str()).collect::<String>()
                    }
                    other => other.as_str().unwrap_or_default().to_owned(),
                },
            );
            for line in sources.flat_map(|s| s.lines().map(str::to_owned).collect::<Vec<_>>()) {
                let line = line.replace(
                    "\"../../crate\"",
                    &format!("{:?}", crate_path.display().to_string()),
                );
                if line.starts_with(":dep concurrency_helpers") && !deps.contains(&line) {
                    deps.push(line);
                }
            }
        }
    }
    deps.sort();
    Ok(deps)
}

/// A warm evcxr cache every new learner's account starts with. A learner's first
/// `:dep` otherwise compiles the support crate's dependencies at the same moment as
/// everyone else's, on the same cores. Entries are keyed by rustc's arguments; the
/// dependencies' sources (the shared registry), the toolchain and evcxr's settings are
/// the same for every learner, so these entries hit for all of them (the support crate
/// itself, in each learner's copy of the course, is still compiled per learner). The
/// hub makes the seed itself, with the learners' kernelspec, so no learner can put
/// anything into another's cache.
fn ensure_seed_cache(layout: &Layout, (version, _): &(String, PathBuf)) -> Result<()> {
    let deps = course_deps(layout)?;
    let lock = layout.root.join("Cargo.lock");
    let wanted = format!(
        "{}\n{version}\n{}",
        deps.join("\n"),
        fs::read_to_string(&lock).map_err(io_error("read", &lock))?
    );
    let home = layout.hub_seed_home();
    once(&layout.hub().join("seed-cache-inputs.txt"), &wanted, || {
        let step = Step::start(
            "compiling the course's dependencies into the cache new learners start with",
            "about a minute, once",
        );
        if home.exists() {
            fs::remove_dir_all(&home).map_err(io_error("remove", &home))?;
        }
        let tmp = home.join(".cache").join("evcxr-tmp");
        fs::create_dir_all(&tmp).map_err(io_error("create", &tmp))?;
        let cells: Vec<serde_json::Value> = deps
            .iter()
            .map(|dep| {
                serde_json::json!({"cell_type": "code", "metadata": {}, "outputs": [],
                    "execution_count": null, "source": dep})
            })
            .collect();
        let notebook = serde_json::json!({
            "cells": cells, "nbformat": 4, "nbformat_minor": 5,
            "metadata": {"kernelspec": {"name": "rust", "display_name": "Rust", "language": "rust"}},
        });
        let path = home.join("seed.ipynb");
        fs::write(&path, notebook.to_string()).map_err(io_error("write", &path))?;
        let bin = layout.hub_venv().join("bin");
        let mut run = Command::new(bin.join("jupyter"));
        run.args(["nbconvert", "--to", "notebook", "--execute", "--inplace"])
            .arg("--ExecutePreprocessor.timeout=900")
            .arg(&path)
            .env("HOME", &home)
            .env("JUPYTER_PATH", layout.hub_jupyter_path())
            .env("JUPYTER_PLATFORM_DIRS", "1")
            .env("CARGO_HOME", layout.hub_cargo_home())
            .env(
                "PATH",
                format!(
                    "{}:{}:/usr/bin:/bin",
                    layout.hub_toolchain().join("bin").display(),
                    bin.display()
                ),
            );
        step.run(
            run,
            &layout.logs().join("hub-seed-cache.log"),
            Duration::from_secs(1800),
        )?;
        step.done();
        Ok(())
    })
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

/// Runs `install` unless `stamp` already holds `wanted`; then writes it.
fn once(stamp: &Path, wanted: &str, install: impl FnOnce() -> Result<()>) -> Result<()> {
    if fs::read_to_string(stamp).is_ok_and(|done| done == wanted) {
        return Ok(());
    }
    install()?;
    write_atomically(stamp, wanted)
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
    let requirements = layout
        .root
        .join("kernel-setup")
        .join("requirements-hub.txt");
    let wanted = fs::read_to_string(&requirements).map_err(io_error("read", &requirements))?;
    let venv = layout.hub_venv();
    once(&venv.join("installed-requirements.txt"), &wanted, || {
        let step = Step::start(
            "installing JupyterLab and the pinned JupyterHub, idle culler and nbgitpuller into .local/hub/venv",
            "about 1 min, once",
        );
        if venv.exists() {
            fs::remove_dir_all(&venv).map_err(io_error("remove", &venv))?;
        }
        let mut create = Command::new(shared_python(layout)?);
        create.args(["-m", "venv"]).arg(&venv);
        step.run(
            create,
            &layout.logs().join("hub-venv.log"),
            Duration::from_secs(300),
        )?;
        let mut pip = Command::new(venv.join("bin").join("python"));
        pip.args([
            "-m",
            "pip",
            "install",
            "--disable-pip-version-check",
            "--no-input",
            "-r",
        ])
        .arg(&requirements);
        step.run(
            pip,
            &layout.logs().join("pip-hub.log"),
            Duration::from_secs(30 * 60),
        )?;
        step.done();
        Ok(())
    })?;
    let overrides = venv.join("share/jupyter/lab/settings/overrides.json");
    let folder = overrides.parent().expect("overrides.json has a folder");
    fs::create_dir_all(folder).map_err(io_error("create", folder))?;
    write_atomically(&overrides, &crate::lab_overrides())
}

fn ensure_proxy(layout: &Layout) -> Result<()> {
    let lock = layout.hub_files().join("package-lock.json");
    let wanted = fs::read_to_string(&lock).map_err(io_error("read", &lock))?;
    once(
        &layout.proxy_dir().join("installed-package-lock.json"),
        &wanted,
        || {
            let runs = Command::new("npm")
                .arg("--version")
                .output()
                .is_ok_and(|o| o.status.success());
            if !runs {
                return Err(SetupError::new(
                    "kernel-setup: `npm` is not on PATH; the hub's proxy (configurable-http-proxy) needs Node.js 20 or newer: apt-get install nodejs npm, then retry",
                ));
            }
            let step = Step::start(
                "installing the pinned configurable-http-proxy into .local/hub/proxy",
                "a few seconds, once",
            );
            let dir = layout.proxy_dir();
            fs::create_dir_all(&dir).map_err(io_error("create", &dir))?;
            for file in ["package.json", "package-lock.json"] {
                let from = layout.hub_files().join(file);
                fs::copy(&from, dir.join(file)).map_err(io_error("copy", &from))?;
            }
            let mut npm = Command::new("npm");
            npm.args(["ci", "--omit=dev", "--no-audit", "--no-fund"])
                .current_dir(&dir);
            step.run(
                npm,
                &layout.logs().join("npm-proxy.log"),
                Duration::from_secs(10 * 60),
            )?;
            step.done();
            Ok(())
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

/// The output of `rustc -vV` and the sysroot of the toolchain cargo uses here.
fn toolchain() -> Result<(String, PathBuf)> {
    let run = |args: &[&str]| {
        Command::new("rustc")
            .args(args)
            .output()
            .ok()
            .filter(|o| o.status.success())
            .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned())
            .ok_or_else(|| {
                SetupError::new(
                    "kernel-setup: `rustc` does not run; install the Rust toolchain (https://rustup.rs) and retry",
                )
            })
    };
    Ok((run(&["-vV"])?, PathBuf::from(run(&["--print", "sysroot"])?)))
}

/// Learners' accounts need a toolchain they can read. rustup's usually sits in the
/// installing user's home, which others cannot enter: the hub keeps a copy made of
/// hard links (no extra space; a plain copy across file systems).
fn ensure_toolchain(layout: &Layout, (version, sysroot): &(String, PathBuf)) -> Result<()> {
    let target = layout.hub_toolchain();
    once(&layout.hub().join("toolchain-version.txt"), version, || {
        let step = Step::start(
            "linking the Rust toolchain into .local/hub/toolchain for learners' accounts",
            "seconds, once per toolchain",
        );
        if target.exists() {
            fs::remove_dir_all(&target).map_err(io_error("remove", &target))?;
        }
        let linked = Command::new("cp")
            .arg("-al")
            .arg(sysroot)
            .arg(&target)
            .status()
            .is_ok_and(|s| s.success());
        if !linked {
            let _ = fs::remove_dir_all(&target);
            let mut copy = Command::new("cp");
            copy.arg("-a").arg(sysroot).arg(&target);
            step.run(
                copy,
                &layout.logs().join("toolchain-copy.log"),
                Duration::from_secs(600),
            )?;
        }
        step.done();
        Ok(())
    })
}

/// The registry learners' cargo reads: every crate of this workspace's lock fetched
/// once (all features), then used offline. One path for all learners also gives their
/// compiled dependencies one evcxr cache key. It also holds the crates of the
/// toolchain's own `library` workspace: evcxr's rust-analyzer loads std through
/// `cargo metadata` there, and without them it cannot tell any type (every `let` of a
/// value fails with "Couldn't automatically determine type").
fn ensure_cargo_home(layout: &Layout, (version, sysroot): &(String, PathBuf)) -> Result<()> {
    let home = layout.hub_cargo_home();
    let lock = layout.root.join("Cargo.lock");
    let wanted = fs::read_to_string(&lock).map_err(io_error("read", &lock))? + version;
    once(&home.join("fetched-Cargo.lock"), &wanted, || {
        let step = Step::start(
            "fetching the course's crates into .local/hub/cargo-home for learners",
            "seconds, once",
        );
        fs::create_dir_all(&home).map_err(io_error("create", &home))?;
        // The same profile as the project's .cargo/config.toml: evcxr's cache then keeps
        // a learner's compiled support crate between kernel starts.
        let config = home.join("config.toml");
        fs::write(
            &config,
            "[net]\noffline = true\n\n[profile.dev.package.concurrency_helpers]\nincremental = false\n",
        )
        .map_err(io_error("write", &config))?;
        let manifests = [
            layout.root.join("Cargo.toml"),
            sysroot.join("lib/rustlib/src/rust/library/Cargo.toml"),
        ];
        // Without rust-src (no library folder) the kernel has no std to load anyway.
        for manifest in manifests.into_iter().filter(|m| m.is_file()) {
            let mut fetch = Command::new("cargo");
            fetch
                .args(["fetch", "--locked", "--manifest-path"])
                .arg(manifest)
                .env("CARGO_HOME", &home)
                .env("CARGO_NET_OFFLINE", "false")
                // The library workspace uses unstable manifest features.
                .env("RUSTC_BOOTSTRAP", "1");
            step.run(
                fetch,
                &layout.logs().join("cargo-fetch-hub.log"),
                Duration::from_secs(600),
            )?;
        }
        step.done();
        Ok(())
    })
}

/// The project's kernel (the same evcxr binary and evcxr-config) registered for
/// learners: its cache and build folders are in each learner's home. Jupyter
/// replaces `${HOME}` in a kernelspec's environment when it starts a kernel.
fn ensure_hub_kernelspec(layout: &Layout) -> Result<()> {
    let folder = layout.hub_jupyter_path().join("kernels").join("rust");
    fs::create_dir_all(&folder).map_err(io_error("create", &folder))?;
    // evcxr rewrites a kernelspec whose version.txt is not its own; the logos too.
    for entry in
        fs::read_dir(layout.kernel_dir()).map_err(io_error("read", &layout.kernel_dir()))?
    {
        let entry = entry.map_err(io_error("read", &layout.kernel_dir()))?;
        if entry.file_name() != "kernel.json" {
            fs::copy(entry.path(), folder.join(entry.file_name()))
                .map_err(io_error("copy", &entry.path()))?;
        }
    }
    // evcxr writes `[net] offline = false` into each kernel's own cargo config unless
    // told `:offline 1`, which would hide the offline setting of the learners' cargo
    // home: the hub's evcxr-config is the project's plus that line.
    let config = layout.hub().join("evcxr-config");
    fs::create_dir_all(&config).map_err(io_error("create", &config))?;
    for entry in
        fs::read_dir(layout.evcxr_config()).map_err(io_error("read", &layout.evcxr_config()))?
    {
        let entry = entry.map_err(io_error("read", &layout.evcxr_config()))?;
        let mut text = fs::read_to_string(entry.path()).map_err(io_error("read", &entry.path()))?;
        if entry.file_name() == "init.evcxr" {
            text.push_str(":offline 1\n");
        }
        write_atomically(&config.join(entry.file_name()), &text)?;
    }
    // In a class, kernels start as learners arrive, while cells run in step with the
    // instructor. A variable at start-up has rust-analyzer load std then, which the
    // first `let` would otherwise do in step with everyone's (alone, that cell takes
    // 1.0 s instead of 2.4 s, and the kernel 1.5 s longer to start).
    let prelude = fs::read_to_string(layout.evcxr_config().join("prelude.rs")).unwrap_or_default();
    write_atomically(
        &config.join("prelude.rs"),
        &format!("{prelude}let rust_analyzer_warm_up = ();\n"),
    )?;
    let spec = crate::kernel_json(
        layout,
        &[
            ("EVCXR_CONFIG_DIR", config),
            ("XDG_CACHE_HOME", "${HOME}/.cache".into()),
            ("JUPYTER_PATH", layout.hub_jupyter_path()),
            ("TMPDIR", "${HOME}/.cache/evcxr-tmp".into()),
        ],
    );
    write_atomically(&folder.join("kernel.json"), &spec)
}

/// Whether `name` is a learner name the hub accepts: what `useradd` takes, short
/// enough for a system account, and not a name JupyterHub would change.
pub fn check_learner_name(name: &str) -> Result<()> {
    let valid = (1..=32).contains(&name.len())
        && name.starts_with(|c: char| c.is_ascii_lowercase())
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '_');
    if valid {
        Ok(())
    } else {
        Err(SetupError::new(format!(
            "cargo hub: learner name {name:?} is not usable as an account: use lower-case letters, digits, - and _ (at most 32, starting with a letter)"
        )))
    }
}

/// The learner names in a file: one per line; blank lines and `#` comments ignored.
pub fn read_learners(path: &Path) -> Result<Vec<String>> {
    let text = fs::read_to_string(path).map_err(|e| {
        SetupError::new(format!(
            "cargo hub: cannot read the learners file {}: {e}",
            path.display()
        ))
    })?;
    let mut names: Vec<String> = Vec::new();
    for line in text.lines() {
        let name = line.split('#').next().unwrap_or("").trim();
        if name.is_empty() {
            continue;
        }
        check_learner_name(name)?;
        if names.iter().any(|n| n == name) {
            return Err(SetupError::new(format!(
                "cargo hub: learner {name:?} is listed twice in {}",
                path.display()
            )));
        }
        names.push(name.to_owned());
    }
    if names.is_empty() {
        return Err(SetupError::new(format!(
            "cargo hub: {} lists no learners: write one account name per line",
            path.display()
        )));
    }
    Ok(names)
}

/// The system account of learner `name`, created if missing: its home is private
/// (mode 700), so no other learner's kernel can read it. An existing account is used
/// only if the hub created it.
pub fn ensure_learner(layout: &Layout, name: &str) -> Result<()> {
    check_learner_name(name)?;
    match account(name).map(|a| a.comment) {
        Some(mark) if mark == ACCOUNT_MARK => {}
        Some(_) => {
            return Err(SetupError::new(format!(
                "cargo hub: learner {name:?} is already a system account the hub did not create; give the learner another name"
            )));
        }
        None => {
            let output = Command::new("useradd")
                .args([
                    "--create-home",
                    "--shell",
                    "/bin/bash",
                    "--comment",
                    ACCOUNT_MARK,
                ])
                .arg(name)
                .output()
                .map_err(|e| {
                    SetupError::new(format!("cargo hub: cannot run useradd for {name:?}: {e}"))
                })?;
            if !output.status.success() {
                return Err(SetupError::new(format!(
                    "cargo hub: useradd {name:?} failed: {}",
                    String::from_utf8_lossy(&output.stderr).trim()
                )));
            }
        }
    }
    let home = account(name).map(|a| a.home).ok_or_else(|| {
        SetupError::new(format!(
            "cargo hub: account {name:?} has no home folder in /etc/passwd"
        ))
    })?;
    fs::set_permissions(&home, fs::Permissions::from_mode(0o700))
        .map_err(io_error("protect", &home))?;
    seed_cache(layout, name, &home)
}

/// Gives a learner without an evcxr cache a copy of the hub's seed, owned by them.
fn seed_cache(layout: &Layout, name: &str, home: &Path) -> Result<()> {
    let seed = layout.hub_seed_home().join(".cache").join("evcxr");
    let cache = home.join(".cache");
    if !seed.is_dir() || cache.join("evcxr").exists() {
        return Ok(());
    }
    fs::create_dir_all(&cache).map_err(io_error("create", &cache))?;
    fs::set_permissions(&cache, fs::Permissions::from_mode(0o700))
        .map_err(io_error("protect", &cache))?;
    let copied = Command::new("cp").arg("-a").arg(&seed).arg(&cache).status();
    let owned = Command::new("chown")
        .args(["-R", &format!("{name}:")])
        .arg(&cache)
        .status();
    if !(copied.is_ok_and(|s| s.success()) && owned.is_ok_and(|s| s.success())) {
        return Err(SetupError::new(format!(
            "cargo hub: cannot give {name:?} the seed cache ({})",
            cache.display()
        )));
    }
    Ok(())
}

/// A system account, as /etc/passwd has it.
pub struct Account {
    pub uid: u32,
    /// The GECOS field: [`ACCOUNT_MARK`] on the accounts the hub created.
    pub comment: String,
    pub home: PathBuf,
}

/// The system account `name`, if there is one.
pub fn account(name: &str) -> Option<Account> {
    let passwd = fs::read_to_string("/etc/passwd").ok()?;
    let fields: Vec<&str> = passwd
        .lines()
        .find(|line| line.split(':').next() == Some(name))?
        .split(':')
        .collect();
    Some(Account {
        uid: fields.get(2)?.parse().ok()?,
        comment: (*fields.get(4)?).to_owned(),
        home: PathBuf::from(fields.get(5)?),
    })
}

/// Whether this machine and checkout can serve a class at all: the hub runs as root,
/// and learners' accounts must be able to read the checkout.
pub fn can_serve_from(layout: &Layout) -> Result<()> {
    if !crate::running_as_root() {
        return Err(SetupError::new(
            "cargo hub: run it as root (sudo): it creates a system account per learner and starts each learner's server as that account",
        ));
    }
    if !readable_by_all(&layout.root).unwrap_or(false) {
        return Err(SetupError::new(format!(
            "cargo hub: learners' accounts cannot read this checkout ({}); clone the course where every account can read it, e.g. under /opt or /srv",
            layout.root.display()
        )));
    }
    Ok(())
}

/// Whether `path` can be read by any account: every folder above it searchable.
fn readable_by_all(path: &Path) -> io::Result<bool> {
    for folder in path.ancestors() {
        if fs::metadata(folder)?.mode() & 0o001 == 0 {
            return Ok(false);
        }
    }
    Ok(true)
}

/// The settings of one hub.
#[derive(Debug, Clone)]
pub struct Hub {
    pub learners: Vec<String>,
    /// The address learners' browsers use (127.0.0.1 unless told otherwise).
    pub ip: String,
    /// The proxy's public port; the hub's API uses the next one, the proxy's API the one
    /// after.
    pub port: u16,
    /// The git repository nbgitpuller copies into each learner's home.
    pub course_repo: String,
    pub branch: String,
    /// Seconds without activity before a learner's server stops, when not the values
    /// file's `cull.timeout`.
    pub idle_timeout: Option<u64>,
}

impl Hub {
    /// The three ports the hub listens on.
    pub fn ports(&self) -> [u16; 3] {
        [self.port, self.port + 1, self.port + 2]
    }

    /// Checks what would stop the hub from serving its learners, in a line each.
    pub fn check(&self, layout: &Layout) -> Result<()> {
        can_serve_from(layout)?;
        for port in self.ports() {
            let address = if port == self.port {
                self.ip.as_str()
            } else {
                "127.0.0.1"
            };
            if let Err(e) = std::net::TcpListener::bind((address, port)) {
                return Err(SetupError::new(format!(
                    "cargo hub: port {port} on {address} is not free ({e}); the hub needs ports {}-{}: choose others with --port",
                    self.port,
                    self.port + 2
                )));
            }
        }
        Ok(())
    }

    /// The nbgitpuller link every learner's server opens at: the course pulled into
    /// `~/concurrency-course`, then the code-along notebooks.
    pub fn default_url(&self) -> String {
        let query = [
            ("repo", self.course_repo.as_str()),
            ("branch", self.branch.as_str()),
            ("targetpath", "concurrency-course"),
            ("urlpath", "lab/tree/concurrency-course/notebooks/codealong"),
        ];
        let query: Vec<String> = query
            .iter()
            .map(|(key, value)| format!("{key}={}", percent_encode(value)))
            .collect();
        format!("/git-pull?{}", query.join("&"))
    }

    /// `jupyterhub` for this class, to run in the hub's state folder.
    pub fn command(&self, layout: &Layout) -> Command {
        let bin = layout.hub_venv().join("bin");
        let path = std::env::var_os("PATH").unwrap_or_default();
        let paths = std::iter::once(bin.clone()).chain(std::env::split_paths(&path));
        let mut command = Command::new(bin.join("jupyterhub"));
        command
            .env(
                "PATH",
                std::env::join_paths(paths).expect("PATH entries are valid"),
            )
            .env("JUPYTER_PATH", layout.hub_jupyter_path())
            .env("JUPYTER_PLATFORM_DIRS", "1")
            .env_remove("PYTHONHOME")
            .arg("--config")
            .arg(layout.hub_files().join("jupyterhub_config.py"))
            .current_dir(layout.hub_state())
            .env("COURSE_HUB_STATE", layout.hub_state())
            .env("COURSE_HUB_VENV", layout.hub_venv())
            .env("COURSE_HUB_LEARNERS", self.learners.join(","))
            .env("COURSE_HUB_IP", &self.ip)
            .env("COURSE_HUB_PORT", self.port.to_string())
            .env("COURSE_HUB_PROXY", layout.proxy())
            .env("COURSE_HUB_TOOLCHAIN", layout.hub_toolchain())
            .env("COURSE_HUB_CARGO_HOME", layout.hub_cargo_home())
            .env("COURSE_HUB_JUPYTER_PATH", layout.hub_jupyter_path())
            .env("COURSE_HUB_VALUES", layout.hub_values())
            .env("COURSE_HUB_GIT_CONFIG", layout.hub_git_config())
            .env("COURSE_HUB_DEFAULT_URL", self.default_url());
        if let Some(seconds) = self.idle_timeout {
            command.env("COURSE_HUB_IDLE_TIMEOUT", seconds.to_string());
        }
        command
    }
}

fn percent_encode(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn learner_names_that_make_safe_accounts() {
        for good in ["alice", "bob-2", "c_d"] {
            assert!(check_learner_name(good).is_ok(), "{good}");
        }
        for bad in [
            "",
            "Alice",
            "2bob",
            "a b",
            "../x",
            "root:0",
            &"a".repeat(33),
        ] {
            let error = check_learner_name(bad).unwrap_err().to_string();
            assert!(error.starts_with("cargo hub: learner name"), "{error}");
        }
    }

    #[test]
    fn a_learners_file_with_comments_and_its_errors() {
        let dir = std::env::temp_dir().join(format!("learners-{}", std::process::id()));
        fs::create_dir_all(&dir).unwrap();
        let file = dir.join("learners.txt");
        fs::write(&file, "# class of Monday\nalice\n\nbob  # late\n").unwrap();
        assert_eq!(read_learners(&file).unwrap(), ["alice", "bob"]);
        fs::write(&file, "alice\nalice\n").unwrap();
        assert!(
            read_learners(&file)
                .unwrap_err()
                .to_string()
                .contains("listed twice")
        );
        fs::write(&file, "# nobody\n").unwrap();
        assert!(
            read_learners(&file)
                .unwrap_err()
                .to_string()
                .contains("lists no learners")
        );
        fs::remove_dir_all(&dir).unwrap();
        assert!(
            read_learners(&file)
                .unwrap_err()
                .to_string()
                .contains("cannot read")
        );
    }

    #[test]
    fn the_pull_link_encodes_the_repository() {
        let hub = Hub {
            learners: vec!["alice".into()],
            ip: "127.0.0.1".into(),
            port: 8000,
            course_repo: "file:///srv/course x".into(),
            branch: "main".into(),
            idle_timeout: None,
        };
        assert_eq!(
            hub.default_url(),
            "/git-pull?repo=file%3A%2F%2F%2Fsrv%2Fcourse%20x&branch=main&targetpath=concurrency-course&urlpath=lab%2Ftree%2Fconcurrency-course%2Fnotebooks%2Fcodealong"
        );
    }
}
