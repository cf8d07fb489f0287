//! The recorder, the model and the picture, checked together on real threads.

use super::model::flatten;
use super::svg::{axis_end, nice_step};
use super::*;
use crate::test_support::jitter;
use std::sync::{Mutex, PoisonError};
use std::thread;
use std::time::Duration;

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
    Timeline::record(title, f).timeline
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
    let result =
        std::panic::catch_unwind(|| Timeline::record("panics", || panic!("in the recorded code")));
    assert!(result.is_err());
    drop(turn);
    let timeline = record("after the panic", || drop(work("fine")));
    assert_eq!(timeline.lanes().len(), 1);
}

#[test]
fn recording_twice_at_once_is_refused() {
    let result = std::panic::catch_unwind(|| record("outer", || Timeline::record("inner", || ())));
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
        let threads = crate::random::randint(1, 12) as usize;
        let spans_per_thread: Vec<usize> = (0..threads)
            .map(|_| crate::random::randint(0, 30) as usize)
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
