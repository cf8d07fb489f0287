//! What each thread did when, recorded while code runs and drawn as a picture.
//!
//! Mark the part of a function worth seeing with a span (one line: the span ends when
//! its guard goes out of scope), then run the code inside [`Timeline::record`]:
//!
//! ```
//! use concurrency_helpers::{Timeline, simulate_processing_time, timeline};
//! use std::thread;
//!
//! fn process_request() {
//!     let _span = timeline::work("request");
//!     simulate_processing_time(0.01);
//! }
//!
//! let recorded = Timeline::record("4 requests on 4 threads", || {
//!     thread::scope(|s| {
//!         for _ in 0..4 {
//!             s.spawn(process_request);
//!         }
//!     });
//!     "done"
//! });
//! assert_eq!(recorded.value, "done"); // what the code returned
//! let picture = recorded.timeline;
//! assert_eq!(picture.lanes().len(), 4);
//! assert_eq!(picture.most_working(), 4); // all four overlapped
//! assert!(picture.to_svg().starts_with("<svg"));
//! ```
//!
//! In a notebook, a `Timeline` (or what `record` returns) as a cell's value shows as a
//! picture: one lane per
//! thread, a full bar for each span of work, a thin bar for waiting, and a time axis in
//! milliseconds. Spans with the same label share a colour, so labels name kinds of
//! work (`"request"`, `"lock"`), not instances.
//!
//! Outside a recording, spans cost one atomic load and record nothing, so functions
//! keep their spans when they are timed with [`timeit`](crate::timeit). Inside, a span
//! costs two clock readings and a push onto a list of the thread's own (measure it:
//! `cargo bench -p concurrency_helpers`). Each thread keeps at most
//! [`MAX_SPANS_PER_THREAD`]; further ones are counted in [`Timeline::dropped`].
//!
//! A recording sees every thread of the process, also threads started in an earlier
//! notebook cell: evcxr compiles each cell into a library of its own, with its own copy
//! of this crate's statics, so the recording in progress is kept in one place per
//! process that every copy finds (see `recording.rs`).
//!
//! The module's parts: `recording` (spans and [`Timeline::record`]), `model` (the
//! [`Timeline`] as data and what can be read off it) and `svg` (the picture).

mod model;
mod recording;
mod svg;
#[cfg(test)]
mod tests;

pub use model::{Activity, Lane, Span, Timeline};
pub use recording::{MAX_SPANS_PER_THREAD, Recorded, SpanGuard, wait, waiting, work, working};
