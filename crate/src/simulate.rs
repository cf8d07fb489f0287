//! Stand-ins for work that takes time: the original's `simulate_processing_time`.

use std::thread;
use std::time::Duration;

/// Sleeps a random time in `[delta_time, 2 * delta_time)` seconds and returns it.
///
/// This is the Python original's
/// `sleep(random() * delta_time + delta_time)`: a request, a download or a
/// computation whose length varies. A sleeping thread gives its core away, which is
/// why threads that "process" this way overlap even on a single core.
///
/// # Panics
/// When `delta_time` is negative, NaN, infinite, or too large for a [`Duration`].
///
/// ```
/// use concurrency_helpers::simulate_processing_time;
///
/// let slept = simulate_processing_time(0.01);
/// assert!(slept.as_secs_f64() >= 0.01 && slept.as_secs_f64() < 0.02);
/// ```
pub fn simulate_processing_time(delta_time: f64) -> Duration {
    let duration = processing_time(delta_time, crate::random::random());
    thread::sleep(duration);
    duration
}

/// `delta_time * (1 + fraction)` as a `Duration`, with the argument checks.
fn processing_time(delta_time: f64, fraction: f64) -> Duration {
    assert!(
        delta_time.is_finite() && delta_time >= 0.0,
        "simulate_processing_time: delta_time must be a finite number of seconds >= 0, got {delta_time}"
    );
    Duration::try_from_secs_f64(delta_time * (1.0 + fraction)).unwrap_or_else(|_| {
        panic!("simulate_processing_time: delta_time of {delta_time} s is too long to sleep")
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn duration_spans_delta_to_twice_delta() {
        assert_eq!(processing_time(0.1, 0.0), Duration::from_millis(100));
        assert_eq!(processing_time(0.1, 0.5), Duration::from_millis(150));
        assert!(processing_time(0.1, 0.999_999) < Duration::from_millis(200));
    }

    #[test]
    fn zero_delta_sleeps_not_at_all() {
        assert_eq!(simulate_processing_time(0.0), Duration::ZERO);
    }

    #[test]
    fn sleeps_about_as_long_as_it_says() {
        let start = std::time::Instant::now();
        let slept = simulate_processing_time(0.02);
        assert!(start.elapsed() >= slept);
        assert!(slept >= Duration::from_millis(20) && slept < Duration::from_millis(40));
    }

    #[test]
    #[should_panic(expected = "delta_time must be a finite number of seconds >= 0, got -1")]
    fn negative_delta_panics() {
        simulate_processing_time(-1.0);
    }

    #[test]
    #[should_panic(expected = "got NaN")]
    fn nan_delta_panics() {
        simulate_processing_time(f64::NAN);
    }

    #[test]
    #[should_panic(expected = "got inf")]
    fn infinite_delta_panics() {
        simulate_processing_time(f64::INFINITY);
    }

    #[test]
    #[should_panic(expected = "too long to sleep")]
    fn huge_delta_panics_instead_of_sleeping_forever() {
        simulate_processing_time(1e30);
    }
}
