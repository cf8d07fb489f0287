//! What the hub trials share: the notebook learners run, the ports, a work folder
//! and `cargo hub` itself.

use kernel_setup::Layout;
use notebook_harness::Notebook;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// The short notebook each learner runs: processes, so it also builds the support
/// crate's worker program in the learner's own folders.
pub const NOTEBOOK: &str = "notebooks/en/slides/topic_120_multiprocessing_part1.ipynb";
/// The first of the ports the trials' hubs use (each hub takes three).
pub const PORT: u16 = 8310;

/// A fresh `target/hub/<name>` for a trial's files.
pub fn work_dir(name: &str) -> PathBuf {
    let dir = Layout::of_this_checkout()
        .root
        .join("target")
        .join("hub")
        .join(name);
    let _ = fs::remove_dir_all(&dir);
    fs::create_dir_all(&dir).expect("target/hub is writable");
    dir
}

/// How many code cells [`NOTEBOOK`] has.
pub fn notebook_code_cells() -> usize {
    let path = Layout::of_this_checkout().root.join(NOTEBOOK);
    Notebook::load(&path).map_or(0, |notebook| notebook.code_cells().count())
}

/// Runs `cargo hub` with `args` in this checkout.
pub fn cargo_hub(args: &[&str]) -> Output {
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    Command::new(cargo)
        .arg("hub")
        .args(args)
        .current_dir(Layout::of_this_checkout().root)
        .output()
        .expect("cargo runs")
}

/// A trial's verdict: passed when nothing went wrong, else every problem, a line each,
/// and where its files are (`files`, e.g. "logs in target/hub/class").
pub fn verdict(problems: &[String], files: &str) -> Result<(), String> {
    if problems.is_empty() {
        Ok(())
    } else {
        Err(format!("{}\n({files})", problems.join("\n")))
    }
}

/// "logs in DIR".
pub fn logs_in(dir: &Path) -> String {
    format!("logs in {}", dir.display())
}

/// Keeps the client's `report` as `report.json` in the trial's folder, for reading
/// after a failure.
pub fn save_report(report: &impl serde::Serialize, dir: &Path) -> Result<(), String> {
    let json = serde_json::to_string_pretty(report).map_err(|e| e.to_string())?;
    fs::write(dir.join("report.json"), json).map_err(|e| e.to_string())
}
