//! Judging a finished run from the driver's record and the executed cells: how it
//! ended, and what is wrong with a cell the kernel reported as successful.

use super::launch::Launched;
use super::outcome::{Execution, Failure, FailureKind};
use super::record::{Outcome, Record};
use super::settings::Runner;
use crate::notebook::{Cell, Notebook};
use std::path::Path;

/// The run of `source` that `launched` ended and `record` describes, with `executed`
/// (the source notebook with the recorded outputs), as an [`Execution`] or the first
/// [`Failure`] found: the notebook's timeout, the record's outcome, the restart asked
/// for, processes left running, then each executed cell.
pub(super) fn judge(
    runner: &Runner,
    source: &Path,
    log: &Path,
    launched: Launched,
    record: Record,
    executed: Notebook,
) -> Result<Execution, Failure> {
    let fail_at = |kind: FailureKind, index: Option<usize>, message: String| Failure {
        cell: index
            .and_then(|i| executed.cells.get(i))
            .map(|c| (c.index, c.first_line().to_owned())),
        executed: Some(Box::new(executed.clone())),
        ..Failure::new(source, kind, None, message)
    };
    let record_ended_early = matches!(record.outcome, Outcome::Starting | Outcome::Running { .. });
    if launched.status.is_none() {
        let at = match record.outcome {
            Outcome::Running { cell } => Some(cell),
            _ => None,
        };
        return Err(fail_at(
            FailureKind::NotebookTimeout,
            at,
            format!(
                "the notebook did not finish within {} s; the driver and the kernel were killed",
                runner.notebook_timeout.as_secs()
            ),
        ));
    }
    if let Some((kind, cell, message)) = outcome_fault(runner, record.outcome, &executed) {
        return Err(fail_at(kind, cell, message));
    }
    if record_ended_early {
        return Err(fail_at(
            FailureKind::Driver,
            None,
            format!(
                "the driver ended ({}) before the run did; its log ({}) ends:\n{}",
                launched.status.map(|s| s.to_string()).unwrap_or_default(),
                log.display(),
                kernel_setup::last_lines(log, 20)
            ),
        ));
    }
    if record.restarted_before != runner.restart_before {
        return Err(fail_at(
            FailureKind::Driver,
            None,
            format!(
                "the kernel was to be restarted before cell {:?}, but the record says {:?}",
                runner.restart_before, record.restarted_before
            ),
        ));
    }
    if launched.leftover > 0 {
        return Err(fail_at(
            FailureKind::ProcessesLeft,
            None,
            format!(
                "the kernel left {} process(es) running; they were killed",
                launched.leftover
            ),
        ));
    }
    for cell in executed.code_cells() {
        if let Some((kind, message)) = cell_fault(cell) {
            return Err(fail_at(kind, Some(cell.index), message));
        }
    }
    Ok(Execution {
        notebook: executed,
        wall_time: launched.wall_time,
        other_load: launched.other_load,
    })
}

/// What the record's outcome says went wrong, and at which cell: `None` when the run
/// completed, or when the record ends before the run did (the caller says so, with
/// the driver's log).
fn outcome_fault(
    runner: &Runner,
    outcome: Outcome,
    executed: &Notebook,
) -> Option<(FailureKind, Option<usize>, String)> {
    Some(match outcome {
        Outcome::Completed => return None,
        Outcome::KernelFailedToStart { message } => (
            FailureKind::KernelFailedToStart,
            None,
            format!("the `{}` kernel did not start: {message}", runner.kernel),
        ),
        Outcome::CellError { cell } => {
            // The kernel's error is the cell's error output, as the record holds it.
            let failed = executed.cells.get(cell);
            let ename = failed.and_then(Cell::error_name).unwrap_or_default();
            let text = failed.and_then(Cell::error).unwrap_or_default();
            (
                FailureKind::CellError {
                    ename: ename.to_owned(),
                },
                Some(cell),
                format!("the cell failed:\n{}", text.trim()),
            )
        }
        Outcome::CellTimeout {
            cell,
            timeout_seconds,
            waiting_for,
        } => {
            let message = match waiting_for {
                Some(lock) => format!(
                    "the cell did not start within its timeout ({timeout_seconds} s): another kernel's `:dep` cell held {lock}, which runs take turns at"
                ),
                None => {
                    format!("the cell did not finish within its timeout ({timeout_seconds} s)")
                }
            };
            (FailureKind::CellTimeout, Some(cell), message)
        }
        Outcome::DeadKernel { cell, message } => (
            FailureKind::DeadKernel,
            cell,
            format!("the kernel died while running the cell: {message}"),
        ),
        Outcome::Starting | Outcome::Running { .. } => return None,
    })
}

/// What is wrong with an executed cell that the kernel reported as successful: a
/// panic, an expected error missing or different, a broken picture.
fn cell_fault(cell: &Cell) -> Option<(FailureKind, String)> {
    if let Some(code) = cell.expected_error_code() {
        return match cell.error() {
            Some(error) if error.contains(code) => None,
            Some(error) => Some((
                FailureKind::WrongError,
                format!(
                    "should fail with {code}, but failed with:\n{}",
                    error.trim()
                ),
            )),
            None if cell.source.trim().is_empty() => None,
            None => Some((
                FailureKind::ExpectedErrorMissing,
                format!(
                    "is tagged `raises-exception` ({code}) but ran without an error{}",
                    cell.panic()
                        .map(|p| format!("; it panicked instead:\n{p}"))
                        .unwrap_or_default()
                ),
            )),
        };
    }
    if let Some(panic) = cell.panic() {
        return Some((
            FailureKind::Panicked,
            format!("a thread panicked:\n{panic}"),
        ));
    }
    // A picture the browser cannot draw is an error a learner would see.
    cell.pictures()
        .into_iter()
        .find_map(Result::err)
        .map(|broken| {
            (
                FailureKind::BrokenPicture,
                format!("displayed a broken picture: {broken}"),
            )
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn notebook(cells: &str) -> Notebook {
        Notebook::parse(
            Path::new("t.ipynb"),
            &format!(r##"{{"cells": [{cells}], "metadata": {{}}, "nbformat": 4}}"##),
        )
        .unwrap()
    }

    #[test]
    fn an_expected_error_must_be_the_one_named() {
        let cell = |source: &str, outputs: &str| {
            notebook(&format!(
                r#"{{"cell_type": "code", "metadata": {{"tags": ["raises-exception"]}},
                    "source": {source:?}, "outputs": [{outputs}], "execution_count": null}}"#
            ))
            .cells
            .remove(0)
        };
        let error = |code: &str| {
            format!(
                r#"{{"output_type": "error", "ename": "Error", "evalue": "x", "traceback": ["error[{code}]: cannot borrow"]}}"#
            )
        };
        let named = "// error[E0499]\nlet x = 1;";
        assert_eq!(cell_fault(&cell(named, &error("E0499"))), None);
        let wrong = cell_fault(&cell(named, &error("E0308"))).unwrap();
        assert_eq!(wrong.0, FailureKind::WrongError);
        let missing = cell_fault(&cell(named, "")).unwrap();
        assert_eq!(missing.0, FailureKind::ExpectedErrorMissing);
        assert_eq!(cell("let x = 1;", "").expected_error_code(), None);
    }
}
