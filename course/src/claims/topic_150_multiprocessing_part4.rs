//! `slides/topic_150_multiprocessing_part4.ipynb`: the pool API on rayon and channels,
//! a timeout that returns within its bound (the job cancelled, not waited for), and
//! producers and consumers on threads.

use notebook_harness::{Check, Execution, ensure};

pub fn check(run: &Execution) -> Check {
    let nb = &run.notebook;
    let two_to_twenty = format!("{:?}", (2..=20).collect::<Vec<i64>>());
    nb.cell("with_min_len(5).map(perform_computation)")?
        .expect_text(&format!("{two_to_twenty}\n"))?;
    nb.cell("let values: Vec<i32>")?
        .expect_text(&format!("Result value:  Ok({two_to_twenty})"))?;
    // Any order, each result once.
    let unordered = nb.cell("for_each_with(sender")?;
    let mut values: Vec<i64> = unordered
        .value()
        .unwrap_or_default()
        .trim_matches(['[', ']'])
        .split(", ")
        .filter_map(|v| v.parse().ok())
        .collect();
    values.sort_unstable();
    ensure(values == (2..=20).collect::<Vec<_>>(), || {
        unordered.describe("should return each of 2 to 20 once, in any order")
    })?;
    nb.cell("perform_computation(10)")?
        .expect_text("Result value:  Ok(11)")?;
    let starmap = nb.cell("i32::add(a, b)")?;
    ensure(starmap.value().as_deref() == Some("[3, 7]"), || {
        starmap.describe("should add each pair: [3, 7]")
    })?;
    let timeout = nb.cell("drop(cancel);")?;
    timeout.expect_text("Got a timeout.\nThe job has stopped.")?;
    // 0.5 s of waiting, and a cancelled job that stops at once: far from its 10 s.
    let seconds = timeout.seconds.unwrap_or(f64::MAX);
    ensure(seconds < 5.0, || {
        timeout.describe(&format!(
            "took {seconds:.1} s; the cancelled job should stop at once"
        ))
    })?;
    for (call, items, consumers) in [
        ("run_producer_consumer_queue(4, 1, 1);", 4, 1),
        ("run_producer_consumer_queue(6, 1, 3);", 6, 3),
        ("run_producer_consumer_queue(2, 4, 3);", 8, 3),
    ] {
        let cell = nb.cell(call)?;
        cell.expect_counts(&[
            ("produced item", items),
            ("done processing item", items),
            ("timed out...", consumers),
        ])?;
    }
    Ok(())
}
