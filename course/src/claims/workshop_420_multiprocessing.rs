//! `solutions/workshop_420_multiprocessing.ipynb`: every check of a task passes, every
//! version estimates π, seeded chunks are reproducible, one task per point loses to one
//! chunk per thread, threads keep the cores busy, and the chart and the timeline are
//! drawn.
//!
//! Like the topic notebook's, the timing claims compare figures of the same run, and
//! the claim that threads run in parallel applies only when its cell had free cores.

use notebook_harness::{Cell, Check, Execution, Notebook, Output, ensure};

pub fn check(run: &Execution) -> Check {
    let nb = &run.notebook;
    crate::exercises::checks_pass(nb)?;
    for label in [
        "Sequential value:",
        "Better sequential value:",
        "Bad parallel value:",
        "Better parallel value:",
    ] {
        let cell = nb.cell(&format!("println!(\"{label}\");"))?;
        let pi = cell.number_after(&format!("{label}\n"))?;
        // Ten million points: a standard error of about 0.0005.
        ensure((pi - std::f64::consts::PI).abs() < 0.005, || {
            cell.describe(&format!("should estimate π within 0.005, not {pi}"))
        })?;
    }
    let bad = median(nb, "let bad = timeit_stats")?;
    let better = median(nb, "println!(\"Better parallel (8 threads):\");")?;
    // A job per point (rayon's `with_max_len(1)`), measured here with 0.9 cores busy
    // elsewhere: 0.41 s against 0.057 s, 7 times slower; a busy machine slows both alike.
    ensure(better * 3.0 < bad, || {
        format!(
            "one chunk per thread (8 threads, median {better} s) should beat one task per point (median {bad} s) at least 3 times"
        )
    })?;
    parallel_speed_up(run)?;
    let chart = nb.cell("speed_up_chart(")?;
    ensure(
        html(chart).contains("<svg") && html(chart).contains("speed-up"),
        || chart.describe("should draw the chart of speed-ups"),
    )?;
    let timeline = nb.cell("Timeline::record(format!(\"10M points in {cores} chunks")?;
    let lanes = timeline.picture()?.number("data-lanes")?;
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get()) as f64;
    ensure(lanes == cores, || {
        timeline.describe(&format!(
            "should show one lane per chunk ({cores}), not {lanes}"
        ))
    })
}

/// The table has a line for each power of two up to twice the cores, and for the
/// cores themselves; every line says how many cores the kernel had, and with the
/// machine's cores free, as many threads as cores keep them busy.
fn parallel_speed_up(run: &Execution) -> Check {
    let cell = run.notebook.cell("let mut thread_counts")?;
    let cores = super::cores_available();
    let text = cell.text();
    let table: Vec<(&str, (f64, f64))> = text
        .lines()
        .filter(|line| line.contains(" threads: median "))
        .filter_map(|line| Some((line, super::cores_busy(line)?)))
        .collect();
    let mut counts: Vec<usize> = (0..)
        .map(|p| 1 << p)
        .take_while(|&n| n <= 2 * cores)
        .chain([cores])
        .collect();
    counts.sort();
    counts.dedup();
    let printed: Vec<usize> = table
        .iter()
        .filter_map(|(line, _)| line.split(' ').next()?.parse().ok())
        .collect();
    ensure(printed == counts, || {
        cell.describe(&format!(
            "should print a line ending in `N of {cores} cores busy` for each of {counts:?} threads, not for {printed:?}"
        ))
    })?;
    let figures: Vec<(f64, f64)> = table.iter().map(|&(_, figures)| figures).collect();
    super::says_how_many_cores_it_had(run, cell, &figures)?;
    let busy = table
        .iter()
        .find(|(line, _)| line.starts_with(&format!("{cores} threads: ")))
        .map(|&(_, (busy, _))| busy)
        .ok_or_else(|| cell.describe(&format!("should print a line for {cores} threads")))?;
    let load = run.load_during(cell);
    if !run.had_free_cores(cell) {
        return Ok(());
    }
    ensure(busy >= 1.5, || {
        cell.describe(&format!(
            "{cores} threads kept {busy} cores busy with {load:.1} kept busy by other processes; expected at least 1.5"
        ))
    })
}

/// The median of the `timeit_stats` summary the cell printed.
fn median(nb: &Notebook, snippet: &str) -> Result<f64, String> {
    nb.cell(snippet)?.number_after("median ")
}

fn html(cell: &Cell) -> String {
    cell.outputs
        .iter()
        .filter_map(|output| match output {
            Output::Data(data) => data
                .iter()
                .find(|(mime, _)| mime == "text/html")
                .map(|(_, html)| html.clone()),
            _ => None,
        })
        .collect()
}
