//! The machine as the classroom benchmark measures it, from here while the client
//! drives the class: the resident memory of each learner's processes and the
//! machine's memory in use every half second, and each learner's CPU time.

use kernel_setup::account;
use notebook_harness::process::{Process, processes};
use serde::Serialize;
use std::collections::BTreeMap;
use std::fs;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;
use std::time::Duration;

/// (total, in use) bytes: `MemTotal` and `MemTotal - MemAvailable` (0 if unreadable).
pub fn machine_memory() -> (u64, u64) {
    let info = fs::read_to_string("/proc/meminfo").unwrap_or_default();
    let field = |name: &str| -> u64 {
        info.lines()
            .find_map(|l| l.strip_prefix(name)?.strip_prefix(':'))
            .and_then(|v| v.split_whitespace().next()?.parse().ok())
            .unwrap_or(0)
            * 1024
    };
    let total = field("MemTotal");
    (total, total.saturating_sub(field("MemAvailable")))
}

/// The learners' user ids, by name.
fn uids(learners: &[String]) -> Result<BTreeMap<u32, String>, String> {
    learners
        .iter()
        .map(|name| {
            account(name)
                .map(|a| (a.uid, name.clone()))
                .ok_or_else(|| format!("{name} has no account to measure"))
        })
        .collect()
}

/// CPU seconds of each learner's processes, with the children they waited for (rustc).
pub fn cpu_seconds(learners: &[String]) -> Result<BTreeMap<String, f64>, String> {
    let uids = uids(learners)?;
    let mut cpu: BTreeMap<String, f64> = learners.iter().map(|n| (n.clone(), 0.0)).collect();
    for process in processes() {
        if let Some(name) = uids.get(&process.uid) {
            *cpu.entry(name.clone()).or_default() += process.cpu_seconds;
        }
    }
    Ok(cpu)
}

/// What the sampler saw, in bytes, in order.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Samples {
    pub per_learner: BTreeMap<String, Vec<u64>>,
    pub machine: Vec<u64>,
}

/// Samples every half second until [`stop`](Sampler::stop)ped.
pub struct Sampler {
    uids: BTreeMap<u32, String>,
    stopping: Arc<AtomicBool>,
    thread: JoinHandle<Samples>,
}

impl Sampler {
    /// Starts sampling the processes of `learners`, whose accounts must exist.
    pub fn start(learners: &[String]) -> Result<Sampler, String> {
        let uids = uids(learners)?;
        let stopping = Arc::new(AtomicBool::new(false));
        let stop = stopping.clone();
        let sampled = uids.clone();
        let mut samples = Samples {
            per_learner: learners.iter().map(|n| (n.clone(), Vec::new())).collect(),
            machine: Vec::new(),
        };
        let thread = std::thread::spawn(move || {
            while !stop.load(Ordering::Relaxed) {
                samples.take(&sampled, &processes());
                std::thread::sleep(Duration::from_millis(500));
            }
            samples
        });
        Ok(Sampler {
            uids,
            stopping,
            thread,
        })
    }

    /// Takes a last sample, the steady state, and returns them all.
    pub fn stop(self) -> Samples {
        self.stopping.store(true, Ordering::Relaxed);
        let mut samples = self.thread.join().unwrap_or_default();
        samples.take(&self.uids, &processes());
        samples
    }
}

impl Samples {
    fn take(&mut self, uids: &BTreeMap<u32, String>, processes: &[Process]) {
        let mut resident: BTreeMap<&str, u64> = uids.values().map(|n| (n.as_str(), 0)).collect();
        for process in processes {
            if let Some(name) = uids.get(&process.uid) {
                *resident.entry(name).or_default() += process.resident_bytes;
            }
        }
        for (name, bytes) in resident {
            self.per_learner
                .entry(name.to_owned())
                .or_default()
                .push(bytes);
        }
        self.machine.push(machine_memory().1);
    }
}

/// The machine's side of one class: what the sampler saw and the learners' CPU time.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Measured {
    /// Bytes: the machine's memory, and what was in use before the class.
    pub machine_memory: u64,
    pub machine_idle: u64,
    pub samples: Samples,
    /// Once the last cell had run.
    pub cpu_seconds: BTreeMap<String, f64>,
}

impl Measured {
    /// The most memory in use on the machine.
    pub fn machine_peak(&self) -> u64 {
        self.samples.machine.iter().copied().max().unwrap_or(0)
    }

    /// The most resident memory of `learner`'s processes.
    pub fn memory_peak(&self, learner: &str) -> u64 {
        self.learner_samples(learner)
            .iter()
            .copied()
            .max()
            .unwrap_or(0)
    }

    /// The resident memory of `learner`'s processes at the end, their kernel idle.
    pub fn memory_steady(&self, learner: &str) -> u64 {
        self.learner_samples(learner).last().copied().unwrap_or(0)
    }

    fn learner_samples(&self, learner: &str) -> &[u64] {
        self.samples
            .per_learner
            .get(learner)
            .map_or(&[], Vec::as_slice)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// root always has an account and processes (this test's, or init).
    #[test]
    fn samples_the_memory_and_cpu_time_of_an_accounts_processes() {
        let root = ["root".to_owned()];
        let sampler = Sampler::start(&root).unwrap();
        std::thread::sleep(Duration::from_millis(700));
        let measured = Measured {
            samples: sampler.stop(),
            cpu_seconds: cpu_seconds(&root).unwrap(),
            ..Measured::default()
        };
        assert!(measured.samples.per_learner["root"].len() >= 2);
        assert!(measured.memory_steady("root") > 0);
        assert!(measured.memory_peak("root") >= measured.memory_steady("root"));
        assert!(measured.machine_peak() > 0);
        assert!(measured.cpu_seconds["root"] > 0.0);
        assert!(Sampler::start(&["no-such-learner".to_owned()]).is_err());
    }
}
