//! How much of the machine a measurement had: the cores this process may use, how many
//! it kept busy, and how many other work kept busy meanwhile.
//!
//! A lesson's threads get only what the rest of the machine leaves them. Alone, four
//! threads on two cores keep both busy; on a server that a class shares, the other
//! learners' kernels take most of them, the speed-up comes out near 1, and the lesson
//! looks wrong. [`MachineLoad`] measures what else ran, and [`MachineLoad::note`] says
//! so in one sentence when that is why the figures are low.

use crate::timing::process_cpu_seconds;
use std::time::Instant;

/// Half a core: the note appears only when other work took at least this much of the
/// cores this process may use, this process got at least this much less than it may
/// use, and less than this was left idle (see [`MachineLoad::note`]).
///
/// On a quiet machine other work stays near 0.05 cores (a desktop, an editor), and
/// /proc/stat's counting errs by less than this over [`MEASURABLE_FROM_SECONDS`].
///
/// ```
/// assert_eq!(concurrency_helpers::NOTE_FROM_CORES, 0.5);
/// ```
pub const NOTE_FROM_CORES: f64 = 0.5;

/// Measurements shorter than this tell nothing about other work
/// ([`MachineLoad::other_work`] is `None`): /proc/stat counts CPU time in hundredths of
/// a second per core, so over 0.1 s on two cores its figure may be off by half a core.
///
/// ```
/// use concurrency_helpers::{MachineLoad, MEASURABLE_FROM_SECONDS};
///
/// let ((), load) = MachineLoad::measure(|| ());
/// assert_eq!(load.other_work(), None); // far too short to tell
/// assert!(MEASURABLE_FROM_SECONDS < 1.0);
/// ```
pub const MEASURABLE_FROM_SECONDS: f64 = 0.25;

/// What the machine gave a stretch of code: the cores this process may use, the cores
/// it kept busy, and the cores other work kept busy meanwhile, on average.
///
/// "Other work" is every CPU second spent on the cores this process may run on that
/// was not this process's own (its threads, not the programs it starts): other
/// programs, other users' kernels, and, on a VM, the time the host gave to other VMs.
///
/// ```
/// use concurrency_helpers::MachineLoad;
///
/// let (sum, load) = MachineLoad::measure(|| (0..1_000_000_u64).map(std::hint::black_box).sum::<u64>());
/// assert_eq!(sum, 499_999_500_000);
/// assert!(load.cores_available() >= 1);
/// load.print_note(); // prints nothing unless other work held this code back
/// ```
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct MachineLoad {
    seconds: f64,
    /// CPU seconds this process used.
    ours: f64,
    /// CPU seconds other work used on the cores this process may run on; `None` where
    /// the machine does not tell (no /proc/stat) or the stretch was too short.
    others: Option<f64>,
    cores: usize,
    machine_cores: usize,
}

impl MachineLoad {
    /// Runs `f` and returns its result with what the machine gave it meanwhile.
    ///
    /// ```
    /// use concurrency_helpers::MachineLoad;
    /// use std::thread;
    ///
    /// let ((), load) = MachineLoad::measure(|| {
    ///     thread::scope(|s| {
    ///         for _ in 0..2 {
    ///             s.spawn(|| (0..10_000_000_u64).map(std::hint::black_box).sum::<u64>());
    ///         }
    ///     })
    /// });
    /// println!("{:.2} of {} cores busy", load.cores_busy(), load.cores_available());
    /// ```
    pub fn measure<R>(f: impl FnOnce() -> R) -> (R, MachineLoad) {
        let meter = Meter::start();
        let result = f();
        (result, meter.stop())
    }

    /// A measurement made of the given figures, for the crate's own tests and
    /// [`Timings`](crate::Timings) built by hand.
    pub(crate) fn from_figures(
        seconds: f64,
        ours: f64,
        others: Option<f64>,
        cores: usize,
        machine_cores: usize,
    ) -> MachineLoad {
        MachineLoad {
            seconds,
            ours,
            others,
            cores,
            machine_cores: machine_cores.max(cores),
        }
    }

    /// How long the measurement took, in seconds.
    ///
    /// ```
    /// use concurrency_helpers::MachineLoad;
    ///
    /// let ((), load) = MachineLoad::measure(|| std::thread::sleep(std::time::Duration::from_millis(20)));
    /// assert!(load.seconds() >= 0.02);
    /// ```
    pub fn seconds(&self) -> f64 {
        self.seconds
    }

    /// The cores this process may use: [`std::thread::available_parallelism`], which
    /// counts the cores it may run on and a control group's CPU limit (rounded down;
    /// a class hub may give each learner such a limit).
    ///
    /// ```
    /// use concurrency_helpers::MachineLoad;
    ///
    /// let ((), load) = MachineLoad::measure(|| ());
    /// assert_eq!(load.cores_available(), std::thread::available_parallelism().unwrap().get());
    /// ```
    pub fn cores_available(&self) -> usize {
        self.cores
    }

    /// The cores this process may run on, whose busy time is counted: more than
    /// [`cores_available`](Self::cores_available) when a CPU limit allows fewer cores'
    /// worth of time than there are cores.
    ///
    /// ```
    /// use concurrency_helpers::MachineLoad;
    ///
    /// let ((), load) = MachineLoad::measure(|| ());
    /// assert!(load.machine_cores() >= load.cores_available());
    /// ```
    pub fn machine_cores(&self) -> usize {
        self.machine_cores
    }

    /// The cores this process kept busy on average: its CPU time over the time that
    /// passed.
    ///
    /// ```
    /// use concurrency_helpers::MachineLoad;
    ///
    /// let ((), load) = MachineLoad::measure(|| std::thread::sleep(std::time::Duration::from_millis(50)));
    /// assert!(load.cores_busy() < 0.5); // sleeping keeps no core busy
    /// ```
    pub fn cores_busy(&self) -> f64 {
        per_second(self.ours, self.seconds)
    }

    /// The cores other work kept busy on average, of the
    /// [`machine_cores`](Self::machine_cores); `None` where the machine does not tell (no /proc/stat)
    /// or the measurement was shorter than [`MEASURABLE_FROM_SECONDS`].
    ///
    /// ```
    /// use concurrency_helpers::MachineLoad;
    ///
    /// let ((), load) = MachineLoad::measure(|| std::thread::sleep(std::time::Duration::from_millis(300)));
    /// if let Some(others) = load.other_work() {
    ///     assert!(others <= load.machine_cores() as f64);
    /// }
    /// ```
    pub fn other_work(&self) -> Option<f64> {
        let others = self.others?;
        (self.seconds >= MEASURABLE_FROM_SECONDS)
            .then(|| per_second(others, self.seconds).min(self.machine_cores as f64))
    }

    /// The cores other work left for this process, on average: those it may use, or
    /// fewer when other work kept more than the rest of the machine busy. Under a CPU
    /// limit of 2 cores on an 8-core machine, other work may keep 6 busy and still
    /// leave 2.
    ///
    /// ```
    /// use concurrency_helpers::MachineLoad;
    ///
    /// let ((), load) = MachineLoad::measure(|| std::thread::sleep(std::time::Duration::from_millis(300)));
    /// if let Some(left) = load.cores_left() {
    ///     assert!(left <= load.cores_available() as f64);
    /// }
    /// ```
    pub fn cores_left(&self) -> Option<f64> {
        let others = self.other_work()?;
        Some((self.machine_cores as f64 - others).clamp(0.0, self.cores as f64))
    }

    /// One sentence saying that other work held this code back, when it did: e.g.
    /// "other programs kept 1.8 of the 2 cores busy: the threads had about 0.2 left to
    /// run on". `None` on a quiet machine.
    ///
    /// It appears when, on average, other work took at least [`NOTE_FROM_CORES`] of
    /// the cores this process may use, this process kept at least that much fewer
    /// busy than it may use, and less than that was left idle. The last excludes code
    /// that asked for no more (threads that wait or sleep): with a core idle, other
    /// work was not what held it back. Code that needs one core only (a sequential
    /// run) gets the note too when the machine was full, as it cannot be told apart
    /// from threads that got one core.
    ///
    /// ```
    /// use concurrency_helpers::MachineLoad;
    ///
    /// let ((), load) = MachineLoad::measure(|| ());
    /// assert_eq!(load.note(), None); // too short to tell
    /// ```
    pub fn note(&self) -> Option<String> {
        let others = self.other_work()?;
        let (cores, machine_cores) = (self.cores as f64, self.machine_cores as f64);
        if !held_back(cores, machine_cores, self.cores_busy(), others) {
            return None;
        }
        let left = self.cores_left()?;
        // Under a CPU limit, "the machine's 8 cores" are not all this notebook's.
        let (machine, limit) = if self.machine_cores > self.cores {
            (
                "the machine's",
                format!(" of the {} this notebook may use,", self.cores),
            )
        } else {
            ("the", String::new())
        };
        Some(format!(
            "other programs kept {others:.1} of {machine} {} busy:{limit} the threads had about {left:.1} left to run on",
            cores_phrase(self.machine_cores)
        ))
    }

    /// Prints [`note`](Self::note) on a line of its own when there is one; on a quiet
    /// machine, nothing.
    ///
    /// ```
    /// use concurrency_helpers::timeit_stats;
    ///
    /// let timings = timeit_stats(3, 10, || (0..1000_u64).sum::<u64>());
    /// println!("{timings}");
    /// timings.load().print_note();
    /// ```
    pub fn print_note(&self) {
        if let Some(note) = self.note() {
            println!("{note}");
        }
    }
}

/// Whether other work is why a run kept fewer cores busy than it may use, from the
/// averages in cores: the decision of [`MachineLoad::note`].
fn held_back(cores: f64, machine_cores: f64, ours: f64, others: f64) -> bool {
    // Under a CPU limit below the machine's cores, other work may keep the rest of the
    // machine busy without taking anything this process could have had.
    let taken_from_us = others - (machine_cores - cores);
    let idle = machine_cores - ours - others;
    taken_from_us >= NOTE_FROM_CORES && cores - ours >= NOTE_FROM_CORES && idle < NOTE_FROM_CORES
}

/// "1 core", "2 cores".
pub(crate) fn cores_phrase(cores: usize) -> String {
    if cores == 1 {
        "1 core".to_owned()
    } else {
        format!("{cores} cores")
    }
}

fn per_second(cpu_seconds: f64, seconds: f64) -> f64 {
    if seconds > 0.0 {
        (cpu_seconds / seconds).max(0.0)
    } else {
        0.0
    }
}

/// The counters at the start of a measurement.
struct Meter {
    started: Instant,
    ours: f64,
    machine: Option<CoreTime>,
    cores: usize,
}

impl Meter {
    fn start() -> Meter {
        let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
        // The clock last, closest to the code measured.
        let (machine, ours) = (CoreTime::now(), process_cpu_seconds());
        Meter {
            started: Instant::now(),
            ours,
            machine,
            cores,
        }
    }

    fn stop(self) -> MachineLoad {
        let seconds = self.started.elapsed().as_secs_f64();
        let ours = process_cpu_seconds() - self.ours;
        let machine = self.machine.zip(CoreTime::now());
        let others = machine.map(|(before, after)| (after.busy - before.busy - ours).max(0.0));
        let machine_cores = machine.map_or(self.cores, |(before, _)| before.cores);
        MachineLoad::from_figures(seconds, ours, others, self.cores, machine_cores)
    }
}

/// The busy time, since boot, of the cores this process may run on.
#[derive(Debug, Clone, Copy, PartialEq)]
struct CoreTime {
    busy: f64,
    cores: usize,
}

impl CoreTime {
    #[cfg(target_os = "linux")]
    fn now() -> Option<CoreTime> {
        let stat = std::fs::read_to_string("/proc/stat").ok()?;
        let (ticks, cores) = busy_ticks(&stat, &allowed_cpus()?)?;
        // SAFETY: sysconf only reads a configuration value.
        let per_second = unsafe { libc::sysconf(libc::_SC_CLK_TCK) };
        (per_second > 0).then(|| CoreTime {
            busy: ticks as f64 / per_second as f64,
            cores,
        })
    }

    #[cfg(not(target_os = "linux"))]
    fn now() -> Option<CoreTime> {
        None
    }
}

/// The CPUs this process may run on (its affinity: `taskset`, a control group's
/// cpuset), by number.
#[cfg(target_os = "linux")]
fn allowed_cpus() -> Option<Vec<usize>> {
    let mut set = std::mem::MaybeUninit::<libc::cpu_set_t>::zeroed();
    // SAFETY: sched_getaffinity fills the set it is given, of the size it is told.
    let set = unsafe {
        if libc::sched_getaffinity(0, std::mem::size_of::<libc::cpu_set_t>(), set.as_mut_ptr()) != 0
        {
            return None;
        }
        set.assume_init()
    };
    let size = 8 * std::mem::size_of::<libc::cpu_set_t>();
    // SAFETY: CPU_ISSET reads the set within its size.
    Some(
        (0..size)
            .filter(|&cpu| unsafe { libc::CPU_ISSET(cpu, &set) })
            .collect(),
    )
}

/// Busy ticks since boot of the CPUs in `allowed`, and how many of them are online,
/// from /proc/stat's text. Its lines `cpu` (all CPUs) and `cpuN` count user nice
/// system idle iowait irq softirq steal ...; busy is all but idle and iowait. The
/// `cpu` line is used when every online CPU is allowed: each counter there is rounded
/// once, where a sum over `cpuN` lines adds up one rounding per CPU.
#[cfg_attr(not(target_os = "linux"), allow(dead_code))]
fn busy_ticks(stat: &str, allowed: &[usize]) -> Option<(u64, usize)> {
    let busy = |counters: &str| -> u64 {
        let ticks: Vec<u64> = counters
            .split_whitespace()
            .filter_map(|t| t.parse().ok())
            .collect();
        [0, 1, 2, 5, 6, 7]
            .iter()
            .filter_map(|&i| ticks.get(i))
            .sum()
    };
    let mut all = None;
    let (mut online, mut chosen, mut chosen_busy) = (0, 0, 0);
    for line in stat.lines() {
        let Some((name, counters)) = line.split_once(' ') else {
            continue;
        };
        if name == "cpu" {
            all = Some(busy(counters));
        } else if let Some(cpu) = name.strip_prefix("cpu").and_then(|n| n.parse().ok()) {
            online += 1;
            if allowed.contains(&cpu) {
                chosen += 1;
                chosen_busy += busy(counters);
            }
        }
    }
    if chosen == 0 {
        return None;
    }
    Some(match all {
        Some(all) if chosen == online => (all, chosen),
        _ => (chosen_busy, chosen),
    })
}

#[cfg(test)]
mod tests;
