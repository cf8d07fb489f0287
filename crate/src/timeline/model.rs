//! A timeline as data: lanes of spans, and what can be read off them.

use std::borrow::Cow;
use std::fmt::{self, Write as _};
use std::time::Duration;

/// Whether a span was spent doing something or waiting for something.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Activity {
    /// Doing something: computing, sleeping as a stand-in for a server's work.
    Work,
    /// Waiting for something: a lock, a barrier, a message.
    Wait,
}

/// One recorded stretch of a thread's time, from the start of the recording.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Span {
    /// What the span was spent on; spans with the same label share a colour.
    pub label: Cow<'static, str>,
    /// Working or waiting.
    pub activity: Activity,
    /// When it started, from the start of the recording.
    pub start: Duration,
    /// When it ended, from the start of the recording.
    pub end: Duration,
}

/// The spans of one thread, in order of their start.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Lane {
    /// The thread's name, or `caller` for the unnamed thread that called
    /// [`Timeline::record`], or `thread N` for other unnamed threads, numbered in order
    /// of their first span.
    pub name: String,
    /// The thread's spans, in order of their start (outer spans before inner ones).
    pub spans: Vec<Span>,
}

/// What the threads did while a piece of code ran: lanes of spans, drawn by
/// [`to_svg`](Timeline::to_svg) and shown as a picture by evcxr.
#[derive(Debug, Clone)]
pub struct Timeline {
    pub(super) title: String,
    pub(super) lanes: Vec<Lane>,
    pub(super) duration: Duration,
    pub(super) dropped: u64,
}

impl Timeline {
    /// Builds a timeline from spans measured elsewhere, e.g. to draw a schedule.
    ///
    /// ```
    /// use concurrency_helpers::{Activity, Lane, Span, Timeline};
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

    /// The title given to [`record`](Timeline::record) or [`from_lanes`](Timeline::from_lanes).
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

    /// Spans left out because a thread had recorded
    /// [`MAX_SPANS_PER_THREAD`](super::MAX_SPANS_PER_THREAD) already.
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

    /// One line on what the picture shows, as its header says:
    /// `100 threads, 212.4 ms, at most 100 working at once`.
    pub fn summary(&self) -> String {
        let lanes = self.lanes.len();
        let mut text = format!(
            "{lanes} thread{}, {:.1} ms, at most {} working at once",
            if lanes == 1 { "" } else { "s" },
            self.duration.as_secs_f64() * 1e3,
            self.most_working()
        );
        if self.dropped > 0 {
            let _ = write!(text, ", {} spans not recorded", self.dropped);
        }
        text
    }
}

impl fmt::Display for Timeline {
    /// The title and the [`summary`](Timeline::summary):
    /// `100 requests: 100 threads, 212.4 ms, at most 100 working at once`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.title, self.summary())
    }
}

/// What a thread was doing from moment to moment: its spans cut into pieces that do
/// not overlap, each piece belonging to the innermost span open at that time.
/// Expects spans sorted by start, outer before inner.
pub(super) fn flatten(spans: &[Span]) -> Vec<(Duration, Duration, &Span)> {
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
pub(super) fn merge_adjacent(
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
