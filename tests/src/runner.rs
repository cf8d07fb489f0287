//! Runs `jupyter nbconvert --execute` on one notebook, within timeouts, and explains
//! what went wrong when it fails.

use crate::load::LoadMeter;
use crate::notebook::{Notebook, strip_ansi};
use crate::process;
use kernel_setup::Installation;
use std::fmt;
use std::fs;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::thread;
use std::time::{Duration, Instant};

/// Executes notebooks with the project's kernel.
#[derive(Debug, Clone)]
pub struct Runner {
    installation: Installation,
    /// The kernelspec to run notebooks with: `rust`, or `python3` for the original.
    pub kernel: String,
    /// How long one cell may run (nbconvert's `ExecutePreprocessor.timeout`).
    pub cell_timeout: Duration,
    /// How long the kernel may take to start.
    pub startup_timeout: Duration,
    /// How long the whole run may take before nbconvert and the kernel are killed.
    pub notebook_timeout: Duration,
    /// Where executed copies and logs go (never next to the source notebooks).
    pub output_dir: PathBuf,
}

/// A notebook that ran to the end as it should.
#[derive(Debug)]
pub struct Execution {
    /// The executed copy, with outputs.
    pub notebook: Notebook,
    pub wall_time: Duration,
    /// Cores that other processes kept busy on average meanwhile (see [`LoadMeter`]).
    pub other_load: f64,
}

/// Why a notebook did not run as it should, and where.
#[derive(Debug)]
pub struct Failure {
    pub notebook: PathBuf,
    /// Index and first line of the cell at fault, when one is.
    pub cell: Option<(usize, String)>,
    pub message: String,
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

static RUNS: AtomicUsize = AtomicUsize::new(0);

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

    /// Executes `source`, writing the executed copy to `output_dir/name`.
    pub fn execute(&self, source: &Path, name: &Path) -> Result<Execution, Failure> {
        let fail = |cell: Option<&crate::Cell>, message: String| Failure {
            notebook: source.to_owned(),
            cell: cell.map(|c| (c.index, c.first_line().to_owned())),
            message,
        };
        let input = Notebook::load(source).map_err(|e| fail(None, e))?;
        let output = self.output_dir.join(name);
        let output_folder = output.parent().expect("output has a folder").to_owned();
        fs::create_dir_all(&output_folder).map_err(|e| {
            fail(
                None,
                format!("cannot create {}: {e}", output_folder.display()),
            )
        })?;
        let _ = fs::remove_file(&output);
        let log_path = output.with_extension("log");
        let log = fs::File::create(&log_path)
            .map_err(|e| fail(None, format!("cannot create {}: {e}", log_path.display())))?;
        process::reap_orphaned_kernels(&self.output_dir.join("runtime"));
        // A runtime folder of its own identifies this run's kernel among all processes
        // (and, by the test process's id, its orphans should this process be killed).
        let runtime_dir = self.output_dir.join("runtime").join(process::run_folder(
            RUNS.fetch_add(1, Ordering::Relaxed),
            name,
        ));
        fs::create_dir_all(&runtime_dir).map_err(|e| {
            fail(
                None,
                format!("cannot create {}: {e}", runtime_dir.display()),
            )
        })?;

        let mut command = self.installation.jupyter("nbconvert");
        command
            // Errors are judged below on the executed copy, which then holds the
            // kernel's full error text and everything the other cells printed.
            .args(["--to", "notebook", "--execute", "--allow-errors"])
            .arg("--log-level=DEBUG")
            .arg(format!(
                "--ExecutePreprocessor.timeout={}",
                self.cell_timeout.as_secs()
            ))
            .arg(format!(
                "--ExecutePreprocessor.startup_timeout={}",
                self.startup_timeout.as_secs()
            ))
            .arg(format!("--ExecutePreprocessor.kernel_name={}", self.kernel))
            .arg("--output-dir")
            .arg(&output_folder)
            .arg("--output")
            .arg(output.file_name().expect("output has a name"))
            .arg(source)
            .env("JUPYTER_RUNTIME_DIR", &runtime_dir)
            .stdin(Stdio::null())
            .stdout(log.try_clone().map_err(|e| fail(None, e.to_string()))?)
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
                None,
                format!("cannot start jupyter nbconvert ({e}); run `cargo setup`"),
            )
        })?;
        let status = loop {
            match child.try_wait() {
                Ok(Some(status)) => break Some(status),
                Ok(None) if started.elapsed() > self.notebook_timeout => {
                    process::kill_tree(child.id() as i32);
                    let _ = child.wait();
                    break None;
                }
                Ok(None) => thread::sleep(Duration::from_millis(100)),
                Err(e) => return Err(fail(None, format!("waiting for nbconvert: {e}"))),
            }
        };
        let wall_time = started.elapsed();
        let other_load = load.other_load();
        let leftover = process::kill_run(&runtime_dir);
        let _ = fs::remove_dir_all(&runtime_dir);
        let log_text = fs::read_to_string(&log_path).unwrap_or_default();
        let cell_at_fault = last_cell_started(&input, &log_text);

        let Some(status) = status else {
            return Err(fail(
                cell_at_fault,
                format!(
                    "the notebook did not finish within {} s; nbconvert and the kernel were killed",
                    self.notebook_timeout.as_secs()
                ),
            ));
        };
        if !status.success() {
            return Err(fail(
                cell_at_fault,
                format!("{} (log: {})", explain(&log_text), log_path.display()),
            ));
        }
        if leftover > 0 {
            return Err(fail(
                None,
                format!("nbconvert left {leftover} kernel process(es) running; they were killed"),
            ));
        }
        let executed = Notebook::load(&output).map_err(|e| fail(None, e))?;
        for cell in executed.code_cells() {
            let expects_error = cell.tags.iter().any(|t| t == "raises-exception");
            match (expects_error, cell.error(), cell.panic()) {
                (false, Some(error), _) => {
                    return Err(fail(
                        Some(cell),
                        format!("the cell failed:\n{}", strip_ansi(&error).trim()),
                    ));
                }
                (false, None, Some(panic)) => {
                    return Err(fail(Some(cell), format!("a thread panicked:\n{panic}")));
                }
                (true, None, None) if !cell.source.trim().is_empty() => {
                    return Err(fail(
                        Some(cell),
                        "is tagged `raises-exception` but ran without an error".to_owned(),
                    ));
                }
                _ => {}
            }
            // A picture the browser cannot draw is an error a learner would see.
            if let Some(Err(broken)) = cell.pictures().into_iter().find(Result::is_err) {
                return Err(fail(
                    Some(cell),
                    format!("displayed a broken picture: {broken}"),
                ));
            }
        }
        Ok(Execution {
            notebook: executed,
            wall_time,
            other_load,
        })
    }
}

/// The cell nbclient was running last: its debug log has one line for each cell it
/// reaches, whether it executes or skips it.
fn last_cell_started<'a>(notebook: &'a Notebook, log: &str) -> Option<&'a crate::Cell> {
    let reached = log.matches("Executing cell:").count()
        + log.matches("Skipping non-executing cell").count()
        + log.matches("Skipping tagged cell").count();
    reached
        .checked_sub(1)
        .and_then(|index| notebook.cells.get(index))
}

/// The kernel's error text, or what else stopped nbconvert, in a few lines.
fn explain(log: &str) -> String {
    let log = strip_ansi(log);
    if let Some(line) = log
        .lines()
        .rev()
        .find(|l| l.contains("CellTimeoutError") || l.contains("timed out"))
    {
        return format!(
            "the cell did not finish within its timeout ({})",
            line.trim()
        );
    }
    if log.contains("DeadKernelError") || log.contains("Kernel died") {
        return "the kernel died while running the cell (a crash or process exit in the cell's code)".to_owned();
    }
    if log.contains("Kernel didn't respond") || log.contains("RuntimeError: Kernel") {
        return "the kernel did not start in time".to_owned();
    }
    let tail: Vec<&str> = log
        .lines()
        .filter(|l| !l.contains("[D ") && !l.contains("DEBUG"))
        .collect();
    format!(
        "nbconvert failed:\n{}",
        tail[tail.len().saturating_sub(20)..].join("\n")
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_cells_reached_in_the_debug_log() {
        let nb = Notebook::parse(
            Path::new("t.ipynb"),
            r##"{"cells": [{"cell_type": "markdown", "metadata": {}, "source": "# A"},
                          {"cell_type": "code", "metadata": {}, "source": "1", "outputs": []},
                          {"cell_type": "code", "metadata": {}, "source": "2", "outputs": []}],
                "metadata": {}, "nbformat": 4, "nbformat_minor": 5}"##,
        )
        .unwrap();
        let log = "[D] Skipping non-executing cell 0\n[D] Executing cell:\n1\n[D] Executing cell:\n2\nboom";
        assert_eq!(last_cell_started(&nb, log).unwrap().index, 2);
        assert!(last_cell_started(&nb, "nothing yet").is_none());
    }

    #[test]
    fn names_a_timeout_before_other_causes() {
        let log = "[D] Executing cell:\nloop {}\nnbclient.exceptions.CellTimeoutError: A cell timed out while it was being executed, after 30 seconds.\n";
        assert!(explain(log).starts_with("the cell did not finish within its timeout"));
    }
}
