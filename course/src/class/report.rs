//! What the classroom client (`course/classroom/classroom.py`) prints, one JSON document
//! per mode, and the code cells it is given. The Python mirror is
//! `course/classroom/report.py`; a field added there must be added here.

use notebook_harness::Notebook;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// A code cell for the client to run (`--cells`), from the notebook as the harness
/// reads it.
#[derive(Debug, Clone, Serialize)]
pub struct CodeCell {
    pub source: String,
    pub expects_error: bool,
}

impl CodeCell {
    /// The notebook's code cells, in order.
    pub fn all(notebook: &Notebook) -> Vec<CodeCell> {
        notebook
            .code_cells()
            .map(|cell| CodeCell {
                source: cell.source.clone(),
                expects_error: cell.expects_error(),
            })
            .collect()
    }
}

/// One cell one learner ran.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct CellReport {
    /// The cell's position among the notebook's code cells.
    pub index: usize,
    pub seconds: f64,
    /// The kernel's execute_reply status: `ok`, `error` or `aborted`.
    pub status: String,
    pub ename: String,
    pub panicked: bool,
    pub expected_error: bool,
    /// The most cores a timing in the cell's output reports busy, if it prints one.
    #[serde(default)]
    pub cores_busy: Option<f64>,
}

impl CellReport {
    /// Whether the cell failed: it panicked, or ended in an error it was not tagged to
    /// show (`raises-exception`).
    pub fn failed(&self) -> bool {
        self.panicked || (self.status != "ok" && !self.expected_error)
    }
}

/// `class`: what the client is told to print on stderr (`--cells-done`,
/// `--kernels-idle`) once every learner's last cell has run, then once their kernels
/// have idled a few seconds; it then waits for a line on stdin before it closes the
/// kernels. The machine is measured meanwhile from Rust (`super::machine`).
pub const CELLS_DONE: &str = "classroom: cells done";
pub const KERNELS_IDLE: &str = "classroom: kernels idle";
/// The answer to `KERNELS_IDLE`.
pub const CLASS_MEASURED: &str = "classroom: measured";

/// `class`: one learner's start times and cells.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct LearnerReport {
    pub server_start: f64,
    pub kernel_start: f64,
    pub cells: Vec<CellReport>,
}

/// `class`: one class for the classroom benchmark, or the error that stopped it.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct ClassReport {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    pub learners: BTreeMap<String, LearnerReport>,
}

/// `check`: a learner's evcxr cache, its owner and who else may enter.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct CacheReport {
    pub entries: usize,
    pub owner_is_learner: bool,
    pub home_mode: String,
    pub cache_mode: String,
}

impl CacheReport {
    /// Used, the learner's own, and closed to everyone else.
    pub fn is_private(&self) -> bool {
        self.entries > 0
            && self.owner_is_learner
            && self.home_mode == "0o700"
            && self.cache_mode == "0o700"
    }
}

/// What an isolation check observed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Observation {
    /// An HTTP status.
    Status(u16),
    Text(String),
    /// Listening addresses.
    Addresses(Vec<String>),
}

impl Observation {
    pub fn is_status(&self, wanted: &[u16]) -> bool {
        matches!(self, Observation::Status(status) if wanted.contains(status))
    }

    pub fn text(&self) -> Option<&str> {
        match self {
            Observation::Text(text) => Some(text),
            _ => None,
        }
    }
}

/// `check`: the small class's cells, the isolation checks and the learners' caches.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct CheckReport {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    pub cells: BTreeMap<String, Vec<CellReport>>,
    pub checks: BTreeMap<String, Observation>,
    pub caches: BTreeMap<String, CacheReport>,
}

/// `idle`: seconds from each learner's server being ready until the culler stopped it.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct IdleReport {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    pub culled_after: BTreeMap<String, f64>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_what_the_client_prints() {
        let check: CheckReport = serde_json::from_str(
            r#"{"checks": {"a's token on b's /lab": 403, "no login on /hub/home": "200 /hub/login",
                 "listening": ["127.0.0.1:8310"]},
                "cells": {"a": [{"index": 0, "seconds": 1.5, "status": "error", "ename": "Error",
                 "panicked": false, "expected_error": true}]},
                "caches": {"a": {"entries": 3, "owner_is_learner": true, "home_mode": "0o700",
                 "cache_mode": "0o700"}}}"#,
        )
        .unwrap();
        assert!(check.checks["a's token on b's /lab"].is_status(&[403]));
        assert_eq!(
            check.checks["no login on /hub/home"].text(),
            Some("200 /hub/login")
        );
        assert!(!check.cells["a"][0].failed());
        assert!(check.caches["a"].is_private());
        let failed: ClassReport = serde_json::from_str(r#"{"error": "a: login refused"}"#).unwrap();
        assert_eq!(failed.error.as_deref(), Some("a: login refused"));
    }
}
