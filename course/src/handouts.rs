//! The course as handouts that need no kernel and no network, like the original
//! course's output folders, in every language under one index page: each complete
//! notebook executed and rendered as HTML with its outputs and pictures, the reveal.js
//! slides of each topic, and the code-along and exercise notebooks with the support
//! crate beside them, ready to hand out. The slides and pages load reveal.js, require.js
//! and jQuery from `js/` in the handout folder (pinned in `course/handouts/`), not from
//! the internet, which a classroom may not have.
//!
//! Each notebook's code runs once, in English: the German notebook shares its code
//! cells, so it gets the English run's outputs, cell by cell.
//!
//! It asserts nothing about what the notebooks show (the notebook tests do); a notebook
//! that fails to execute is reported with its typed [`Failure`], and the others are
//! still built.

use crate::languages::{check_same_code, without_language};
use crate::variants::{KINDS, Kind, TOPICS, executed};
use kernel_setup::{Installation, Language, NpmPackages, ensure_npm_packages};
use notebook_harness::Failure;
use notebook_harness::Runner;
use serde_json::Value;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

mod index;
use index::index_page;

/// One notebook's handouts in one language, as paths relative to the handout folder.
#[derive(Debug)]
pub struct Handout {
    pub language: Language,
    /// The executed notebook as HTML.
    pub html: PathBuf,
    /// Its reveal.js slides, for a topic notebook.
    pub slides: Option<PathBuf>,
    /// The code-along or exercise notebook generated from it.
    pub to_type: PathBuf,
}

/// One notebook's handouts in every language.
#[derive(Debug)]
pub struct NotebookHandouts {
    /// The executed notebook, relative to `notebooks/` (`en/slides/X.ipynb`).
    pub name: PathBuf,
    pub languages: Vec<Handout>,
}

/// What [`build`] made, and what it could not.
#[derive(Debug)]
pub struct Handouts {
    /// The index page linking everything.
    pub index: PathBuf,
    pub built: Vec<NotebookHandouts>,
    /// Notebooks that failed to execute (or to render), each with why.
    pub failed: Vec<String>,
}

/// The folder below the handouts that holds the scripts the pages load.
const JS: &str = "js";

/// Builds the handouts of every notebook below `notebooks` into `out`, replacing what
/// an earlier build left there (a folder that holds anything else is refused).
/// `crate_dir` is the support crate, packaged beside the hand-out notebooks so that
/// their `:dep` path finds it.
pub fn build(
    installation: &Installation,
    notebooks: &Path,
    crate_dir: &Path,
    out: &Path,
) -> Result<Handouts, String> {
    if let Ok(mut entries) = fs::read_dir(out) {
        if entries.next().is_some() && !out.join("index.html").is_file() {
            return Err(format!(
                "{} holds files that are not handouts; choose another output folder",
                out.display()
            ));
        }
        fs::remove_dir_all(out).map_err(|e| format!("cannot empty {}: {e}", out.display()))?;
    }
    let mut runner = Runner::new(installation.clone());
    runner.output_dir = out.join(".executed");
    package_crate(crate_dir, &out.join("crate"))?;
    ship_scripts(installation, &out.join(JS))?;

    let mut built = Vec::new();
    let mut failed = Vec::new();
    for name in crate::catalog::notebooks_under(notebooks)
        .iter()
        .filter_map(|source| executed(source))
    {
        println!("handouts: executing {}", name.display());
        match handouts_of(&runner, installation, notebooks, &name, out) {
            Ok(handouts) => built.push(handouts),
            Err(why) => {
                eprintln!("handouts: {why}");
                failed.push(why);
            }
        }
    }
    let index = out.join("index.html");
    fs::write(&index, index_page(&built))
        .map_err(|e| format!("cannot write {}: {e}", index.display()))?;
    Ok(Handouts {
        index,
        built,
        failed,
    })
}

/// Executes the notebook `name` once and renders it in every language.
fn handouts_of(
    runner: &Runner,
    installation: &Installation,
    notebooks: &Path,
    name: &Path,
    out: &Path,
) -> Result<NotebookHandouts, String> {
    let execution = runner
        .execute(&notebooks.join(name), name)
        .map_err(|f: Failure| format!("{} did not execute: {f}", name.display()))?;
    let executed = load(&runner.output_dir.join(name))?;
    println!(
        "handouts: {} executed in {:.0} s; rendering",
        name.display(),
        execution.wall_time.as_secs_f64()
    );
    let shared = without_language(name);
    let kind = KINDS
        .iter()
        .find(|k| shared.starts_with(k.complete))
        .ok_or_else(|| format!("{} is no complete notebook", name.display()))?;
    let file = shared.file_name().unwrap_or_default();
    let mut languages = Vec::new();
    for language in Language::ALL {
        let complete = Path::new(language.code()).join(shared);
        let with_outputs = with_outputs_of(&load(&notebooks.join(&complete))?, &executed)
            .map_err(|e| format!("{}: {e}", complete.display()))?;
        let rendered = runner.output_dir.join("rendered").join(&complete);
        write(&rendered, &crate::variants::render(&with_outputs))?;
        languages.push(handout(
            installation,
            notebooks,
            language,
            *kind,
            file,
            &rendered,
            out,
        )?);
    }
    Ok(NotebookHandouts {
        name: name.to_owned(),
        languages,
    })
}

/// `notebook` (a complete notebook in some language) with the outputs of `executed`
/// (the same notebook's code run in another), code cell by code cell.
fn with_outputs_of(notebook: &Value, executed: &Value) -> Result<Value, String> {
    check_same_code(notebook, executed)?;
    let runs = executed["cells"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|c| c["cell_type"] == "code");
    let mut notebook = notebook.clone();
    let cells = notebook["cells"].as_array_mut().into_iter().flatten();
    for (cell, run) in cells.filter(|c| c["cell_type"] == "code").zip(runs) {
        cell["outputs"] = run["outputs"].clone();
        cell["execution_count"] = run["execution_count"].clone();
    }
    Ok(notebook)
}

/// The handouts of one language: HTML, slides of a topic, the notebook to type into.
fn handout(
    installation: &Installation,
    notebooks: &Path,
    language: Language,
    kind: Kind,
    file: &std::ffi::OsStr,
    rendered: &Path,
    out: &Path,
) -> Result<Handout, String> {
    let stem = Path::new(file)
        .file_stem()
        .unwrap_or_default()
        .to_string_lossy();
    let html = Path::new("read")
        .join(language.code())
        .join(kind.complete)
        .join(format!("{stem}.html"));
    nbconvert(installation, "html", language, rendered, out, &html)?;
    let slides = if kind == TOPICS {
        let slides = Path::new("slides")
            .join(language.code())
            .join(format!("{stem}.slides.html"));
        nbconvert(installation, "slides", language, rendered, out, &slides)?;
        Some(slides)
    } else {
        None
    };
    let variant = Path::new(language.code()).join(kind.to_type).join(file);
    let to_type = Path::new("notebooks").join(&variant);
    copy(&notebooks.join(&variant), &out.join(&to_type))?;
    Ok(Handout {
        language,
        html,
        slides,
        to_type,
    })
}

fn load(path: &Path) -> Result<Value, String> {
    let text =
        fs::read_to_string(path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    serde_json::from_str(&text).map_err(|e| format!("{}: not valid JSON: {e}", path.display()))
}

fn write(path: &Path, text: &str) -> Result<(), String> {
    let folder = path.parent().expect("a file in a folder");
    fs::create_dir_all(folder).map_err(|e| format!("cannot create {}: {e}", folder.display()))?;
    fs::write(path, text).map_err(|e| format!("cannot write {}: {e}", path.display()))
}

/// The scripts the pages load, from the pinned npm packages of `course/handouts/`,
/// copied to `js`: reveal.js (its `dist/` and the notes plugin the slides template
/// loads), require.js and jQuery.
fn ship_scripts(installation: &Installation, js: &Path) -> Result<(), String> {
    let layout = &installation.layout;
    let packages = layout.handouts_js();
    ensure_npm_packages(
        layout,
        &NpmPackages {
            from: &layout.root.join("course/handouts"),
            into: &packages,
            title: "installing the pinned reveal.js, require.js and jQuery into .local/handouts-js",
            needed_by: "cargo handouts (reveal.js for slides that open offline)",
            log: "npm-handouts.log",
        },
    )
    .map_err(|e| e.to_string())?;
    let modules = packages.join("node_modules");
    for (from, to) in [
        ("reveal.js/dist", "reveal.js/dist"),
        ("reveal.js/plugin/notes", "reveal.js/plugin/notes"),
        ("requirejs/require.js", "require.js"),
        ("jquery/dist/jquery.min.js", "jquery.min.js"),
    ] {
        copy_tree(&modules.join(from), &js.join(to))?;
    }
    Ok(())
}

fn copy_tree(from: &Path, to: &Path) -> Result<(), String> {
    if from.is_file() {
        return copy(from, to);
    }
    let entries = fs::read_dir(from).map_err(|e| format!("cannot read {}: {e}", from.display()))?;
    for entry in entries.flatten() {
        copy_tree(&entry.path(), &to.join(entry.file_name()))?;
    }
    Ok(())
}

/// Renders `executed` with nbconvert `--to format` as the file `target` (relative to
/// the handout folder `out`), in `language`, its pages loading their scripts from
/// `js/` there.
fn nbconvert(
    installation: &Installation,
    format: &str,
    language: Language,
    executed: &Path,
    out: &Path,
    target: &Path,
) -> Result<(), String> {
    let js = Path::new(&"../".repeat(target.components().count() - 1)).join(JS);
    let js = js.to_string_lossy();
    let folder = out.join(target.parent().expect("a file in a folder"));
    let mut command = installation.jupyter("nbconvert");
    command
        .arg(format!("--to={format}"))
        .arg(format!("--output-dir={}", folder.display()))
        .arg(format!(
            "--output={}",
            // nbconvert adds the format's own extension (`.html`, `.slides.html`).
            target
                .file_name()
                .unwrap_or_default()
                .to_string_lossy()
                .trim_end_matches(".html")
                .trim_end_matches(".slides")
        ))
        .arg(format!("--HTMLExporter.language_code={language}"))
        .arg(format!("--HTMLExporter.require_js_url={js}/require.js"))
        .arg(format!("--HTMLExporter.jquery_url={js}/jquery.min.js"))
        .arg(format!("--SlidesExporter.reveal_url_prefix={js}/reveal.js"))
        .arg(executed);
    run(command, &format!("nbconvert --to {format}"))?;
    if !out.join(target).is_file() {
        return Err(format!(
            "nbconvert --to {format} did not write {}",
            out.join(target).display()
        ));
    }
    Ok(())
}

/// The support crate as `cargo package` makes it (a manifest of its own, no workspace),
/// unpacked at `target`.
fn package_crate(crate_dir: &Path, target: &Path) -> Result<(), String> {
    let scratch = target.with_extension("package");
    let mut package = Command::new(std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into()));
    package
        .args(["package", "--quiet", "--no-verify", "--allow-dirty"])
        .arg("--manifest-path")
        .arg(crate_dir.join("Cargo.toml"))
        .arg("--target-dir")
        .arg(&scratch);
    run(package, "cargo package")?;
    let packaged = fs::read_dir(scratch.join("package"))
        .map_err(|e| format!("cargo package left nothing in {}: {e}", scratch.display()))?
        .flatten()
        .map(|entry| entry.path())
        .find(|path| path.extension().is_some_and(|e| e == "crate"))
        .ok_or_else(|| format!("cargo package made no .crate in {}", scratch.display()))?;
    fs::create_dir_all(target).map_err(|e| format!("cannot create {}: {e}", target.display()))?;
    let mut unpack = Command::new("tar");
    unpack
        .arg("-xzf")
        .arg(&packaged)
        .arg("--strip-components=1")
        .arg("-C")
        .arg(target);
    run(unpack, "tar")?;
    fs::remove_dir_all(&scratch).map_err(|e| format!("cannot remove {}: {e}", scratch.display()))
}

fn run(mut command: Command, what: &str) -> Result<(), String> {
    let output = command
        .output()
        .map_err(|e| format!("cannot run {what} ({e}); is it installed?"))?;
    if output.status.success() {
        return Ok(());
    }
    let stderr = String::from_utf8_lossy(&output.stderr);
    let tail: Vec<&str> = stderr.lines().rev().take(10).collect();
    Err(format!(
        "{what} failed ({}):\n{}",
        output.status,
        tail.into_iter().rev().collect::<Vec<_>>().join("\n")
    ))
}

fn copy(source: &Path, target: &Path) -> Result<(), String> {
    let folder = target.parent().expect("a file in a folder");
    fs::create_dir_all(folder).map_err(|e| format!("cannot create {}: {e}", folder.display()))?;
    fs::copy(source, target).map(drop).map_err(|e| {
        format!(
            "cannot copy {} to {}: {e}",
            source.display(),
            target.display()
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn another_language_gets_the_outputs_of_the_run() {
        let english = serde_json::json!({"cells": [
            {"cell_type": "markdown", "source": "Hello"},
            {"cell_type": "code", "source": "1 + 1", "outputs": [{"text": "2"}], "execution_count": 1}
        ]});
        let german = serde_json::json!({"cells": [
            {"cell_type": "markdown", "source": "Hallo"},
            {"cell_type": "code", "source": "1 + 1", "outputs": [], "execution_count": null}
        ]});
        let rendered = with_outputs_of(&german, &english).unwrap();
        assert_eq!(rendered["cells"][0]["source"], "Hallo");
        assert_eq!(
            rendered["cells"][1]["outputs"],
            english["cells"][1]["outputs"]
        );
        let mut changed = german.clone();
        changed["cells"][1]["source"] = "2 + 2".into();
        assert!(with_outputs_of(&changed, &english).is_err());
    }
}
