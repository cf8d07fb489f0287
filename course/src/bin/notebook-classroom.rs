//! `cargo bench-class [--learners 1,2,4,8] [--notebook PATH] [--jitter S] [--port P]`:
//! the classroom benchmark. Not part of `cargo test`: it prints figures and asserts
//! nothing.
//!
//! For each class size N it starts `cargo hub` for N simulated learners (accounts
//! `learner01`... created afresh, so every class starts as a new one: no course copy,
//! no evcxr cache). Through the hub's proxy they log in, start their servers, pull the
//! course with nbgitpuller and run the notebook's code cells over the kernel websocket
//! (`course/classroom/classroom.py class`), following an instructor: all start the same cell
//! within `--jitter` seconds (3), and the next once everyone is done. Then the hub
//! stops and the accounts are removed.
//!
//! Per N it prints: the servers' start; the kernels' start (until they answer); the
//! first `:dep` under contention; cell latency p50, p95 and max, and the p95 of what the class adds to a cell over the
//! same cell for a learner alone (the N=1 class of the same run); memory per learner
//! (peak, and steady once the kernels idle); the machine's peak; CPU seconds per
//! learner; and for each cell that demonstrates parallelism (a learner alone sees
//! at least 1.5 cores busy), how many learners of the class saw that too. Learners
//! arrive at once, or within `--arrivals` seconds as in a real class; each learner's
//! limits are on, as `cargo hub` enforces them. Then the largest N this machine served with that added p95 at most 2 s and
//! memory under 80 %, and the per-learner figures that size a bigger machine. Raw
//! reports go to `target/classroom/`.

use course::class::machine::Measured;
use course::class::report::{CellReport, ClassReport, LearnerReport};
use course::class::{ClassHub, percentile};
use course::setup;
use kernel_setup::Layout;
use notebook_harness::Notebook;
use serde_json::{Value, json};
use std::fs;
use std::process::ExitCode;

const USAGE: &str = "usage: cargo bench-class [--learners 1,2,4,8] [--notebook notebooks/en/slides/topic_410_concurrency.ipynb] [--jitter SECONDS] [--arrivals SECONDS] [--port PORT]";

/// A cell demonstrates parallelism when a timing in it reports at least this many
/// cores busy for a learner alone; a learner in the class saw that effect when theirs
/// did too.
const PARALLEL_CORES: f64 = 1.5;

struct Options {
    sizes: Vec<usize>,
    notebook: String,
    jitter: String,
    arrivals: String,
    port: u16,
}

fn parse() -> Result<Options, String> {
    let mut options = Options {
        sizes: vec![1, 2, 4, 8],
        notebook: "notebooks/en/slides/topic_410_concurrency.ipynb".to_owned(),
        jitter: "3".to_owned(),
        arrivals: "0".to_owned(),
        port: 8400,
    };
    let mut args = std::env::args().skip(1);
    while let Some(flag) = args.next() {
        let value = args.next().ok_or(format!("{flag} needs a value"))?;
        match flag.as_str() {
            "--learners" => {
                options.sizes = value
                    .split(',')
                    .map(|n| n.parse().ok().filter(|&n| n > 0))
                    .collect::<Option<_>>()
                    .ok_or(format!(
                        "--learners {value}: expected class sizes such as 1,2,4,8"
                    ))?
            }
            "--notebook" => options.notebook = value,
            "--jitter" => {
                value
                    .parse::<f64>()
                    .map_err(|_| format!("--jitter {value}: expected seconds"))?;
                options.jitter = value;
            }
            "--arrivals" => {
                value
                    .parse::<f64>()
                    .map_err(|_| format!("--arrivals {value}: expected seconds"))?;
                options.arrivals = value;
            }
            "--port" => {
                options.port = value
                    .parse()
                    .map_err(|_| format!("--port {value}: expected a port"))?
            }
            other => return Err(format!("unknown argument {other}")),
        }
    }
    Ok(options)
}

fn main() -> ExitCode {
    let options = match parse() {
        Ok(options) => options,
        Err(e) => {
            eprintln!("cargo bench-class: {e}\n{USAGE}");
            return ExitCode::from(2);
        }
    };
    if !kernel_setup::running_as_root() {
        eprintln!(
            "cargo bench-class: run it as root: the hub creates a system account per simulated learner"
        );
        return ExitCode::from(2);
    }
    match run(&options) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("cargo bench-class: {e}");
            ExitCode::FAILURE
        }
    }
}

fn run(options: &Options) -> Result<(), String> {
    let layout = Layout::of_this_checkout();
    let installation = setup::installation(&layout)?;
    let notebook = Notebook::load(&layout.root.join(&options.notebook))?;
    let sources: Vec<&str> = notebook.code_cells().map(|c| c.source.as_str()).collect();
    let dep_cell = sources
        .iter()
        .position(|s| s.contains(":dep "))
        .unwrap_or(0);
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    println!(
        "classroom benchmark: {}, {} code cells (first :dep in code cell {dep_cell}), class sizes {:?}, {cores} cores",
        options.notebook,
        sources.len(),
        options.sizes
    );
    let out = layout.root.join("target/classroom");
    let mut rows: Vec<Row> = Vec::new();
    let mut reports = Vec::new();
    for &size in &options.sizes {
        let learners: Vec<String> = (1..=size).map(|i| format!("learner{i:02}")).collect();
        let dir = out.join(format!("class-{size}"));
        let mut hub = ClassHub::start(&layout.root, &learners, options.port, &[], &dir)?;
        let report = hub.lesson(&options.notebook, &dir).and_then(|mut args| {
            args.extend([
                "--jitter".to_owned(),
                options.jitter.clone(),
                "--arrivals".to_owned(),
                options.arrivals.clone(),
                "--out".to_owned(),
                dir.display().to_string(),
            ]);
            hub.measure_class(&installation, &args)
        });
        let hub_start = hub.start_seconds;
        let left = hub.stop();
        let (report, measured) = report?;
        if let Some(error) = &report.error {
            return Err(format!("the class of {size} did not get through: {error}"));
        }
        if !left.is_empty() {
            println!("  left running after the hub stopped (killed): {left:?}");
        }
        let alone = rows
            .iter()
            .find(|r| r.size == 1)
            .map(|r| r.first_learner.clone());
        let row = Row::from_report(
            size,
            hub_start,
            (&report, &measured),
            dep_cell,
            alone.as_deref(),
        );
        row.print();
        rows.push(row);
        reports.push(json!({"learners": size, "hub_start": hub_start, "report": report, "machine": measured}));
        fs::write(
            out.join("classroom.json"),
            Value::Array(reports.clone()).to_string(),
        )
        .map_err(|e| e.to_string())?;
    }
    summarise(&rows);
    Ok(())
}

/// One class size's figures.
struct Row {
    size: usize,
    hub_start: f64,
    server_start: (f64, f64),
    kernel_start: (f64, f64),
    first_dep: (f64, f64),
    cells: (f64, f64, f64),
    added_p95: Option<f64>,
    memory_peak: f64,
    memory_steady: f64,
    machine_peak: f64,
    machine_percent: f64,
    cpu: f64,
    failed: usize,
    /// Per cell that demonstrates parallelism: its index, and how many learners
    /// saw the effect.
    effect: Vec<(usize, usize)>,
    first_learner: Vec<CellReport>,
}

const MB: f64 = 1024.0 * 1024.0;

impl Row {
    fn from_report(
        size: usize,
        hub_start: f64,
        (report, measured): (&ClassReport, &Measured),
        dep_cell: usize,
        alone: Option<&[CellReport]>,
    ) -> Row {
        let learners: Vec<&LearnerReport> = report.learners.values().collect();
        let each = |figure: fn(&LearnerReport) -> f64| -> Vec<f64> {
            learners.iter().map(|l| figure(l)).collect()
        };
        let each_named = |figure: &dyn Fn(&str) -> f64| -> Vec<f64> {
            report.learners.keys().map(|name| figure(name)).collect()
        };
        let cells: Vec<&[CellReport]> = learners.iter().map(|l| l.cells.as_slice()).collect();
        let first_dep: Vec<f64> = cells
            .iter()
            .filter_map(|c| c.get(dep_cell))
            .map(|c| c.seconds)
            .collect();
        let latencies: Vec<f64> = cells
            .iter()
            .copied()
            .flatten()
            .filter(|c| c.index != dep_cell)
            .map(|c| c.seconds)
            .collect();
        let first_learner: Vec<CellReport> = cells.first().map(|c| c.to_vec()).unwrap_or_default();
        // A learner alone adds nothing to themselves: that class is the baseline.
        let alone = alone.or((size == 1).then_some(first_learner.as_slice()));
        let added = alone.map(|alone| {
            let added: Vec<f64> = cells
                .iter()
                .copied()
                .flatten()
                .filter(|c| c.index != dep_cell)
                .filter_map(|c| Some(c.seconds - alone.get(c.index)?.seconds))
                .collect();
            percentile(&added, 0.95)
        });
        let saw = |cell: &CellReport| cell.cores_busy.is_some_and(|busy| busy >= PARALLEL_CORES);
        let effect = alone
            .unwrap_or_default()
            .iter()
            .filter(|cell| saw(cell))
            .map(|parallel| {
                let seen = cells
                    .iter()
                    .filter(|c| c.get(parallel.index).is_some_and(saw))
                    .count();
                (parallel.index, seen)
            })
            .collect();
        let failed = cells
            .iter()
            .copied()
            .flatten()
            .filter(|c| c.failed())
            .count();
        let machine_memory = measured.machine_memory as f64;
        let machine_peak = measured.machine_peak() as f64;
        let server_start = each(|l| l.server_start);
        let kernel_start = each(|l| l.kernel_start);
        Row {
            size,
            hub_start,
            server_start: (percentile(&server_start, 0.5), max(&server_start)),
            kernel_start: (percentile(&kernel_start, 0.5), max(&kernel_start)),
            first_dep: (percentile(&first_dep, 0.5), max(&first_dep)),
            cells: (
                percentile(&latencies, 0.5),
                percentile(&latencies, 0.95),
                max(&latencies),
            ),
            added_p95: added,
            memory_peak: max(&each_named(&|l| measured.memory_peak(l) as f64)) / MB,
            memory_steady: percentile(&each_named(&|l| measured.memory_steady(l) as f64), 0.5) / MB,
            machine_peak: machine_peak / MB,
            machine_percent: 100.0 * machine_peak / machine_memory,
            cpu: measured.cpu_seconds.values().sum::<f64>() / learners.len().max(1) as f64,
            failed,
            effect,
            first_learner,
        }
    }

    /// The p95 the verdict uses: what the class adds when a learner-alone run exists,
    /// else the cells' own.
    fn verdict_p95(&self) -> f64 {
        self.added_p95.unwrap_or(self.cells.1)
    }

    fn print(&self) {
        let added = self
            .added_p95
            .map_or("- (no class of 1 before)".to_owned(), |a| format!("{a:.2}"));
        println!(
            "N={:>3}: hub {:.1} s; server start median {:.1} s (max {:.1}); kernel start median {:.1} s (max {:.1}); first :dep median {:.1} s (max {:.1}); \
             cells p50 {:.2} s, p95 {:.2} s, max {:.2} s; added over alone p95 {added} s; \
             memory per learner peak {:.0} MB, steady {:.0} MB; machine peak {:.0} MB ({:.0} %); \
             CPU {:.1} s per learner; failed cells {}",
            self.size,
            self.hub_start,
            self.server_start.0,
            self.server_start.1,
            self.kernel_start.0,
            self.kernel_start.1,
            self.first_dep.0,
            self.first_dep.1,
            self.cells.0,
            self.cells.1,
            self.cells.2,
            self.memory_peak,
            self.memory_steady,
            self.machine_peak,
            self.machine_percent,
            self.cpu,
            self.failed
        );
        if !self.effect.is_empty() {
            let cells: Vec<String> = self
                .effect
                .iter()
                .map(|(index, seen)| format!("cell {index}: {seen}/{}", self.size))
                .collect();
            println!(
                "       learners who saw the parallel cells keep >= {PARALLEL_CORES} cores busy: {}",
                cells.join(", ")
            );
        }
    }
}

fn summarise(rows: &[Row]) {
    println!();
    // Latency is what the class adds to a cell: the topic notebook's cells sleep and
    // time demos for seconds by design, which a learner alone waits for too.
    let served = rows
        .iter()
        .filter(|r| r.verdict_p95() <= 2.0 && r.machine_percent < 80.0 && r.failed == 0)
        .map(|r| r.size)
        .max();
    match served {
        Some(n) => println!(
            "largest class measured that this machine served (p95 of the time the class adds to a cell <= 2 s, memory < 80 %, no failed cell): {n} learners"
        ),
        None => println!(
            "no class size measured here kept the added p95 <= 2 s with memory < 80 % and no failed cell"
        ),
    }
    let Some(big) = rows.iter().max_by_key(|r| r.size) else {
        return;
    };
    let total_mb = big.machine_peak / (big.machine_percent / 100.0);
    println!(
        "per learner, for sizing (from N={}): memory peak {:.0} MB, steady {:.0} MB; CPU {:.0} s for the notebook; \
         80 % of this machine's {:.1} GB holds about {:.0} learners at their peak",
        big.size,
        big.memory_peak,
        big.memory_steady,
        big.cpu,
        total_mb / 1024.0,
        0.8 * total_mb / big.memory_peak
    );
}

fn max(values: &[f64]) -> f64 {
    values.iter().copied().fold(f64::NAN, f64::max)
}
