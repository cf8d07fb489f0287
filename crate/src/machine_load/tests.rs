//! MachineLoad's figures and note on given numbers, /proc/stat's parsing, and a
//! machine really kept busy by two other processes.

use super::*;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

fn load(cores: usize, machine_cores: usize, ours: f64, others: f64) -> MachineLoad {
    MachineLoad::from_figures(2.0, 2.0 * ours, Some(2.0 * others), cores, machine_cores)
}

#[test]
fn quiet_machines_get_no_note() {
    // Threads that had both cores; one thread on a quiet machine.
    assert_eq!(load(2, 2, 1.95, 0.05).note(), None);
    assert_eq!(load(2, 2, 1.0, 0.05).note(), None);
    // Below the threshold: a browser, an editor, a build's tail.
    assert_eq!(load(2, 2, 1.55, 0.45).note(), None);
    assert_eq!(load(1, 1, 0.9, 0.1).note(), None);
}

#[test]
fn heavy_other_work_gets_one_sentence() {
    // A class of learners on a 2-core server.
    assert_eq!(
        load(2, 2, 0.2, 1.8).note().as_deref(),
        Some(
            "other programs kept 1.8 of the 2 cores busy: the threads had about 0.2 left to run on"
        )
    );
    // Two busy loops beside the lesson's threads.
    let note = load(2, 2, 0.7, 1.3).note().unwrap();
    assert!(
        note.starts_with("other programs kept 1.3 of the 2 cores busy"),
        "{note}"
    );
    assert_eq!(
        load(1, 1, 0.3, 0.7).note().as_deref(),
        Some(
            "other programs kept 0.7 of the 1 core busy: the threads had about 0.3 left to run on"
        )
    );
}

#[test]
fn code_that_asked_for_less_gets_no_note() {
    // Threads that sleep or wait keep no core busy, and a core stayed idle.
    assert_eq!(load(2, 2, 0.05, 1.0).note(), None);
    // As many cores as it may use, whatever else ran.
    assert_eq!(load(2, 4, 1.9, 2.0).note(), None);
}

#[test]
fn a_cpu_limit_leaves_the_rest_of_the_machine_to_others() {
    // Two cores' worth of time on an 8-core machine: six busy elsewhere take
    // nothing from it, and a run that kept 0.3 busy asked for no more.
    assert_eq!(load(2, 8, 0.3, 6.0).note(), None);
    assert_eq!(load(2, 8, 1.9, 6.0).cores_left(), Some(2.0));
    let crowded = load(2, 8, 0.3, 7.6);
    assert!((crowded.cores_left().unwrap() - 0.4).abs() < 1e-9);
    assert_eq!(
        crowded.note().as_deref(),
        Some(
            "other programs kept 7.6 of the machine's 8 cores busy: of the 2 this notebook may use, the threads had about 0.4 left to run on"
        )
    );
}

#[test]
fn short_or_unknown_measurements_tell_nothing() {
    let short = MachineLoad::from_figures(0.1, 0.02, Some(0.18), 2, 2);
    assert_eq!((short.other_work(), short.note()), (None, None));
    let unknown = MachineLoad::from_figures(2.0, 0.4, None, 2, 2);
    assert_eq!((unknown.other_work(), unknown.note()), (None, None));
    // Rounding may leave more "other work" than there are cores: capped.
    assert_eq!(load(2, 2, 0.0, 2.2).other_work(), Some(2.0));
}

#[test]
fn proc_stat_counts_the_allowed_cpus() {
    let stat = "cpu  100 1 50 1000 7 0 9 3 0 0\n\
                cpu0 60 1 30 500 3 0 5 2 0 0\n\
                cpu1 40 0 20 500 4 0 4 1 0 0\n\
                intr 12 0 0\n";
    // Every online CPU: the `cpu` line, busy being all but idle and iowait.
    assert_eq!(busy_ticks(stat, &[0, 1]), Some((163, 2)));
    assert_eq!(busy_ticks(stat, &[0, 1, 2, 3]), Some((163, 2)));
    // One of them (taskset, a cpuset): its own line.
    assert_eq!(busy_ticks(stat, &[1]), Some((65, 1)));
    assert_eq!(busy_ticks(stat, &[5]), None);
    assert_eq!(busy_ticks("", &[0]), None);
}

/// Busy loops in processes of their own, killed when dropped; each also ends by
/// itself once this test process is gone, however it ended.
struct BusyNeighbours(Vec<Child>);

impl BusyNeighbours {
    fn start(count: usize) -> BusyNeighbours {
        let busy = format!(
            "while kill -0 {} 2>/dev/null; do :; done",
            std::process::id()
        );
        BusyNeighbours(
            (0..count)
                .map(|_| {
                    Command::new("sh")
                        .args(["-c", &busy])
                        .stdin(Stdio::null())
                        .spawn()
                        .expect("sh starts")
                })
                .collect(),
        )
    }
}

impl Drop for BusyNeighbours {
    fn drop(&mut self) {
        for child in &mut self.0 {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

#[test]
#[cfg(target_os = "linux")]
fn busy_neighbours_show_as_other_work() {
    // What is measured is this process's CPU time, and the other tests of this binary run
    // beside this one (a clean-clone CI run saw "sleeping kept 0.32 cores busy"): so it
    // runs alone, in a process of its own.
    const ALONE: &str = "MACHINE_LOAD_TEST_ALONE";
    if std::env::var_os(ALONE).is_none() {
        let status = std::process::Command::new(std::env::current_exe().unwrap())
            .args([
                "--exact",
                "machine_load::tests::busy_neighbours_show_as_other_work",
                "--test-threads",
                "1",
                "--nocapture",
            ])
            .env(ALONE, "1")
            .status()
            .unwrap();
        assert!(
            status.success(),
            "it failed alone in a process of its own (above)"
        );
        return;
    }
    let neighbours = BusyNeighbours::start(2);
    // Let them get going, then measure while this test only sleeps.
    std::thread::sleep(Duration::from_millis(200));
    let ((), load) = MachineLoad::measure(|| std::thread::sleep(Duration::from_secs(1)));
    drop(neighbours);
    let others = load.other_work().expect("/proc/stat tells on Linux");
    // Two busy loops fill up to two cores; whatever else runs only adds to that.
    let expected = load.machine_cores().min(2) as f64;
    assert!(
        others >= 0.6 * expected,
        "two busy processes on {} cores showed as {others:.2} cores of other work",
        load.machine_cores()
    );
    assert!(
        load.cores_busy() < 0.2,
        "sleeping kept {} cores busy",
        load.cores_busy()
    );
}
