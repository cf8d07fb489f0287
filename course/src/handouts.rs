//! The course as handouts that need no kernel, like the original course's output
//! folders: every complete notebook executed and rendered as HTML with its outputs and
//! pictures, the reveal.js slides of each topic notebook, and the code-along and
//! exercise notebooks with the support crate beside them, ready to hand out, under one
//! index page.
//!
//! It asserts nothing about what the notebooks show (the notebook tests do); a notebook
//! that fails to execute is reported with its typed [`Failure`], and the others are
//! still built.

use crate::variants::{FOLDERS, is_generated};
use kernel_setup::Installation;
use notebook_harness::Failure;
use notebook_harness::Runner;
use std::fmt::Write as _;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

/// The folder of complete notebooks that are topics, shown as slides too.
const TOPICS: &str = FOLDERS[0].0;

/// One complete notebook's handouts, as paths relative to the handout folder.
#[derive(Debug)]
pub struct Handout {
    /// The complete notebook, relative to `notebooks/`.
    pub name: PathBuf,
    /// The executed notebook as HTML.
    pub html: PathBuf,
    /// Its reveal.js slides, for a topic notebook.
    pub slides: Option<PathBuf>,
    /// The code-along or exercise notebook generated from it.
    pub to_type: Option<PathBuf>,
}

/// What [`build`] made, and what it could not.
#[derive(Debug)]
pub struct Handouts {
    /// The index page linking everything.
    pub index: PathBuf,
    pub built: Vec<Handout>,
    /// Notebooks that failed to execute (or to render), each with why.
    pub failed: Vec<String>,
}

/// Builds the handouts of every notebook below `notebooks` into `out`, replacing what
/// an earlier build left there (a folder that holds anything else is refused). `crate_dir` is the support crate, packaged beside the
/// hand-out notebooks so that their `:dep` path finds it.
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

    let mut built = Vec::new();
    let mut failed = Vec::new();
    for name in crate::catalog::notebooks_under(notebooks) {
        if is_generated(&name) {
            continue;
        }
        println!("handouts: executing {}", name.display());
        match handout(&runner, installation, notebooks, &name, out) {
            Ok(handout) => built.push(handout),
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

fn handout(
    runner: &Runner,
    installation: &Installation,
    notebooks: &Path,
    name: &Path,
    out: &Path,
) -> Result<Handout, String> {
    let execution = runner
        .execute(&notebooks.join(name), name)
        .map_err(|f: Failure| format!("{} did not execute: {f}", name.display()))?;
    let executed = runner.output_dir.join(name);
    let folder = name.parent().unwrap_or(Path::new(""));
    let stem = name.file_stem().unwrap_or_default().to_string_lossy();
    println!(
        "handouts: {} executed in {:.0} s; rendering",
        name.display(),
        execution.wall_time.as_secs_f64()
    );

    let html = Path::new("read").join(folder).join(format!("{stem}.html"));
    nbconvert(installation, "html", &executed, &out.join(&html))?;
    let slides = if name.starts_with(TOPICS) {
        let slides = Path::new("slides").join(format!("{stem}.slides.html"));
        nbconvert(installation, "slides", &executed, &out.join(&slides))?;
        Some(slides)
    } else {
        None
    };
    let to_type = match FOLDERS.iter().find(|(from, _)| name.starts_with(from)) {
        Some((from, to)) => {
            let variant = Path::new(to).join(name.strip_prefix(from).unwrap_or(name));
            let source = notebooks.join(&variant);
            let target = Path::new("notebooks").join(&variant);
            copy(&source, &out.join(&target))?;
            Some(target)
        }
        None => None,
    };
    Ok(Handout {
        name: name.to_owned(),
        html,
        slides,
        to_type,
    })
}

/// Renders `executed` with nbconvert `--to format` as the file `target`.
fn nbconvert(
    installation: &Installation,
    format: &str,
    executed: &Path,
    target: &Path,
) -> Result<(), String> {
    let folder = target.parent().expect("a file in a folder");
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
        .arg(executed);
    run(command, &format!("nbconvert --to {format}"))?;
    if !target.is_file() {
        return Err(format!(
            "nbconvert --to {format} did not write {}",
            target.display()
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

/// The index page: one row per complete notebook, in the course's order (by name).
fn index_page(built: &[Handout]) -> String {
    let link = |path: &Path, text: &str| {
        format!(
            "<a href=\"{}\">{}</a>",
            escape(&path.to_string_lossy()),
            escape(text)
        )
    };
    let mut rows = String::new();
    for handout in built {
        let stem = handout
            .name
            .file_stem()
            .unwrap_or_default()
            .to_string_lossy();
        let _ = writeln!(
            rows,
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            escape(&stem),
            link(&handout.html, "with outputs"),
            handout
                .slides
                .as_deref()
                .map_or_else(String::new, |s| link(s, "slides")),
            handout.to_type.as_deref().map_or_else(String::new, |n| {
                let kind = if n.starts_with(Path::new("notebooks").join(FOLDERS[1].1)) {
                    "exercise"
                } else {
                    "code-along"
                };
                link(n, &format!("{kind} (.ipynb)"))
            }),
        );
    }
    format!(
        r#"<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>Concurrency in Rust: handouts</title>
<style>
body {{ font-family: sans-serif; max-width: 60em; margin: 2em auto; line-height: 1.5; }}
table {{ border-collapse: collapse; }}
td, th {{ border-bottom: 1px solid #ddd; padding: 0.4em 1em; text-align: left; }}
</style>
</head>
<body>
<h1>Concurrency in Rust: handouts</h1>
<p>Each notebook as executed, with its outputs and timeline pictures, to read without a
kernel; the slides of each topic (reveal.js, loaded from unpkg.com when opened); and the
notebooks learners type into. Those run on the Rust Jupyter kernel
(<a href="https://github.com/evcxr/evcxr">evcxr</a>) and load the support crate from
<code>crate/</code> in this folder: hand out the folder whole.</p>
<table>
<tr><th>Notebook</th><th>Read</th><th>Present</th><th>Hand out</th></tr>
{rows}</table>
</body>
</html>
"#
    )
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_index_links_each_handout() {
        let page = index_page(&[
            Handout {
                name: "slides/topic_410_concurrency.ipynb".into(),
                html: "read/slides/topic_410_concurrency.html".into(),
                slides: Some("slides/topic_410_concurrency.slides.html".into()),
                to_type: Some("notebooks/codealong/topic_410_concurrency.ipynb".into()),
            },
            Handout {
                name: "solutions/workshop_410_concurrency.ipynb".into(),
                html: "read/solutions/workshop_410_concurrency.html".into(),
                slides: None,
                to_type: Some("notebooks/workshops/workshop_410_concurrency.ipynb".into()),
            },
        ]);
        for expected in [
            r#"<a href="read/slides/topic_410_concurrency.html">with outputs</a>"#,
            r#"<a href="slides/topic_410_concurrency.slides.html">slides</a>"#,
            r#"<a href="notebooks/codealong/topic_410_concurrency.ipynb">code-along (.ipynb)</a>"#,
            r#"<a href="notebooks/workshops/workshop_410_concurrency.ipynb">exercise (.ipynb)</a>"#,
        ] {
            assert!(page.contains(expected), "{expected} missing from\n{page}");
        }
    }
}
