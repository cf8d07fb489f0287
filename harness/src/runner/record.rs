//! The driver's record of a run (`harness/driver/run_notebook.py` writes it, its
//! dataclasses mirror these types), and the executed notebook it gives.

use crate::load;
use crate::notebook::{Notebook, Output};
use serde::Deserialize;
use serde_json::Value;
use std::path::Path;

/// The driver's record of a run.
#[derive(Debug, Deserialize)]
pub(super) struct Record {
    pub outcome: Outcome,
    pub cells: Vec<CellRecord>,
    /// The cell before which the kernel was restarted, if it was.
    #[serde(default)]
    pub restarted_before: Option<usize>,
}

#[derive(Debug, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub(super) enum Outcome {
    Starting,
    Running {
        cell: usize,
    },
    Completed,
    KernelFailedToStart {
        message: String,
    },
    CellError {
        cell: usize,
    },
    CellTimeout {
        cell: usize,
        timeout_seconds: u64,
        /// The lock the cell waited for instead of running (see `dependency_cache_lock`
        /// in the driver).
        #[serde(default)]
        waiting_for: Option<String>,
    },
    DeadKernel {
        cell: Option<usize>,
        message: String,
    },
}

#[derive(Debug, Deserialize)]
pub(super) struct CellRecord {
    index: usize,
    outputs: Vec<Value>,
    /// Unset while the cell runs, as in a run killed at its timeout.
    #[serde(default)]
    seconds: Option<f64>,
    /// /proc/stat's `cpu` counters gained while the cell ran.
    #[serde(default)]
    machine_ticks: Option<Vec<u64>>,
    /// CPU seconds the driver and its kernel used meanwhile.
    #[serde(default)]
    run_cpu_seconds: Option<f64>,
}

impl CellRecord {
    /// Cores other processes than the run kept busy while the cell ran.
    fn other_load(&self) -> Option<f64> {
        let ticks = self.machine_ticks.as_deref()?;
        Some(load::other_load(
            load::busy_seconds(ticks),
            self.run_cpu_seconds?,
            self.seconds?,
        ))
    }
}

impl Record {
    /// The record at `path`, or why there is none to read.
    pub fn read(path: &Path) -> Result<Record, String> {
        let text = std::fs::read_to_string(path).map_err(|e| e.to_string())?;
        serde_json::from_str(&text).map_err(|e| e.to_string())
    }

    /// The source notebook with what the driver recorded for each executed cell.
    pub fn apply_to(&self, mut notebook: Notebook) -> Result<Notebook, String> {
        for executed in &self.cells {
            let cell = notebook
                .cells
                .get_mut(executed.index)
                .ok_or_else(|| format!("cell {} is not in the notebook", executed.index))?;
            cell.outputs = executed
                .outputs
                .iter()
                .cloned()
                .map(Output::from_json)
                .collect::<Result<_, _>>()
                .map_err(|e| format!("cell {}: {e}", executed.index))?;
            cell.seconds = executed.seconds;
            cell.other_load = executed.other_load();
        }
        Ok(notebook)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_every_outcome_of_the_driver() {
        for (json, expected) in [
            (r#"{"kind": "completed"}"#, "Completed"),
            (r#"{"kind": "running", "cell": 3}"#, "Running"),
            (r#"{"kind": "cell_error", "cell": 2}"#, "CellError"),
            (
                r#"{"kind": "cell_timeout", "cell": 1, "timeout_seconds": 30}"#,
                "CellTimeout",
            ),
            (
                r#"{"kind": "dead_kernel", "cell": null, "message": "gone"}"#,
                "DeadKernel",
            ),
            (
                r#"{"kind": "kernel_failed_to_start", "message": "no such file"}"#,
                "KernelFailedToStart",
            ),
        ] {
            let record: Record =
                serde_json::from_str(&format!(r#"{{"outcome": {json}, "cells": []}}"#)).unwrap();
            assert!(
                format!("{:?}", record.outcome).starts_with(expected),
                "{json}"
            );
        }
        let unknown = r#"{"outcome": {"kind": "exploded"}, "cells": []}"#;
        assert!(serde_json::from_str::<Record>(unknown).is_err());
    }

    #[test]
    fn the_record_fills_in_outputs_times_and_load() {
        let nb = notebook(
            r#"{"cell_type": "markdown", "metadata": {}, "source": "Title"},
               {"cell_type": "code", "metadata": {}, "source": "1 + 1", "outputs": [], "execution_count": null}"#,
        );
        // 0.25 s of all cores busy, half of it the run's, in half a second.
        let ticks = (0.25 * crate::process::clock_ticks_per_second()).round() as u64;
        let record: Record = serde_json::from_str(
            &r#"{"outcome": {"kind": "completed"}, "cells": [{"index": 1, "seconds": 0.5,
                "machine_ticks": [TICKS, 0, 0, 1000], "run_cpu_seconds": 0.125, "outputs": [
                {"output_type": "execute_result", "execution_count": 1, "metadata": {},
                 "data": {"text/plain": "2"}}]}]}"#
                .replace("TICKS", &ticks.to_string()),
        )
        .unwrap();
        let executed = record.apply_to(nb).unwrap();
        let cell = &executed.cells[1];
        assert_eq!(cell.number().unwrap(), 2.0);
        assert_eq!((cell.seconds, cell.other_load), (Some(0.5), Some(0.25)));
    }

    fn notebook(cells: &str) -> Notebook {
        Notebook::parse(
            Path::new("t.ipynb"),
            &format!(r##"{{"cells": [{cells}], "metadata": {{}}, "nbformat": 4}}"##),
        )
        .unwrap()
    }
}
