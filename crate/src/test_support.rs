//! What the property tests share.

use std::thread;
use std::time::Duration;

/// Up to half a millisecond, sometimes: enough to shuffle how threads interleave
/// in the property tests.
pub fn jitter() {
    if crate::random::random() < 0.3 {
        thread::sleep(Duration::from_micros(
            (crate::random::random() * 500.0) as u64,
        ));
    }
}
