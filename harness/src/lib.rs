//! Executes notebooks headlessly on the project's kernel, through a small nbclient
//! driver (`harness/driver/run_notebook.py`) that records how the run ended and each
//! cell's outputs, time and the machine's load as typed JSON, and judges the run from
//! that record: what a lesson claims is the course's to check (the `course` crate), on
//! the [`Execution`].
//!
//! A failure is typed ([`FailureKind`]) and names the notebook, the cell (index and
//! first line) and the kernel's error text; a hung cell or notebook is killed, with its
//! kernel, after its timeout.

pub mod browser;
mod check;
pub mod lab;
mod load;
mod notebook;
mod picture;
pub mod process;
mod runner;

pub use check::{Check, ensure};
pub use load::{BusyLoad, LoadMeter};
pub use notebook::{Cell, CellKind, Notebook, Output};
pub use picture::Picture;
pub use runner::{Execution, Failure, FailureKind, Runner};
use std::path::{Path, PathBuf};

/// The harness's fixture notebooks: small notebooks that pass, or fail in one known way
/// each, for trials of the harness and of the commands that run it.
pub fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures")
}
