//! What each learner's server and everything it starts may use: memory and CPU from
//! the Zero to JupyterHub values file (`singleuser.memory.limit`,
//! `singleuser.cpu.limit`), and a number of tasks that no values file has
//! (`cargo hub --tasks-per-learner`).

use crate::error::{Result, SetupError};
use crate::layout::Layout;
use serde::{Deserialize, Serialize};
use std::path::Path;

/// Tasks (threads and processes) a learner may have at once, unless told otherwise.
///
/// The course's own notebooks need far fewer ([`COURSE_TASKS`]); a learner may run two
/// notebooks at once, and a concurrency class spawns threads on purpose (a thousand
/// of them is a fair experiment). The machine's process IDs are shared by everyone,
/// the hub included: at this figure 16 learners at their limit take 24,576 of the
/// default `pid_max` of 32,768, and the hub keeps the rest.
pub const DEFAULT_TASKS: u64 = 1536;

/// The lowest task limit the hub accepts. The course's own notebooks peaked at 126
/// tasks (the kernel, its user-code process, rust-analyzer, rustc and cargo while a
/// cell compiles, the Jupyter server, and the 100-thread demonstrations), measured by
/// running every notebook in a `pids` control group; this leaves room for a second
/// notebook's kernel.
pub const COURSE_TASKS: u64 = 300;

/// The memory one learner needs at least: the server, the kernel and rustc at their
/// peak (1.0-1.35 GB measured by `cargo bench-class`), with room to spare.
pub const LEARNER_MEMORY_BYTES: u64 = 3 << 29;

/// A learner's limits, as the hub enforces them.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct LearnerLimits {
    /// Memory in bytes, page cache included; past it the kernel's out-of-memory killer
    /// stops the largest process in the learner's group (usually their kernel).
    pub memory_bytes: u64,
    /// CPU time, in cores: 1.5 is 150 ms in every 100 ms.
    pub cpus: f64,
    /// Threads and processes at once; one more fails to start (`EAGAIN`).
    pub tasks: u64,
}

/// The limits the values file names, as `course_hub.configurer` reads them.
#[derive(Debug, Deserialize)]
struct ValuesLimits {
    memory_bytes: u64,
    cpus: f64,
}

impl LearnerLimits {
    /// The values file's memory and CPU limits with `tasks`, checked against what
    /// the course needs; read by the hub's own reader of the file, so that both
    /// deployments name the same figures.
    pub fn from_values(layout: &Layout, values: &Path, tasks: u64) -> Result<Self> {
        let output = std::process::Command::new(layout.hub_venv().join("bin/python"))
            .args(["-m", "course_hub.configurer", "limits"])
            .arg(values)
            .env("PYTHONPATH", layout.hub_files())
            .env("PYTHONDONTWRITEBYTECODE", "1")
            .output()
            .map_err(|e| SetupError::new(format!("cargo hub: cannot run the hub's Python: {e}")))?;
        if !output.status.success() {
            let stderr = String::from_utf8_lossy(&output.stderr);
            return Err(SetupError::new(format!(
                "cargo hub: {}",
                stderr
                    .trim()
                    .lines()
                    .last()
                    .unwrap_or("cannot read the values file")
            )));
        }
        let read: ValuesLimits = serde_json::from_slice(&output.stdout).map_err(|e| {
            SetupError::new(format!(
                "cargo hub: the hub's reader of {} printed no limits ({e})",
                values.display()
            ))
        })?;
        let limits = LearnerLimits {
            memory_bytes: read.memory_bytes,
            cpus: read.cpus,
            tasks,
        };
        limits.check(values)?;
        Ok(limits)
    }

    /// Refuses a values file under whose limits the course's own notebooks would fail
    /// (the task limit is checked with its flag).
    pub fn check(&self, values: &Path) -> Result<()> {
        let gb = |bytes: u64| bytes as f64 / f64::from(1 << 30);
        if self.memory_bytes < LEARNER_MEMORY_BYTES {
            return Err(SetupError::new(format!(
                "cargo hub: singleuser.memory.limit in {} is {:.2}G, below the {:.1}G one learner needs (server, kernel and rustc at their peak); raise it",
                values.display(),
                gb(self.memory_bytes),
                gb(LEARNER_MEMORY_BYTES)
            )));
        }
        if self.cpus.is_nan() || self.cpus < 0.1 {
            return Err(SetupError::new(format!(
                "cargo hub: singleuser.cpu.limit in {} is {}, less than a tenth of a core; raise it",
                values.display(),
                self.cpus
            )));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limits(memory_bytes: u64, cpus: f64, tasks: u64) -> LearnerLimits {
        LearnerLimits {
            memory_bytes,
            cpus,
            tasks,
        }
    }

    #[test]
    fn limits_the_course_cannot_run_under_are_refused_in_a_line() {
        let values = Path::new("z2jh-values.yaml");
        assert!(limits(2 << 30, 2.0, DEFAULT_TASKS).check(values).is_ok());
        let low_memory = limits(1 << 30, 2.0, DEFAULT_TASKS)
            .check(values)
            .unwrap_err();
        assert_eq!(
            low_memory.to_string(),
            "cargo hub: singleuser.memory.limit in z2jh-values.yaml is 1.00G, below the 1.5G one learner needs (server, kernel and rustc at their peak); raise it"
        );
        assert!(limits(2 << 30, 0.0, DEFAULT_TASKS).check(values).is_err());
        assert!(
            limits(2 << 30, f64::NAN, DEFAULT_TASKS)
                .check(values)
                .is_err()
        );
    }
}
