//! The workshops' checks, tried both ways: every task of an exercise notebook
//! (`workshops/`) is followed by a check cell, which passes with the solution's code
//! and fails with its hint for each wrong answer the tests give it.
//!
//! A task is a code cell the exercise leaves empty; its check is the next code cell,
//! kept, that reports success with the support crate's `passed`. [`trial`] builds one
//! notebook that tries every wrong answer and the solution of each task in turn, each
//! followed by a copy of its check, so that one kernel tries them all: a failed check
//! panics, and the kernel goes on (it keeps the variables of earlier cells).
//! [`Trial::judge`] then reads each copy's outcome from the executed notebook.

use crate::variants::emptied_cells;
use notebook_harness::{Check, Notebook};
use serde_json::{Value, json};

/// What a check cell calls when it passes (the support crate's `passed`, which prints
/// `✓`): how the tests tell a check cell from other kept code.
pub const CHECK_CALL: &str = "passed(";

/// A plausible wrong answer to one task, and the hint its check must give.
#[derive(Debug, Clone, Copy)]
pub struct WrongAnswer {
    /// A snippet of the solution's code for the task, naming the task
    /// (`"fn is_in_circle("`).
    pub task: &'static str,
    /// The code a learner might write instead.
    pub code: &'static str,
    /// What the check must say about it (part of its message).
    pub hint: &'static str,
}

/// How a copy of a check cell must end in the trial notebook.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Expected {
    /// After the solution's code: `✓`, no panic.
    Passes,
    /// After a wrong answer: a panic whose message contains the hint.
    FailsWith(&'static str),
}

/// The notebook that tries a workshop's checks, and what each check copy must show.
#[derive(Debug)]
pub struct Trial {
    pub notebook: Value,
    /// Each check copy: its cell index in `notebook`, the task's snippet, the outcome.
    pub checks: Vec<(usize, String, Expected)>,
}

/// The tasks of `exercise` (cell indices), each with the index of its check cell, or
/// what is wrong with how the exercise is laid out.
pub fn tasks_and_checks(exercise: &Value) -> Result<Vec<(usize, usize)>, String> {
    let cells = exercise["cells"]
        .as_array()
        .map(Vec::as_slice)
        .unwrap_or_default();
    let source = |i: usize| text(&cells[i]["source"]);
    let tasks = emptied_cells(exercise);
    let mut pairs = Vec::new();
    for &task in &tasks {
        let next_code = (task + 1..cells.len()).find(|&i| cells[i]["cell_type"] == "code");
        match next_code {
            Some(check) if !tasks.contains(&check) && source(check).contains(CHECK_CALL) => {
                pairs.push((task, check))
            }
            _ => {
                return Err(format!(
                    "the task in cell {task} is not followed by a check cell: the next code cell should be kept (tag `keep`) and run the learner's code, ending in `{CHECK_CALL}...)` when it passes"
                ));
            }
        }
    }
    Ok(pairs)
}

/// Builds the trial of `exercise` (a workshop as handed out) with `solution` (its
/// complete notebook): the code cells up to the last check, each task once per wrong
/// answer and then with the solution's code, each followed by its check. Kept cells
/// that time code (`timeit`) are left out: no check depends on a timing, and they are
/// the slow ones.
pub fn trial(exercise: &Value, solution: &Value, wrong: &[WrongAnswer]) -> Result<Trial, String> {
    let pairs = tasks_and_checks(exercise)?;
    let cells = exercise["cells"]
        .as_array()
        .map(Vec::as_slice)
        .unwrap_or_default();
    let solved = solution["cells"]
        .as_array()
        .map(Vec::as_slice)
        .unwrap_or_default();
    let solution_of = |i: usize| {
        solved
            .get(i)
            .map(|c| text(&c["source"]))
            .unwrap_or_default()
    };
    for answer in wrong {
        let matching = pairs
            .iter()
            .filter(|&&(task, _)| solution_of(task).contains(answer.task))
            .count();
        if matching != 1 {
            return Err(format!(
                "the wrong answer to `{}` matches {matching} tasks of the solution, not one: quote a line of that task's code",
                answer.task
            ));
        }
    }
    let Some(&(_, last_check)) = pairs.last() else {
        return Err("the exercise has no task (no code cell left empty)".to_owned());
    };
    let mut out: Vec<Value> = Vec::new();
    let mut checks = Vec::new();
    let push = |out: &mut Vec<Value>, source: &str| {
        out.push(
            json!({"cell_type": "code", "id": format!("trial-{}", out.len()),
            "metadata": {}, "source": source, "outputs": [], "execution_count": null}),
        );
        out.len() - 1
    };
    for (i, cell) in cells.iter().enumerate().take(last_check + 1) {
        if cell["cell_type"] != "code" {
            continue;
        }
        if let Some(&(task, check)) = pairs.iter().find(|&&(task, _)| task == i) {
            let task_code = solution_of(task);
            let name = first_line(&task_code);
            let answers: Vec<&WrongAnswer> = wrong
                .iter()
                .filter(|a| task_code.contains(a.task))
                .collect();
            if answers.is_empty() {
                return Err(format!(
                    "the task in cell {task} (`{name}`) has no wrong answer to try its check with; add one"
                ));
            }
            let check_code = text(&cells[check]["source"]);
            for answer in answers {
                push(&mut out, answer.code);
                let at = push(&mut out, &check_code);
                checks.push((at, name.clone(), Expected::FailsWith(answer.hint)));
            }
            push(&mut out, &task_code);
        } else if let Some(&(task, _)) = pairs.iter().find(|&&(_, check)| check == i) {
            let at = push(&mut out, &text(&cell["source"]));
            checks.push((at, first_line(&solution_of(task)), Expected::Passes));
        } else {
            let source = text(&cell["source"]);
            if !source.contains("timeit") {
                push(&mut out, &source);
            }
        }
    }
    let notebook = json!({"cells": out, "metadata": exercise["metadata"],
        "nbformat": 4, "nbformat_minor": 5});
    Ok(Trial { notebook, checks })
}

/// Every check cell of a complete workshop (a kept cell that calls [`CHECK_CALL`])
/// printed its `✓`: the solution passes its own checks. (A check that fails panics,
/// which the harness reports before any claim.)
pub fn checks_pass(solution: &Notebook) -> Check {
    for cell in solution.code_cells().filter(|c| {
        c.tags.iter().any(|t| t == crate::variants::KEEP) && c.source.contains(CHECK_CALL)
    }) {
        notebook_harness::ensure(cell.text().contains("✓ "), || {
            cell.describe("should pass with the solution's code and print `✓`")
        })?;
    }
    Ok(())
}

impl Trial {
    /// Whether each check copy in `executed` (the trial notebook as it ran) ended as
    /// it must: every problem found, one per line.
    pub fn judge(&self, executed: &Notebook) -> Check {
        let mut problems = Vec::new();
        for (at, task, expected) in &self.checks {
            let Some(cell) = executed.cells.get(*at) else {
                problems.push(format!("the check of `{task}` (cell {at}) did not run"));
                continue;
            };
            let panic = cell.panic();
            match (expected, &panic) {
                (Expected::Passes, None) if cell.text().contains("✓") => {}
                (Expected::Passes, _) => problems.push(cell.describe(&format!(
                    "the check of `{task}` should pass with the solution's code{}",
                    panic.map(|p| format!(", but it failed:\n{p}\n")).unwrap_or_default()
                ))),
                (Expected::FailsWith(hint), Some(panic)) if panic.contains(hint) => {}
                (Expected::FailsWith(hint), _) => problems.push(cell.describe(&format!(
                    "the check of `{task}` should fail with the hint `{hint}` after the wrong answer in cell {}, but {}",
                    at - 1,
                    match &panic {
                        Some(panic) => format!("it failed with:\n{panic}\n"),
                        None => "it passed".to_owned(),
                    }
                ))),
            }
        }
        let check_cells: Vec<usize> = self.checks.iter().map(|&(at, _, _)| at).collect();
        for cell in executed.code_cells() {
            if let (false, Some(panic)) = (check_cells.contains(&cell.index), cell.panic()) {
                problems.push(format!(
                    "cell {} (`{}`), not a check, failed:\n{panic}",
                    cell.index,
                    cell.first_line()
                ));
            }
        }
        if problems.is_empty() {
            Ok(())
        } else {
            Err(problems.join("\n"))
        }
    }
}

fn text(source: &Value) -> String {
    match source {
        Value::String(s) => s.clone(),
        Value::Array(lines) => lines.iter().filter_map(Value::as_str).collect(),
        _ => String::new(),
    }
}

fn first_line(code: &str) -> String {
    code.lines()
        .find(|l| !l.trim().is_empty() && !l.trim_start().starts_with("use "))
        .unwrap_or("")
        .trim()
        .to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn notebook(cells: &[(&str, bool)]) -> Value {
        let cells: Vec<Value> = cells
            .iter()
            .map(|&(source, keep)| {
                json!({"cell_type": "code", "metadata": if keep { json!({"tags": ["keep"]}) } else { json!({}) },
                       "source": source, "outputs": [], "execution_count": null})
            })
            .collect();
        json!({"cells": cells, "metadata": {}, "nbformat": 4, "nbformat_minor": 5})
    }

    const WRONG: WrongAnswer = WrongAnswer {
        task: "fn f(",
        code: "fn f() -> u8 { 2 }",
        hint: "f should return 1",
    };

    #[test]
    fn each_wrong_answer_and_the_solution_meet_the_check() {
        let solution = notebook(&[
            (":dep x", true),
            ("fn f() -> u8 { 1 }", false),
            (
                "check(f() == 1, \"f should return 1\"); passed(\"f\");",
                true,
            ),
            ("timeit(1, f)", true),
        ]);
        let exercise = crate::variants::generate(&solution);
        let trial = trial(&exercise, &solution, &[WRONG]).unwrap();
        let sources: Vec<String> = trial.notebook["cells"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| text(&c["source"]))
            .collect();
        assert_eq!(sources[0], ":dep x");
        assert_eq!(sources[1], WRONG.code);
        assert_eq!(sources[3], "fn f() -> u8 { 1 }");
        assert_eq!(sources[2], sources[4]);
        assert_eq!(sources.len(), 5, "the timing cell is left out");
        assert_eq!(
            trial.checks,
            vec![
                (
                    2,
                    "fn f() -> u8 { 1 }".to_owned(),
                    Expected::FailsWith(WRONG.hint)
                ),
                (4, "fn f() -> u8 { 1 }".to_owned(), Expected::Passes),
            ]
        );
    }

    #[test]
    fn a_task_without_a_check_or_a_wrong_answer_is_named() {
        let unchecked = notebook(&[("fn f() -> u8 { 1 }", false), ("f()", true)]);
        let exercise = crate::variants::generate(&unchecked);
        let error = trial(&exercise, &unchecked, &[WRONG]).unwrap_err();
        assert!(
            error.contains("cell 0 is not followed by a check cell"),
            "{error}"
        );

        let checked = notebook(&[("fn g() -> u8 { 1 }", false), ("passed(\"g\");", true)]);
        let exercise = crate::variants::generate(&checked);
        let error = trial(&exercise, &checked, &[]).unwrap_err();
        assert!(error.contains("has no wrong answer"), "{error}");
        let error = trial(&exercise, &checked, &[WRONG]).unwrap_err();
        assert!(error.contains("matches 0 tasks"), "{error}");
    }
}
