//! How busy the rest of the machine was while a notebook ran, so that a timing claim
//! can tell a slow lesson from a machine that had no core to spare.

use crate::process::{clock_ticks_per_second, our_cpu_seconds};
use libtest_mimic::{Arguments, Trial};
use std::fs;
use std::process::{Child, Command, Stdio};
use std::time::Instant;

/// Measures, from its start, the CPU time used by processes other than this one and
/// the children it has waited for (nbconvert and, through it, the kernel).
#[derive(Debug, Clone, Copy)]
pub struct LoadMeter {
    started: Instant,
    machine: f64,
    ours: f64,
}

impl LoadMeter {
    pub fn start() -> LoadMeter {
        LoadMeter {
            started: Instant::now(),
            machine: machine_busy_seconds(),
            ours: our_cpu_seconds(),
        }
    }

    /// Cores the rest of the machine kept busy on average since the start (0 on an idle
    /// machine, about 2 with two busy loops running beside the tests).
    pub fn other_load(&self) -> f64 {
        other_load(
            machine_busy_seconds() - self.machine,
            our_cpu_seconds() - self.ours,
            self.started.elapsed().as_secs_f64(),
        )
    }
}

/// Cores other processes kept busy on average over `wall` seconds in which all cores
/// were busy for `machine_busy` seconds, `ours` of them by the run measured.
pub(crate) fn other_load(machine_busy: f64, ours: f64, wall: f64) -> f64 {
    if wall > 0.0 {
        ((machine_busy - ours) / wall).max(0.0)
    } else {
        0.0
    }
}

/// CPU seconds all cores spent busy in `ticks`, counters of /proc/stat's `cpu` line
/// (user nice system idle iowait irq softirq steal ...): all but idle and iowait.
pub(crate) fn busy_seconds(ticks: &[u64]) -> f64 {
    let busy: u64 = [0, 1, 2, 5, 6, 7]
        .iter()
        .filter_map(|&i| ticks.get(i))
        .sum();
    busy as f64 / clock_ticks_per_second()
}

/// CPU seconds all cores have spent busy since boot (`/proc/stat`), 0 if unreadable.
fn machine_busy_seconds() -> f64 {
    let Ok(stat) = fs::read_to_string("/proc/stat") else {
        return 0.0;
    };
    let Some(cpu) = stat.lines().next() else {
        return 0.0;
    };
    let ticks: Vec<u64> = cpu
        .split_whitespace()
        .skip(1)
        .filter_map(|t| t.parse().ok())
        .collect();
    busy_seconds(&ticks)
}

/// Processes that keep cores busy until dropped, so the notebook tests can be run as on
/// a shared, loaded CI machine: `NOTEBOOK_TEST_LOAD=2 cargo test` keeps two cores busy.
/// Each runs in a session of its own, like another user's job, so the scheduler treats
/// it as it would treat one.
pub struct BusyLoad {
    children: Vec<Child>,
}

/// The environment variable that asks for [`BusyLoad`]: a number of busy processes.
const LOAD_VARIABLE: &str = "NOTEBOOK_TEST_LOAD";

impl BusyLoad {
    /// Starts the load `NOTEBOOK_TEST_LOAD` asks for, if any.
    pub fn from_env() -> Result<Option<BusyLoad>, String> {
        let Ok(value) = std::env::var(LOAD_VARIABLE) else {
            return Ok(None);
        };
        let processes: usize = value.trim().parse().map_err(|_| {
            format!("{LOAD_VARIABLE}={value}: expected a number of busy processes, e.g. 2")
        })?;
        BusyLoad::start(processes).map(Some)
    }

    /// Runs a test binary's `trials` with the load `NOTEBOOK_TEST_LOAD` asks for beside
    /// them (none when only listing), stops the load and exits with libtest's status.
    pub fn run_trials(args: &Arguments, trials: Vec<Trial>) -> ! {
        let load = (!args.list).then(BusyLoad::for_test_run).flatten();
        let conclusion = libtest_mimic::run(args, trials);
        // `exit` skips destructors: stop the load first.
        drop(load);
        conclusion.exit()
    }

    /// [`from_env`](BusyLoad::from_env) for a test binary: says what it started, and
    /// ends the process on a value that is not a number.
    fn for_test_run() -> Option<BusyLoad> {
        match BusyLoad::from_env() {
            Ok(load) => {
                if let Some(load) = &load {
                    eprintln!(
                        "running under load: {} busy process(es) beside the tests",
                        load.processes()
                    );
                }
                load
            }
            Err(e) => {
                eprintln!("{e}");
                std::process::exit(2);
            }
        }
    }

    pub fn start(processes: usize) -> Result<BusyLoad, String> {
        // Each loop also ends when this process is gone, however it ended.
        let busy = format!(
            "while kill -0 {} 2>/dev/null; do :; done",
            std::process::id()
        );
        let children = (0..processes)
            .map(|_| {
                Command::new("setsid")
                    .args(["sh", "-c", &busy])
                    .stdin(Stdio::null())
                    .stdout(Stdio::null())
                    .spawn()
                    .map_err(|e| format!("cannot start a busy process (setsid sh): {e}"))
            })
            .collect::<Result<_, _>>()?;
        Ok(BusyLoad { children })
    }

    pub fn processes(&self) -> usize {
        self.children.len()
    }
}

impl Drop for BusyLoad {
    fn drop(&mut self) {
        for child in &mut self.children {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn sees_a_busy_neighbour_but_not_itself() {
        let meter = LoadMeter::start();
        let (machine, ours, started) = (machine_busy_seconds(), our_cpu_seconds(), Instant::now());
        let mut x = 0_u64;
        let until = started + Duration::from_millis(500);
        while Instant::now() < until {
            x = std::hint::black_box(x + 1);
        }
        let wall = started.elapsed().as_secs_f64();
        let (busy, spun) = (
            (machine_busy_seconds() - machine) / wall,
            (our_cpu_seconds() - ours) / wall,
        );
        let other = meter.other_load();
        // Our own spinning does not count, whatever else the machine runs meanwhile
        // (other tests, other jobs): the load seen is the machine's less ours.
        assert!(spun > 0.3, "the spinning used {spun} cores");
        assert!(
            other < busy - spun + 0.2,
            "saw {other} cores of other load; the machine had {busy} busy, {spun} of them ours"
        );
        let mut neighbour = std::process::Command::new("sh")
            .args(["-c", "while :; do :; done"])
            .spawn()
            .unwrap();
        let meter = LoadMeter::start();
        std::thread::sleep(Duration::from_millis(500));
        let load = meter.other_load();
        neighbour.kill().unwrap();
        neighbour.wait().unwrap();
        assert!(load > 0.5, "a busy loop beside us should show, got {load}");
    }
}
