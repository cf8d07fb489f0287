//! `cargo bench-notebooks [--python SEED_DIR]`: how fast the notebooks are for a class
//! and for CI, measured here and now. Not part of `cargo test`: it stores nothing and
//! asserts nothing, it prints.
//!
//! For every complete notebook: wall time, the part of it spent outside any cell
//! (starting the driver and the kernel, stopping them), and per-cell latency (median and
//! worst cell, compiling included); for the topic notebook, how close its thread demos
//! come to the machine's limits; for the Monte-Carlo workshop, its figures. With
//! `--python SEED_DIR` (e.g. `../shared/seed`), each notebook's Python original found
//! there is executed the same way, on the line below it, for comparison.
//!
//! Before the notebooks, it prints what this checkout's first launch cost, step by step
//! (the evcxr build, the virtualenv, ...), as setup recorded it in
//! `.local/logs/step-times.tsv`.
//!
//! Then what the kernel itself costs, in a fresh kernel with evcxr's cache emptied
//! (cold) and filled (warm): the first `:dep` of each notebook (they differ in the
//! support crate's features), the first `let` (evcxr's rust-analyzer loads the standard
//! library to infer its type), and the median of cells that only define a function, of
//! statement cells and of cells that end in a value (`1 + 1`), which evcxr compiles
//! twice. No cell can cost less than a function definition, so that median times the
//! topic notebook's cell count is the least the kernel adds to it.

use course::catalog::notebooks_under;
use course::setup;
use course::variants::{TOPICS, executed};
use kernel_setup::{Language, Layout, STEP_TIMES};
use notebook_harness::{Execution, Notebook, Runner};
use serde_json::json;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

fn main() -> ExitCode {
    let mut args = std::env::args().skip(1);
    let mut python = None;
    while let Some(arg) = args.next() {
        match (arg.as_str(), args.next()) {
            ("--python", Some(dir)) if Path::new(&dir).is_dir() => {
                python = Some(PathBuf::from(dir))
            }
            _ => {
                eprintln!(
                    "usage: cargo bench-notebooks [--python SEED_DIR] (the folder of the Python originals, e.g. ../shared/seed)"
                );
                return ExitCode::from(2);
            }
        }
    }
    let layout = Layout::of_this_checkout();
    let Some(installation) = setup::installation_or_report(&layout) else {
        return ExitCode::FAILURE;
    };
    print_setup_times(&layout);
    let mut runner = Runner::new(installation);
    runner.output_dir = layout.root.join("target").join("bench");
    let mut ok = true;
    let mut limits = Vec::new();
    let mut topic_cells = None;

    println!(
        "{:<44} {:>8} {:>9} {:>6} {:>8} {:>8}  worst cell",
        "notebook", "wall s", "outside s", "cells", "median", "worst"
    );
    let mut deps: Vec<(String, String)> = Vec::new();
    for name in notebooks_under(&layout.notebooks())
        .iter()
        .filter_map(|source| executed(source))
    {
        let path = layout.notebooks().join(&name);
        match report(&runner, &path, &name) {
            Some(run) => {
                limits.extend(physical_limits(&run));
                limits.extend(monte_carlo(&run));
                if name == topic_path() {
                    topic_cells = Some(run.notebook.code_cells().count());
                }
                if let Some(dep) = dep_cell(&run.notebook)
                    && !deps.iter().any(|(_, d)| *d == dep)
                {
                    deps.push((name.display().to_string(), dep));
                }
            }
            None => ok = false,
        }
        if let Some(original) = python
            .as_deref()
            .and_then(|seed| python_original(seed, &name))
        {
            runner.kernel = "python3".to_owned();
            let label = Path::new("  python").join(original.file_name().unwrap_or_default());
            // An original that fails here (a package missing) is reported, not fatal.
            report(&runner, &original, &label);
            runner.kernel = "rust".to_owned();
        }
    }
    for line in limits {
        println!("{line}");
    }

    println!();
    let cache = layout.root.join(".local").join("cache").join("evcxr");
    for (notebook, dep) in &deps {
        let dep_notebook = match dep_notebook(&layout, dep, &runner.output_dir) {
            Ok(path) => path,
            Err(e) => {
                eprintln!("{e}");
                return ExitCode::FAILURE;
            }
        };
        println!("the first :dep of {notebook} (and of the notebooks that share it):");
        for (label, empty_cache) in [("cold", true), ("warm", false)] {
            if empty_cache {
                let _ = fs::remove_dir_all(&cache);
            }
            match runner.execute(&dep_notebook, Path::new("dep.ipynb")) {
                Ok(run) => print_kernel_costs(
                    label,
                    &run,
                    topic_cells.filter(|_| !empty_cache && notebook.ends_with(TOPIC)),
                ),
                Err(failure) => {
                    eprintln!("{failure}");
                    ok = false;
                }
            }
        }
    }
    if ok {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}

/// What the first launch cost, step by step, as setup recorded it in this checkout
/// (the latest time of each step; steps may have run side by side).
fn print_setup_times(layout: &Layout) {
    let path = layout.logs().join(STEP_TIMES);
    let Ok(text) = fs::read_to_string(&path) else {
        println!("first launch: no step times recorded in {}", path.display());
        return;
    };
    let mut latest: Vec<(&str, &str)> = Vec::new();
    for (title, seconds) in text.lines().filter_map(|line| line.split_once('\t')) {
        latest.retain(|(t, _)| *t != title);
        latest.push((title, seconds));
    }
    println!(
        "first launch, as this checkout's setup recorded it ({}):",
        path.display()
    );
    for (title, seconds) in latest {
        println!("  {seconds:>5} s  {title}");
    }
    println!();
}

/// Executes one notebook and prints its line of the table.
fn report(runner: &Runner, path: &Path, name: &Path) -> Option<Execution> {
    match runner.execute(path, name) {
        Ok(run) => {
            print_line(&name.display().to_string(), &run);
            Some(run)
        }
        Err(failure) => {
            eprintln!("{failure}");
            None
        }
    }
}

/// How close the thread demos come to what the machine allows: 100 requests on
/// threads against the longest single request (from the timeline picture), and the
/// speed-up of the computation against the core count.
fn physical_limits(run: &Execution) -> Vec<String> {
    let mut lines = Vec::new();
    let picture = run
        .notebook
        .cell("Timeline::record(\"100 requests on 100 threads\"")
        .and_then(|cell| cell.picture());
    if let Ok(picture) = picture
        && let Ok(total) = picture.number("data-duration-ms")
    {
        // Each bar's tooltip reads "request: START–END ms".
        let longest = picture
            .titles
            .iter()
            .filter_map(|title| {
                let (start, end) = title.strip_prefix("request: ")?.split_once('–')?;
                let end = end.strip_suffix(" ms")?;
                Some(end.parse::<f64>().ok()? - start.parse::<f64>().ok()?)
            })
            .fold(0.0, f64::max);
        lines.push(format!(
            "100 requests on threads: {total:.1} ms, longest single request {longest:.1} ms: {:.3}x (target <= 1.1x)",
            total / longest
        ));
    }
    if let Ok(cell) = run.notebook.cell("speed-up")
        && let (Ok(cores), Ok(speed_up)) = (
            cell.number_after("cores: "),
            cell.number_after("speed-up: "),
        )
    {
        lines.push(format!(
            "computation on {cores} threads: {speed_up:.2}x faster = {:.2} x cores (target >= 0.9)",
            speed_up / cores
        ));
    }
    lines
}

fn print_line(label: &str, run: &Execution) {
    let timed: Vec<(f64, &str, usize)> = run
        .notebook
        .code_cells()
        .filter_map(|c| Some((c.seconds?, c.first_line(), c.index)))
        .collect();
    let seconds: Vec<f64> = timed.iter().map(|t| t.0).collect();
    let worst = timed.iter().max_by(|a, b| a.0.total_cmp(&b.0));
    let wall = run.wall_time.as_secs_f64();
    println!(
        "{label:<44} {wall:>8.1} {:>9.1} {:>6} {:>8.2} {:>8.2}  {}",
        wall - seconds.iter().sum::<f64>(),
        timed.len(),
        median(&seconds),
        worst.map_or(f64::NAN, |w| w.0),
        worst.map_or(String::new(), |w| format!("{}: {}", w.2, w.1)),
    );
}

fn median(values: &[f64]) -> f64 {
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    match sorted.len() {
        0 => f64::NAN,
        n if n % 2 == 1 => sorted[n / 2],
        n => (sorted[n / 2 - 1] + sorted[n / 2]) / 2.0,
    }
}

/// The kernel's costs from one run of [`dep_notebook`]: one line, cells by position.
fn print_kernel_costs(label: &str, run: &Execution, topic_cells: Option<usize>) {
    let cells: Vec<f64> = run
        .notebook
        .code_cells()
        .map(|c| c.seconds.unwrap_or(f64::NAN))
        .collect();
    let at = |i: usize| cells.get(i).copied().unwrap_or(f64::NAN);
    let medians: Vec<f64> = cells
        .get(2..)
        .unwrap_or(&[])
        .chunks(REPEATS)
        .map(median)
        .collect();
    let kinds: Vec<String> = CELL_KINDS
        .iter()
        .zip(&medians)
        .map(|((kind, _), seconds)| format!("{kind} {seconds:.2} s"))
        .collect();
    println!(
        "{label} cache: first :dep {:.2} s, first `let` {:.2} s; median of {REPEATS} cells: {}",
        at(0),
        at(1),
        kinds.join(", ")
    );
    // The first kind is the cheapest cell evcxr has.
    if let (Some(count), Some(least)) = (topic_cells, medians.first()) {
        println!(
            "least the kernel adds to the topic notebook's {count} code cells: \
             {count} x {least:.2} s = {:.1} s",
            count as f64 * least
        );
    }
}

const TOPIC: &str = "topic_410_concurrency.ipynb";

/// The topic notebook that is timed cell by cell, in the language the tests execute.
fn topic_path() -> PathBuf {
    Path::new(Language::default().code())
        .join(TOPICS.complete)
        .join(TOPIC)
}
const REPEATS: usize = 10;
/// A kind of cell: what to call it, and the source of its `i`th cell.
type CellKind = (&'static str, fn(usize) -> String);
/// The kinds of cell timed after the `:dep` and a first `let`, [`REPEATS`] of each.
const CELL_KINDS: [CellKind; 3] = [
    ("fn definition", |i| {
        format!("fn bench_{i}() -> u32 {{ {i} }}")
    }),
    ("statement", |_| {
        "std::hint::black_box(bench_value);".to_owned()
    }),
    ("`1 + 1`", |_| "1 + 1".to_owned()),
];

/// The `:dep` cell of a notebook, its crate path made absolute (the copy that times it
/// lives elsewhere).
fn dep_cell(notebook: &Notebook) -> Option<String> {
    let crate_dir = Layout::of_this_checkout().root.join("crate");
    let dep = notebook.code_cells().find(|c| c.source.contains(":dep"))?;
    Some(dep.source.replace(
        "\"../../../crate\"",
        &format!("{:?}", crate_dir.display().to_string()),
    ))
}

/// A notebook of the `:dep` cell `dep`, a first `let`, then the [`CELL_KINDS`].
fn dep_notebook(layout: &Layout, dep: &str, folder: &Path) -> Result<PathBuf, String> {
    let topic = Notebook::load(&layout.notebooks().join(topic_path()))?;
    let timed = CELL_KINDS
        .iter()
        .flat_map(|(_, source)| (0..REPEATS).map(source));
    let sources = [dep.to_owned(), "let bench_value = 1;".to_owned()]
        .into_iter()
        .chain(timed);
    let cells: Vec<_> = sources
        .enumerate()
        .map(|(i, source)| {
            json!({"cell_type": "code", "id": format!("bench-{i}"), "metadata": {},
                   "source": source, "outputs": [], "execution_count": null})
        })
        .collect();
    let document = json!({"cells": cells, "metadata": topic.json["metadata"],
        "nbformat": 4, "nbformat_minor": 5});
    fs::create_dir_all(folder).map_err(|e| format!("{}: {e}", folder.display()))?;
    let path = folder.join("dep-source.ipynb");
    fs::write(&path, document.to_string()).map_err(|e| format!("{}: {e}", path.display()))?;
    Ok(path)
}

/// The Python original of the notebook `name` in the seed folder: the topic notebook's
/// is `concurrency_python.ipynb`, the others are in `module_320/` under their own name
/// (a workshop's as its `_solution`).
fn python_original(seed: &Path, name: &Path) -> Option<PathBuf> {
    let stem = name.file_stem()?.to_string_lossy();
    let module = seed.join("module_320");
    [
        (stem == TOPIC.trim_end_matches(".ipynb")).then(|| seed.join("concurrency_python.ipynb")),
        Some(module.join(format!("{stem}.ipynb"))),
        Some(module.join(format!("{stem}_solution.ipynb"))),
    ]
    .into_iter()
    .flatten()
    .find(|path| path.is_file())
}

/// The Python original's Monte-Carlo figures for 10M points on these 2-core machines
/// (sequentially, and with its best pool), measured under nbconvert: the solution
/// notebook itself takes many minutes, for its one-task-per-point version.
const PYTHON_PI_SECONDS: (f64, f64) = (5.3, 2.7);

/// The Monte-Carlo workshop's figures, from one run: π from 10M points sequentially and
/// in one chunk per core, and the speed-up per core.
fn monte_carlo(run: &Execution) -> Vec<String> {
    let nb = &run.notebook;
    let figures = || -> Result<(f64, usize, f64, f64), String> {
        let sequential = nb
            .cell("println!(\"Sequential:\");")?
            .number_after("median ")?;
        let table = nb.cell("(1..=2 * cores)")?.text();
        let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
        let median_at = |threads: usize| {
            table.lines().find_map(|line| {
                let rest = line.strip_prefix(&format!("{threads} threads: median "))?;
                rest.split(' ').next()?.parse::<f64>().ok()
            })
        };
        let (one, all) = median_at(1)
            .zip(median_at(cores))
            .ok_or("no speed-up table")?;
        Ok((sequential, cores, all, one / all))
    };
    match figures() {
        Ok((sequential, cores, chunked, speed_up)) => vec![format!(
            "Monte-Carlo pi, 10M points: sequential {sequential:.3} s (Python {} s: {:.0}x faster; target >= 50x); \
             one chunk per core on {cores} cores {chunked:.3} s (Python's best pool {} s); \
             speed-up {speed_up:.2}x = {:.2} x cores (target >= 0.9)",
            PYTHON_PI_SECONDS.0,
            PYTHON_PI_SECONDS.0 / sequential,
            PYTHON_PI_SECONDS.1,
            speed_up / cores as f64
        )],
        Err(_) => Vec::new(),
    }
}
