//! Runs one notebook through the harness's nbclient driver (`harness/driver/`), within
//! timeouts, and turns its typed record into an [`Execution`] or a typed [`Failure`].

use crate::load::LoadMeter;
use crate::notebook::{Cell, Notebook, Output};
use crate::process;
use kernel_setup::{Installation, child_within, last_lines};
use serde::Deserialize;
use serde_json::Value;
use std::fmt;
use std::fs;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

/// Executes notebooks with the project's kernel.
#[derive(Debug, Clone)]
pub struct Runner {
    installation: Installation,
    /// The kernelspec to run notebooks with: `rust`, or `python3` for the original.
    pub kernel: String,
    /// How long one cell may run.
    pub cell_timeout: Duration,
    /// How long the kernel may take to start.
    pub startup_timeout: Duration,
    /// How long the whole run may take before the driver and the kernel are killed.
    pub notebook_timeout: Duration,
    /// Where executed copies, records and logs go (never next to the source notebooks).
    pub output_dir: PathBuf,
    /// Restart the kernel when the run reaches this cell, and run the cells above it
    /// again before going on, as an instructor recovers from a restart mid-lecture.
    pub restart_before: Option<usize>,
    /// Wait this long before running each of these cells, as an instructor typing them
    /// live would (`cargo rehearse`).
    pub pause_before: (Duration, Vec<usize>),
}

/// A notebook that ran to the end as it should.
#[derive(Debug)]
pub struct Execution {
    /// The notebook with the outputs, times and loads of its executed cells.
    pub notebook: Notebook,
    pub wall_time: Duration,
    /// Cores that other processes kept busy on average meanwhile (see [`LoadMeter`]);
    /// a cell's own figure, [`Cell::other_load`], is closer to what a claim needs.
    pub other_load: f64,
}

impl Execution {
    /// Cores other processes kept busy while `cell` ran, or over the whole run where
    /// the cell has no figure of its own (the browser test measures only the run).
    pub fn load_during(&self, cell: &Cell) -> f64 {
        cell.other_load.unwrap_or(self.other_load)
    }

    /// Whether `cell` ran with at least 1.5 cores that nothing else used, on a machine
    /// with at least two: only then can threads show that they run in parallel. Only a
    /// cell's own figure tells (the driver records one per cell). A run's average does
    /// not: a build beside a 500 s browser run averaged 0.2 cores, yet took a whole core
    /// for the one second a cell's threads ran, and they showed 1.07 cores busy.
    pub fn had_free_cores(&self, cell: &Cell) -> bool {
        let cores = std::thread::available_parallelism().map_or(1, |n| n.get()) as f64;
        cores >= 2.0 && cell.other_load.is_some_and(|load| cores - load >= 1.5)
    }
}

/// What kind of failure a run ended in: each comes from the driver's record or from a
/// check of the executed cells, never from reading log text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FailureKind {
    /// The notebook file cannot be read or is not nbformat 4.
    Malformed,
    /// The driver could not be started, or crashed without a record.
    Driver,
    /// The kernel did not start, or did not answer within the startup timeout.
    KernelFailedToStart,
    /// A cell not tagged `raises-exception` reported an error (`ename` as the kernel
    /// named it).
    CellError { ename: String },
    /// A cell did not finish within the cell timeout.
    CellTimeout,
    /// The kernel process itself died.
    DeadKernel,
    /// The whole run took longer than the notebook timeout.
    NotebookTimeout,
    /// A thread panicked while a cell ran; the kernel reports such a cell as
    /// successful (`preserve_vars_on_panic`), so only its stderr shows it.
    Panicked,
    /// A cell tagged `raises-exception` does not say which error it expects.
    ExpectedErrorUnnamed,
    /// A cell tagged `raises-exception` ran without the error it names.
    ExpectedErrorMissing,
    /// A cell tagged `raises-exception` failed with another error than it names.
    WrongError,
    /// A cell displayed a picture a browser could not draw.
    BrokenPicture,
    /// The kernel left processes running after the driver had shut it down.
    ProcessesLeft,
}

/// Why a notebook did not run as it should, and where.
#[derive(Debug)]
pub struct Failure {
    pub notebook: PathBuf,
    pub kind: FailureKind,
    /// Index and first line of the cell at fault, when one is.
    pub cell: Option<(usize, String)>,
    pub message: String,
    /// The cells as far as they ran, when the driver got that far.
    pub executed: Option<Box<Notebook>>,
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.notebook.display())?;
        if let Some((index, first_line)) = &self.cell {
            write!(f, ", cell {index} (`{first_line}`)")?;
        }
        write!(f, ": {}", self.message)
    }
}

/// The driver's record of a run (`harness/driver/run_notebook.py` writes it).
#[derive(Debug, Deserialize)]
struct Record {
    outcome: Outcome,
    cells: Vec<CellRecord>,
    /// The cell before which the kernel was restarted, if it was.
    #[serde(default)]
    restarted_before: Option<usize>,
}

#[derive(Debug, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
enum Outcome {
    Starting,
    Running {
        cell: usize,
    },
    Completed,
    KernelFailedToStart {
        message: String,
    },
    CellError {
        cell: usize,
    },
    CellTimeout {
        cell: usize,
        timeout_seconds: u64,
        /// The lock the cell waited for instead of running (see `dependency_cache_lock`
        /// in the driver).
        #[serde(default)]
        waiting_for: Option<String>,
    },
    DeadKernel {
        cell: Option<usize>,
        message: String,
    },
}

#[derive(Debug, Deserialize)]
struct CellRecord {
    index: usize,
    seconds: Option<f64>,
    other_load: Option<f64>,
    outputs: Vec<Value>,
}

static RUNS: AtomicUsize = AtomicUsize::new(0);

/// The driver, beside this crate's sources.
fn driver_script() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("driver/run_notebook.py")
}

impl Runner {
    pub fn new(installation: Installation) -> Runner {
        let output_dir = installation.layout.root.join("target").join("executed");
        Runner {
            installation,
            kernel: "rust".to_owned(),
            cell_timeout: Duration::from_secs(300),
            startup_timeout: Duration::from_secs(180),
            notebook_timeout: Duration::from_secs(30 * 60),
            output_dir,
            restart_before: None,
            pause_before: (Duration::ZERO, Vec::new()),
        }
    }

    /// Kernels this runner started for the notebook it wrote as `name` that are still
    /// running (0 after every run; other notebooks may be running meanwhile).
    pub fn running_kernels(&self, name: &Path) -> usize {
        process::processes_of_runs(&self.output_dir.join("runtime"), |run| {
            process::is_run_of(run, name)
        })
        .len()
    }

    /// Executes `source`, writing the executed copy, the driver's record (`.json`) and
    /// its log (`.log`) as `output_dir/name`.
    pub fn execute(&self, source: &Path, name: &Path) -> Result<Execution, Failure> {
        let fail = |kind: FailureKind, cell: Option<&Cell>, message: String| Failure {
            notebook: source.to_owned(),
            kind,
            cell: cell.map(|c| (c.index, c.first_line().to_owned())),
            message,
            executed: None,
        };
        let input = Notebook::load(source).map_err(|e| fail(FailureKind::Malformed, None, e))?;
        for cell in input.code_cells().filter(|c| c.expects_error()) {
            // A code-along leaves the cell empty for the class to type.
            if cell.expected_error_code().is_none() && !cell.source.trim().is_empty() {
                return Err(fail(
                    FailureKind::ExpectedErrorUnnamed,
                    Some(cell),
                    "is tagged `raises-exception` but names no error code; say in a comment which error it shows, e.g. `// error[E0499]`".to_owned(),
                ));
            }
        }
        let output = self.output_dir.join(name);
        let output_folder = output.parent().expect("output has a folder").to_owned();
        let record_path = output.with_extension("json");
        let log_path = output.with_extension("log");
        let cannot = |what: &str, path: &Path, e: std::io::Error| {
            fail(
                FailureKind::Driver,
                None,
                format!("cannot {what} {}: {e}", path.display()),
            )
        };
        fs::create_dir_all(&output_folder).map_err(|e| cannot("create", &output_folder, e))?;
        for stale in [&output, &record_path] {
            let _ = fs::remove_file(stale);
        }
        let log = fs::File::create(&log_path).map_err(|e| cannot("create", &log_path, e))?;
        process::reap_orphaned_kernels(&self.output_dir.join("runtime"));
        // A runtime folder of its own identifies this run's kernel among all processes
        // (and, by the test process's id, its orphans should this process be killed).
        let runtime_dir = self.output_dir.join("runtime").join(process::run_folder(
            RUNS.fetch_add(1, Ordering::Relaxed),
            name,
        ));
        fs::create_dir_all(&runtime_dir).map_err(|e| cannot("create", &runtime_dir, e))?;

        let mut command = self.installation.python();
        command
            .arg(driver_script())
            .arg(format!("--kernel={}", self.kernel))
            .arg(format!("--cell-timeout={}", self.cell_timeout.as_secs()))
            .arg(format!(
                "--startup-timeout={}",
                self.startup_timeout.as_secs()
            ))
            .args(
                self.restart_before
                    .map(|cell| format!("--restart-before={cell}")),
            )
            .arg(format!("--pause={}", self.pause_before.0.as_secs_f64()))
            .arg(format!(
                "--pause-before={}",
                self.pause_before
                    .1
                    .iter()
                    .map(usize::to_string)
                    .collect::<Vec<_>>()
                    .join(",")
            ))
            .arg(source)
            .arg(&output)
            .arg(&record_path)
            .env("JUPYTER_RUNTIME_DIR", &runtime_dir)
            .stdin(Stdio::null())
            .stdout(log.try_clone().map_err(|e| cannot("open", &log_path, e))?)
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
            fail(
                FailureKind::Driver,
                None,
                format!(
                    "cannot start the notebook driver with the project's Python ({e}); run `cargo setup`"
                ),
            )
        })?;
        let status = child_within(&mut child, self.notebook_timeout, || {}).map_err(|e| {
            fail(
                FailureKind::Driver,
                None,
                format!("waiting for the driver: {e}"),
            )
        })?;
        if status.is_none() {
            process::kill_tree(child.id() as i32);
            let _ = child.wait();
        }
        let wall_time = started.elapsed();
        let other_load = load.other_load();
        let leftover = process::kill_run(&runtime_dir);
        let _ = fs::remove_dir_all(&runtime_dir);

        let record = fs::read_to_string(&record_path)
            .map_err(|e| e.to_string())
            .and_then(|text| serde_json::from_str::<Record>(&text).map_err(|e| e.to_string()));
        let record = match record {
            Ok(record) => record,
            Err(e) => {
                return Err(fail(
                    FailureKind::Driver,
                    None,
                    format!(
                        "the driver left no readable record ({e}); its log ({}) ends:\n{}",
                        log_path.display(),
                        last_lines(&log_path, 20)
                    ),
                ));
            }
        };
        let executed = with_record(input, &record).map_err(|e| {
            fail(
                FailureKind::Driver,
                None,
                format!("the driver's record: {e}"),
            )
        })?;
        let fail_at = |kind: FailureKind, index: Option<usize>, message: String| Failure {
            cell: index
                .and_then(|i| executed.cells.get(i))
                .map(|c| (c.index, c.first_line().to_owned())),
            executed: Some(Box::new(executed.clone())),
            ..fail(kind, None, message)
        };

        if status.is_none() {
            let at = match record.outcome {
                Outcome::Running { cell } => Some(cell),
                _ => None,
            };
            return Err(fail_at(
                FailureKind::NotebookTimeout,
                at,
                format!(
                    "the notebook did not finish within {} s; the driver and the kernel were killed",
                    self.notebook_timeout.as_secs()
                ),
            ));
        }
        match record.outcome {
            Outcome::Completed => {}
            Outcome::KernelFailedToStart { message } => {
                return Err(fail_at(
                    FailureKind::KernelFailedToStart,
                    None,
                    format!("the `{}` kernel did not start: {message}", self.kernel),
                ));
            }
            Outcome::CellError { cell } => {
                // The kernel's error is the cell's error output, as the record holds it.
                let failed = executed.cells.get(cell);
                let ename = failed.and_then(Cell::error_name).unwrap_or_default();
                let text = failed.and_then(Cell::error).unwrap_or_default();
                return Err(fail_at(
                    FailureKind::CellError {
                        ename: ename.to_owned(),
                    },
                    Some(cell),
                    format!("the cell failed:\n{}", text.trim()),
                ));
            }
            Outcome::CellTimeout {
                cell,
                timeout_seconds,
                waiting_for,
            } => {
                let message = match waiting_for {
                    Some(lock) => format!(
                        "the cell did not start within its timeout ({timeout_seconds} s): another kernel's `:dep` cell held {lock}, which runs take turns at"
                    ),
                    None => {
                        format!("the cell did not finish within its timeout ({timeout_seconds} s)")
                    }
                };
                return Err(fail_at(FailureKind::CellTimeout, Some(cell), message));
            }
            Outcome::DeadKernel { cell, message } => {
                return Err(fail_at(
                    FailureKind::DeadKernel,
                    cell,
                    format!("the kernel died while running the cell: {message}"),
                ));
            }
            Outcome::Starting | Outcome::Running { .. } => {
                return Err(fail_at(
                    FailureKind::Driver,
                    None,
                    format!(
                        "the driver ended ({}) before the run did; its log ({}) ends:\n{}",
                        status.map(|s| s.to_string()).unwrap_or_default(),
                        log_path.display(),
                        last_lines(&log_path, 20)
                    ),
                ));
            }
        }
        if record.restarted_before != self.restart_before {
            return Err(fail_at(
                FailureKind::Driver,
                None,
                format!(
                    "the kernel was to be restarted before cell {:?}, but the record says {:?}",
                    self.restart_before, record.restarted_before
                ),
            ));
        }
        if leftover > 0 {
            return Err(fail_at(
                FailureKind::ProcessesLeft,
                None,
                format!("the kernel left {leftover} process(es) running; they were killed"),
            ));
        }
        for cell in executed.code_cells() {
            if let Some((kind, message)) = cell_fault(cell) {
                return Err(fail_at(kind, Some(cell.index), message));
            }
        }
        Ok(Execution {
            notebook: executed,
            wall_time,
            other_load,
        })
    }
}

/// What is wrong with an executed cell that the kernel reported as successful: a
/// panic, an expected error missing or different, a broken picture.
fn cell_fault(cell: &Cell) -> Option<(FailureKind, String)> {
    if let Some(code) = cell.expected_error_code() {
        return match cell.error() {
            Some(error) if error.contains(code) => None,
            Some(error) => Some((
                FailureKind::WrongError,
                format!(
                    "should fail with {code}, but failed with:\n{}",
                    error.trim()
                ),
            )),
            None if cell.source.trim().is_empty() => None,
            None => Some((
                FailureKind::ExpectedErrorMissing,
                format!(
                    "is tagged `raises-exception` ({code}) but ran without an error{}",
                    cell.panic()
                        .map(|p| format!("; it panicked instead:\n{p}"))
                        .unwrap_or_default()
                ),
            )),
        };
    }
    if let Some(panic) = cell.panic() {
        return Some((
            FailureKind::Panicked,
            format!("a thread panicked:\n{panic}"),
        ));
    }
    // A picture the browser cannot draw is an error a learner would see.
    cell.pictures()
        .into_iter()
        .find_map(Result::err)
        .map(|broken| {
            (
                FailureKind::BrokenPicture,
                format!("displayed a broken picture: {broken}"),
            )
        })
}

/// The source notebook with what the driver recorded for each executed cell.
fn with_record(mut notebook: Notebook, record: &Record) -> Result<Notebook, String> {
    for executed in &record.cells {
        let cell = notebook
            .cells
            .get_mut(executed.index)
            .ok_or_else(|| format!("cell {} is not in the notebook", executed.index))?;
        cell.outputs = executed
            .outputs
            .iter()
            .cloned()
            .map(Output::from_json)
            .collect::<Result<_, _>>()
            .map_err(|e| format!("cell {}: {e}", executed.index))?;
        cell.seconds = executed.seconds;
        cell.other_load = executed.other_load;
    }
    Ok(notebook)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn notebook(cells: &str) -> Notebook {
        Notebook::parse(
            Path::new("t.ipynb"),
            &format!(r##"{{"cells": [{cells}], "metadata": {{}}, "nbformat": 4}}"##),
        )
        .unwrap()
    }

    #[test]
    fn reads_every_outcome_of_the_driver() {
        for (json, expected) in [
            (r#"{"kind": "completed"}"#, "Completed"),
            (r#"{"kind": "running", "cell": 3}"#, "Running"),
            (r#"{"kind": "cell_error", "cell": 2}"#, "CellError"),
            (
                r#"{"kind": "cell_timeout", "cell": 1, "timeout_seconds": 30}"#,
                "CellTimeout",
            ),
            (
                r#"{"kind": "dead_kernel", "cell": null, "message": "gone"}"#,
                "DeadKernel",
            ),
            (
                r#"{"kind": "kernel_failed_to_start", "message": "no such file"}"#,
                "KernelFailedToStart",
            ),
        ] {
            let record: Record =
                serde_json::from_str(&format!(r#"{{"outcome": {json}, "cells": []}}"#)).unwrap();
            assert!(
                format!("{:?}", record.outcome).starts_with(expected),
                "{json}"
            );
        }
        let unknown = r#"{"outcome": {"kind": "exploded"}, "cells": []}"#;
        assert!(serde_json::from_str::<Record>(unknown).is_err());
    }

    #[test]
    fn the_record_fills_in_outputs_times_and_load() {
        let nb = notebook(
            r#"{"cell_type": "markdown", "metadata": {}, "source": "Title"},
               {"cell_type": "code", "metadata": {}, "source": "1 + 1", "outputs": [], "execution_count": null}"#,
        );
        let record: Record = serde_json::from_str(
            r#"{"outcome": {"kind": "completed"}, "cells": [{"index": 1, "status": "ok",
                "seconds": 0.5, "other_load": 0.25, "outputs": [
                {"output_type": "execute_result", "execution_count": 1, "metadata": {},
                 "data": {"text/plain": "2"}}]}]}"#,
        )
        .unwrap();
        let executed = with_record(nb, &record).unwrap();
        let cell = &executed.cells[1];
        assert_eq!(cell.number().unwrap(), 2.0);
        assert_eq!((cell.seconds, cell.other_load), (Some(0.5), Some(0.25)));
    }

    #[test]
    fn an_expected_error_must_be_the_one_named() {
        let cell = |source: &str, outputs: &str| {
            notebook(&format!(
                r#"{{"cell_type": "code", "metadata": {{"tags": ["raises-exception"]}},
                    "source": {source:?}, "outputs": [{outputs}], "execution_count": null}}"#
            ))
            .cells
            .remove(0)
        };
        let error = |code: &str| {
            format!(
                r#"{{"output_type": "error", "ename": "Error", "evalue": "x", "traceback": ["error[{code}]: cannot borrow"]}}"#
            )
        };
        let named = "// error[E0499]\nlet x = 1;";
        assert_eq!(cell_fault(&cell(named, &error("E0499"))), None);
        let wrong = cell_fault(&cell(named, &error("E0308"))).unwrap();
        assert_eq!(wrong.0, FailureKind::WrongError);
        let missing = cell_fault(&cell(named, "")).unwrap();
        assert_eq!(missing.0, FailureKind::ExpectedErrorMissing);
        assert_eq!(cell("let x = 1;", "").expected_error_code(), None);
    }
}
