//! `solutions/workshop_410_concurrency.ipynb`: every check of a task passes, the
//! downloads work offline, errors say what went wrong, and threads beat one-at-a-time
//! downloads.

use notebook_harness::{Check, Execution, ensure};

pub fn check(run: &Execution) -> Check {
    let nb = &run.notebook;
    crate::exercises::checks_pass(nb)?;
    let pep_8 = nb.cell("get_url(&site, \"/pep-0008/\", None)")?;
    ensure(
        ok_length(pep_8.value()).is_some_and(|n| n >= 100_000),
        || pep_8.describe("should download PEP 8, at least 100,000 bytes"),
    )?;
    let errors = nb.cell("/pep-9999/")?;
    for expected in ["http status: 404", "Connection refused", "timeout"] {
        errors.expect_text(expected)?;
    }
    let joined = nb.cell("pep_thread.contents")?;
    ensure(
        ok_length(joined.value()).is_some_and(|n| n >= 100_000),
        || joined.describe("the joined thread should hold PEP 8"),
    )?;
    let several = nb.cell("let pages = get_peps(&site, &peps);")?;
    for pep in ["0001", "0008", "0020"] {
        several.expect_text(&format!("PEP {pep}: Ok("))?;
    }
    let comparison = nb.cell("let threaded = timeit")?;
    // Three 0.3 s downloads: about 3x when they overlap; 2x leaves room for a busy machine.
    let speed_up = comparison.number_after("speed-up: ")?;
    ensure(speed_up >= 2.0, || {
        comparison.describe("threads should download the three PEPs at least twice as fast")
    })?;
    let workers = nb.cell("get_peps_with_workers(&site, &all_peps, workers)")?;
    let one = workers.number_after("with 1 workers: ")?;
    let eight = workers.number_after("with 8 workers: ")?;
    ensure(eight * 3.0 < one, || {
        workers.describe("eight workers should be at least 3x faster than one")
    })
}

/// `Ok(120091)` to 120091.
fn ok_length(value: Option<String>) -> Option<usize> {
    value?.strip_prefix("Ok(")?.strip_suffix(')')?.parse().ok()
}
