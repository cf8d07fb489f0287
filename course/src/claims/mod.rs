//! What each notebook must show when executed, keyed by its path below `notebooks/`.
//!
//! Claims about time compare figures from the same run. Where a claim needs free
//! cores (threads running in parallel), `Execution::other_load` says whether the
//! machine had them.
//!
//! A claim points at a cell by a snippet of its code (`nb.cell("run_tasks(|| server3")`),
//! so an instructor who edits a cell sees which claim to update when it fails.

mod topic_120_multiprocessing_part1;
mod topic_130_multiprocessing_part2;
mod topic_140_multiprocessing_part3;
mod topic_150_multiprocessing_part4;
mod topic_210_joblib;
mod topic_410_concurrency;
mod workshop_410_concurrency;
mod workshop_420_multiprocessing;

use notebook_harness::{Check, Execution};

/// Checks the claims of the notebook at `name` (relative to `notebooks/`) on its run.
/// A complete notebook without claims fails: it would otherwise pass whatever it
/// printed.
pub fn check(name: &str, run: &Execution) -> Check {
    let claims: fn(&Execution) -> Check = match name {
        "slides/topic_120_multiprocessing_part1.ipynb" => topic_120_multiprocessing_part1::check,
        "slides/topic_130_multiprocessing_part2.ipynb" => topic_130_multiprocessing_part2::check,
        "slides/topic_140_multiprocessing_part3.ipynb" => topic_140_multiprocessing_part3::check,
        "slides/topic_150_multiprocessing_part4.ipynb" => topic_150_multiprocessing_part4::check,
        "slides/topic_210_joblib.ipynb" => topic_210_joblib::check,
        "slides/topic_410_concurrency.ipynb" => topic_410_concurrency::check,
        "solutions/workshop_410_concurrency.ipynb" => workshop_410_concurrency::check,
        "solutions/workshop_420_multiprocessing.ipynb" => workshop_420_multiprocessing::check,
        _ => {
            return Err(format!(
                "{name} has no claims: add a module to course/src/claims/ that checks what it teaches, and list it in claims::check"
            ));
        }
    };
    claims(run).map_err(|e| format!("{name}: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use notebook_harness::Notebook;
    use std::time::Duration;

    /// A notebook that executes cleanly but teaches nothing checked fails too.
    #[test]
    fn a_notebook_without_claims_fails() {
        let passes = notebook_harness::fixtures().join("passes.ipynb");
        let run = Execution {
            notebook: Notebook::load(&passes).unwrap(),
            wall_time: Duration::ZERO,
            other_load: 0.0,
        };
        let error = check("fixtures/passes.ipynb", &run).unwrap_err();
        assert!(error.contains("has no claims"), "{error}");
    }
}
