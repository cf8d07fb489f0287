//! A runner's settings: the kernel, the timeouts, where runs go, and the instructor's
//! habits a run can imitate (a restart mid-lecture, pauses to type cells).

use crate::process;
use kernel_setup::Installation;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// Executes notebooks with the project's kernel.
#[derive(Debug, Clone)]
pub struct Runner {
    pub(super) installation: Installation,
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

impl Runner {
    /// How long one cell may run, unless a runner is told otherwise.
    pub const CELL_TIMEOUT: Duration = Duration::from_secs(300);

    pub fn new(installation: Installation) -> Runner {
        let output_dir = installation.layout.root.join("target").join("executed");
        Runner {
            installation,
            kernel: "rust".to_owned(),
            cell_timeout: Runner::CELL_TIMEOUT,
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
}
