//! `slides/topic_210_joblib.ipynb`: rayon returns results in order, memoised calls skip
//! the work the second time (on disk and in memory), and workers' log lines all arrive.

use notebook_harness::{Check, Execution, Notebook, ensure};

pub fn check(run: &Execution) -> Check {
    let nb = &run.notebook;
    let parallel = nb.cell("perform_computations_in_parallel(5, perform_computation)")?;
    let expected = format!(
        "[{}]",
        (0..5)
            .map(|i| format!("\"->{i}: 1000000\""))
            .collect::<Vec<_>>()
            .join(", ")
    );
    ensure(
        parallel.value().as_deref() == Some(expected.as_str()),
        || parallel.describe(&format!("should return {expected}, in order")),
    )?;

    // Each argument is computed once, however often it is asked for.
    for (call, computed) in [
        (
            "perform_computations_in_parallel(5, perform_memoized_computation))",
            5,
        ),
        (
            "timeit(10, || perform_computations_in_parallel(5, perform_memoized_computation)))",
            0,
        ),
        (
            "timeit(10, || perform_computations_in_parallel(32, perform_memoized_computation)))",
            27,
        ),
        (
            "timeit(10, || perform_computations_in_parallel(128, perform_memoized_computation)))",
            96,
        ),
        (
            "perform_computations_sequentially(5, perform_memoized_computation))",
            0,
        ),
    ] {
        let cell = nb.cell(&format!("report_new_results(&memory_dir(), || {call}"))?;
        let found = cell.number_after("[Memory] ")?;
        ensure(found == f64::from(computed), || {
            cell.describe(&format!(
                "should compute and save {computed} new results, not {found}"
            ))
        })?;
    }
    // Memoised calls skip the work: same-run ratios, which a slower machine keeps.
    let plain = seconds(
        nb,
        "perform_computations_sequentially(5, perform_computation))",
    )?;
    for memoised in ["perform_memoized_computation", "perform_cached_computation"] {
        let t = seconds(
            nb,
            &format!("perform_computations_sequentially(5, {memoised}))"),
        )?;
        ensure(t * 3.0 < plain, || {
            format!(
                "10 x 5 calls of {memoised} took {t} s, of perform_computation {plain} s; the memoised ones should skip the work"
            )
        })?;
    }

    for call in [
        "perform_computations_sequentially(5, perform_computation_and_log)",
        "perform_computations_in_parallel(5, perform_computation_and_log)",
    ] {
        let cell = nb.cell(call)?;
        for i in 0..5 {
            cell.expect_text(&format!("Running computation with {i}\n"))?;
        }
    }
    Ok(())
}

fn seconds(nb: &Notebook, call: &str) -> Result<f64, String> {
    nb.cell(&format!("timeit(10, || {call}"))?.number()
}
