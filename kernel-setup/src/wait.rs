//! Waiting with a deadline: the one polling loop that setup, the notebook runner, the
//! browser test and JupyterLab's start and stop share.

use std::io;
use std::process::{Child, ExitStatus};
use std::thread;
use std::time::{Duration, Instant};

/// Calls `poll` every `interval` until it returns `Some`, and returns that; `None` once
/// `limit` has passed without it. `poll` runs at least once, and once more at the
/// deadline, so a condition met while sleeping is not missed.
pub fn poll_until<T>(
    limit: Duration,
    interval: Duration,
    mut poll: impl FnMut() -> Option<T>,
) -> Option<T> {
    let deadline = Instant::now() + limit;
    loop {
        if let Some(found) = poll() {
            return Some(found);
        }
        let now = Instant::now();
        if now >= deadline {
            return None;
        }
        thread::sleep(interval.min(deadline - now));
    }
}

/// Waits up to `limit` for `child` to exit: `Ok(None)` if it is still running then.
/// `each_poll` runs between checks (a progress line, a look at a log).
pub fn child_within(
    child: &mut Child,
    limit: Duration,
    mut each_poll: impl FnMut(),
) -> io::Result<Option<ExitStatus>> {
    poll_until(limit, Duration::from_millis(50), || {
        match child.try_wait() {
            Ok(None) => {
                each_poll();
                None
            }
            done => Some(done),
        }
    })
    .transpose()
    .map(Option::flatten)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::process::Command;

    #[test]
    fn returns_what_poll_found_or_none_at_the_deadline() {
        let mut calls = 0;
        let found = poll_until(Duration::from_secs(5), Duration::from_millis(1), || {
            calls += 1;
            (calls == 3).then_some(calls)
        });
        assert_eq!(found, Some(3));
        let started = Instant::now();
        let never = poll_until(Duration::from_millis(100), Duration::from_secs(10), || {
            None::<()>
        });
        assert_eq!(never, None);
        // The interval is cut to the deadline, not slept in full.
        assert!(started.elapsed() < Duration::from_secs(2));
    }

    #[test]
    fn a_child_that_exits_in_time_and_one_that_does_not() {
        let mut quick = Command::new("true").spawn().unwrap();
        let status = child_within(&mut quick, Duration::from_secs(10), || {}).unwrap();
        assert!(status.is_some_and(|s| s.success()));
        let mut slow = Command::new("sleep").arg("10").spawn().unwrap();
        let mut polls = 0;
        let status = child_within(&mut slow, Duration::from_millis(200), || polls += 1).unwrap();
        assert!(status.is_none());
        assert!(polls > 0);
        slow.kill().unwrap();
        slow.wait().unwrap();
    }
}
