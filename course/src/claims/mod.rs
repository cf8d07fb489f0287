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

use notebook_harness::{Cell, Check, Execution, ensure};

/// Checks the claims of the complete notebook at `name` (relative to `notebooks/`, in
/// any language: they share the code) on its run. A complete notebook without claims
/// fails: it would otherwise pass whatever it printed.
pub fn check(name: &str, run: &Execution) -> Check {
    let key = crate::languages::without_language(std::path::Path::new(name));
    let claims: fn(&Execution) -> Check = match key.to_str().unwrap_or_default() {
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

/// The cores the kernel may use: the tests run it on this machine, in this process's
/// control group and with its affinity.
fn cores_available() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}

/// The figures of a line ending in "1.95 of 2 cores busy" (the support crate's timings
/// and the notebooks' own lines): cores busy, and the cores the kernel may use.
fn cores_busy(line: &str) -> Option<(f64, f64)> {
    let rest = line
        .strip_suffix(" cores busy")
        .or_else(|| line.strip_suffix(" core busy"))?;
    let (busy, of) = rest.rsplit_once(" of ")?;
    Some((busy.rsplit(' ').next()?.parse().ok()?, of.parse().ok()?))
}

/// The support crate's note that other programs held a cell's threads back, if it
/// printed one.
fn load_note(cell: &Cell) -> Option<String> {
    cell.text()
        .lines()
        .find(|line| line.starts_with("other programs kept "))
        .map(str::to_owned)
}

/// Below this many cores kept busy by other processes during a cell, the machine was
/// quiet: the support crate's note (from half a core of other work) must not appear.
const QUIET_LOAD: f64 = 0.25;

/// A cell that times threads says how many cores the kernel had ("of 2 cores busy", on
/// every such line), and says that other programs held its threads back only when
/// they did: never with the machine quiet during the cell.
fn says_how_many_cores_it_had(run: &Execution, cell: &Cell, lines: &[(f64, f64)]) -> Check {
    let cores = cores_available() as f64;
    ensure(!lines.is_empty(), || {
        cell.describe("should print lines ending in `N of M cores busy`")
    })?;
    for &(busy, of) in lines {
        ensure(of == cores, || {
            cell.describe(&format!(
                "printed {busy} of {of} cores busy; the kernel may use {cores} cores"
            ))
        })?;
    }
    let load = run.load_during(cell);
    if let Some(note) = load_note(cell) {
        ensure(load >= QUIET_LOAD, || {
            cell.describe(&format!(
                "other processes kept {load:.2} cores busy during this cell, yet it printed `{note}`"
            ))
        })?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use notebook_harness::Notebook;
    use std::time::Duration;

    #[test]
    fn reads_the_cores_busy_figures() {
        assert_eq!(
            cores_busy(
                "concurrent: 5 runs of 2: min 0.1 s, median 0.1 s, max 0.1 s, 1.95 of 2 cores busy"
            ),
            Some((1.95, 2.0))
        );
        assert_eq!(
            cores_busy("4 threads: median 0.0260 s, 0.98 of 1 core busy"),
            Some((0.98, 1.0))
        );
        assert_eq!(cores_busy("speed-up: 1.9x"), None);
        assert_eq!(cores_busy("..., 1.95 cores busy"), None);
    }

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
