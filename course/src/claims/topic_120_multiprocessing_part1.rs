//! `slides/topic_120_multiprocessing_part1.ipynb`: threads run in the cells' process,
//! each worker in a process of its own, and a worker's crash leaves the cells' process running.

use notebook_harness::{Cell, Check, Execution, ensure};
use std::collections::{BTreeMap, BTreeSet};

pub fn check(run: &Execution) -> Check {
    let nb = &run.notebook;
    let threads = greetings(nb.cell("run_threads();")?)?;
    let kernel: BTreeSet<u32> = threads.values().copied().collect();
    ensure(kernel.len() == 1, || {
        format!("the five threads should share the kernel's PID, not {kernel:?}")
    })?;
    let processes = greetings(nb.cell("run_processes();")?)?;
    let workers: BTreeSet<u32> = processes.values().copied().collect();
    ensure(workers.len() == 5 && workers.is_disjoint(&kernel), || {
        format!(
            "the five workers should each have a PID of their own, not the kernel's {kernel:?}: {workers:?}"
        )
    })?;
    let crash = nb.cell("worker().arg(\"crash\")")?;
    crash.expect_text("The worker ended with signal: 6 (SIGABRT)")?;
    let pid = kernel.first().copied().unwrap_or_default();
    crash.expect_text(&format!(
        "This notebook's cells still run in process {pid}."
    ))
}

/// Task id to PID, from the cell's `Hello, from task N. PID is P.` lines: one for each
/// of the tasks 0 to 4.
fn greetings(cell: &Cell) -> Result<BTreeMap<u32, u32>, String> {
    let mut seen = BTreeMap::new();
    for line in cell.text().lines() {
        let Some(rest) = line.strip_prefix("Hello, from task ") else {
            continue;
        };
        let parsed = rest
            .strip_suffix('.')
            .and_then(|r| r.split_once(". PID is "))
            .and_then(|(task, pid)| Some((task.parse().ok()?, pid.parse().ok()?)));
        let (task, pid) =
            parsed.ok_or_else(|| cell.describe(&format!("printed a torn line `{line}`")))?;
        if seen.insert(task, pid).is_some() {
            return Err(cell.describe(&format!("greeted twice from task {task}")));
        }
    }
    ensure(seen.keys().copied().eq(0..5), || {
        cell.describe("should greet once from each of the tasks 0 to 4")
    })?;
    Ok(seen)
}
