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
//! let picture = Timeline::record("4 requests on 4 threads", || {
//!     thread::scope(|s| {
//!         for _ in 0..4 {
//!             s.spawn(process_request);
//!         }
//!     })
//! });
//! assert_eq!(picture.lanes().len(), 4);
//! assert_eq!(picture.most_working(), 4); // all four overlapped
//! assert!(picture.to_svg().starts_with("<svg"));
//! ```
//!
//! In a notebook, a `Timeline` as a cell's value shows as a picture: one lane per
//! thread, a full bar for each span of work, a thin bar for waiting, and a time axis in
//! milliseconds. Spans with the same label share a colour, so labels name kinds of
//! work (`"request"`, `"lock"`), not instances.
//!
//! Outside a recording, spans cost one atomic load and record nothing, so functions
//! keep their spans when they are timed with [`timeit`](crate::timeit). Inside, a span
//! costs two clock readings and a push onto a list of the thread's own (measure it:
//! `cargo bench -p concurrency_helpers`). Each thread keeps at most
//! [`MAX_SPANS_PER_THREAD`]; further ones are counted in [`Timeline::dropped`].

use std::borrow::Cow;
use std::cell::RefCell;
use std::collections::HashMap;
use std::fmt::{self, Write as _};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::thread;
use std::time::{Duration, Instant};

/// How many spans one thread may record in one recording; the rest are only counted.
pub const MAX_SPANS_PER_THREAD: usize = 200_000;

/// Whether a span was spent doing something or waiting for something.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Activity {
    Work,
    Wait,
}

/// One recorded stretch of a thread's time, from the start of the recording.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Span {
    pub label: Cow<'static, str>,
    pub activity: Activity,
    pub start: Duration,
    pub end: Duration,
}

/// The spans of one thread, in order of their start.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Lane {
    /// The thread's name, or `caller` for the unnamed thread that called
    /// [`Timeline::record`], or `thread N` for other unnamed threads, numbered in order
    /// of their first span.
    pub name: String,
    pub spans: Vec<Span>,
}

/// Starts a span of work, which ends when the returned guard is dropped.
///
/// ```
/// use concurrency_helpers::timeline;
///
/// fn compute() -> u64 {
///     let _span = timeline::work("compute");
///     (0..1000).sum()
/// }
/// # assert_eq!(compute(), 499_500);
/// ```
pub fn work(label: impl Into<Cow<'static, str>>) -> SpanGuard {
    SpanGuard::start(label, Activity::Work)
}

/// Starts a span of waiting (for a lock, a barrier, a message), which ends when the
/// returned guard is dropped. [`waiting`] is the shorter form for one blocking call.
pub fn wait(label: impl Into<Cow<'static, str>>) -> SpanGuard {
    SpanGuard::start(label, Activity::Wait)
}

/// Runs `f` as a span of work and returns its result.
pub fn working<T>(label: impl Into<Cow<'static, str>>, f: impl FnOnce() -> T) -> T {
    let _span = work(label);
    f()
}

/// Runs the blocking call `f` as a span of waiting and returns its result.
///
/// ```
/// use concurrency_helpers::timeline;
/// use std::sync::Mutex;
///
/// let counter = Mutex::new(0);
/// *timeline::waiting("lock", || counter.lock().unwrap()) += 1;
/// # assert_eq!(*counter.lock().unwrap(), 1);
/// ```
pub fn waiting<T>(label: impl Into<Cow<'static, str>>, f: impl FnOnce() -> T) -> T {
    let _span = wait(label);
    f()
}

/// A span in progress; it is recorded when dropped. Made by [`work`] and [`wait`].
#[must_use = "a span ends when its guard is dropped: bind it with `let _span = ...`"]
pub struct SpanGuard {
    /// Nothing when no recording was running at the start.
    open: Option<OpenSpan>,
}

struct OpenSpan {
    recording: u64,
    label: Cow<'static, str>,
    activity: Activity,
    start: Instant,
}

impl SpanGuard {
    fn start(label: impl Into<Cow<'static, str>>, activity: Activity) -> SpanGuard {
        let recording = ACTIVE_ID.load(Ordering::Acquire);
        SpanGuard {
            open: (recording != 0).then(|| OpenSpan {
                recording,
                label: label.into(),
                activity,
                start: Instant::now(),
            }),
        }
    }
}

impl Drop for SpanGuard {
    fn drop(&mut self) {
        if let Some(open) = self.open.take() {
            let end = Instant::now();
            // A span that outlives its recording belongs to no picture.
            if ACTIVE_ID.load(Ordering::Acquire) == open.recording {
                push_span(open, end);
            }
        }
    }
}

/// The recording in progress, shared by every thread that records into it.
struct Recording {
    id: u64,
    caller: thread::ThreadId,
    origin: Instant,
    lanes: Mutex<Vec<Arc<LaneBuffer>>>,
}

/// One thread's spans, locked only by that thread until the recording ends, so
/// threads never wait for each other to record.
struct LaneBuffer {
    /// The thread's name; the thread that called `record` is `caller` when unnamed
    /// (as evcxr's cell thread is).
    thread_name: Option<String>,
    origin: Instant,
    spans: Mutex<Vec<Span>>,
    dropped: AtomicU64,
}

/// 0 while nothing records; a span checks it without taking a lock.
static ACTIVE_ID: AtomicU64 = AtomicU64::new(0);
static ACTIVE: Mutex<Option<Arc<Recording>>> = Mutex::new(None);
static NEXT_ID: AtomicU64 = AtomicU64::new(1);

thread_local! {
    static LANE: RefCell<Option<(u64, Arc<LaneBuffer>)>> = const { RefCell::new(None) };
}

fn push_span(open: OpenSpan, end: Instant) {
    // Without a thread-local (a thread that is exiting) the span is lost; that is all.
    let _ = LANE.try_with(|cached| {
        let mut cached = cached.borrow_mut();
        if cached.as_ref().is_none_or(|(id, _)| *id != open.recording) {
            *cached = register_lane(open.recording).map(|lane| (open.recording, lane));
        }
        let Some((_, lane)) = cached.as_ref() else {
            return;
        };
        let mut spans = lane.spans.lock().unwrap_or_else(PoisonError::into_inner);
        if spans.len() >= MAX_SPANS_PER_THREAD {
            lane.dropped.fetch_add(1, Ordering::Relaxed);
            return;
        }
        spans.push(Span {
            label: open.label,
            activity: open.activity,
            start: open.start.saturating_duration_since(lane.origin),
            end: end.saturating_duration_since(lane.origin),
        });
    });
}

/// A new lane for this thread in recording `id`, unless that recording has ended.
fn register_lane(id: u64) -> Option<Arc<LaneBuffer>> {
    let recording = ACTIVE
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .clone()
        .filter(|r| r.id == id)?;
    let lane = Arc::new(LaneBuffer {
        thread_name: {
            let current = thread::current();
            let name = current.name().map(str::to_owned);
            name.or_else(|| (current.id() == recording.caller).then(|| "caller".to_owned()))
        },
        origin: recording.origin,
        spans: Mutex::new(Vec::new()),
        dropped: AtomicU64::new(0),
    });
    recording
        .lanes
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .push(Arc::clone(&lane));
    Some(lane)
}

/// Ends the recording when `record` returns or its closure panics, so a failed cell
/// does not block the next recording.
struct Stop(Arc<Recording>);

impl Drop for Stop {
    fn drop(&mut self) {
        let _ = ACTIVE_ID.compare_exchange(self.0.id, 0, Ordering::AcqRel, Ordering::Acquire);
        let mut active = ACTIVE.lock().unwrap_or_else(PoisonError::into_inner);
        if active.as_ref().is_some_and(|r| r.id == self.0.id) {
            *active = None;
        }
    }
}

/// What the threads did while a piece of code ran: lanes of spans, drawn by
/// [`to_svg`](Timeline::to_svg) and shown as a picture by evcxr.
#[derive(Debug, Clone)]
pub struct Timeline {
    title: String,
    lanes: Vec<Lane>,
    duration: Duration,
    dropped: u64,
}

impl Timeline {
    /// Runs `f` and records the spans that any thread ends while it runs.
    ///
    /// Spans still open when `f` returns (in threads it did not join) are left out.
    ///
    /// # Panics
    /// When another recording is in progress: spans could not tell which one they
    /// belong to. A panic in `f` ends the recording and goes on to the caller.
    pub fn record<R>(title: impl Into<String>, f: impl FnOnce() -> R) -> Timeline {
        let recording = {
            let mut active = ACTIVE.lock().unwrap_or_else(PoisonError::into_inner);
            assert!(
                active.is_none(),
                "Timeline::record: another timeline is being recorded; record one at a time"
            );
            let recording = Arc::new(Recording {
                id: NEXT_ID.fetch_add(1, Ordering::Relaxed),
                caller: thread::current().id(),
                origin: Instant::now(),
                lanes: Mutex::new(Vec::new()),
            });
            *active = Some(Arc::clone(&recording));
            ACTIVE_ID.store(recording.id, Ordering::Release);
            recording
        };
        let stop = Stop(Arc::clone(&recording));
        std::hint::black_box(f());
        let duration = recording.origin.elapsed();
        drop(stop);
        let buffers = std::mem::take(
            &mut *recording
                .lanes
                .lock()
                .unwrap_or_else(PoisonError::into_inner),
        );
        Timeline::from_buffers(title.into(), duration, buffers)
    }

    fn from_buffers(title: String, duration: Duration, buffers: Vec<Arc<LaneBuffer>>) -> Timeline {
        let mut dropped = 0;
        let mut lanes: Vec<(Option<String>, Vec<Span>)> = buffers
            .iter()
            .map(|buffer| {
                dropped += buffer.dropped.load(Ordering::Relaxed);
                let mut spans = std::mem::take(
                    &mut *buffer.spans.lock().unwrap_or_else(PoisonError::into_inner),
                );
                // Spans are pushed as they end, so inner ones come before outer ones.
                spans.sort_by_key(|s| (s.start, std::cmp::Reverse(s.end)));
                (buffer.thread_name.clone(), spans)
            })
            .filter(|(_, spans)| !spans.is_empty())
            .collect();
        lanes.sort_by_key(|(_, spans)| spans[0].start);
        let mut unnamed = 0;
        let lanes = lanes
            .into_iter()
            .map(|(name, spans)| Lane {
                name: name.unwrap_or_else(|| {
                    unnamed += 1;
                    format!("thread {unnamed}")
                }),
                spans,
            })
            .collect();
        Timeline {
            title,
            lanes,
            duration,
            dropped,
        }
    }

    /// Builds a timeline from spans measured elsewhere, e.g. to draw a schedule.
    ///
    /// ```
    /// use concurrency_helpers::timeline::{Activity, Lane, Span, Timeline};
    /// use std::time::Duration;
    ///
    /// let ms = Duration::from_millis;
    /// let span = |label, activity, start, end| Span {
    ///     label, activity, start: ms(start), end: ms(end),
    /// };
    /// let picture = Timeline::from_lanes("two threads, one lock", vec![
    ///     Lane { name: "a".into(), spans: vec![span("locked".into(), Activity::Work, 0, 10)] },
    ///     Lane { name: "b".into(), spans: vec![
    ///         span("lock".into(), Activity::Wait, 0, 10),
    ///         span("locked".into(), Activity::Work, 10, 20),
    ///     ] },
    /// ]);
    /// assert_eq!(picture.duration(), ms(20));
    /// assert_eq!(picture.most_working(), 1);
    /// ```
    ///
    /// # Panics
    /// When a span ends before it starts.
    pub fn from_lanes(title: impl Into<String>, mut lanes: Vec<Lane>) -> Timeline {
        for lane in &mut lanes {
            if let Some(span) = lane.spans.iter().find(|s| s.end < s.start) {
                panic!(
                    "Timeline::from_lanes: span `{}` in lane `{}` ends ({:?}) before it starts ({:?})",
                    span.label, lane.name, span.end, span.start
                );
            }
            lane.spans
                .sort_by_key(|s| (s.start, std::cmp::Reverse(s.end)));
        }
        let duration = lanes
            .iter()
            .flat_map(|l| &l.spans)
            .map(|s| s.end)
            .max()
            .unwrap_or_default();
        Timeline {
            title: title.into(),
            lanes,
            duration,
            dropped: 0,
        }
    }

    pub fn title(&self) -> &str {
        &self.title
    }

    /// One lane per thread that recorded a span, in order of their first span.
    pub fn lanes(&self) -> &[Lane] {
        &self.lanes
    }

    /// How long the recorded code ran.
    pub fn duration(&self) -> Duration {
        self.duration
    }

    /// Spans left out because a thread had recorded [`MAX_SPANS_PER_THREAD`] already.
    pub fn dropped(&self) -> u64 {
        self.dropped
    }

    /// The greatest number of threads that were working (not waiting) at the same
    /// moment: 1 for code under one lock, up to the thread count for independent work.
    pub fn most_working(&self) -> usize {
        let mut changes: Vec<(Duration, i32)> = self
            .lanes
            .iter()
            .flat_map(|lane| merge_adjacent(flatten(&lane.spans)))
            .filter(|(_, _, span)| span.activity == Activity::Work)
            .flat_map(|(start, end, _)| [(start, 1), (end, -1)])
            .collect();
        // At equal times, ends come first: a hand-over is not an overlap.
        changes.sort();
        let mut working = 0;
        let mut most = 0;
        for (_, change) in changes {
            working += change;
            most = most.max(working);
        }
        most as usize
    }

    /// The picture as a standalone SVG document.
    pub fn to_svg(&self) -> String {
        Svg::new(self).render()
    }

    /// Shows the timeline as a picture when it is the value of a notebook cell.
    pub fn evcxr_display(&self) {
        println!(
            "EVCXR_BEGIN_CONTENT image/svg+xml\n{}\nEVCXR_END_CONTENT",
            self.to_svg()
        );
    }
}

impl fmt::Display for Timeline {
    /// A one-line summary: `100 requests: 100 threads, 212.4 ms, at most 100 working at once`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}: {} thread{}, {:.1} ms, at most {} working at once",
            self.title,
            self.lanes.len(),
            if self.lanes.len() == 1 { "" } else { "s" },
            self.duration.as_secs_f64() * 1e3,
            self.most_working()
        )?;
        if self.dropped > 0 {
            write!(f, " ({} spans not recorded)", self.dropped)?;
        }
        Ok(())
    }
}

/// What a thread was doing from moment to moment: its spans cut into pieces that do
/// not overlap, each piece belonging to the innermost span open at that time.
/// Expects spans sorted by start, outer before inner.
fn flatten(spans: &[Span]) -> Vec<(Duration, Duration, &Span)> {
    fn advance<'a>(
        open: &mut Vec<&'a Span>,
        until: Duration,
        now: &mut Duration,
        out: &mut Vec<(Duration, Duration, &'a Span)>,
    ) {
        while let Some(&top) = open.last() {
            if top.end <= *now {
                open.pop();
            } else if top.end <= until {
                out.push((*now, top.end, top));
                *now = top.end;
                open.pop();
            } else {
                break;
            }
        }
        if let Some(&top) = open.last()
            && until > *now
        {
            out.push((*now, until, top));
        }
        *now = (*now).max(until);
    }
    let mut out = Vec::new();
    let mut open = Vec::new();
    let mut now = Duration::ZERO;
    for span in spans {
        advance(&mut open, span.start, &mut now, &mut out);
        open.push(span);
    }
    advance(&mut open, Duration::MAX, &mut now, &mut out);
    out.retain(|(start, end, _)| end > start);
    out
}

/// Joins pieces of the same span that an inner span had split but that touch again.
fn merge_adjacent(
    pieces: Vec<(Duration, Duration, &Span)>,
) -> impl Iterator<Item = (Duration, Duration, &Span)> {
    let mut merged: Vec<(Duration, Duration, &Span)> = Vec::with_capacity(pieces.len());
    for piece in pieces {
        match merged.last_mut() {
            Some(last) if last.1 == piece.0 && last.2.activity == piece.2.activity => {
                last.1 = piece.1;
            }
            _ => merged.push(piece),
        }
    }
    merged.into_iter()
}

const WIDTH: f64 = 800.0;
const LEFT: f64 = 92.0;
const RIGHT: f64 = 24.0;
const TOP: f64 = 34.0;
/// Lanes with more pieces than this are drawn pixel by pixel, not piece by piece.
const DETAILED_PIECES: usize = 400;
const PALETTE: [&str; 10] = [
    "#4e79a7", "#f28e2b", "#59a14f", "#e15759", "#b07aa1", "#76b7b2", "#edc948", "#9c755f",
    "#ff9da7", "#bab0ac",
];

struct Svg<'a> {
    timeline: &'a Timeline,
    /// Colour index of each label, in order of first appearance.
    colours: HashMap<&'a str, usize>,
    legend: Vec<(&'a str, Activity)>,
    lane_height: f64,
    /// Milliseconds per pixel.
    scale: f64,
    out: String,
}

impl<'a> Svg<'a> {
    fn new(timeline: &'a Timeline) -> Svg<'a> {
        let mut colours = HashMap::new();
        let mut legend = Vec::new();
        for span in timeline.lanes.iter().flat_map(|l| &l.spans) {
            let next = colours.len();
            colours.entry(&*span.label).or_insert(next);
            if !legend.contains(&(&*span.label, span.activity)) {
                legend.push((&*span.label, span.activity));
            }
        }
        let lanes = timeline.lanes.len().max(1) as f64;
        let end_ms = timeline
            .lanes
            .iter()
            .flat_map(|l| &l.spans)
            .map(|s| s.end)
            .max()
            .unwrap_or_default()
            .max(timeline.duration)
            .as_secs_f64()
            * 1e3;
        Svg {
            timeline,
            colours,
            legend,
            lane_height: (400.0 / lanes).clamp(4.0, 24.0),
            // The axis ends on a tick, so the last span ends before the last number.
            scale: axis_end(end_ms) / (WIDTH - LEFT - RIGHT),
            out: String::new(),
        }
    }

    fn x(&self, t: Duration) -> f64 {
        LEFT + t.as_secs_f64() * 1e3 / self.scale
    }

    fn colour(&self, label: &str) -> &'static str {
        PALETTE[self.colours.get(label).copied().unwrap_or(0) % PALETTE.len()]
    }

    fn render(mut self) -> String {
        let t = self.timeline;
        let lanes_bottom = TOP + self.lane_height * t.lanes.len() as f64;
        let legend_rows = self.legend.len().div_ceil(4).max(1) as f64;
        let height = lanes_bottom + 40.0 + 18.0 * legend_rows;
        let spans: usize = t.lanes.iter().map(|l| l.spans.len()).sum();
        let _ = write!(
            self.out,
            r#"<svg xmlns="http://www.w3.org/2000/svg" class="timeline" width="{WIDTH}" height="{height:.0}" viewBox="0 0 {WIDTH} {height:.0}" font-family="sans-serif" font-size="11" data-lanes="{}" data-spans="{spans}" data-duration-ms="{:.3}" data-most-working="{}">"#,
            t.lanes.len(),
            t.duration.as_secs_f64() * 1e3,
            t.most_working(),
        );
        let _ = write!(
            self.out,
            r##"<rect width="100%" height="100%" fill="#fff"/><text x="{LEFT}" y="16" font-size="13" font-weight="bold">{}</text><text x="{}" y="16" text-anchor="end" fill="#555">{}</text>"##,
            escape(&t.title),
            WIDTH - RIGHT,
            escape(&summary(t)),
        );
        self.axis(lanes_bottom);
        for (index, lane) in t.lanes.iter().enumerate() {
            self.lane(index, lane);
        }
        self.legend(lanes_bottom + 40.0);
        self.out.push_str("</svg>");
        self.out
    }

    fn axis(&mut self, bottom: f64) {
        let end_ms = self.scale * (WIDTH - LEFT - RIGHT);
        let step = nice_step(end_ms / 8.0);
        let decimals = (-step.log10().floor()).max(0.0) as usize;
        let mut tick = 0.0;
        while tick <= end_ms * 1.0001 {
            let x = LEFT + tick / self.scale;
            let _ = write!(
                self.out,
                r##"<line x1="{x:.1}" y1="{TOP}" x2="{x:.1}" y2="{bottom:.1}" stroke="#e4e4e4"/><text x="{x:.1}" y="{:.1}" text-anchor="middle" fill="#555">{tick:.decimals$}</text>"##,
                bottom + 14.0,
            );
            tick += step;
        }
        let _ = write!(
            self.out,
            r##"<line x1="{LEFT}" y1="{bottom:.1}" x2="{:.1}" y2="{bottom:.1}" stroke="#888"/><text x="{:.1}" y="{:.1}" text-anchor="end" fill="#555">ms</text>"##,
            WIDTH - RIGHT,
            LEFT - 20.0,
            bottom + 14.0,
        );
    }

    fn lane(&mut self, index: usize, lane: &'a Lane) {
        let y = TOP + self.lane_height * index as f64;
        // Name every lane when there is room; with many thin lanes, every few.
        let every = (10.0 / self.lane_height).ceil() as usize;
        if index.is_multiple_of(every) {
            let size = self.lane_height.clamp(7.0, 11.0);
            let _ = write!(
                self.out,
                r#"<text x="{:.1}" y="{:.1}" text-anchor="end" font-size="{size:.0}">{}</text>"#,
                LEFT - 6.0,
                y + self.lane_height / 2.0 + size * 0.35,
                escape(&lane.name),
            );
        }
        let pieces = flatten(&lane.spans);
        let _ = write!(
            self.out,
            r#"<g class="lane"><title>{}</title>"#,
            escape(&lane.name)
        );
        if pieces.len() <= DETAILED_PIECES {
            for (start, end, span) in pieces {
                let x = self.x(start);
                // Leave a hair of white between pieces that touch, so that ten requests
                // in a row look like ten, not like one long one.
                let width = (self.x(end) - x).max(0.0);
                let width = if width > 3.0 {
                    width - 0.6
                } else {
                    width.max(0.8)
                };
                self.rect(x, width, y, span.activity, &span.label, start, end);
            }
        } else {
            self.rasterised(&pieces, y);
        }
        self.out.push_str("</g>");
    }

    /// Draws a lane too busy to draw piece by piece: each pixel column shows what the
    /// thread spent most of that column's time on.
    fn rasterised(&mut self, pieces: &[(Duration, Duration, &'a Span)], y: f64) {
        let columns = (WIDTH - LEFT - RIGHT) as usize;
        let column_time = Duration::from_secs_f64(self.scale / 1e3);
        let mut shares: Vec<Vec<(&str, Activity, Duration)>> = vec![Vec::new(); columns];
        for &(start, end, span) in pieces {
            let first = ((start.as_secs_f64() * 1e3 / self.scale) as usize).min(columns - 1);
            let last = ((end.as_secs_f64() * 1e3 / self.scale) as usize).min(columns - 1);
            for (column, share) in shares.iter_mut().enumerate().take(last + 1).skip(first) {
                let from = start.max(column_time * column as u32);
                let to = end.min(column_time * (column as u32 + 1));
                let time = to.saturating_sub(from).max(Duration::from_nanos(1));
                match share
                    .iter_mut()
                    .find(|(l, a, _)| *l == &*span.label && *a == span.activity)
                {
                    Some(entry) => entry.2 += time,
                    None => share.push((&span.label, span.activity, time)),
                }
            }
        }
        let leading = |share: &[(&'a str, Activity, Duration)]| {
            share
                .iter()
                .max_by_key(|(_, _, time)| *time)
                .map(|&(label, activity, _)| (label, activity))
        };
        let mut column = 0;
        while column < columns {
            let Some((label, activity)) = leading(&shares[column]) else {
                column += 1;
                continue;
            };
            let first = column;
            while column < columns && leading(&shares[column]) == Some((label, activity)) {
                column += 1;
            }
            let (start, end) = (column_time * first as u32, column_time * column as u32);
            self.rect(
                self.x(start),
                (column - first) as f64,
                y,
                activity,
                label,
                start,
                end,
            );
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn rect(
        &mut self,
        x: f64,
        width: f64,
        y: f64,
        activity: Activity,
        label: &str,
        start: Duration,
        end: Duration,
    ) {
        let (top, height) = bar(y, self.lane_height, activity);
        let waiting = if activity == Activity::Wait {
            ", waiting"
        } else {
            ""
        };
        let _ = write!(
            self.out,
            r#"<rect x="{x:.2}" y="{top:.2}" width="{width:.2}" height="{height:.2}" fill="{}"><title>{}{waiting}: {:.3}–{:.3} ms</title></rect>"#,
            self.colour(label),
            escape(label),
            start.as_secs_f64() * 1e3,
            end.as_secs_f64() * 1e3,
        );
    }

    fn legend(&mut self, top: f64) {
        let legend = std::mem::take(&mut self.legend);
        for (index, &(label, activity)) in legend.iter().enumerate() {
            let x = LEFT + 170.0 * (index % 4) as f64;
            let y = top + 18.0 * (index / 4) as f64;
            let (bar_top, height) = bar(y, 12.0, activity);
            let waiting = if activity == Activity::Wait {
                " (waiting)"
            } else {
                ""
            };
            let _ = write!(
                self.out,
                r#"<rect x="{x:.1}" y="{bar_top:.1}" width="18" height="{height:.1}" fill="{}"/><text x="{:.1}" y="{:.1}">{}{waiting}</text>"#,
                self.colour(label),
                x + 24.0,
                y + 10.0,
                escape(label),
            );
        }
    }
}

/// Vertical extent of a bar in a lane of height `h` starting at `y`: work fills the
/// lane, waiting is a thin line through its middle.
fn bar(y: f64, h: f64, activity: Activity) -> (f64, f64) {
    match activity {
        Activity::Work => (y + h * 0.1, h * 0.8),
        Activity::Wait => (y + h * 0.38, (h * 0.24).max(1.0)),
    }
}

fn summary(timeline: &Timeline) -> String {
    let lanes = timeline.lanes.len();
    let mut text = format!(
        "{lanes} thread{}, {:.1} ms, at most {} working at once",
        if lanes == 1 { "" } else { "s" },
        timeline.duration.as_secs_f64() * 1e3,
        timeline.most_working()
    );
    if timeline.dropped > 0 {
        let _ = write!(text, ", {} spans not recorded", timeline.dropped);
    }
    text
}

/// Where an axis for `end_ms` milliseconds ends: the first tick at or after it.
fn axis_end(end_ms: f64) -> f64 {
    let end_ms = end_ms.max(1e-3);
    let step = nice_step(end_ms / 8.0);
    (end_ms / step).ceil() * step
}

/// The 1, 2 or 5 times a power of ten closest above `raw`: tick steps people read.
fn nice_step(raw: f64) -> f64 {
    let magnitude = 10f64.powf(raw.max(1e-6).log10().floor());
    [1.0, 2.0, 5.0, 10.0]
        .into_iter()
        .map(|m| m * magnitude)
        .find(|&step| step >= raw)
        .unwrap_or(10.0 * magnitude)
}

fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            _ => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_support::jitter;

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    fn span(label: &'static str, activity: Activity, start: u64, end: u64) -> Span {
        Span {
            label: label.into(),
            activity,
            start: ms(start),
            end: ms(end),
        }
    }

    /// Recordings are process-wide, so tests that record take turns.
    static RECORDING: Mutex<()> = Mutex::new(());

    fn record<R>(title: &str, f: impl FnOnce() -> R) -> Timeline {
        let _turn = RECORDING.lock().unwrap_or_else(PoisonError::into_inner);
        Timeline::record(title, f)
    }

    #[test]
    fn spans_outside_a_recording_are_not_kept() {
        drop(work("before"));
        let timeline = record("empty", || ());
        assert!(timeline.lanes().is_empty());
        drop(work("after"));
    }

    #[test]
    fn one_lane_per_thread_in_order_of_first_span() {
        let timeline = record("threads", || {
            thread::scope(|s| {
                for i in 0..3_u64 {
                    thread::Builder::new()
                        .name(format!("worker {i}"))
                        .spawn_scoped(s, move || {
                            thread::sleep(ms(5 * i));
                            let _span = work("step");
                            thread::sleep(ms(2));
                        })
                        .unwrap();
                }
            })
        });
        let names: Vec<&str> = timeline.lanes().iter().map(|l| l.name.as_str()).collect();
        assert_eq!(names, ["worker 0", "worker 1", "worker 2"]);
        assert!(timeline.duration() >= ms(12));
    }

    #[test]
    fn unnamed_threads_are_numbered() {
        let timeline = record("unnamed", || {
            thread::scope(|s| {
                s.spawn(|| drop(work("a")));
            });
            thread::sleep(ms(2));
            thread::scope(|s| {
                s.spawn(|| drop(work("b")));
            });
        });
        let names: Vec<&str> = timeline.lanes().iter().map(|l| l.name.as_str()).collect();
        assert_eq!(names, ["thread 1", "thread 2"]);
    }

    #[test]
    fn the_unnamed_recording_thread_is_the_caller() {
        let timeline = thread::spawn(|| record("caller", || drop(work("here"))))
            .join()
            .unwrap();
        assert_eq!(timeline.lanes()[0].name, "caller");
    }

    #[test]
    fn nested_spans_are_recorded_with_their_activity() {
        let timeline = record("nested", || {
            let _outer = work("request");
            let lock = Mutex::new(());
            drop(waiting("lock", || lock.lock().unwrap()));
        });
        let spans = &timeline.lanes()[0].spans;
        assert_eq!(spans.len(), 2);
        assert_eq!(
            (&*spans[0].label, spans[0].activity),
            ("request", Activity::Work)
        );
        assert_eq!(
            (&*spans[1].label, spans[1].activity),
            ("lock", Activity::Wait)
        );
        assert!(spans[0].start <= spans[1].start && spans[1].end <= spans[0].end);
    }

    #[test]
    fn a_panic_inside_ends_the_recording() {
        let turn = RECORDING.lock().unwrap_or_else(PoisonError::into_inner);
        let result = std::panic::catch_unwind(|| {
            Timeline::record("panics", || panic!("in the recorded code"))
        });
        assert!(result.is_err());
        drop(turn);
        let timeline = record("after the panic", || drop(work("fine")));
        assert_eq!(timeline.lanes().len(), 1);
    }

    #[test]
    fn recording_twice_at_once_is_refused() {
        let result =
            std::panic::catch_unwind(|| record("outer", || Timeline::record("inner", || ())));
        let message = result.unwrap_err();
        let message = message.downcast_ref::<&str>().unwrap();
        assert!(message.contains("another timeline"), "{message}");
    }

    #[test]
    fn spans_beyond_the_limit_are_counted() {
        let timeline = record("many", || {
            for _ in 0..MAX_SPANS_PER_THREAD + 5 {
                drop(work("tiny"));
            }
        });
        assert_eq!(timeline.lanes()[0].spans.len(), MAX_SPANS_PER_THREAD);
        assert_eq!(timeline.dropped(), 5);
        assert!(timeline.to_string().contains("5 spans not recorded"));
        // The busy lane is drawn per pixel column: bounded, whatever the span count.
        assert!(timeline.to_svg().len() < 200_000);
    }

    #[test]
    fn every_span_of_many_threads_lands_in_its_own_lane() {
        for trial in 0..25 {
            let threads = crate::randint(1, 12) as usize;
            let spans_per_thread: Vec<usize> = (0..threads)
                .map(|_| crate::randint(0, 30) as usize)
                .collect();
            let timeline = record("random", || {
                thread::scope(|s| {
                    for (i, &n) in spans_per_thread.iter().enumerate() {
                        thread::Builder::new()
                            .name(format!("t{i}"))
                            .spawn_scoped(s, move || {
                                for _ in 0..n {
                                    jitter();
                                    let _outer = work("outer");
                                    jitter();
                                    drop(wait("inner"));
                                }
                            })
                            .unwrap();
                    }
                })
            });
            let context = format!("trial {trial}: spans per thread {spans_per_thread:?}");
            let expected: Vec<(String, usize)> = spans_per_thread
                .iter()
                .enumerate()
                .filter(|&(_, &n)| n > 0)
                .map(|(i, &n)| (format!("t{i}"), 2 * n))
                .collect();
            let mut found: Vec<(String, usize)> = timeline
                .lanes()
                .iter()
                .map(|lane| (lane.name.clone(), lane.spans.len()))
                .collect();
            found.sort_by_key(|(name, _)| name[1..].parse::<usize>().unwrap());
            assert_eq!(found, expected, "{context}");
            assert_eq!(timeline.dropped(), 0, "{context}");
            for lane in timeline.lanes() {
                for span in &lane.spans {
                    assert!(
                        span.start <= span.end && span.end <= timeline.duration(),
                        "{context}: {span:?} outside 0..{:?}",
                        timeline.duration()
                    );
                }
                // Each inner wait lies within the work span recorded just before it.
                for pair in lane.spans.chunks(2) {
                    let (outer, inner) = (&pair[0], &pair[1]);
                    assert!(
                        outer.label == "outer"
                            && inner.label == "inner"
                            && outer.start <= inner.start
                            && inner.end <= outer.end,
                        "{context}: {pair:?}"
                    );
                }
            }
            assert!(timeline.most_working() <= expected.len(), "{context}");
        }
    }

    #[test]
    fn a_thread_that_outlives_recordings_records_into_each_only_its_own_spans() {
        use std::sync::mpsc;
        let (jobs, inbox) = mpsc::channel::<usize>();
        let (done, finished) = mpsc::channel::<()>();
        let (ended, recording_over) = mpsc::channel::<()>();
        let worker = thread::Builder::new()
            .name("worker".to_owned())
            .spawn(move || {
                for spans in inbox {
                    for _ in 0..spans {
                        jitter();
                        drop(work("job"));
                    }
                    // Still open when its recording ends: it belongs to no picture.
                    let late = work("late");
                    done.send(()).unwrap();
                    recording_over.recv().unwrap();
                    drop(late);
                }
            })
            .unwrap();
        for spans in [3, 0, 5, 1] {
            let timeline = record("generation", || {
                jobs.send(spans).unwrap();
                finished.recv().unwrap();
            });
            ended.send(()).unwrap();
            let recorded: Vec<usize> = timeline.lanes().iter().map(|l| l.spans.len()).collect();
            let expected = if spans == 0 { vec![] } else { vec![spans] };
            assert_eq!(recorded, expected, "{spans} spans asked for");
        }
        drop(jobs);
        worker.join().unwrap();
    }

    #[test]
    fn flatten_gives_each_moment_to_the_innermost_span() {
        let spans = [
            span("request", Activity::Work, 0, 10),
            span("lock", Activity::Wait, 2, 4),
            span("request", Activity::Work, 10, 12),
        ];
        let pieces: Vec<_> = flatten(&spans)
            .into_iter()
            .map(|(s, e, span)| (s.as_millis(), e.as_millis(), &*span.label))
            .collect();
        assert_eq!(
            pieces,
            [
                (0, 2, "request"),
                (2, 4, "lock"),
                (4, 10, "request"),
                (10, 12, "request")
            ]
        );
    }

    #[test]
    fn most_working_counts_overlap_not_hand_overs() {
        let lanes = |spans: Vec<Vec<Span>>| {
            spans
                .into_iter()
                .enumerate()
                .map(|(i, spans)| Lane {
                    name: format!("t{i}"),
                    spans,
                })
                .collect()
        };
        let handed_over = Timeline::from_lanes(
            "lock",
            lanes(vec![
                vec![span("locked", Activity::Work, 0, 5)],
                vec![
                    span("lock", Activity::Wait, 0, 5),
                    span("locked", Activity::Work, 5, 9),
                ],
            ]),
        );
        assert_eq!(handed_over.most_working(), 1);
        let parallel = Timeline::from_lanes(
            "parallel",
            lanes(vec![
                vec![span("compute", Activity::Work, 0, 5)],
                vec![span("compute", Activity::Work, 1, 6)],
            ]),
        );
        assert_eq!(parallel.most_working(), 2);
        assert_eq!(Timeline::from_lanes("none", Vec::new()).most_working(), 0);
    }

    #[test]
    fn svg_shows_lanes_axis_and_legend() {
        let timeline = Timeline::from_lanes(
            "a <title> & more",
            vec![Lane {
                name: "main".into(),
                spans: vec![
                    span("request", Activity::Work, 0, 100),
                    span("lock", Activity::Wait, 100, 150),
                ],
            }],
        );
        let svg = timeline.to_svg();
        assert!(svg.starts_with("<svg xmlns=\"http://www.w3.org/2000/svg\""));
        assert!(svg.ends_with("</svg>"));
        assert!(svg.contains("a &lt;title&gt; &amp; more"));
        assert!(svg.contains(r#"data-lanes="1""#));
        assert!(svg.contains(">lock (waiting)</text>"));
        assert!(
            svg.contains(">160</text>"),
            "the axis goes past the end: {svg}"
        );
        assert_eq!(svg.matches("<g class=\"lane\">").count(), 1);
    }

    #[test]
    fn hundred_lanes_fit_with_every_few_named() {
        let lanes = (0..100)
            .map(|i| Lane {
                name: format!("thread {}", i + 1),
                spans: vec![span("request", Activity::Work, i, 100 + 2 * i)],
            })
            .collect();
        let svg = Timeline::from_lanes("100", lanes).to_svg();
        assert_eq!(svg.matches("<g class=\"lane\">").count(), 100);
        assert!(svg.contains(">thread 1</text>") && !svg.contains(">thread 2</text>"));
        let height: f64 = svg
            .split("height=\"")
            .nth(1)
            .unwrap()
            .split('"')
            .next()
            .unwrap()
            .parse()
            .unwrap();
        assert!(height < 520.0, "{height}");
    }

    #[test]
    #[should_panic(expected = "span `back` in lane `t` ends (1ms) before it starts (2ms)")]
    fn spans_ending_before_they_start_are_refused() {
        Timeline::from_lanes(
            "bad",
            vec![Lane {
                name: "t".into(),
                spans: vec![span("back", Activity::Work, 2, 1)],
            }],
        );
    }

    #[test]
    fn nice_steps() {
        assert_eq!(nice_step(0.7), 1.0);
        assert_eq!(nice_step(13.0), 20.0);
        assert_eq!(nice_step(40.0), 50.0);
        assert_eq!(nice_step(100.0), 100.0);
        assert_eq!(axis_end(150.0), 160.0);
        assert_eq!(axis_end(2000.0), 2000.0);
    }
}
