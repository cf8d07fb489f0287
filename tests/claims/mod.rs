//! What each notebook must show when executed, keyed by its path below `notebooks/`.
//!
//! Claims about time compare figures from the same run. Where a claim needs free
//! cores (threads running in parallel), `Execution::other_load` says whether the
//! machine had them.
//!
//! A claim points at a cell by a snippet of its code (`nb.cell("run_tasks(|| server3")`),
//! so an instructor who edits a cell sees which claim to update when it fails.

mod topic_410_concurrency;
mod workshop_410_concurrency;

use notebook_harness::{Check, Execution};

pub fn for_notebook(name: &str) -> Option<fn(&Execution) -> Check> {
    match name {
        "slides/topic_410_concurrency.ipynb" => Some(topic_410_concurrency::check),
        "solutions/workshop_410_concurrency.ipynb" => Some(workshop_410_concurrency::check),
        _ => None,
    }
}
