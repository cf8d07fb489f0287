//! Executes notebooks headlessly on the project's kernel, through a small nbclient
//! driver (`harness/driver/run_notebook.py`) that records each cell's status, outputs,
//! time and the machine's load as typed JSON, and checks the lessons' claims on them.
//!
//! A failure is typed ([`FailureKind`]) and names the notebook, the cell (index and
//! first line) and the kernel's error text; a hung cell or notebook is killed, with its
//! kernel, after its timeout.

pub mod browser;
pub mod lab;
mod load;
mod notebook;
mod picture;
pub mod process;
mod runner;

pub use load::{BusyLoad, LoadMeter};
pub use notebook::{Cell, CellKind, Notebook, Output};
pub use picture::Picture;
pub use runner::{Execution, Failure, FailureKind, Runner};
use std::path::{Path, PathBuf};

/// The result of checking one claim: `Err` says what was expected and what was found.
pub type Check = Result<(), String>;

/// `Ok` when `ok`, else the message (built only then).
pub fn ensure(ok: bool, message: impl FnOnce() -> String) -> Check {
    if ok { Ok(()) } else { Err(message()) }
}

/// Every notebook below `dir`, sorted, as paths relative to `dir`.
pub fn notebooks_under(dir: &Path) -> Vec<PathBuf> {
    fn walk(dir: &Path, base: &Path, found: &mut Vec<PathBuf>) {
        let Ok(entries) = std::fs::read_dir(dir) else {
            return;
        };
        for entry in entries.flatten() {
            let path = entry.path();
            if path.is_dir() && path.file_name().is_some_and(|n| n != ".ipynb_checkpoints") {
                walk(&path, base, found);
            } else if path.extension().is_some_and(|e| e == "ipynb") {
                found.push(path.strip_prefix(base).expect("below base").to_owned());
            }
        }
    }
    let mut found = Vec::new();
    walk(dir, dir, &mut found);
    found.sort();
    found
}

/// A notebook as committed must carry no outputs or execution counts, so that learners
/// start from a clean page and diffs show only what changed in the lesson.
pub fn check_committed_clean(path: &Path) -> Check {
    let notebook = Notebook::load(path)?;
    if let Some(cell) = notebook
        .cells
        .iter()
        .find(|c| !c.outputs.is_empty() || c.execution_count.is_some())
    {
        return Err(format!(
            "{}: cell {} (`{}`) is committed with outputs or an execution count; clear them (Edit > Clear Outputs of All Cells) and save",
            path.display(),
            cell.index,
            cell.first_line()
        ));
    }
    if notebook.kernel_name.as_deref() != Some("rust") {
        return Err(format!(
            "{}: kernelspec name should be `rust`",
            path.display()
        ));
    }
    Ok(())
}

/// The harness's fixture notebooks: small notebooks that pass, or fail in one known way
/// each, for trials of the harness and of the commands that run it.
pub fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures")
}
