//! A setup killed midway (Ctrl-C, a closed terminal, a CI job cancelled) must finish
//! on the next run without anyone cleaning up by hand.
//!
//! The test installs into a scratch checkout under `target/` (`KERNEL_SETUP_ROOT`)
//! and kills the whole setup (its process group, as Ctrl-C does) at each long step:
//! while cargo compiles evcxr, while the virtualenv is created, while pip installs
//! packages. A plain re-run must then leave a working JupyterLab and kernel.
//!
//! Building evcxr from nothing takes five to ten minutes, so the scratch checkout
//! starts from a build folder in which everything but the last two crates (evcxr and
//! evcxr_jupyter, about a minute and a half) is compiled: cargo is killed while
//! compiling those. That folder is the tests' own (`target/evcxr-build-seed`, see
//! `Layout::test_build_seed`): moved into the scratch checkout for the run and back
//! afterwards, complete again. Made once, from this checkout's `.local/build` if that
//! holds a finished build, else by running the setup in a checkout of its own. So
//! `.local/build`, which a user may delete, is never needed.

use kernel_setup::{EVCXR_VERSION, Layout, ensure, holds_evcxr_build, poll_until};
use std::fs;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

fn setup_command(root: &Path) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_kernel-setup"));
    command
        .arg("setup")
        .env("KERNEL_SETUP_ROOT", root)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        // A group of its own: killing it reaches pip and python too, as Ctrl-C would.
        .process_group(0);
    command
}

/// Kills `setup` and everything it started as soon as `reached` holds; panics if it
/// ends or `limit` passes first.
fn kill_when(mut setup: Child, what: &str, limit: Duration, mut reached: impl FnMut() -> bool) {
    let outcome = poll_until(limit, Duration::from_millis(20), || {
        if reached() {
            return Some(Ok(()));
        }
        setup.try_wait().ok().flatten().map(Err)
    });
    kill_group(&setup);
    let _ = setup.wait();
    match outcome {
        Some(Ok(())) => {}
        Some(Err(status)) => panic!("setup ended ({status}) before it was {what}"),
        None => panic!("setup was not {what} within {limit:?}"),
    }
}

fn kill_group(setup: &Child) {
    // SAFETY: kill(2) with a negative pid signals the process group made for `setup`.
    unsafe { libc::kill(-(setup.id() as i32), libc::SIGKILL) };
}

fn log_contains(path: &Path, text: &str) -> bool {
    fs::read_to_string(path).is_ok_and(|log| log.contains(text))
}

/// The trial's folders under `target/`: the scratch checkout it installs into, and
/// the seed build folder kept between runs.
struct Trial {
    real: Layout,
    scratch: PathBuf,
    seed: PathBuf,
}

impl Trial {
    fn of(real: Layout) -> Trial {
        Trial {
            scratch: real.root.join("target").join("setup-interrupted"),
            seed: real.test_build_seed(),
            real,
        }
    }

    /// A checkout with this one's setup inputs and the seed as its evcxr build folder,
    /// in which the last two crates are still to be compiled.
    fn scratch_checkout(&self) -> PathBuf {
        let root = self.scratch.clone();
        bare_checkout(&self.real, &root);
        if !holds_evcxr_build(&self.seed) {
            make_seed(&self.real, &self.seed);
        }
        let build = root.join(".local/build");
        fs::rename(&self.seed, &build)
            .expect("move the seed build folder into the scratch checkout");
        let fingerprints = build.join("release/.fingerprint");
        for entry in fs::read_dir(&fingerprints).expect("a release build folder") {
            let entry = entry.unwrap();
            let name = entry.file_name().to_string_lossy().into_owned();
            if name.starts_with("evcxr-") || name.starts_with("evcxr_jupyter-") {
                fs::remove_dir_all(entry.path()).unwrap();
            }
        }
        root
    }

    /// Keeps the scratch checkout's build folder, finished again by the re-run, as the
    /// next run's seed, and removes the rest.
    fn finish(&self) {
        let build = self.scratch.join(".local/build");
        if holds_evcxr_build(&build) {
            fs::rename(&build, &self.seed).expect("keep the build folder as the next seed");
        }
        let _ = fs::remove_dir_all(&self.scratch);
    }
}

/// An empty checkout at `root` that has this one's setup inputs.
fn bare_checkout(real: &Layout, root: &Path) {
    let _ = fs::remove_dir_all(root);
    fs::create_dir_all(root.join("kernel-setup")).unwrap();
    fs::create_dir_all(root.join(".local")).unwrap();
    for input in ["requirements.txt", "evcxr-config"] {
        std::os::unix::fs::symlink(
            real.root.join("kernel-setup").join(input),
            root.join("kernel-setup").join(input),
        )
        .unwrap();
    }
}

/// Makes the seed: a copy of this checkout's `.local/build` when it holds a finished
/// build, else the build folder of a setup run to completion in a checkout of its own.
fn make_seed(real: &Layout, seed: &Path) {
    let _ = fs::remove_dir_all(seed);
    fs::create_dir_all(seed.parent().unwrap()).unwrap();
    let own = real.evcxr_build();
    if holds_evcxr_build(&own) {
        let copied = Command::new("cp")
            .arg("-a")
            .arg(&own)
            .arg(seed)
            .status()
            .is_ok_and(|s| s.success());
        assert!(
            copied,
            "cannot copy {} to {}: free disk space (about 1 GB) and retry",
            own.display(),
            seed.display()
        );
    } else {
        eprintln!(
            "interrupted_setup: {} holds no finished evcxr build; building one for this trial \
             (5-10 min, once; kept in {})",
            own.display(),
            seed.display()
        );
        let root = seed.with_extension("setup");
        bare_checkout(real, &root);
        let built = setup_command(&root).status().is_ok_and(|s| s.success());
        assert!(
            built,
            "the setup that builds the trial's seed failed; see {} (check disk space and network \
             to crates.io, then rerun)",
            root.join(".local/logs/evcxr-build.log").display()
        );
        fs::rename(root.join(".local/build"), seed).unwrap();
        let _ = fs::remove_dir_all(&root);
    }
}

#[test]
fn setup_killed_at_each_step_completes_on_the_next_run() {
    let real = Layout::of_this_checkout();
    ensure(&real).expect("this checkout's own setup");
    let trial = Trial::of(real.clone());
    let root = trial.scratch_checkout();
    let scratch = Layout { root: root.clone() };
    let build_log = root.join(".local/logs/evcxr-build.log");
    let pip_log = root.join(".local/logs/jupyterlab-pip.log");

    let setup = setup_command(&root).spawn().expect("start kernel-setup");
    let mut compiling_since = None;
    kill_when(setup, "compiling evcxr", Duration::from_secs(600), || {
        // A few seconds into the crate, so that rustc is killed mid-work.
        log_contains(&build_log, "Compiling evcxr v")
            && compiling_since.get_or_insert_with(Instant::now).elapsed() > Duration::from_secs(5)
    });
    assert!(
        !scratch.evcxr_jupyter().exists(),
        "evcxr_jupyter was installed although its build was killed"
    );
    // The narrowest window: cargo had put the binary in place but not yet recorded
    // the install when it was killed.
    fs::create_dir_all(scratch.evcxr_jupyter().parent().unwrap()).unwrap();
    fs::copy(real.evcxr_jupyter(), scratch.evcxr_jupyter()).unwrap();

    let setup = setup_command(&root).spawn().expect("start kernel-setup");
    kill_when(
        setup,
        "creating the virtualenv",
        Duration::from_secs(900),
        || scratch.venv().join("bin").exists(),
    );
    let record = fs::read_to_string(root.join(".local/cargo/.crates.toml")).unwrap_or_default();
    assert!(
        record.contains(&format!("evcxr_jupyter {EVCXR_VERSION} ")),
        "the resumed build did not install evcxr_jupyter: {record}"
    );
    let setup = setup_command(&root).spawn().expect("start kernel-setup");
    kill_when(
        setup,
        "installing packages",
        Duration::from_secs(600),
        || log_contains(&pip_log, "Installing collected packages"),
    );
    assert!(
        !scratch.venv().join("installed-requirements.txt").exists(),
        "the killed install was recorded as complete"
    );

    let started = Instant::now();
    let output = setup_command(&root)
        .stderr(Stdio::piped())
        .output()
        .expect("run kernel-setup");
    let report = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "the re-run failed:\n{report}");
    assert!(
        report.contains("starting it afresh"),
        "the re-run should have replaced the half-built virtualenv:\n{report}"
    );
    eprintln!("re-run after the kills took {:?}", started.elapsed());

    let installation = ensure(&scratch).expect("a second re-run finds everything in place");
    let kernels = installation
        .jupyter("kernelspec")
        .arg("list")
        .output()
        .expect("run jupyter kernelspec list");
    let listing = String::from_utf8_lossy(&kernels.stdout);
    assert!(
        kernels.status.success() && listing.contains(&scratch.kernel_dir().display().to_string()),
        "the scratch checkout's kernel is not registered:\n{listing}{}",
        String::from_utf8_lossy(&kernels.stderr)
    );
    let nbconvert = installation
        .jupyter("nbconvert")
        .arg("--version")
        .output()
        .expect("run jupyter nbconvert");
    assert!(
        nbconvert.status.success(),
        "nbconvert does not run after the recovery: {}",
        String::from_utf8_lossy(&nbconvert.stderr)
    );
    trial.finish();
}
