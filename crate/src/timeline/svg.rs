//! The picture of a timeline: one lane per thread, bars for spans, a time axis and a
//! legend, as a standalone SVG document with no script and no network access.

use super::model::{Activity, Lane, Span, Timeline, flatten};
use std::collections::HashMap;
use std::fmt::Write as _;
use std::time::Duration;

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

impl Timeline {
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
            escape(&t.summary()),
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

/// Where an axis for `end_ms` milliseconds ends: the first tick at or after it.
pub(super) fn axis_end(end_ms: f64) -> f64 {
    let end_ms = end_ms.max(1e-3);
    let step = nice_step(end_ms / 8.0);
    (end_ms / step).ceil() * step
}

/// The 1, 2 or 5 times a power of ten closest above `raw`: tick steps people read.
pub(super) fn nice_step(raw: f64) -> f64 {
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
