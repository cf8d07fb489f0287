//! Every interleaving of a small concurrent program, checked one by one (feature
//! `model-check`).
//!
//! A lost update shows in a run only when the scheduler happens to switch threads
//! between a read and its write. [`check`] does not wait for luck: it runs a few
//! threads' step on a counter under every interleaving of their reads and writes that
//! can give a different result, with [loom](https://docs.rs/loom), and reports the
//! first interleaving that ends with a wrong count, step by step and per thread:
//!
//! ```
//! use concurrency_helpers::model;
//! use std::sync::atomic::Ordering;
//!
//! // Read, then write: two steps, which another thread can come between.
//! let lost = model::check(2, |counter: &model::AtomicU64| {
//!     let tmp = counter.load(Ordering::Relaxed) + 1;
//!     counter.store(tmp, Ordering::Relaxed);
//! });
//! assert!(!lost.is_correct());
//! println!("{lost}"); // the table of the first interleaving that loses an update
//!
//! // One indivisible step: no interleaving loses anything.
//! let kept = model::check(2, |counter: &model::AtomicU64| {
//!     counter.fetch_add(1, Ordering::Relaxed);
//! });
//! assert!(kept.is_correct());
//! assert!(kept.interleavings() >= 2);
//! ```
//!
//! The step works on this module's [`AtomicU64`] or [`Mutex`]: loom's, which take
//! part in the exploration, and which note each read, write and lock for the table.
//! loom runs the threads of an interleaving one at a time on the calling thread and
//! switches only at those operations, so a step must not block on anything else (a
//! `std` lock, a sleep) and must do the same on every run.

use loom::sync::atomic::Ordering;
use std::fmt::{self, Write as _};
use std::ops::{Deref, DerefMut};
use std::sync::{Arc, PoisonError};

/// At most this many threads: loom runs at most five, the checking one included.
pub const MAX_THREADS: usize = loom::MAX_THREADS - 1;

/// Runs `step` once on each of `threads` threads, all adding to one counter that
/// starts at 0, under every interleaving loom finds, and reports whether each ended
/// with the counter at `threads` (one per thread), showing one that did not: the
/// first whose reads each saw the latest write, if any did.
///
/// The counter is an [`AtomicU64`] or a [`Mutex<u64>`](Mutex), named by the type of
/// the closure's argument. Two threads of a read and a write take a few
/// milliseconds; the interleavings grow exponentially with the threads and steps, so
/// keep the program small.
///
/// # Panics
/// When `threads` is 0 or more than [`MAX_THREADS`], and when `step` panics.
pub fn check<C: Counter>(threads: usize, step: impl Fn(&C) + Send + Sync + 'static) -> Report {
    assert!(
        (1..=MAX_THREADS).contains(&threads),
        "model::check: {threads} threads; give 1 to {MAX_THREADS} (loom runs at most {} threads, the checking one included)",
        loom::MAX_THREADS
    );
    let tally = Arc::new(std::sync::Mutex::new(Report {
        threads,
        interleavings: 0,
        wrong: 0,
        shown: None,
    }));
    let step = Arc::new(step);
    let shared_tally = Arc::clone(&tally);
    loom::model::Builder::new().check(move || {
        let steps = Steps::default();
        let counter = Arc::new(C::starting_at_zero(steps.clone()));
        let handles: Vec<_> = (1..=threads)
            .map(|t| {
                let (counter, step) = (Arc::clone(&counter), Arc::clone(&step));
                loom::thread::Builder::new()
                    .name(format!("T{t}"))
                    .spawn(move || step(&counter))
                    .expect("loom starts its model threads")
            })
            .collect();
        for handle in handles {
            // A panicking step has already ended the check: loom passes panics on.
            let _ = handle.join();
        }
        let value = counter.value();
        let (steps, stale) = steps.take();
        let mut tally = shared_tally.lock().unwrap_or_else(PoisonError::into_inner);
        tally.interleavings += 1;
        if value != threads as u64 {
            tally.wrong += 1;
            // loom also lets a relaxed read return an older value than the last
            // write; an interleaving whose reads all see the latest write shows the
            // lost update by the order of the steps alone.
            if tally
                .shown
                .as_ref()
                .is_none_or(|shown| shown.stale && !stale)
            {
                tally.shown = Some(Interleaving {
                    steps,
                    value,
                    stale,
                });
            }
        }
    });
    tally.lock().unwrap_or_else(PoisonError::into_inner).clone()
}

/// What [`check`] found: how many interleavings it explored, how many ended with a
/// wrong count, and one of those step by step. As a notebook cell's value, or
/// printed, it shows as a table with one column per thread.
#[derive(Debug, Clone)]
pub struct Report {
    threads: usize,
    interleavings: usize,
    wrong: usize,
    shown: Option<Interleaving>,
}

#[derive(Debug, Clone)]
struct Interleaving {
    /// Which thread (1-based) did what, in the order they did it.
    steps: Vec<(usize, String)>,
    value: u64,
    /// Whether a read returned an older value than the last write before it.
    stale: bool,
}

impl Report {
    /// How many interleavings loom explored (each ran the threads once).
    pub fn interleavings(&self) -> usize {
        self.interleavings
    }

    /// How many of them ended with a wrong count.
    pub fn wrong(&self) -> usize {
        self.wrong
    }

    /// Whether every interleaving ended with the counter at the number of threads.
    pub fn is_correct(&self) -> bool {
        self.wrong == 0
    }

    /// Shows the report as text when it is the value of a notebook cell.
    pub fn evcxr_display(&self) {
        println!("EVCXR_BEGIN_CONTENT text/plain\n{self}\nEVCXR_END_CONTENT");
    }
}

impl fmt::Display for Report {
    /// One line when every interleaving was right; otherwise also the first wrong one
    /// as a table, one row per step and one column per thread, and its final value.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let Report {
            threads,
            interleavings,
            wrong,
            ..
        } = *self;
        let Some(first) = &self.shown else {
            return write!(
                f,
                "{threads} threads add 1 each: all {interleavings} interleavings explored end with {threads}, none loses an update"
            );
        };
        writeln!(
            f,
            "{threads} threads add 1 each: {wrong} of {interleavings} interleavings explored lose an update. One of them:"
        )?;
        let width = first
            .steps
            .iter()
            .map(|(_, text)| text.chars().count())
            .max()
            .unwrap_or(0)
            .max(4)
            + 2;
        let mut header = String::from("step");
        for t in 1..=threads {
            let _ = write!(header, "  {:<width$}", format!("T{t}"));
        }
        writeln!(f, "{}", header.trim_end())?;
        for (row, (thread, text)) in first.steps.iter().enumerate() {
            let mut line = format!("{:>4}", row + 1);
            for t in 1..=threads {
                let cell = if t == *thread { text.as_str() } else { "" };
                let _ = write!(line, "  {cell:<width$}");
            }
            writeln!(f, "{}", line.trim_end())?;
        }
        write!(
            f,
            "end: counter = {}, expected {threads}: {} update{} lost",
            first.value,
            threads as u64 - first.value.min(threads as u64),
            if threads as u64 - first.value.min(threads as u64) == 1 {
                ""
            } else {
                "s"
            },
        )
    }
}

/// A counter that [`check`] can start at 0 and read at the end: this module's
/// [`AtomicU64`] and [`Mutex<u64>`](Mutex).
pub trait Counter: Send + Sync + 'static {
    /// A counter at 0 that notes its steps into `steps`.
    #[doc(hidden)]
    fn starting_at_zero(steps: Steps) -> Self;
    /// The count, read after every thread has finished (not noted as a step).
    #[doc(hidden)]
    fn value(&self) -> u64;
}

/// Where the steps of one interleaving are noted, in the order the threads took them.
///
/// loom runs one model thread at a time, all on the thread that called [`check`], so
/// a plain lock here is never contended and adds nothing for loom to explore.
#[doc(hidden)]
#[derive(Debug, Clone, Default)]
pub struct Steps(Arc<std::sync::Mutex<Noted>>);

#[derive(Debug, Default)]
struct Noted {
    steps: Vec<(usize, String)>,
    latest: u64,
    stale: bool,
}

impl Steps {
    /// Notes what the current model thread did, with the value it read or wrote;
    /// the checking thread's reads are not steps of the program.
    fn note(&self, what: impl FnOnce() -> String, access: Access) {
        let current = loom::thread::current();
        let Some(thread) = current
            .name()
            .and_then(|name| name.strip_prefix('T')?.parse().ok())
        else {
            return;
        };
        let mut noted = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        match access {
            Access::Read(value) => noted.stale |= value != noted.latest,
            Access::Write(value) => noted.latest = value,
        }
        noted.steps.push((thread, what()));
    }

    fn take(&self) -> (Vec<(usize, String)>, bool) {
        let mut noted = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        (std::mem::take(&mut noted.steps), noted.stale)
    }
}

/// What a noted step did to the counter.
#[derive(Debug, Clone, Copy)]
enum Access {
    Read(u64),
    Write(u64),
}

/// `std::sync::atomic::AtomicU64` for [`check`]: loom's, noting each operation.
#[derive(Debug)]
pub struct AtomicU64 {
    inner: loom::sync::atomic::AtomicU64,
    steps: Steps,
}

impl AtomicU64 {
    /// Reads the value; noted as `reads 0`.
    pub fn load(&self, order: Ordering) -> u64 {
        let value = self.inner.load(order);
        self.steps
            .note(|| format!("reads {value}"), Access::Read(value));
        value
    }

    /// Writes `value`; noted as `writes 1`.
    pub fn store(&self, value: u64, order: Ordering) {
        self.inner.store(value, order);
        self.steps
            .note(|| format!("writes {value}"), Access::Write(value));
    }

    /// Adds `value` in one indivisible step and returns the value before; noted as
    /// `fetch_add: 0 → 1`.
    pub fn fetch_add(&self, value: u64, order: Ordering) -> u64 {
        let before = self.inner.fetch_add(value, order);
        let after = before.wrapping_add(value);
        self.steps.note(
            || format!("fetch_add: {before} → {after}"),
            Access::Write(after),
        );
        before
    }
}

impl Counter for AtomicU64 {
    fn starting_at_zero(steps: Steps) -> Self {
        AtomicU64 {
            inner: loom::sync::atomic::AtomicU64::new(0),
            steps,
        }
    }

    fn value(&self) -> u64 {
        self.inner.load(Ordering::SeqCst)
    }
}

/// `std::sync::Mutex` for [`check`]: loom's, noting when each thread locks and
/// unlocks it and what it held then.
#[derive(Debug)]
pub struct Mutex<T> {
    inner: loom::sync::Mutex<T>,
    steps: Steps,
}

/// The lock of a [`Mutex`], held until dropped, like `std::sync::MutexGuard`.
pub struct MutexGuard<'a, T: Copy + Into<u64>> {
    inner: loom::sync::MutexGuard<'a, T>,
    steps: &'a Steps,
}

impl<T: Copy + Into<u64>> Mutex<T> {
    /// Locks, waiting while another thread holds the lock; noted as `locks: 0`.
    ///
    /// Returns a `Result` as std's does, so that the same code checks and runs; it
    /// is never an error here (a panic ends the check instead of poisoning the lock).
    pub fn lock(&self) -> Result<MutexGuard<'_, T>, PoisonError<MutexGuard<'_, T>>> {
        let inner = self.inner.lock().unwrap_or_else(PoisonError::into_inner);
        let value: u64 = (*inner).into();
        self.steps
            .note(|| format!("locks: {value}"), Access::Read(value));
        Ok(MutexGuard {
            inner,
            steps: &self.steps,
        })
    }
}

impl<T: Copy + Into<u64>> Deref for MutexGuard<'_, T> {
    type Target = T;
    fn deref(&self) -> &T {
        &self.inner
    }
}

impl<T: Copy + Into<u64>> DerefMut for MutexGuard<'_, T> {
    fn deref_mut(&mut self) -> &mut T {
        &mut self.inner
    }
}

impl<T: Copy + Into<u64>> Drop for MutexGuard<'_, T> {
    /// Noted as `unlocks: 1` before the lock is released.
    fn drop(&mut self) {
        let value: u64 = (*self.inner).into();
        self.steps
            .note(|| format!("unlocks: {value}"), Access::Write(value));
    }
}

impl Counter for Mutex<u64> {
    fn starting_at_zero(steps: Steps) -> Self {
        Mutex {
            inner: loom::sync::Mutex::new(0),
            steps,
        }
    }

    fn value(&self) -> u64 {
        *self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read_then_write(counter: &AtomicU64) {
        let tmp = counter.load(Ordering::Relaxed) + 1;
        counter.store(tmp, Ordering::Relaxed);
    }

    #[test]
    fn finds_the_lost_update_with_each_threads_steps() {
        let report = check(2, read_then_write);
        assert!(!report.is_correct());
        assert!(report.wrong() >= 1 && report.wrong() < report.interleavings());
        let first = report.shown.as_ref().unwrap();
        assert_eq!(first.value, 1);
        // Both read 0 before either writes.
        let reads: Vec<_> = first.steps.iter().take(2).collect();
        assert_eq!(
            reads,
            [&(1, "reads 0".to_owned()), &(2, "reads 0".to_owned())]
        );
        assert_eq!(first.steps.len(), 4);
        let shown = report.to_string();
        assert!(
            shown.contains("interleavings explored lose an update"),
            "{shown}"
        );
        assert!(
            shown.contains("end: counter = 1, expected 2: 1 update lost"),
            "{shown}"
        );
        let header = shown.lines().nth(1).unwrap();
        assert!(header.starts_with("step") && header.contains("T1") && header.contains("T2"));
        // Each step stands in its thread's column.
        let row = shown.lines().nth(3).unwrap();
        assert!(row.trim_start().starts_with('2'), "{shown}");
        assert!(
            row.find("reads 0") > header.find("T2").map(|at| at - 1),
            "{shown}"
        );
    }

    #[test]
    fn fetch_add_and_the_mutex_lose_nothing() {
        let atomic = check(2, |counter: &AtomicU64| {
            counter.fetch_add(1, Ordering::Relaxed);
        });
        assert!(atomic.is_correct(), "{atomic}");
        assert_eq!(atomic.wrong(), 0);
        assert!(atomic.interleavings() >= 2);
        let locked = check(3, |counter: &Mutex<u64>| {
            let mut value = counter.lock().unwrap();
            *value += 1;
        });
        assert!(locked.is_correct(), "{locked}");
        assert!(locked.interleavings() >= 6, "{locked}");
        assert_eq!(
            locked.to_string(),
            format!(
                "3 threads add 1 each: all {} interleavings explored end with 3, none loses an update",
                locked.interleavings()
            )
        );
    }

    #[test]
    fn a_mutex_notes_what_it_held() {
        // Locking twice, reading then writing in separate critical sections, loses
        // updates again, and the table shows the locks.
        let report = check(2, |counter: &Mutex<u64>| {
            let tmp = *counter.lock().unwrap() + 1;
            *counter.lock().unwrap() = tmp;
        });
        assert!(!report.is_correct());
        let shown = report.to_string();
        assert!(
            shown.contains("locks: 0") && shown.contains("unlocks: 1"),
            "{shown}"
        );
    }

    #[test]
    #[should_panic(expected = "give 1 to 4")]
    fn too_many_threads_is_a_clear_error() {
        check(5, read_then_write);
    }
}
