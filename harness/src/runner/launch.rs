//! Starting the driver on one notebook and waiting for it, within the notebook's
//! timeout: what the run left (its record, executed copy and log) is read afterwards.

use super::settings::Runner;
use crate::load::LoadMeter;
use crate::process;
use kernel_setup::child_within;
use std::fs;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{ExitStatus, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

static RUNS: AtomicUsize = AtomicUsize::new(0);

/// The driver, beside this crate's sources.
fn driver_script() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("driver/run_notebook.py")
}

/// Where a run of the notebook written as `name` leaves what it made.
pub(super) struct RunFiles {
    /// The executed copy.
    pub executed: PathBuf,
    /// The driver's record (`.json`).
    pub record: PathBuf,
    /// The driver's and the kernel's output (`.log`).
    pub log: PathBuf,
}

impl RunFiles {
    pub fn new(output_dir: &Path, name: &Path) -> RunFiles {
        let executed = output_dir.join(name);
        RunFiles {
            record: executed.with_extension("json"),
            log: executed.with_extension("log"),
            executed,
        }
    }
}

/// How the driver's process ended.
pub(super) struct Launched {
    /// Its exit status, or `None` when it was killed at the notebook's timeout.
    pub status: Option<ExitStatus>,
    pub wall_time: Duration,
    /// Cores other processes kept busy meanwhile (see [`LoadMeter`]).
    pub other_load: f64,
    /// Processes of the run still running once the driver had ended (killed since).
    pub leftover: usize,
}

/// Runs the driver on `source` with `runner`'s settings, writing `files`; kills it
/// with its kernel at the notebook's timeout. `Err` says why it could not run.
pub(super) fn launch(
    runner: &Runner,
    source: &Path,
    name: &Path,
    files: &RunFiles,
) -> Result<Launched, String> {
    let cannot = |what: &str, path: &Path, e: std::io::Error| {
        format!("cannot {what} {}: {e}", path.display())
    };
    let output_folder = files.executed.parent().expect("output has a folder");
    fs::create_dir_all(output_folder).map_err(|e| cannot("create", output_folder, e))?;
    for stale in [&files.executed, &files.record] {
        let _ = fs::remove_file(stale);
    }
    let log = fs::File::create(&files.log).map_err(|e| cannot("create", &files.log, e))?;
    let runtime_root = runner.output_dir.join("runtime");
    process::reap_orphaned_kernels(&runtime_root);
    // A runtime folder of its own identifies this run's kernel among all processes
    // (and, by the test process's id, its orphans should this process be killed).
    let runtime_dir = runtime_root.join(process::run_folder(
        RUNS.fetch_add(1, Ordering::Relaxed),
        name,
    ));
    fs::create_dir_all(&runtime_dir).map_err(|e| cannot("create", &runtime_dir, e))?;

    let mut command = runner.installation.python();
    command
        .arg(driver_script())
        .arg(format!("--kernel={}", runner.kernel))
        .arg(format!("--cell-timeout={}", runner.cell_timeout.as_secs()))
        .arg(format!(
            "--startup-timeout={}",
            runner.startup_timeout.as_secs()
        ))
        .args(
            runner
                .restart_before
                .map(|cell| format!("--restart-before={cell}")),
        )
        .arg(format!("--pause={}", runner.pause_before.0.as_secs_f64()))
        .arg(format!(
            "--pause-before={}",
            runner
                .pause_before
                .1
                .iter()
                .map(usize::to_string)
                .collect::<Vec<_>>()
                .join(",")
        ))
        .arg(source)
        .arg(&files.executed)
        .arg(&files.record)
        .env("JUPYTER_RUNTIME_DIR", &runtime_dir)
        .stdin(Stdio::null())
        .stdout(log.try_clone().map_err(|e| cannot("open", &files.log, e))?)
        .stderr(log)
        .process_group(0);
    // SAFETY: prctl(2) only changes this child's own attributes; it allocates
    // nothing, as a pre_exec hook must not.
    unsafe {
        // Killed with the thread that waits for it (the test), rather than left
        // running when `cargo test` is interrupted; its orphaned kernel is reaped by
        // the next run (`reap_orphaned_kernels`).
        command.pre_exec(|| {
            libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL);
            Ok(())
        });
    }
    let started = Instant::now();
    let load = LoadMeter::start();
    let mut child = command.spawn().map_err(|e| {
        format!(
            "cannot start the notebook driver with the project's Python ({e}); run `cargo setup`"
        )
    })?;
    let status = child_within(&mut child, runner.notebook_timeout, || {})
        .map_err(|e| format!("waiting for the driver: {e}"))?;
    if status.is_none() {
        process::kill_tree(child.id() as i32);
        let _ = child.wait();
    }
    let wall_time = started.elapsed();
    let other_load = load.other_load();
    let leftover = process::kill_run(&runtime_dir);
    let _ = fs::remove_dir_all(&runtime_dir);
    Ok(Launched {
        status,
        wall_time,
        other_load,
        leftover,
    })
}
