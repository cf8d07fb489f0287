//! A class that survives its learners: learner A runs the six faults of
//! [`FAULTS`] one after another, while learner B runs the short notebook each time.
//! For each: B's cells all succeed with little added latency, the hub keeps
//! answering, A's limit binds (its control group's counter rises), and A gets going
//! again by interrupting and restarting the kernel; A's files are unchanged and A's
//! server is never the one stopped. Nothing is left behind.
//!
//! `HUB_FAULTS_WITHOUT_LIMITS=1` runs the same trial on a hub started with
//! `--without-limits`: then the checks of the limits fail, which shows what each limit
//! does (the faults are bounded, so the machine survives that run).

use crate::shared::{NOTEBOOK, PORT, logs_in, save_report, verdict, work_dir};
use course::class::ClassHub;
use course::class::faults::{FAULTS, FaultReport, FaultsReport, added_p95};
use course::class::percentile;
use course::class::report::CellReport;
use course::setup;
use kernel_setup::Layout;
use std::fs;

/// The trial's values file: the course's memory limit, and one core, so that the CPU
/// limit binds on this 2-core machine (the course's 2 would not) and B keeps a core.
const VALUES: &str = "singleuser:\n  memory:\n    limit: 2G\n  cpu:\n    limit: 1\ncull:\n  timeout: 3600\n  every: 300\n";

/// The most B's cells may slow down, at the 95th percentile, while A's fault runs:
/// twice the goal of 0.5 s (measured: 0.0-0.4 s), since CI's machine may be busier.
const B_ADDED_P95: f64 = 1.0;

/// The slowest answer of the hub's API during a fault.
const HUB_SLOWEST: f64 = 2.0;

pub fn faults() -> Result<(), String> {
    let layout = Layout::of_this_checkout();
    let installation = setup::installation(&layout)?;
    let dir = work_dir("faults");
    let values = dir.join("values.yaml");
    fs::write(&values, VALUES).map_err(|e| e.to_string())?;
    let values = values.display().to_string();
    let mut options = vec!["--values", &values];
    if std::env::var_os("HUB_FAULTS_WITHOUT_LIMITS").is_some() {
        options.push("--without-limits");
    }
    let learners = ["classcheck-e".to_owned(), "classcheck-f".to_owned()];
    let port = PORT + 40;
    let mut hub = ClassHub::start(&layout.root, &learners, port, &options, &dir)?;
    let faults_file = dir.join("faults.json");
    let report: Result<FaultsReport, String> = serde_json::to_string(&FAULTS)
        .map_err(|e| e.to_string())
        .and_then(|json| fs::write(&faults_file, json).map_err(|e| e.to_string()))
        .and_then(|()| hub.lesson(NOTEBOOK, &dir))
        .and_then(|mut args| {
            args.extend(["--faults".to_owned(), faults_file.display().to_string()]);
            hub.client(&installation, "faults", &args)
        });
    let left = hub.stop();
    let report = report?;
    save_report(&report, &dir)?;
    let mut problems = Vec::new();
    if let Some(error) = &report.error {
        problems.push(format!("the class did not get through: {error}"));
    }
    judge(&report, &mut problems);
    if !left.is_empty() {
        problems.push(format!("left behind after the hub stopped: {left:?}"));
    }
    verdict(&problems, &logs_in(&dir))
}

fn judge(report: &FaultsReport, problems: &mut Vec<String>) {
    let seconds: Vec<f64> = report.baseline.iter().map(|c| c.seconds).collect();
    let alone = percentile(&seconds, 0.95);
    eprintln!(
        "hub faults: B alone, p95 {alone:.2} s over {} cells",
        report.baseline.len()
    );
    for fault in &FAULTS {
        let Some(seen) = report.faults.get(fault.name) else {
            problems.push(format!("{}: not run", fault.name));
            continue;
        };
        describe(fault.name, seen, added_p95(&seen.b_cells, &report.baseline));
        let mut problem = |text: String| problems.push(format!("{}: {text}", fault.name));
        let failed: Vec<&CellReport> = seen.b_cells.iter().filter(|c| c.failed()).collect();
        if !failed.is_empty() || seen.b_cells.len() != report.baseline.len() {
            problem(format!(
                "B's cells did not all succeed: {} of {} ran, failed: {failed:?}",
                seen.b_cells.len(),
                report.baseline.len()
            ));
        }
        let added = added_p95(&seen.b_cells, &report.baseline);
        if added > B_ADDED_P95 {
            problem(format!(
                "B's cells were slower by {added:.2} s at p95 (at most {B_ADDED_P95} s)"
            ));
        }
        if !seen.hub_failures.is_empty() {
            problem(format!("the hub did not answer: {:?}", seen.hub_failures));
        }
        let slowest = seen.hub_seconds.iter().copied().fold(0.0, f64::max);
        if seen.hub_seconds.is_empty() || slowest > HUB_SLOWEST {
            problem(format!(
                "the hub answered {} times, the slowest in {slowest:.2} s (at most {HUB_SLOWEST} s)",
                seen.hub_seconds.len()
            ));
        }
        if let Some(counter) = fault.binds {
            match seen.rise(counter) {
                Some(rise) if rise > 0 => {}
                rise => problem(format!(
                    "A's {counter} limit did not bind (its counter rose by {rise:?}; {:?} -> {:?})",
                    seen.counters_before, seen.counters_after
                )),
            }
        }
        if !seen.recovered {
            problem(format!(
                "A could not restart the kernel and run a cell: {}",
                seen.recover_error.as_deref().unwrap_or("?")
            ));
        }
    }
    if !report.a_files_unchanged {
        problems.push("A's files in the course folder changed".to_owned());
    }
    if !report.a_server_pid_same {
        problems.push("A's server was stopped (only A's kernel may be)".to_owned());
    }
}

/// One line per fault: what A saw and what it cost B and the hub (the README's table
/// of what a learner sees comes from these).
fn describe(name: &str, seen: &FaultReport, added: f64) {
    let a = &seen.seen_by_a;
    let first_error = a
        .stderr
        .lines()
        .find(|line| !line.trim().is_empty())
        .unwrap_or("")
        .chars()
        .take(160)
        .collect::<String>();
    eprintln!(
        "hub faults: {name}: A's cell {} {}{}, kernel states {:?}, {} bytes of output; {first_error}\n    B p95 +{:.2} s; hub slowest {:.2} s; counters {:?} -> {:?}; recovered {} after {} restart(s)",
        a.status,
        a.ename,
        if a.interrupted { " (interrupted)" } else { "" },
        a.kernel_states,
        a.output_bytes,
        added,
        seen.hub_seconds.iter().copied().fold(0.0, f64::max),
        seen.counters_before,
        seen.counters_after,
        seen.recovered,
        seen.restarts
    );
}
