//! What a run of a notebook ends in: an [`Execution`], or a [`Failure`] of a typed
//! [`FailureKind`] that names the notebook and the cell at fault.

use crate::notebook::{Cell, Notebook};
use std::fmt;
use std::path::{Path, PathBuf};
use std::time::Duration;

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

impl Failure {
    /// A failure of `notebook`, at `cell` when one is at fault, before any cell ran.
    pub(crate) fn new(
        notebook: &Path,
        kind: FailureKind,
        cell: Option<&Cell>,
        message: String,
    ) -> Failure {
        Failure {
            notebook: notebook.to_owned(),
            kind,
            cell: cell.map(|c| (c.index, c.first_line().to_owned())),
            message,
            executed: None,
        }
    }
}
