//! Python's `timeit.timeit` and `timeit.repeat`.

use crate::machine_load::{MachineLoad, cores_phrase};
use std::fmt;
use std::time::Instant;

/// Runs `f` `number` times and returns the total time in seconds, like Python's
/// `timeit.timeit(f, number=number)`.
///
/// The result is the total, not the mean: `timeit(10, f)` of a 0.1 s `f` is about
/// 1.0. As in Python, `number = 0` runs nothing and returns about zero.
///
/// A measurement that will take [`ANNOUNCE_FROM_SECONDS`] or more says so after the
/// first call, with its estimate (`timeit: 10 calls, about 15 s in all (the first took
/// 1.5 s)`), so that a long cell in front of a class does not sit in silence.
///
/// ```
/// use concurrency_helpers::{timeit, simulate_processing_time};
///
/// let total = timeit(3, || simulate_processing_time(0.01));
/// assert!(total >= 0.03);
/// ```
pub fn timeit<R>(number: usize, f: impl FnMut() -> R) -> f64 {
    timeit_announcing(number, number, f)
}

/// Measurements expected to take at least this many seconds print their estimate
/// after the first call (see [`timeit`]).
pub const ANNOUNCE_FROM_SECONDS: f64 = 3.0;

/// [`timeit`], announcing after the first call how long `calls_in_all` calls will take
/// if that reaches [`ANNOUNCE_FROM_SECONDS`]; 0 announces nothing.
fn timeit_announcing<R>(number: usize, calls_in_all: usize, mut f: impl FnMut() -> R) -> f64 {
    let start = Instant::now();
    let mut announcing = std::time::Duration::ZERO;
    for call in 0..number {
        // Keep the result observable so the optimiser cannot drop the work.
        std::hint::black_box(f());
        if call == 0 && calls_in_all > 1 {
            let printing = Instant::now();
            if let Some(line) = announcement(start.elapsed().as_secs_f64(), calls_in_all) {
                println!("{line}");
            }
            announcing = printing.elapsed();
        }
    }
    (start.elapsed() - announcing).as_secs_f64()
}

fn announcement(first: f64, calls_in_all: usize) -> Option<String> {
    let estimate = first * calls_in_all as f64;
    (estimate >= ANNOUNCE_FROM_SECONDS).then(|| {
        format!("timeit: {calls_in_all} calls, about {estimate:.0} s in all (the first took {first:.1} s)")
    })
}

/// Runs [`timeit(number, f)`](timeit) `repeat` times and summarises the totals, like
/// Python's `timeit.repeat`, plus the statistics people compute from it.
///
/// The minimum is the least disturbed run, the median the typical one; on a machine
/// whose speed varies from run to run (a shared VM), compare medians. Each run also
/// records the CPU time the process used, so [`Timings::cores_busy`] tells how many
/// cores the work really had, which a busy machine may not give; [`Timings::load`]
/// tells how many other work kept busy meanwhile, and says so in a sentence when that
/// held the runs back. Like [`timeit`], a long measurement announces its estimate
/// after the first call.
///
/// # Panics
/// When `repeat` or `number` is zero: there would be no timing to summarise.
///
/// ```
/// use concurrency_helpers::timeit_stats;
///
/// let timings = timeit_stats(5, 100, || (0..1000).sum::<u64>());
/// assert_eq!(timings.runs().len(), 5);
/// assert!(timings.min() <= timings.median() && timings.median() <= timings.max());
/// println!("{timings}"); // e.g. "5 runs of 100: min 0.000021 s, median ..."
/// ```
pub fn timeit_stats<R>(repeat: usize, number: usize, mut f: impl FnMut() -> R) -> Timings {
    assert!(repeat > 0, "timeit_stats: repeat must be at least 1, got 0");
    assert!(number > 0, "timeit_stats: number must be at least 1, got 0");
    // One measurement of the machine around all runs: /proc/stat's rounding, once
    // per run, would add up over short runs.
    let ((runs, cpu), load) = MachineLoad::measure(|| {
        (0..repeat)
            .map(|run| {
                let cpu_before = process_cpu_seconds();
                // The first run announces the whole measurement, the others nothing.
                let calls_in_all = if run == 0 { repeat * number } else { 0 };
                let wall = timeit_announcing(number, calls_in_all, &mut f);
                (wall, process_cpu_seconds() - cpu_before)
            })
            .unzip()
    });
    Timings::new(number, runs, cpu, load)
}

/// The CPU time this process has used so far, all its threads together (user and
/// system), in seconds.
///
/// ```
/// use concurrency_helpers::process_cpu_seconds;
///
/// let before = process_cpu_seconds();
/// let mut x = 0_u64;
/// for i in 0..10_000_000 {
///     x = std::hint::black_box(x + i);
/// }
/// assert!(process_cpu_seconds() > before);
/// ```
pub fn process_cpu_seconds() -> f64 {
    let mut usage = std::mem::MaybeUninit::<libc::rusage>::uninit();
    // SAFETY: getrusage fills the struct it is given and fails only for a bad `who`.
    let usage = unsafe {
        assert_eq!(libc::getrusage(libc::RUSAGE_SELF, usage.as_mut_ptr()), 0);
        usage.assume_init()
    };
    let seconds = |t: libc::timeval| t.tv_sec as f64 + t.tv_usec as f64 / 1e6;
    seconds(usage.ru_utime) + seconds(usage.ru_stime)
}

/// The totals of several [`timeit`] runs of `number` calls each, with their summary.
///
/// The summary is computed from the runs when asked for, so it always describes them.
/// Printed, it is one line ending in the cores busy out of those the process may use
/// ("1.95 of 2 cores busy"). The sentence saying that other work held the runs back is
/// not part of it: a cell that compares two timings prints it once, with
/// `timings.load().print_note()` ([`MachineLoad::print_note`]).
#[derive(Debug, Clone, PartialEq)]
pub struct Timings {
    number: usize,
    runs: Vec<f64>,
    cpu: Vec<f64>,
    load: MachineLoad,
}

impl Timings {
    fn new(number: usize, runs: Vec<f64>, cpu: Vec<f64>, load: MachineLoad) -> Self {
        assert!(!runs.is_empty(), "Timings need at least one run");
        assert_eq!(runs.len(), cpu.len(), "one CPU time per run");
        Timings {
            number,
            runs,
            cpu,
            load,
        }
    }

    fn sorted(&self) -> Vec<f64> {
        let mut sorted = self.runs.clone();
        sorted.sort_by(f64::total_cmp);
        sorted
    }

    /// Calls of the function per run.
    pub fn number(&self) -> usize {
        self.number
    }

    /// Each run's total in seconds, in the order they ran.
    pub fn runs(&self) -> &[f64] {
        &self.runs
    }

    /// The CPU seconds the process used during each run, in the order they ran.
    pub fn cpu(&self) -> &[f64] {
        &self.cpu
    }

    /// The fastest run's total in seconds.
    pub fn min(&self) -> f64 {
        self.sorted()[0]
    }

    /// The median run's total in seconds (the mean of the middle two for an even
    /// count). Less lucky than the minimum: the figure to compare on a machine whose
    /// speed varies from one run to the next.
    pub fn median(&self) -> f64 {
        let sorted = self.sorted();
        let mid = sorted.len() / 2;
        if sorted.len().is_multiple_of(2) {
            (sorted[mid - 1] + sorted[mid]) / 2.0
        } else {
            sorted[mid]
        }
    }

    /// The slowest run's total in seconds.
    pub fn max(&self) -> f64 {
        self.sorted()[self.runs.len() - 1]
    }

    /// How many cores were busy on average over all runs: their CPU time over their
    /// wall time. About 1 for sequential work; up to the number of cores for threads
    /// that run in parallel, if the machine has those cores free. A machine that runs
    /// slower or faster changes both alike, so this figure does not drift with it.
    pub fn cores_busy(&self) -> f64 {
        self.cpu.iter().sum::<f64>() / self.runs.iter().sum::<f64>()
    }

    /// The fastest time of one call, in seconds: `min / number`.
    pub fn best_per_call(&self) -> f64 {
        self.min() / self.number as f64
    }

    /// What the machine gave all runs together: the cores this process may use (the
    /// "of 2" in "1.95 of 2 cores busy"), the cores other work kept busy meanwhile,
    /// and, when that held the runs back, a sentence saying so.
    ///
    /// ```
    /// use concurrency_helpers::timeit_stats;
    ///
    /// let timings = timeit_stats(3, 10, || (0..1000_u64).sum::<u64>());
    /// assert!(timings.load().cores_available() >= 1);
    /// timings.load().print_note(); // nothing on a quiet machine
    /// ```
    pub fn load(&self) -> MachineLoad {
        self.load
    }
}

impl fmt::Display for Timings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} runs of {}: min {:.6} s, median {:.6} s, max {:.6} s, {:.2} of {} busy",
            self.runs.len(),
            self.number,
            self.min(),
            self.median(),
            self.max(),
            self.cores_busy(),
            cores_phrase(self.load.cores_available())
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timeit_calls_exactly_number_times() {
        let mut calls = 0;
        timeit(7, || calls += 1);
        assert_eq!(calls, 7);
    }

    #[test]
    fn timeit_of_zero_runs_nothing() {
        let mut calls = 0;
        assert!(timeit(0, || calls += 1) < 0.01);
        assert_eq!(calls, 0);
    }

    #[test]
    fn timeit_returns_the_total() {
        let total = timeit(3, || {
            std::thread::sleep(std::time::Duration::from_millis(10))
        });
        assert!(total >= 0.03, "{total}");
    }

    #[test]
    fn only_long_measurements_announce_their_estimate() {
        assert_eq!(announcement(0.29, 10), None);
        assert_eq!(
            announcement(1.5, 10).as_deref(),
            Some("timeit: 10 calls, about 15 s in all (the first took 1.5 s)")
        );
    }

    fn quiet(cores: usize) -> MachineLoad {
        MachineLoad::from_figures(6.0, 6.0, Some(0.1), cores, cores)
    }

    #[test]
    fn stats_summarise_odd_and_even_counts() {
        let odd = Timings::new(1, vec![3.0, 1.0, 2.0], vec![3.0, 0.5, 2.5], quiet(2));
        assert_eq!((odd.min(), odd.median(), odd.max()), (1.0, 2.0, 3.0));
        assert_eq!(odd.runs(), [3.0, 1.0, 2.0]);
        assert_eq!(odd.cores_busy(), 1.0);
        let even = Timings::new(4, vec![4.0, 1.0, 2.0, 3.0], vec![0.0; 4], quiet(2));
        assert_eq!((even.min(), even.median(), even.max()), (1.0, 2.5, 4.0));
        assert_eq!(even.best_per_call(), 0.25);
    }

    #[test]
    fn the_summary_says_how_many_cores_there_were() {
        let two = Timings::new(2, vec![1.0, 1.0], vec![1.9, 2.0], quiet(2));
        assert_eq!(
            two.to_string(),
            "2 runs of 2: min 1.000000 s, median 1.000000 s, max 1.000000 s, 1.95 of 2 cores busy"
        );
        let one = Timings::new(1, vec![1.0], vec![0.98], quiet(1));
        assert!(one.to_string().ends_with(", 0.98 of 1 core busy"), "{one}");
    }

    #[test]
    fn stats_run_repeat_times_number_calls() {
        let mut calls = 0;
        let t = timeit_stats(3, 4, || calls += 1);
        assert_eq!(calls, 12);
        assert_eq!(t.runs().len(), 3);
        assert!(t.to_string().starts_with("3 runs of 4: min "));
    }

    #[test]
    #[should_panic(expected = "repeat must be at least 1")]
    fn stats_reject_zero_repeats() {
        timeit_stats(0, 1, || ());
    }

    #[test]
    #[should_panic(expected = "number must be at least 1")]
    fn stats_reject_zero_number() {
        timeit_stats(1, 0, || ());
    }
}
