//! Python's `random.random()` and `random.randint(a, b)`, and seeded streams.
//!
//! Both functions draw from a generator local to the calling thread, so many threads
//! can call them at once without contending for a lock. A [`RandomStream`] is a
//! generator of one's own, from a seed: a parallel computation gives each chunk its
//! own stream and gets the same result however the chunks are scheduled.

use rand::rngs::SmallRng;
use rand::{RngExt, SeedableRng};

/// A random float in `[0.0, 1.0)`, like Python's `random.random()`.
///
/// ```
/// let x = concurrency_helpers::random();
/// assert!((0.0..1.0).contains(&x));
/// ```
pub fn random() -> f64 {
    rand::rng().random()
}

/// A random integer in `lo..=hi`, both ends included, like Python's `random.randint`.
///
/// # Panics
/// When `lo > hi`: the range holds no integer to choose.
///
/// ```
/// let item = concurrency_helpers::randint(100, 999);
/// assert!((100..=999).contains(&item));
/// ```
pub fn randint(lo: i64, hi: i64) -> i64 {
    assert!(
        lo <= hi,
        "randint({lo}, {hi}): empty range, the lower bound must not exceed the upper bound"
    );
    rand::rng().random_range(lo..=hi)
}

/// A generator of random floats from a seed, like Python's `random.Random(seed)`: the
/// same seed gives the same numbers (on the same platform), and streams from different
/// seeds are independent. Fast and small, not for cryptography.
///
/// ```
/// use concurrency_helpers::RandomStream;
///
/// let mut a = RandomStream::new(7);
/// let mut b = RandomStream::new(7);
/// assert_eq!(a.random(), b.random());
/// assert!((0.0..1.0).contains(&a.random()));
/// ```
#[derive(Debug, Clone)]
pub struct RandomStream(SmallRng);

impl RandomStream {
    /// The stream for `seed`.
    pub fn new(seed: u64) -> RandomStream {
        RandomStream(SmallRng::seed_from_u64(seed))
    }

    /// The next float in `[0.0, 1.0)`.
    pub fn random(&mut self) -> f64 {
        self.0.random()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn streams_repeat_by_seed_and_differ_between_seeds() {
        let draw = |seed| {
            let mut stream = RandomStream::new(seed);
            (0..100).map(|_| stream.random()).collect::<Vec<f64>>()
        };
        assert_eq!(draw(1), draw(1));
        assert_ne!(draw(1), draw(2));
        assert!(draw(3).iter().all(|x| (0.0..1.0).contains(x)));
    }

    #[test]
    fn random_stays_in_the_unit_interval_and_varies() {
        let draws: Vec<f64> = (0..1000).map(|_| random()).collect();
        assert!(draws.iter().all(|x| (0.0..1.0).contains(x)));
        assert!(draws.iter().any(|&x| x < 0.5) && draws.iter().any(|&x| x >= 0.5));
    }

    #[test]
    fn randint_includes_both_ends() {
        let draws: Vec<i64> = (0..1000).map(|_| randint(1, 3)).collect();
        for v in 1..=3 {
            assert!(draws.contains(&v), "{v} never drawn");
        }
        assert!(draws.iter().all(|v| (1..=3).contains(v)));
    }

    #[test]
    fn randint_of_a_single_value_returns_it() {
        assert_eq!(randint(7, 7), 7);
        assert_eq!(randint(i64::MIN, i64::MIN), i64::MIN);
    }

    #[test]
    #[should_panic(expected = "randint(5, 4): empty range")]
    fn randint_rejects_an_empty_range() {
        randint(5, 4);
    }
}
