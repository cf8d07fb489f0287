//! A barrier with a timeout: Python's `threading.Barrier(parties, timeout=...)`.
//!
//! `std::sync::Barrier` waits forever. In a notebook that is a hazard: if one of the
//! threads never arrives (it panicked, or the instructor edited it away), the cell
//! hangs, and interrupting the evcxr kernel throws away every variable. This barrier
//! gives up after its timeout and, as in Python, *breaks*: the waiter that timed out
//! and every other waiter get an error instead of waiting on.

use std::error::Error;
use std::fmt;
use std::time::{Duration, Instant};
// Built with `--cfg loom`, the barrier runs on loom's model of these primitives, which
// tries every interleaving of its threads (`loom_tests` below).
#[cfg(loom)]
use loom::sync::{
    Arc, Condvar, Mutex, MutexGuard,
    atomic::{AtomicU8, Ordering},
};
#[cfg(not(loom))]
use std::sync::{
    Arc, Condvar, Mutex, MutexGuard,
    atomic::{AtomicU8, Ordering},
};

/// A rendezvous point for a fixed number of threads, which gives up after a timeout.
///
/// Each call to [`wait`](Barrier::wait) blocks until `parties` threads are waiting,
/// then releases them all at once and starts over, so one barrier serves round after
/// round. If the timeout passes first, the barrier is *broken*: every waiter, and
/// every later caller, gets a [`BarrierWaitError`] until [`reset`](Barrier::reset).
///
/// ```
/// use concurrency_helpers::Barrier;
/// use std::time::Duration;
/// use std::thread;
///
/// let barrier = Barrier::new(2, Duration::from_secs(5));
/// thread::scope(|s| {
///     s.spawn(|| barrier.wait().expect("server arrives"));
///     s.spawn(|| barrier.wait().expect("client arrives"));
/// });
///
/// // Alone at the barrier, a thread gives up and breaks it:
/// let lonely = Barrier::new(2, Duration::from_millis(10));
/// assert!(lonely.wait().is_err());
/// assert!(lonely.is_broken());
/// ```
#[derive(Debug)]
pub struct Barrier {
    parties: usize,
    timeout: Duration,
    state: Mutex<State>,
    changed: Condvar,
}

#[derive(Debug)]
struct State {
    /// Threads waiting in the current round.
    arrived: usize,
    /// How the current round ended. Each waiter keeps its round's handle, so a reset
    /// or a new round cannot be mistaken for the release of an older one.
    round: Arc<AtomicU8>,
}

const WAITING: u8 = 0;
const RELEASED: u8 = 1;
const BROKEN: u8 = 2;

/// Why [`Barrier::wait`] returned without the barrier being passed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BarrierWaitError {
    /// This thread waited for the whole timeout; it has broken the barrier.
    TimedOut(Duration),
    /// The barrier is broken: another waiter timed out, or it was aborted or reset.
    Broken,
}

impl fmt::Display for BarrierWaitError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            BarrierWaitError::TimedOut(t) => write!(
                f,
                "barrier wait timed out after {t:?}; the barrier is now broken for every waiter"
            ),
            BarrierWaitError::Broken => write!(
                f,
                "barrier is broken (a waiter timed out, or it was aborted or reset)"
            ),
        }
    }
}

impl Error for BarrierWaitError {}

impl Barrier {
    /// A barrier for `parties` threads whose [`wait`](Barrier::wait) gives up after
    /// `timeout`.
    ///
    /// # Panics
    /// When `parties` is zero: no group of threads could ever pass it.
    pub fn new(parties: usize, timeout: Duration) -> Self {
        assert!(
            parties > 0,
            "Barrier::new: parties must be at least 1, got 0"
        );
        Barrier {
            parties,
            timeout,
            state: Mutex::new(State {
                arrived: 0,
                round: Arc::new(AtomicU8::new(WAITING)),
            }),
            changed: Condvar::new(),
        }
    }

    /// Waits until `parties` threads are waiting, at most for the barrier's timeout.
    ///
    /// Returns this thread's arrival index in `0..parties`, as Python does: exactly one
    /// thread of each round gets `parties - 1`, which is handy for electing one thread
    /// to do a follow-up job.
    ///
    /// # Errors
    /// [`BarrierWaitError::TimedOut`] if this thread waited the whole timeout (it then
    /// breaks the barrier), [`BarrierWaitError::Broken`] if the barrier is or becomes
    /// broken while it waits.
    pub fn wait(&self) -> Result<usize, BarrierWaitError> {
        self.wait_timeout(self.timeout)
    }

    /// Like [`wait`](Barrier::wait), with a timeout for this call only.
    pub fn wait_timeout(&self, timeout: Duration) -> Result<usize, BarrierWaitError> {
        let mut state = self.lock();
        let round = Arc::clone(&state.round);
        if round.load(Ordering::Relaxed) == BROKEN {
            return Err(BarrierWaitError::Broken);
        }
        let index = state.arrived;
        state.arrived += 1;
        if state.arrived == self.parties {
            round.store(RELEASED, Ordering::Relaxed);
            self.start_new_round(&mut state);
            return Ok(index);
        }
        let deadline = Instant::now() + timeout;
        while round.load(Ordering::Relaxed) == WAITING {
            let Some(left) = deadline.checked_duration_since(Instant::now()) else {
                break;
            };
            state = self
                .changed
                .wait_timeout(state, left)
                .unwrap_or_else(|poisoned| poisoned.into_inner())
                .0;
        }
        match round.load(Ordering::Relaxed) {
            RELEASED => Ok(index),
            BROKEN => Err(BarrierWaitError::Broken),
            _ => {
                round.store(BROKEN, Ordering::Relaxed);
                drop(state);
                self.changed.notify_all();
                Err(BarrierWaitError::TimedOut(timeout))
            }
        }
    }

    /// Breaks the barrier: current and future waiters get [`BarrierWaitError::Broken`]
    /// until [`reset`](Barrier::reset). Python's `Barrier.abort()`.
    pub fn abort(&self) {
        let state = self.lock();
        state.round.store(BROKEN, Ordering::Relaxed);
        drop(state);
        self.changed.notify_all();
    }

    /// Returns the barrier to its initial, empty state. Threads waiting on it at that
    /// moment get [`BarrierWaitError::Broken`], as in Python.
    pub fn reset(&self) {
        let mut state = self.lock();
        if state.arrived > 0 {
            state.round.store(BROKEN, Ordering::Relaxed);
        }
        self.start_new_round(&mut state);
    }

    /// Whether the barrier is broken (a waiter timed out, or [`abort`](Barrier::abort)).
    pub fn is_broken(&self) -> bool {
        self.lock().round.load(Ordering::Relaxed) == BROKEN
    }

    /// The number of threads needed to pass the barrier.
    pub fn parties(&self) -> usize {
        self.parties
    }

    /// The number of threads waiting in the current round.
    pub fn n_waiting(&self) -> usize {
        let state = self.lock();
        if state.round.load(Ordering::Relaxed) == BROKEN {
            0
        } else {
            state.arrived
        }
    }

    /// The timeout [`wait`](Barrier::wait) uses.
    pub fn timeout(&self) -> Duration {
        self.timeout
    }

    fn start_new_round(&self, state: &mut State) {
        state.arrived = 0;
        state.round = Arc::new(AtomicU8::new(WAITING));
        self.changed.notify_all();
    }

    /// The state stays consistent even if a waiter panicked, so poisoning is ignored.
    fn lock(&self) -> MutexGuard<'_, State> {
        self.state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

#[cfg(all(test, loom))]
mod loom_tests {
    //! The wait/release/reset protocol under every interleaving loom finds, for two
    //! and three threads: `RUSTFLAGS="--cfg loom" cargo test -p concurrency_helpers
    //! --release --lib loom_tests` (CI runs it). loom does not model time, so timeouts
    //! are left to the property tests; here no wait runs into its timeout.
    use super::*;
    use loom::thread;

    const NEVER: Duration = Duration::from_secs(3600);

    #[test]
    fn all_parties_pass_with_distinct_indices() {
        loom::model(|| {
            let barrier = Arc::new(Barrier::new(3, NEVER));
            let others: Vec<_> = (0..2)
                .map(|_| {
                    let barrier = Arc::clone(&barrier);
                    thread::spawn(move || barrier.wait())
                })
                .collect();
            let mut indices = vec![barrier.wait().unwrap()];
            indices.extend(others.into_iter().map(|t| t.join().unwrap().unwrap()));
            indices.sort();
            assert_eq!(indices, [0, 1, 2]);
            assert_eq!(barrier.n_waiting(), 0);
        });
    }

    #[test]
    fn a_new_round_is_never_taken_for_the_last() {
        loom::model(|| {
            let barrier = Arc::new(Barrier::new(2, NEVER));
            let other = {
                let barrier = Arc::clone(&barrier);
                thread::spawn(move || [barrier.wait(), barrier.wait()])
            };
            let ours = [barrier.wait(), barrier.wait()];
            let theirs = other.join().unwrap();
            for round in 0..2 {
                let mut indices = [ours[round].unwrap(), theirs[round].unwrap()];
                indices.sort();
                assert_eq!(indices, [0, 1], "round {round}");
            }
        });
    }

    #[test]
    fn abort_and_reset_release_a_waiter_and_the_barrier_recovers() {
        loom::model(|| {
            let barrier = Arc::new(Barrier::new(2, NEVER));
            let waiter = {
                let barrier = Arc::clone(&barrier);
                thread::spawn(move || barrier.wait())
            };
            // Whenever the waiter arrives (before the reset, between, or after the
            // abort), it is released with an error, never left waiting.
            barrier.reset();
            barrier.abort();
            assert_eq!(waiter.join().unwrap(), Err(BarrierWaitError::Broken));
            assert!(barrier.is_broken());
            barrier.reset();
            assert!(!barrier.is_broken());
            let again = {
                let barrier = Arc::clone(&barrier);
                thread::spawn(move || barrier.wait())
            };
            assert!(barrier.wait().is_ok());
            assert!(again.join().unwrap().is_ok());
        });
    }
}

#[cfg(all(test, not(loom)))]
mod tests;
