//! What Python's standard library gives a concurrency lesson and Rust's does not.
//!
//! The notebooks of this course retrace a Python chapter on threads. Python brings
//! `timeit`, `random()` and `threading.Barrier(n, timeout=...)` along; this crate
//! provides their Rust counterparts, so that a notebook needs a single `:dep` line:
//!
//! ```text
//! :dep concurrency_helpers = { path = "../../../crate" }
//! use concurrency_helpers::*;
//! ```
//!
//! | Python                               | here                                      |
//! |--------------------------------------|-------------------------------------------|
//! | `random.random()`                    | [`random()`]                              |
//! | `random.randint(a, b)`               | [`randint()`]                             |
//! | `random.Random(seed).random()`       | [`RandomStream`]                          |
//! | `sleep(random() * delta + delta)`    | [`simulate_processing_time()`]            |
//! | `timeit.timeit(f, number=n)`         | [`timeit()`]                              |
//! | `timeit.repeat(f, repeat=r, number=n)` | [`timeit_stats()`], returning [`Timings`] |
//! | `time.process_time()`                | [`process_cpu_seconds()`]                 |
//! | (what else kept the cores busy meanwhile) | [`MachineLoad`], also [`Timings::load`] |
//! | `threading.Barrier(n, timeout=t)`    | [`Barrier`], failing with [`BarrierWaitError`] |
//! | `queue.Queue` with several consumers | [`crossbeam_channel`], re-exported        |
//! | `multiprocessing.Process(target=f)`  | [`worker()`]: a `Command` for the crate's worker program, [`worker_source`] shows its code |
//! | `multiprocessing.Barrier(n)`         | [`ProcessBarrier`], [`wait_at_rendezvous`]; [`rendezvous_source`] shows its code |
//! | `multiprocessing.Pool`, `.dummy` (feature `pool`) | [`rayon`], re-exported         |
//! | `requests.get(url)` (feature `http`) | [`ureq`], re-exported                     |
//! | peps.python.org, offline (feature `http`) | [`PepSite`], [`PEPS`], [`pep_page`] |
//! | (every interleaving of a small program, feature `model-check`) | [`model::check`], on loom |
//! | (locks that name a deadlock's cycle) | [`DeadlockDetector`], [`NamedMutex`]      |
//! | (a picture of what each thread did when) | [`Timeline`], spans from [`timeline`] |
//! | (a chart of speed-ups, feature `charts`) | [`speed_up_chart`]                     |
//! | (a workshop's checks, as in rustlings) | [`check`], [`check_within`], [`passed`]   |
//!
//! Everything is at the crate's top level but the span functions, which read as
//! what they mark: `let _span = timeline::work("request");` ([`timeline`]).
//!
//! ```
//! use concurrency_helpers::*;
//! use std::thread;
//!
//! let seconds = timeit(1, || {
//!     thread::scope(|s| {
//!         for _ in 0..4 {
//!             s.spawn(|| simulate_processing_time(0.01));
//!         }
//!     })
//! });
//! // Four threads that each sleep 10-20 ms finish together, not one after the other.
//! assert!(seconds < 0.08, "took {seconds} s");
//! ```

#![warn(missing_docs)]

mod barrier;
#[cfg(feature = "charts")]
mod chart;
mod deadlock;
mod exercise_check;
mod machine_load;
#[cfg(feature = "model-check")]
pub mod model;
#[cfg(feature = "http")]
mod pep_site;
mod processes;
mod random;
mod simulate;
#[cfg(test)]
mod test_support;
pub mod timeline;
mod timing;

pub use barrier::{Barrier, BarrierWaitError};
#[cfg(feature = "charts")]
pub use chart::speed_up_chart;
pub use crossbeam_channel;
pub use deadlock::{DeadlockDetector, LockError, NamedMutex, NamedMutexGuard, Waiting};
pub use exercise_check::{check, check_within, passed};
pub use machine_load::{MEASURABLE_FROM_SECONDS, MachineLoad, NOTE_FROM_CORES};
#[cfg(feature = "http")]
pub use pep_site::{PEPS, PepSite, pep_page};
pub use processes::{ProcessBarrier, rendezvous_source, wait_at_rendezvous, worker, worker_source};
pub use random::{RandomStream, randint, random};
#[cfg(feature = "pool")]
pub use rayon;
pub use simulate::simulate_processing_time;
pub use timeline::{Activity, Lane, Recorded, Span, Timeline};
pub use timing::{ANNOUNCE_FROM_SECONDS, Timings, process_cpu_seconds, timeit, timeit_stats};
#[cfg(feature = "http")]
pub use ureq;
