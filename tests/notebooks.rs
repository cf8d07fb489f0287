//! One test per notebook under `notebooks/`: it must execute headlessly, cleanly, and
//! show what it teaches (the claims in `src/claims/`). A second test per notebook checks
//! that it is committed without outputs, and a third per code-along or exercise
//! notebook that it is what `cargo variants` generates from the complete one.
//!
//! Notebooks run one at a time (`--test-threads` defaults to 1 here): their timing
//! lessons compare threads on this machine's cores and must not share them.

use kernel_setup::{Layout, ensure};
use libtest_mimic::{Arguments, Trial};
use notebook_harness::variants::{is_exercise, is_generated, orphans, variants};
use notebook_harness::{BusyLoad, Runner, check_committed_clean, claims, notebooks_under};
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
        Some(
            ensure(&layout)
                .map(|i| Arc::new(Runner::new(i)))
                .map_err(|e| e.to_string()),
        )
    };

    let mut trials = Vec::new();
    for name in notebooks {
        let path = layout.notebooks().join(&name);
        let label = name.display().to_string();
        let committed = path.clone();
        trials.push(Trial::test(
            format!("committed_clean::{label}"),
            move || Ok(check_committed_clean(&committed)?),
        ));
        if is_exercise(&name) {
            continue;
        }
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
            if is_generated(&name) {
                // Its complete notebook's claims cover the lesson.
                return Ok(());
            }
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
                Err(format!(
                    "{label} has no complete notebook to come from; delete it or restore its source"
                )
                .into())
            },
        ));
    }
    BusyLoad::run_trials(&args, trials);
}
