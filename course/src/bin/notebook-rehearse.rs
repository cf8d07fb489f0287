//! `cargo rehearse [--pause SECONDS] [--lang LANG] [NOTEBOOK ...]`: runs each complete
//! topic notebook (default: all of `notebooks/en/slides/`, or of the language `--lang`
//! names) as an instructor presents its code-along:
//! before every cell that the code-along leaves empty it waits SECONDS (default 10), the
//! time it takes to type the cell, then runs the complete cell. Threads, barriers and
//! timeouts keep running meanwhile, so a lesson that only works when its cells follow
//! each other quickly fails here. It prints what it found and checks the notebook's
//! claims; it is not part of `cargo test` (a topic notebook takes 10-15 minutes).

use course::catalog::notebooks_under;
use course::claims;
use course::setup;
use course::variants::{TOPICS, emptied_cells};
use kernel_setup::{Language, Layout};
use notebook_harness::{Notebook, Runner};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

const USAGE: &str = "usage: cargo rehearse [--pause SECONDS] [--lang en|de] [NOTEBOOK ...] (paths below notebooks/, e.g. de/slides/topic_410_concurrency.ipynb)";

fn main() -> ExitCode {
    let layout = Layout::of_this_checkout();
    let mut pause = Duration::from_secs(10);
    let mut names: Vec<PathBuf> = Vec::new();
    let mut language = Language::default();
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        if arg == "--lang" {
            match Language::from_code(&args.next().unwrap_or_default()) {
                Ok(chosen) => language = chosen,
                Err(e) => {
                    eprintln!("rehearse: {e}; {USAGE}");
                    return ExitCode::from(2);
                }
            }
        } else if arg == "--pause" {
            match args.next().and_then(|s| s.parse::<f64>().ok()) {
                Some(seconds) if seconds >= 0.0 => pause = Duration::from_secs_f64(seconds),
                _ => {
                    eprintln!("rehearse: --pause needs a number of seconds; {USAGE}");
                    return ExitCode::from(2);
                }
            }
        } else if arg.starts_with('-') {
            eprintln!("rehearse: unexpected option `{arg}`; {USAGE}");
            return ExitCode::from(2);
        } else {
            names.push(arg.into());
        }
    }
    let topics = Path::new(language.code()).join(TOPICS.complete);
    if names.is_empty() {
        names = notebooks_under(&layout.notebooks().join(&topics))
            .into_iter()
            .map(|name| topics.join(name))
            .collect();
    }
    if let Some(missing) = names.iter().find(|n| !layout.notebooks().join(n).is_file()) {
        eprintln!(
            "rehearse: no notebook {}; {USAGE}",
            layout.notebooks().join(missing).display()
        );
        return ExitCode::from(2);
    }
    let Some(installation) = setup::installation_or_report(&layout) else {
        return ExitCode::FAILURE;
    };
    let mut failed = 0;
    for name in &names {
        match rehearse(Runner::new(installation.clone()), &layout, name, pause) {
            Ok(report) => println!("rehearse: {report}"),
            Err(e) => {
                eprintln!("rehearse: {e}");
                failed += 1;
            }
        }
    }
    if failed > 0 {
        eprintln!("rehearse: {failed} of {} notebooks failed", names.len());
        return ExitCode::FAILURE;
    }
    ExitCode::SUCCESS
}

fn rehearse(
    mut runner: Runner,
    layout: &Layout,
    name: &Path,
    pause: Duration,
) -> Result<String, String> {
    let path = layout.notebooks().join(name);
    let typed: Vec<usize> = emptied_cells(&Notebook::load(&path)?.json);
    println!(
        "rehearse: {}: {} cells to type, {} s before each",
        name.display(),
        typed.len(),
        pause.as_secs_f64()
    );
    runner.pause_before = (pause, typed.clone());
    runner.output_dir = layout.root.join("target/executed/rehearsed");
    let execution = runner.execute(&path, name).map_err(|f| f.to_string())?;
    let label = name.display().to_string();
    claims::check(&label, &execution).map_err(|e| format!("{label}: {e}"))?;
    Ok(format!(
        "{label}: every cell ran and the claims hold, with {} s before each of the {} typed cells ({:.0} s in all; outputs in {})",
        pause.as_secs_f64(),
        typed.len(),
        execution.wall_time.as_secs_f64(),
        runner.output_dir.join(name).display()
    ))
}
