//! Locks that know who holds them and who waits for them, and refuse a wait that
//! would close a cycle: a deadlock named as it happens, instead of a hang.

use std::collections::HashMap;
use std::error::Error;
use std::fmt;
use std::ops::{Deref, DerefMut};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};
use std::thread::{self, ThreadId};
use std::time::{Duration, Instant};

/// Makes [`NamedMutex`]es and keeps their *wait-for graph*: which thread holds which
/// lock, and which lock each blocked thread waits for. A
/// thread that asks for a lock held by a thread that (through others) waits for a
/// lock it holds would wait forever; instead of waiting, it gets
/// [`LockError::Deadlock`], which names the cycle, and can back off (drop its locks),
/// which lets the others through.
///
/// ```
/// use concurrency_helpers::{DeadlockDetector, LockError, NamedMutex};
/// use std::sync::Barrier;
/// use std::thread;
/// use std::time::Duration;
///
/// let detector = DeadlockDetector::new(Duration::from_secs(5));
/// let (lock_a, lock_b) = (detector.mutex("lock A", ()), detector.mutex("lock B", ()));
/// let both_hold_one = Barrier::new(2);
/// let take_both = |first: &NamedMutex<()>, second: &NamedMutex<()>| -> Result<(), LockError> {
///     let _first = first.lock()?;
///     both_hold_one.wait(); // each thread holds its first lock now
///     let _second = second.lock()?;
///     Ok(())
/// };
/// let outcomes = thread::scope(|s| {
///     let named = |name: &str| thread::Builder::new().name(name.into());
///     let one = named("task1").spawn_scoped(s, || take_both(&lock_a, &lock_b)).unwrap();
///     let two = named("task2").spawn_scoped(s, || take_both(&lock_b, &lock_a)).unwrap();
///     [one.join().unwrap(), two.join().unwrap()]
/// });
/// // Whichever asked second closed the cycle and backed off; the other got both.
/// let refused: Vec<_> = outcomes.iter().filter_map(|o| o.as_ref().err()).collect();
/// assert_eq!(refused.len(), 1);
/// let said = refused[0].to_string();
/// for name in ["task1", "task2", "lock A", "lock B"] {
///     assert!(said.contains(name), "{said}");
/// }
/// ```
///
/// Only the detector's own locks are in its graph: a thread blocked on anything else
/// (a `std` lock, a channel) is not seen, so every wait also ends after the
/// detector's timeout. The bookkeeping takes one lock shared by all the detector's
/// mutexes: fine for a lesson or a test, too slow for a hot path. (`parking_lot`'s
/// `deadlock_detection` finds such cycles among its locks in real programs, from a
/// background thread; it reports thread ids and backtraces, not lock names, and the
/// threads stay blocked, which in a notebook would leave the cell hanging.)
#[derive(Debug, Clone)]
pub struct DeadlockDetector {
    shared: Arc<Shared>,
}

#[derive(Debug)]
struct Shared {
    timeout: Duration,
    graph: Mutex<Graph>,
    released: Condvar,
}

/// The wait-for graph: each lock's holder, each blocked thread's wanted lock.
#[derive(Debug, Default)]
struct Graph {
    names: Vec<String>,
    holder: HashMap<usize, Holder>,
    waits_for: HashMap<ThreadId, usize>,
}

#[derive(Debug, Clone)]
struct Holder {
    id: ThreadId,
    name: String,
}

impl Holder {
    fn current() -> Holder {
        let current = thread::current();
        Holder {
            id: current.id(),
            name: current
                .name()
                .map_or_else(|| format!("{:?}", current.id()), str::to_owned),
        }
    }
}

impl DeadlockDetector {
    /// A detector whose locks give up waiting after `timeout` (for waits it cannot
    /// see the end of: a holder that is slow, or blocked on something else).
    pub fn new(timeout: Duration) -> DeadlockDetector {
        DeadlockDetector {
            shared: Arc::new(Shared {
                timeout,
                graph: Mutex::default(),
                released: Condvar::new(),
            }),
        }
    }

    /// A new lock around `value`, called `name` in deadlock reports (`"lock A"`).
    pub fn mutex<T>(&self, name: impl Into<String>, value: T) -> NamedMutex<T> {
        let mut graph = self.shared.graph();
        graph.names.push(name.into());
        NamedMutex {
            id: graph.names.len() - 1,
            detector: self.clone(),
            data: Mutex::new(value),
        }
    }
}

impl Shared {
    fn graph(&self) -> MutexGuard<'_, Graph> {
        // The graph is consistent between its updates, which do not panic.
        self.graph.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// A `Mutex` with a name, made by a [`DeadlockDetector`]: [`lock`](NamedMutex::lock)
/// fails instead of closing a cycle of waiting threads.
#[derive(Debug)]
pub struct NamedMutex<T> {
    id: usize,
    detector: DeadlockDetector,
    data: Mutex<T>,
}

/// The lock of a [`NamedMutex`], held until dropped, like `std::sync::MutexGuard`.
#[derive(Debug)]
pub struct NamedMutexGuard<'a, T> {
    // Declared first, so that it unlocks before the graph hears of the release.
    data: MutexGuard<'a, T>,
    lock: &'a NamedMutex<T>,
}

impl<T> NamedMutex<T> {
    /// The lock's name, as deadlock reports give it.
    pub fn name(&self) -> String {
        self.detector.shared.graph().names[self.id].clone()
    }

    /// Locks, waiting while another thread holds the lock, unless waiting would close
    /// a cycle of threads that wait for each other ([`LockError::Deadlock`], at once)
    /// or lasts longer than the detector's timeout ([`LockError::TimedOut`]).
    ///
    /// A panic while the lock is held does not poison it: the next holder gets the
    /// value as the panicking thread left it.
    pub fn lock(&self) -> Result<NamedMutexGuard<'_, T>, LockError> {
        let shared = &self.detector.shared;
        let me = Holder::current();
        let deadline = Instant::now() + shared.timeout;
        let mut graph = shared.graph();
        while let Some(holder) = graph.holder.get(&self.id).cloned() {
            if holder.id == me.id {
                return Err(LockError::Deadlock(vec![Waiting {
                    thread: me.name,
                    holds: graph.names[self.id].clone(),
                    waits_for: graph.names[self.id].clone(),
                }]));
            }
            if let Some(cycle) = graph.cycle_through(&me, self.id) {
                return Err(LockError::Deadlock(cycle));
            }
            let now = Instant::now();
            if now >= deadline {
                return Err(LockError::TimedOut {
                    lock: graph.names[self.id].clone(),
                    holder: holder.name,
                    waited: shared.timeout,
                });
            }
            graph.waits_for.insert(me.id, self.id);
            graph = shared
                .released
                .wait_timeout(graph, deadline - now)
                .unwrap_or_else(PoisonError::into_inner)
                .0;
            graph.waits_for.remove(&me.id);
        }
        graph.holder.insert(self.id, me);
        drop(graph);
        Ok(NamedMutexGuard {
            // Only the graph's holder locks `data`, so this never waits.
            data: self.data.lock().unwrap_or_else(PoisonError::into_inner),
            lock: self,
        })
    }
}

impl Graph {
    /// The cycle that `me` waiting for `lock` would close: starting from the lock's
    /// holder, follow what each thread waits for and who holds that, back to `me`.
    fn cycle_through(&self, me: &Holder, lock: usize) -> Option<Vec<Waiting>> {
        let mut chain = Vec::new();
        let mut wanted = lock;
        let mut thread = me.clone();
        loop {
            let holder = self.holder.get(&wanted)?;
            chain.push((thread, wanted));
            if holder.id == me.id {
                break;
            }
            if chain.len() > self.names.len() {
                return None;
            }
            wanted = *self.waits_for.get(&holder.id)?;
            thread = holder.clone();
        }
        // Each thread holds the lock that the one before it in the chain wants.
        let count = chain.len();
        Some(
            (0..count)
                .map(|i| {
                    let (thread, waits_for) = &chain[i];
                    let holds = chain[(i + count - 1) % count].1;
                    Waiting {
                        thread: thread.name.clone(),
                        holds: self.names[holds].clone(),
                        waits_for: self.names[*waits_for].clone(),
                    }
                })
                .collect(),
        )
    }
}

impl<T> Deref for NamedMutexGuard<'_, T> {
    type Target = T;
    fn deref(&self) -> &T {
        &self.data
    }
}

impl<T> DerefMut for NamedMutexGuard<'_, T> {
    fn deref_mut(&mut self) -> &mut T {
        &mut self.data
    }
}

impl<T> Drop for NamedMutexGuard<'_, T> {
    fn drop(&mut self) {
        let shared = &self.lock.detector.shared;
        shared.graph().holder.remove(&self.lock.id);
        shared.released.notify_all();
    }
}

/// One thread in a deadlock: the lock it holds and the lock it waits for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Waiting {
    /// The thread's name (its `ThreadId` when it has none).
    pub thread: String,
    /// The lock it holds, which the previous thread in the cycle waits for.
    pub holds: String,
    /// The lock it waits for, which the next thread in the cycle holds.
    pub waits_for: String,
}

/// Why [`NamedMutex::lock`] returned without the lock. Its `Debug` form is its
/// message, so that a notebook cell's `Err(...)` value reads as the cycle.
#[derive(Clone, PartialEq, Eq)]
pub enum LockError {
    /// Waiting would have closed this cycle, the asking thread first: each thread
    /// holds a lock the one before it waits for. The asking thread did not wait.
    Deadlock(Vec<Waiting>),
    /// The lock was still held after the detector's timeout.
    TimedOut {
        /// The lock asked for.
        lock: String,
        /// The thread that held it when the wait began.
        holder: String,
        /// How long the caller waited.
        waited: Duration,
    },
}

impl fmt::Display for LockError {
    /// `deadlock: task2 holds lock B and waits for lock A; task1 holds lock A and
    /// waits for lock B`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            LockError::Deadlock(cycle) => {
                f.write_str("deadlock: ")?;
                for (i, w) in cycle.iter().enumerate() {
                    let separator = if i == 0 { "" } else { "; " };
                    write!(
                        f,
                        "{separator}{} holds {} and waits for {}",
                        w.thread, w.holds, w.waits_for
                    )?;
                }
                Ok(())
            }
            LockError::TimedOut {
                lock,
                holder,
                waited,
            } => write!(
                f,
                "gave up on {lock} after {waited:?}: {holder} held it and did not release it"
            ),
        }
    }
}

impl fmt::Debug for LockError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

impl Error for LockError {}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Barrier;

    /// Each thread takes its first lock, waits until all hold one, then asks for its
    /// second: a deadlock every time when the orders differ.
    fn run(
        orders: &[(&str, &NamedMutex<u32>, &NamedMutex<u32>)],
        meet: bool,
    ) -> Vec<Result<(), LockError>> {
        let all_hold_one = Barrier::new(orders.len());
        thread::scope(|s| {
            let handles: Vec<_> = orders
                .iter()
                .map(|&(name, first, second)| {
                    let all_hold_one = &all_hold_one;
                    thread::Builder::new()
                        .name(name.into())
                        .spawn_scoped(s, move || {
                            let mut first = first.lock()?;
                            if meet {
                                all_hold_one.wait();
                            }
                            *first += 1;
                            *second.lock()? += 1;
                            Ok(())
                        })
                        .unwrap()
                })
                .collect();
            handles.into_iter().map(|h| h.join().unwrap()).collect()
        })
    }

    #[test]
    fn two_threads_in_opposite_order_name_their_cycle() {
        let detector = DeadlockDetector::new(Duration::from_secs(5));
        let (a, b) = (detector.mutex("lock A", 0), detector.mutex("lock B", 0));
        let started = Instant::now();
        let outcomes = run(&[("task1", &a, &b), ("task2", &b, &a)], true);
        assert!(started.elapsed() < Duration::from_secs(2));
        let errors: Vec<_> = outcomes.iter().filter_map(|o| o.clone().err()).collect();
        assert_eq!(errors.len(), 1, "{outcomes:?}");
        let LockError::Deadlock(cycle) = &errors[0] else {
            panic!("{errors:?}")
        };
        assert_eq!(cycle.len(), 2);
        let asker = &cycle[0];
        let other = &cycle[1];
        assert_eq!(asker.holds, other.waits_for);
        assert_eq!(asker.waits_for, other.holds);
        let text = errors[0].to_string();
        assert!(text.starts_with("deadlock: "), "{text}");
        for name in ["task1", "task2", "lock A", "lock B"] {
            assert!(text.contains(name), "{text}");
        }
        // The thread that backed off released its lock: the other got both.
        assert_eq!(*a.lock().unwrap() + *b.lock().unwrap(), 3);
    }

    #[test]
    fn one_order_never_deadlocks() {
        let detector = DeadlockDetector::new(Duration::from_secs(5));
        let (a, b) = (detector.mutex("lock A", 0), detector.mutex("lock B", 0));
        for _ in 0..50 {
            let outcomes = run(
                &[("task1", &a, &b), ("task2", &a, &b), ("task3", &a, &b)],
                false,
            );
            assert!(outcomes.iter().all(Result::is_ok), "{outcomes:?}");
        }
        assert_eq!(*a.lock().unwrap(), 150);
    }

    #[test]
    fn three_threads_in_a_ring() {
        let detector = DeadlockDetector::new(Duration::from_secs(5));
        let locks: Vec<_> = ["A", "B", "C"]
            .iter()
            .map(|n| detector.mutex(format!("lock {n}"), 0))
            .collect();
        let outcomes = run(
            &[
                ("t1", &locks[0], &locks[1]),
                ("t2", &locks[1], &locks[2]),
                ("t3", &locks[2], &locks[0]),
            ],
            true,
        );
        let errors: Vec<_> = outcomes.iter().filter_map(|o| o.clone().err()).collect();
        assert_eq!(errors.len(), 1, "{outcomes:?}");
        assert!(matches!(&errors[0], LockError::Deadlock(c) if c.len() == 3));
    }

    #[test]
    fn an_error_as_a_cells_value_reads_as_its_message() {
        let error = LockError::Deadlock(vec![Waiting {
            thread: "task2".into(),
            holds: "lock B".into(),
            waits_for: "lock A".into(),
        }]);
        assert_eq!(
            format!("{:?}", Err::<(), _>(error)),
            "Err(deadlock: task2 holds lock B and waits for lock A)"
        );
    }

    #[test]
    fn relocking_in_the_same_thread_is_a_deadlock_with_itself() {
        let detector = DeadlockDetector::new(Duration::from_secs(5));
        let a = detector.mutex("lock A", ());
        let _held = a.lock().unwrap();
        let error = a.lock().unwrap_err();
        assert!(
            error
                .to_string()
                .contains("holds lock A and waits for lock A")
        );
    }

    #[test]
    fn a_holder_that_never_releases_times_out() {
        let detector = DeadlockDetector::new(Duration::from_millis(50));
        let a = detector.mutex("lock A", ());
        let _held = a.lock().unwrap();
        let error = thread::scope(|s| {
            thread::Builder::new()
                .name("late".into())
                .spawn_scoped(s, || a.lock().map(|_| ()))
                .unwrap()
                .join()
                .unwrap()
        })
        .unwrap_err();
        assert!(matches!(error, LockError::TimedOut { .. }), "{error}");
        assert!(error.to_string().starts_with("gave up on lock A after"));
        assert_eq!(a.name(), "lock A");
    }
}
