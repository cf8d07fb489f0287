//! `slides/topic_140_multiprocessing_part3.ipynb`: a comprehension, `map` and a pool's
//! `map` give the same results in input order, and the pool's threads share the work.

use notebook_harness::{Check, Execution, ensure};

pub fn check(run: &Execution) -> Check {
    let nb = &run.notebook;
    for snippet in [
        "println!(\"List comprehension:\");",
        "println!(\"Map\");",
        "println!(\"Map with thread pool\");",
    ] {
        nb.cell(snippet)?.expect_text("[3, 9, 19]\n")?;
    }
    let shared = nb.cell("rayon::current_thread_index()")?;
    let value = shared.value().unwrap_or_default();
    // `[(3, 0), (9, 2), ...]`: results in order, then the threads that computed them.
    let pairs: Vec<(i64, usize)> = value
        .trim_matches(['[', ']'])
        .split("), (")
        .filter_map(|pair| {
            let (result, thread) = pair.trim_matches(['(', ')']).split_once(", ")?;
            Some((result.parse().ok()?, thread.parse().ok()?))
        })
        .collect();
    let results: Vec<i64> = pairs.iter().map(|p| p.0).collect();
    let expected: Vec<i64> = (1..=8).map(|x: i64| 2 * x.pow(2) + 1).collect();
    ensure(results == expected, || {
        shared.describe("should return the eight results in input order")
    })?;
    let mut threads: Vec<usize> = pairs.iter().map(|p| p.1).collect();
    threads.sort_unstable();
    threads.dedup();
    ensure(threads.len() >= 2 && threads.iter().all(|&t| t < 4), || {
        shared.describe("the pool's four threads should share the eight elements")
    })
}
