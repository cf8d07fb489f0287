//! The runaway cells a concurrency class produces, and what the classroom client's
//! `faults` mode (`course/classroom/faults.py`, its Python mirror) reports of them:
//! one learner runs each while another runs a short notebook.

use super::percentile;
use super::report::CellReport;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// One runaway cell: its Rust source, and the limit that must stop it (the
/// counter of the learner's control group that rises when that limit binds).
#[derive(Debug, Clone, Serialize)]
pub struct Fault {
    pub name: &'static str,
    pub source: &'static str,
    /// Seconds the fault runs before the other learner starts (its cell compiles).
    pub settle: f64,
    /// The control-group counter that must rise: `cpu` (throttled periods),
    /// `memory` (out-of-memory kills) or `pids` (refused forks); `None` where no
    /// limit is involved and the learner's interrupt ends it.
    #[serde(skip)]
    pub binds: Option<&'static str>,
}

/// The six faults, each bounded in what it asks for, so that on a hub without limits
/// it fails its check instead of the machine: 5,000 threads, 3,000 processes, 6 GB.
pub const FAULTS: [Fault; 6] = [
    Fault {
        name: "1,000 threads spinning",
        source: "for _ in 0..1000 {\n    std::thread::spawn(|| loop {\n        std::hint::spin_loop();\n    });\n}",
        settle: 4.0,
        binds: Some("cpu"),
    },
    Fault {
        name: "threads spawned in a loop",
        source: "for _ in 0..5000 {\n    std::thread::spawn(|| std::thread::sleep(std::time::Duration::from_secs(600)));\n}",
        settle: 4.0,
        binds: Some("pids"),
    },
    Fault {
        name: "processes spawned in a loop",
        source: "for _ in 0..3000 {\n    std::process::Command::new(\"sleep\").arg(\"600\").spawn().unwrap();\n}",
        settle: 6.0,
        binds: Some("pids"),
    },
    Fault {
        name: "memory allocated until the limit",
        source: "let mut blocks: Vec<Vec<u8>> = Vec::new();\nfor _ in 0..96 {\n    blocks.push(vec![1u8; 64 << 20]);\n}\nprintln!(\"{} MB\", blocks.len() * 64);",
        settle: 4.0,
        binds: Some("memory"),
    },
    Fault {
        name: "output printed in a loop",
        source: "for i in 0.. {\n    println!(\"line {i}: all work and no play\");\n}",
        settle: 3.0,
        binds: None,
    },
    Fault {
        name: "a deadlock",
        source: "fn deadlock() {\n    use std::sync::{Arc, Mutex};\n    use std::time::Duration;\n    let (a, b) = (Arc::new(Mutex::new(0)), Arc::new(Mutex::new(0)));\n    let (a2, b2) = (Arc::clone(&a), Arc::clone(&b));\n    let other = std::thread::spawn(move || {\n        let _a = a2.lock().unwrap();\n        std::thread::sleep(Duration::from_millis(100));\n        let _b = b2.lock().unwrap();\n    });\n    let _b = b.lock().unwrap();\n    std::thread::sleep(Duration::from_millis(100));\n    let _a = a.lock().unwrap();\n    other.join().unwrap();\n}\ndeadlock();",
        settle: 3.0,
        binds: None,
    },
];

/// What the faulting learner's notebook showed for the fault's cell.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct SeenByA {
    pub status: String,
    pub ename: String,
    /// The first 2,000 characters of its errors.
    pub stderr: String,
    pub output_bytes: u64,
    /// The kernel states announced meanwhile (`restarting`, `dead`, `starting`).
    pub kernel_states: Vec<String>,
    /// Whether the learner had to interrupt it.
    pub interrupted: bool,
}

/// One fault: the other learner's cells, the hub's answers, what the faulting
/// learner saw, their group's counters before and after, and their recovery.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct FaultReport {
    pub b_cells: Vec<CellReport>,
    pub hub_seconds: Vec<f64>,
    pub hub_failures: Vec<String>,
    pub seen_by_a: SeenByA,
    pub counters_before: BTreeMap<String, i64>,
    pub counters_after: BTreeMap<String, i64>,
    pub recovered: bool,
    /// Kernel restarts it took: the learner's own, and one more by the server when
    /// the first new kernel started while the old one's processes were still going.
    pub restarts: u32,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub recover_error: Option<String>,
}

impl FaultReport {
    /// How much `counter` rose during the fault (`None`: the learner is in no
    /// control group).
    pub fn rise(&self, counter: &str) -> Option<i64> {
        Some(self.counters_after.get(counter)? - self.counters_before.get(counter)?)
    }
}

/// The 95th percentile of how much longer each of `cells` took than the same cell in
/// `alone` (cells matched by index).
pub fn added_p95(cells: &[CellReport], alone: &[CellReport]) -> f64 {
    let added: Vec<f64> = cells
        .iter()
        .filter_map(|cell| {
            let before = alone.iter().find(|a| a.index == cell.index)?;
            Some(cell.seconds - before.seconds)
        })
        .collect();
    percentile(&added, 0.95)
}

/// `faults`: the other learner's cells alone, then each fault's report.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct FaultsReport {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    pub baseline: Vec<CellReport>,
    pub faults: BTreeMap<String, FaultReport>,
    pub a_files_unchanged: bool,
    pub a_server_pid_same: bool,
}
