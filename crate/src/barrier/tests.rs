//! The barrier on real threads: waits, timeouts, resets, and random schedules.

use super::*;
use crate::test_support::jitter;
use std::sync::Mutex;
use std::thread;
use std::time::Instant;

const LONG: Duration = Duration::from_secs(10);

fn wait_until_waiting(barrier: &Barrier, n: usize) {
    let deadline = Instant::now() + LONG;
    while barrier.n_waiting() < n {
        assert!(Instant::now() < deadline, "waiters never arrived");
        thread::sleep(Duration::from_millis(1));
    }
}

#[test]
fn releases_all_parties_with_distinct_indices() {
    let barrier = Barrier::new(4, LONG);
    let mut indices: Vec<usize> = thread::scope(|s| {
        let handles: Vec<_> = (0..4).map(|_| s.spawn(|| barrier.wait())).collect();
        handles
            .into_iter()
            .map(|h| h.join().unwrap().unwrap())
            .collect()
    });
    indices.sort();
    assert_eq!(indices, vec![0, 1, 2, 3]);
    assert!(!barrier.is_broken());
}

#[test]
fn a_single_party_passes_at_once() {
    let barrier = Barrier::new(1, Duration::ZERO);
    assert_eq!(barrier.wait(), Ok(0));
    assert_eq!(barrier.wait(), Ok(0));
}

#[test]
fn is_reused_across_rounds() {
    let barrier = Barrier::new(2, LONG);
    thread::scope(|s| {
        for _ in 0..2 {
            s.spawn(|| {
                for _ in 0..100 {
                    barrier.wait().unwrap();
                }
            });
        }
    });
    assert_eq!(barrier.n_waiting(), 0);
}

#[test]
fn timeout_breaks_the_barrier_for_everyone() {
    let barrier = Barrier::new(3, Duration::from_millis(50));
    let results: Vec<_> = thread::scope(|s| {
        let first = s.spawn(|| barrier.wait_timeout(LONG));
        wait_until_waiting(&barrier, 1);
        let second = s.spawn(|| barrier.wait());
        vec![first.join().unwrap(), second.join().unwrap()]
    });
    assert_eq!(
        results,
        vec![
            Err(BarrierWaitError::Broken),
            Err(BarrierWaitError::TimedOut(Duration::from_millis(50)))
        ]
    );
    assert!(barrier.is_broken());
    assert_eq!(barrier.wait(), Err(BarrierWaitError::Broken));
}

#[test]
fn timeout_takes_about_the_timeout() {
    let barrier = Barrier::new(2, Duration::from_millis(30));
    let start = Instant::now();
    assert!(barrier.wait().is_err());
    let waited = start.elapsed();
    assert!(
        waited >= Duration::from_millis(30) && waited < LONG,
        "{waited:?}"
    );
}

#[test]
fn abort_wakes_waiters_and_reset_repairs() {
    let barrier = Barrier::new(2, LONG);
    thread::scope(|s| {
        let waiter = s.spawn(|| barrier.wait());
        wait_until_waiting(&barrier, 1);
        barrier.abort();
        assert_eq!(waiter.join().unwrap(), Err(BarrierWaitError::Broken));
    });
    assert!(barrier.is_broken());
    barrier.reset();
    assert!(!barrier.is_broken());
    thread::scope(|s| {
        s.spawn(|| barrier.wait().unwrap());
        barrier.wait().unwrap();
    });
}

#[test]
fn reset_breaks_current_waiters_but_not_the_next_round() {
    let barrier = Barrier::new(2, LONG);
    thread::scope(|s| {
        let waiter = s.spawn(|| barrier.wait());
        wait_until_waiting(&barrier, 1);
        barrier.reset();
        assert_eq!(waiter.join().unwrap(), Err(BarrierWaitError::Broken));
    });
    assert!(!barrier.is_broken());
    assert_eq!(barrier.n_waiting(), 0);
    thread::scope(|s| {
        s.spawn(|| barrier.wait().unwrap());
        barrier.wait().unwrap();
    });
}

#[test]
fn errors_say_what_happened() {
    let timed_out = BarrierWaitError::TimedOut(Duration::from_secs(5)).to_string();
    assert!(timed_out.contains("timed out after 5s"), "{timed_out}");
    assert!(BarrierWaitError::Broken.to_string().contains("broken"));
}

#[test]
#[should_panic(expected = "parties must be at least 1")]
fn zero_parties_panics() {
    Barrier::new(0, LONG);
}

/// Property: in every round of every trial, each party is released exactly once,
/// with the indices `0..parties` between them, whatever the arrival order.
#[test]
fn random_arrivals_release_every_round_exactly_once() {
    for trial in 0..30 {
        let parties = crate::random::randint(1, 8) as usize;
        let rounds = 20;
        let barrier = Barrier::new(parties, LONG);
        let released = Mutex::new(vec![Vec::new(); rounds]);
        thread::scope(|s| {
            for _ in 0..parties {
                s.spawn(|| {
                    for round in 0..rounds {
                        jitter();
                        let index = barrier.wait().expect("every party arrives");
                        released.lock().unwrap()[round].push(index);
                    }
                });
            }
        });
        for (round, mut indices) in released.into_inner().unwrap().into_iter().enumerate() {
            indices.sort();
            let expected: Vec<usize> = (0..parties).collect();
            assert_eq!(
                indices, expected,
                "trial {trial}, {parties} parties, round {round}"
            );
        }
        assert!(!barrier.is_broken());
    }
}

/// Property: when fewer threads arrive than the barrier needs, every one of them
/// returns an error within about the timeout (none hangs), at least one of them
/// reports the timeout, and after `reset` a full round passes again.
#[test]
fn random_shortfalls_fail_everyone_in_bounded_time_and_reset_recovers() {
    for trial in 0..15 {
        let parties = crate::random::randint(2, 6) as usize;
        let arriving = crate::random::randint(1, parties as i64 - 1) as usize;
        let timeout = Duration::from_millis(crate::random::randint(5, 40) as u64);
        let barrier = Barrier::new(parties, timeout);
        let started = Instant::now();
        let results: Vec<_> = thread::scope(|s| {
            let handles: Vec<_> = (0..arriving)
                .map(|_| {
                    s.spawn(|| {
                        jitter();
                        barrier.wait()
                    })
                })
                .collect();
            handles.into_iter().map(|h| h.join().unwrap()).collect()
        });
        let took = started.elapsed();
        let context = format!("trial {trial}: {arriving} of {parties}, {timeout:?}");
        assert!(
            took < timeout * 2 + Duration::from_secs(2),
            "{context}: took {took:?}"
        );
        assert!(results.iter().all(Result::is_err), "{context}: {results:?}");
        assert!(
            results.contains(&Err(BarrierWaitError::TimedOut(timeout))),
            "{context}: {results:?}"
        );
        assert!(barrier.is_broken(), "{context}");
        assert_eq!(barrier.wait(), Err(BarrierWaitError::Broken), "{context}");

        barrier.reset();
        let passed = thread::scope(|s| {
            let handles: Vec<_> = (0..parties)
                .map(|_| s.spawn(|| barrier.wait_timeout(LONG)))
                .collect();
            handles
                .into_iter()
                .map(|h| h.join().unwrap())
                .collect::<Vec<_>>()
        });
        assert!(
            passed.iter().all(Result::is_ok),
            "{context}, after reset: {passed:?}"
        );
    }
}
