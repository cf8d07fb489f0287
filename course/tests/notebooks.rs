//! One test per notebook source under `notebooks/source/`: its complete notebook in
//! English (`notebooks/en/slides/`, `notebooks/en/solutions/`) must execute headlessly,
//! cleanly, and show what it teaches (the claims in `src/claims/`). The German complete
//! notebook has the same code cells (`languages::`), so its code is not executed again:
//! the claims hold for both. A second test per notebook checks that it is committed
//! without outputs, and one per generated file that it is what `cargo variants`
//! generates from its source (a code-along or exercise cannot run as committed: its
//! given cells use what the class types). Each complete notebook also runs once with a
//! kernel restart halfway (`restarts::`), the way an instructor recovers mid-lecture:
//! restart, run the cells above, go on; its claims must still hold.
//!
//! Notebooks run one at a time (`--test-threads` defaults to 1 here): their timing
//! lessons compare threads on this machine's cores and must not share them.

use course::catalog::{check_committed_clean, notebooks_under};
use course::claims;
use course::languages::{check_languages, check_same_code, without_language};
use course::setup;
use course::variants::{SOURCES, executed, orphans, variants};
use kernel_setup::{Language, Layout};
use libtest_mimic::{Arguments, Trial};
use notebook_harness::{BusyLoad, Check, Notebook, Runner};
use std::path::Path;
use std::sync::Arc;

fn main() {
    let mut args = Arguments::from_args();
    args.test_threads.get_or_insert(1);
    let layout = Layout::of_this_checkout();
    let notebooks = notebooks_under(&layout.notebooks());
    // Listing tests must not install anything.
    let runner = if args.list {
        None
    } else {
        Some(setup::installation(&layout).map(|i| Arc::new(Runner::new(i))))
    };

    let mut trials = Vec::new();
    for name in &notebooks {
        let committed = layout.notebooks().join(name);
        trials.push(Trial::test(
            format!("committed_clean::{}", name.display()),
            move || Ok(check_committed_clean(&committed)?),
        ));
    }
    for source in notebooks.iter().filter(|n| n.starts_with(SOURCES)) {
        let Some(name) = executed(source) else {
            continue;
        };
        let path = layout.notebooks().join(&name);
        let label = name.display().to_string();
        let (source_path, english) = (layout.notebooks().join(source), path.clone());
        let german = layout
            .notebooks()
            .join(Language::De.code())
            .join(without_language(&name));
        trials.push(Trial::test(
            format!("languages::{}", source.display()),
            move || Ok(languages(&source_path, &english, &german)?),
        ));
        let (restart_runner, restart_path, restart_name, restart_label) =
            (runner.clone(), path.clone(), name.clone(), label.clone());
        trials.push(Trial::test(format!("restarts::{label}"), move || {
            let runner = match restart_runner.expect("set up unless listing") {
                Ok(runner) => runner,
                Err(setup_error) => return Err(setup_error.into()),
            };
            Ok(restart_halfway(
                &runner,
                &restart_path,
                &restart_name,
                &restart_label,
            )?)
        }));
        let runner = runner.clone();
        trials.push(Trial::test(format!("executes::{label}"), move || {
            let runner = match runner.expect("set up unless listing") {
                Ok(runner) => runner,
                Err(setup_error) => return Err(setup_error.into()),
            };
            let execution = runner.execute(&path, &name).map_err(|f| f.to_string())?;
            println!(
                "{label}: executed in {:.1} s (other processes kept {:.1} cores busy)",
                execution.wall_time.as_secs_f64(),
                execution.other_load
            );
            Ok(claims::check(&label, &execution)?)
        }));
    }
    for variant in variants(&layout.notebooks()) {
        let label = variant
            .target
            .strip_prefix(layout.notebooks())
            .unwrap_or(&variant.target);
        let name = format!("variant_current::{}", label.display());
        trials.push(Trial::test(name, move || Ok(variant.check_current()?)));
    }
    for orphan in orphans(&layout.notebooks()) {
        let label = orphan
            .strip_prefix(layout.notebooks())
            .unwrap_or(&orphan)
            .display()
            .to_string();
        trials.push(Trial::test(
            format!("variant_has_source::{label}"),
            move || {
                Err(
                    format!("{label} has no source to come from; delete it or restore its source")
                        .into(),
                )
            },
        ));
    }
    BusyLoad::run_trials(&args, trials);
}

/// Runs the notebook with a kernel restart before its middle code cell, then checks
/// its claims: nothing below that cell may depend on state the restart lost and the
/// cells above do not rebuild (a variable defined only further down, a server or a
/// thread the old kernel left behind).
fn restart_halfway(runner: &Runner, path: &Path, name: &Path, label: &str) -> Check {
    let notebook = Notebook::load(path)?;
    let code: Vec<_> = notebook
        .code_cells()
        .filter(|c| !c.source.trim().is_empty())
        .collect();
    let middle = code
        .get(code.len() / 2)
        .ok_or_else(|| format!("{label} has no code cell"))?
        .index;
    let mut runner = runner.clone();
    runner.restart_before = Some(middle);
    let execution = runner
        .execute(path, &Path::new("restarted").join(name))
        .map_err(|f| format!("with a kernel restart before cell {middle}: {f}"))?;
    println!(
        "{label}: restarted before cell {middle}, ran the {} cells above again and went on, in {:.1} s",
        code.iter().filter(|c| c.index < middle).count(),
        execution.wall_time.as_secs_f64()
    );
    claims::check(label, &execution)
        .map_err(|e| format!("after a kernel restart before cell {middle}: {e}"))
}

/// The source pairs every English markdown cell with a German one, and the two
/// languages' complete notebooks, as committed, share every code cell.
fn languages(source: &Path, english: &Path, german: &Path) -> Check {
    check_languages(&Notebook::load(source)?.json)
        .map_err(|e| format!("{}: {e}", source.display()))?;
    check_same_code(
        &Notebook::load(english)?.json,
        &Notebook::load(german)?.json,
    )
    .map_err(|e| {
        format!(
            "{} and {}: {e}; regenerate them with `cargo variants`",
            english.display(),
            german.display()
        )
    })
}
