//! `cargo handouts` on a course of two topic notebooks, one of which does not compile
//! (the harness's fixtures `passes` and `compile_error`): it exits non-zero naming that
//! notebook and cell, and still builds the other's handouts.

use course::setup;
use course::variants::Variant;
use kernel_setup::Layout;
use libtest_mimic::{Arguments, Trial};
use std::path::Path;

fn main() {
    let args = Arguments::from_args();
    let trials = vec![Trial::test(
        "handouts_build_the_rest_and_name_what_failed",
        || {
            let layout = Layout::of_this_checkout();
            setup::installation(&layout)?;
            Ok(handouts_with_a_failing_notebook(
                &notebook_harness::fixtures(),
                &layout.root.join("target/handouts-fixture"),
            )?)
        },
    )];
    libtest_mimic::run(&args, trials).exit();
}

/// `cargo handouts` on a course of two topic notebooks, one of which does not compile:
/// it exits non-zero naming that notebook and cell, and still builds the other's
/// handouts (HTML, slides, code-along beside the packaged support crate, index).
fn handouts_with_a_failing_notebook(fixtures: &Path, work: &Path) -> Result<(), String> {
    let notebooks = work.join("notebooks");
    let out = work.join("handouts");
    let _ = std::fs::remove_dir_all(work);
    for name in ["passes", "compile_error"] {
        let variant = Variant {
            source: notebooks.join(format!("slides/{name}.ipynb")),
            target: notebooks.join(format!("codealong/{name}.ipynb")),
        };
        std::fs::create_dir_all(variant.source.parent().unwrap()).map_err(|e| e.to_string())?;
        std::fs::copy(fixtures.join(format!("{name}.ipynb")), &variant.source)
            .map_err(|e| e.to_string())?;
        variant.write()?;
    }
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_notebook-handouts"))
        .arg("--notebooks")
        .arg(&notebooks)
        .arg("--out")
        .arg(&out)
        .output()
        .map_err(|e| e.to_string())?;
    let stderr = String::from_utf8_lossy(&output.stderr);
    if output.status.code() != Some(1) {
        return Err(format!(
            "expected exit code 1, got {}; stderr:\n{stderr}",
            output.status
        ));
    }
    for expected in [
        "slides/compile_error.ipynb did not execute",
        "cell 2 (`let b: i32 = \"two\";`)",
        "1 of 2 notebooks failed to execute",
    ] {
        if !stderr.contains(expected) {
            return Err(format!("stderr should say `{expected}`:\n{stderr}"));
        }
    }
    for built in [
        "index.html",
        "read/slides/passes.html",
        "slides/passes.slides.html",
        "notebooks/codealong/passes.ipynb",
        "crate/Cargo.toml",
        "crate/src/lib.rs",
    ] {
        if !out.join(built).is_file() {
            return Err(format!("{built} was not built; stderr:\n{stderr}"));
        }
    }
    let html = std::fs::read_to_string(out.join("read/slides/passes.html")).unwrap_or_default();
    if !html.contains("still running: 40") {
        return Err("the HTML handout lacks the notebook's outputs".to_owned());
    }
    let manifest = std::fs::read_to_string(out.join("crate/Cargo.toml")).unwrap_or_default();
    if manifest.contains("workspace = true") {
        return Err("the packaged crate still depends on this workspace".to_owned());
    }
    if out.join("read/slides/compile_error.html").exists() {
        return Err("a notebook that failed to execute got a handout".to_owned());
    }
    Ok(())
}
