//! `slides/topic_130_multiprocessing_part2.ipynb`: processes greet one at a time under
//! a file lock, and meet at a rendezvous folder before they serve.

use notebook_harness::{Cell, Check, Execution, ensure};

const NAMES: [&str; 6] = ["Joe", "Jack", "Jill", "Jane", "Steve", "Sheila"];

pub fn check(run: &Execution) -> Check {
    let nb = &run.notebook;
    let greeting = nb.cell("for name in [\"Joe\"")?;
    let text = greeting.text();
    let lines: Vec<&str> = text.lines().collect();
    for name in NAMES {
        let hello = format!("Hello, {name}!");
        let count = lines.iter().filter(|l| **l == hello).count();
        ensure(count == 1, || {
            greeting.describe(&format!(
                "should print `{hello}` once, on a line of its own"
            ))
        })?;
    }
    let last_start = lines
        .iter()
        .rposition(|l| l.starts_with("Starting process"));
    let first_join = lines.iter().position(|l| l.starts_with("Joining process"));
    ensure(
        matches!((last_start, first_join), (Some(s), Some(j)) if s < j)
            && lines.last() == Some(&"Done."),
        || greeting.describe("should start all six processes, then join them, then say `Done.`"),
    )?;
    for snippet in [
        "run_tasks(\"server\", \"client\");",
        "run_tasks(\"client\", \"server\");",
    ] {
        rendezvous(nb.cell(snippet)?)?;
    }
    Ok(())
}

/// Both processes passed the rendezvous and printed their lines, each in its order.
fn rendezvous(cell: &Cell) -> Check {
    let text = cell.text();
    ensure(!text.contains("worker "), || {
        cell.describe("a worker reported an error (did it time out at the rendezvous?)")
    })?;
    let started = text.find("Starting Processes...").unwrap_or(usize::MAX);
    for block in [
        [
            "Server is serving",
            "Server is still serving",
            "Server is serving even more data",
        ],
        [
            "Client is accessing server",
            "Client is still accessing server",
            "Client is taking really long to access the server",
        ],
    ] {
        let at: Vec<Option<usize>> = block
            .iter()
            .map(|line| text.find(&format!("{line}\n")))
            .collect();
        let in_order = at
            .windows(2)
            .all(|w| matches!((w[0], w[1]), (Some(a), Some(b)) if a < b));
        ensure(
            in_order && at[0].is_some_and(|first| first > started),
            || {
                cell.describe(&format!(
                    "should print `{}` ... after `Starting Processes...`, in order",
                    block[0]
                ))
            },
        )?;
    }
    Ok(())
}
