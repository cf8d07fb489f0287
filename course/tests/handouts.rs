//! `cargo handouts` on a course of two topic notebooks, one of which does not compile
//! (the harness's fixtures `passes` and `compile_error`): it exits non-zero naming that
//! notebook and cell, and still builds the other's handouts, in both languages, with
//! the scripts its slides load beside them.

use course::setup;
use course::variants::variants;
use kernel_setup::Layout;
use libtest_mimic::{Arguments, Trial};
use notebook_harness::browser::Browser;
use std::path::Path;
use std::time::Duration;

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
    let sources = notebooks.join("source/topics");
    std::fs::create_dir_all(&sources).map_err(|e| e.to_string())?;
    std::fs::write(notebooks.join("source/rise.css"), "/* RISE */\n").map_err(|e| e.to_string())?;
    for name in ["passes", "compile_error"] {
        std::fs::copy(
            fixtures.join(format!("{name}.ipynb")),
            sources.join(format!("{name}.ipynb")),
        )
        .map_err(|e| e.to_string())?;
    }
    for variant in variants(&notebooks) {
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
        "en/slides/compile_error.ipynb did not execute",
        "cell 2 (`let b: i32 = \"two\";`)",
        "1 of 2 notebooks failed to execute",
    ] {
        if !stderr.contains(expected) {
            return Err(format!("stderr should say `{expected}`:\n{stderr}"));
        }
    }
    for built in [
        "index.html",
        "read/en/slides/passes.html",
        "read/de/slides/passes.html",
        "slides/en/passes.slides.html",
        "slides/de/passes.slides.html",
        "notebooks/en/codealong/passes.ipynb",
        "notebooks/de/codealong/passes.ipynb",
        "crate/Cargo.toml",
        "crate/src/lib.rs",
        "js/reveal.js/dist/reveal.js",
        "js/reveal.js/plugin/notes/notes.js",
        "js/require.js",
        "js/jquery.min.js",
    ] {
        if !out.join(built).is_file() {
            return Err(format!("{built} was not built; stderr:\n{stderr}"));
        }
    }
    for language in ["en", "de"] {
        let html = std::fs::read_to_string(out.join(format!("read/{language}/slides/passes.html")))
            .unwrap_or_default();
        if !html.contains("still running: 40") {
            return Err(format!(
                "the {language} HTML handout lacks the notebook's outputs"
            ));
        }
        if !html.contains(&format!("<html lang=\"{language}\"")) {
            return Err(format!(
                "the {language} HTML handout does not say its language"
            ));
        }
    }
    let slides =
        std::fs::read_to_string(out.join("slides/en/passes.slides.html")).unwrap_or_default();
    if slides.contains("unpkg.com") || !slides.contains("../../js/reveal.js/dist/reveal.js") {
        return Err("the slides do not load the reveal.js shipped beside them".to_owned());
    }
    let manifest = std::fs::read_to_string(out.join("crate/Cargo.toml")).unwrap_or_default();
    if manifest.contains("workspace = true") {
        return Err("the packaged crate still depends on this workspace".to_owned());
    }
    slides_open_offline(&out.join("slides/de/passes.slides.html"), work)?;
    if out.join("read/en/slides/compile_error.html").exists() {
        return Err("a notebook that failed to execute got a handout".to_owned());
    }
    Ok(())
}

/// The slides open in Chromium with the network cut off: reveal.js, require.js and
/// jQuery come from the handout folder.
fn slides_open_offline(slides: &Path, work: &Path) -> Result<(), String> {
    let browser = Browser::ensure(&Layout::of_this_checkout().root)?;
    let screenshot = work.join("offline-slides.png");
    let page = browser.open_offline(slides, work, &screenshot, Duration::from_secs(120))?;
    if !page.reveal_ready || page.slides == 0 {
        return Err(format!(
            "{} did not start reveal.js without a network (requests refused: {:?}; script errors: {:?}; screenshot {})",
            slides.display(),
            page.refused,
            page.errors,
            screenshot.display()
        ));
    }
    if !page
        .first_slide_text
        .contains("A notebook that runs cleanly")
    {
        return Err(format!(
            "{} opened offline but its first slide shows {:?} (screenshot {})",
            slides.display(),
            page.first_slide_text,
            screenshot.display()
        ));
    }
    println!(
        "{}: {} slides without a network; refused what the slides do not need: {:?}",
        slides.display(),
        page.slides,
        page.refused
    );
    Ok(())
}
