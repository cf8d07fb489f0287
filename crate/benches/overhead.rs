//! What the helpers themselves cost, so that a notebook's timings measure the lesson
//! and not the tools: `cargo bench -p concurrency_helpers`.
//!
//! Each figure is the best of several runs, per call, in nanoseconds.

use concurrency_helpers::{Barrier, Timeline, random, timeit, timeit_stats, timeline};
use std::hint::black_box;
use std::sync::Mutex;
use std::thread;
use std::time::{Duration, Instant};

const REPEAT: usize = 7;

fn per_call_ns(number: usize, f: impl FnMut()) -> f64 {
    timeit_stats(REPEAT, number, f).best_per_call() * 1e9
}

fn report(what: &str, ns: f64) {
    println!("{what:<58} {ns:>10.1} ns");
}

fn main() {
    report(
        "timeit: one call of an empty closure",
        per_call_ns(1_000_000, || {
            black_box(timeit(1, || ()));
        }),
    );
    report(
        "Instant::now() (a span reads the clock twice)",
        per_call_ns(1_000_000, || {
            black_box(Instant::now());
        }),
    );
    report(
        "random()",
        per_call_ns(1_000_000, || {
            black_box(random());
        }),
    );

    report(
        "timeline span, no recording running",
        per_call_ns(1_000_000, || {
            drop(black_box(timeline::work("idle")));
        }),
    );
    let mut in_recording = 0.0;
    // 150,000 spans a run stay under the per-thread limit, so every one is recorded.
    Timeline::record("bench", || {
        in_recording = per_call_ns(150_000 / REPEAT, || drop(black_box(timeline::work("span"))));
    });
    report("timeline span, recording, one thread", in_recording);
    let threads = thread::available_parallelism().map_or(2, |n| n.get());
    let spans_per_thread = 100_000;
    let mut seconds = 0.0;
    Timeline::record("bench", || {
        seconds = timeit(1, || {
            thread::scope(|s| {
                for _ in 0..threads {
                    s.spawn(|| {
                        for _ in 0..spans_per_thread {
                            drop(black_box(timeline::work("span")));
                        }
                    });
                }
            })
        });
    });
    report(
        &format!("timeline span, recording, {threads} threads at once (per span)"),
        seconds * 1e9 / spans_per_thread as f64,
    );
    let lock = Mutex::new(0_u64);
    let plain = per_call_ns(1_000_000, || *lock.lock().unwrap() += 1);
    report("uncontended lock, increment, unlock", plain);
    let mut traced = 0.0;
    Timeline::record("bench", || {
        traced = per_call_ns(70_000 / REPEAT, || {
            let mut guard = timeline::waiting("lock", || lock.lock().unwrap());
            let _span = timeline::work("locked");
            *guard += 1;
        });
    });
    report("the same, as a wait span and a work span", traced);
    let hundred = Timeline::record("svg", || {
        thread::scope(|s| {
            for _ in 0..100 {
                s.spawn(|| drop(timeline::work("request")));
            }
        })
    });
    report(
        "Timeline::to_svg, 100 lanes of 1 span",
        per_call_ns(100, || drop(black_box(hundred.timeline.to_svg()))),
    );

    let rounds = 20_000;
    let barrier = Barrier::new(2, Duration::from_secs(10));
    let seconds = timeit(1, || {
        thread::scope(|s| {
            for _ in 0..2 {
                s.spawn(|| {
                    for _ in 0..rounds {
                        barrier.wait().expect("both threads arrive");
                    }
                });
            }
        })
    });
    report(
        "Barrier::wait, 2 threads, per round",
        seconds * 1e9 / rounds as f64,
    );
    let std_barrier = std::sync::Barrier::new(2);
    let seconds = timeit(1, || {
        thread::scope(|s| {
            for _ in 0..2 {
                s.spawn(|| {
                    for _ in 0..rounds {
                        std_barrier.wait();
                    }
                });
            }
        })
    });
    report(
        "std::sync::Barrier::wait, the same, for comparison",
        seconds * 1e9 / rounds as f64,
    );
}
