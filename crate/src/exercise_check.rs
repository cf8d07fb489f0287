//! The checks that follow each task of a workshop: they run the learner's code and say
//! either that it does what the task asks, or what is wrong with it in the task's own
//! terms, as rustlings does.
//!
//! A failed check panics with its hint: the cell shows the hint in red under it, and
//! the course's tests see the failure (the kernel keeps the notebook's variables).

use std::fmt::Display;
use std::sync::mpsc;
use std::thread;
use std::time::Duration;

/// Fails the check with `hint` unless `passed`. The hint says what came out and what
/// the task asks instead, e.g. "π came out as 0.79 for 1,000,000 points, expected 3.14
/// ± 0.01: four times the share of points inside".
///
/// # Panics
/// When `passed` is false, with `hint` as the message.
///
/// ```
/// use concurrency_helpers::check;
///
/// check(2 + 2 == 4, "2 + 2 should be 4");
/// let failed = std::panic::catch_unwind(|| check(2 + 2 == 5, "2 + 2 came out as 4, not 5"));
/// assert!(failed.is_err());
/// ```
#[track_caller]
pub fn check(passed: bool, hint: impl Display) {
    if !passed {
        fail(hint);
    }
}

/// Panics with `✗` and `hint`, then pauses while the panic unwinds: the kernel passes
/// a cell's stderr on from a thread of its own, and without the pause the cell could
/// end before the hint reached the notebook (it showed only the panic's first line).
#[track_caller]
fn fail(hint: impl Display) -> ! {
    struct PauseWhileUnwinding;
    impl Drop for PauseWhileUnwinding {
        fn drop(&mut self) {
            thread::sleep(Duration::from_millis(200));
        }
    }
    let _pause = PauseWhileUnwinding;
    panic!("✗ {hint}");
}

/// Runs the learner's `f` on a thread of its own and returns its value, or fails the
/// check with `hint` when `f` takes longer than `seconds` (a worker that never stops,
/// a thread per item): the check waits a bounded time, as every cell should. A thread
/// that does not finish cannot be stopped; it is left running.
///
/// # Panics
/// When `f` takes too long (with `hint`), or panics itself (with its own message,
/// already printed).
///
/// ```
/// use concurrency_helpers::check_within;
///
/// let sum = check_within(5.0, "the sum took more than 5 s", || (1..=10).sum::<u32>());
/// assert_eq!(sum, 55);
/// ```
#[track_caller]
pub fn check_within<T: Send + 'static>(
    seconds: f64,
    hint: impl Display,
    f: impl FnOnce() -> T + Send + 'static,
) -> T {
    let (sender, receiver) = mpsc::channel();
    let worker = thread::spawn(move || {
        let _ = sender.send(f());
    });
    match receiver.recv_timeout(Duration::from_secs_f64(seconds)) {
        Ok(value) => value,
        Err(mpsc::RecvTimeoutError::Timeout) => fail(hint),
        // The sender went away without a value: `f` panicked, and said why.
        Err(mpsc::RecvTimeoutError::Disconnected) => match worker.join() {
            Err(payload) => std::panic::resume_unwind(payload),
            Ok(()) => unreachable!("the worker sends before it ends"),
        },
    }
}

/// Says that a check passed: `✓` and what was checked.
pub fn passed(what: impl Display) {
    println!("✓ {what}");
}

#[cfg(test)]
mod tests {
    use super::*;

    fn panic_message(f: impl FnOnce() + std::panic::UnwindSafe) -> String {
        let payload = std::panic::catch_unwind(f).expect_err("should fail");
        payload
            .downcast_ref::<String>()
            .cloned()
            .or_else(|| payload.downcast_ref::<&str>().map(|s| (*s).to_owned()))
            .unwrap_or_default()
    }

    #[test]
    fn a_failed_check_panics_with_its_hint() {
        check(true, "not shown");
        assert_eq!(
            panic_message(|| check(false, "count x² + y² ≤ 1")),
            "✗ count x² + y² ≤ 1"
        );
    }

    #[test]
    fn a_check_within_time_returns_the_value() {
        assert_eq!(check_within(5.0, "too slow", || 6 * 7), 42);
    }

    #[test]
    fn a_check_that_takes_too_long_fails_with_its_hint() {
        let message = panic_message(|| {
            check_within(0.05, "the workers never stop", || {
                thread::sleep(Duration::from_secs(1))
            })
        });
        assert_eq!(message, "✗ the workers never stop");
    }

    #[test]
    fn a_panic_in_the_learners_code_keeps_its_message() {
        let message = panic_message(|| check_within(5.0, "too slow", || panic!("not yet")));
        assert_eq!(message, "not yet");
    }
}
