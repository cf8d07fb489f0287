//! The repository's Python is as checked as its Rust: `ruff check` and `mypy` (strict;
//! the settings are in `pyproject.toml`) pass on every `.py` file git tracks or would
//! add: the harness's driver, the classroom client, the hub's configuration and its
//! tests. The tools and the libraries they need to see are pinned in
//! `course/requirements-python-checks.txt` and installed into `.local/python-checks` on
//! first use.

use kernel_setup::{Layout, ensure_tool_venv};
use std::path::PathBuf;
use std::process::Command;

/// Every Python file of the checkout that git tracks or would add, as paths relative
/// to it.
fn python_files(layout: &Layout) -> Vec<PathBuf> {
    let output = Command::new("git")
        .args([
            "ls-files",
            "--cached",
            "--others",
            "--exclude-standard",
            "*.py",
        ])
        .current_dir(&layout.root)
        .output()
        .expect("git runs");
    assert!(output.status.success(), "git ls-files failed");
    let files: Vec<PathBuf> = String::from_utf8_lossy(&output.stdout)
        .lines()
        .map(PathBuf::from)
        .filter(|file| layout.root.join(file).is_file())
        .collect();
    assert!(
        files.len() >= 3,
        "found too few Python files to believe: {files:?}"
    );
    files
}

/// Runs `tool` from the checkers' virtualenv on every Python file, in the checkout
/// (where `pyproject.toml` configures it); fails with its report.
fn check_with(tool: &str, args: &[&str]) {
    let layout = Layout::of_this_checkout();
    let requirements = layout.root.join("course/requirements-python-checks.txt");
    let venv =
        ensure_tool_venv(&layout, "python-checks", &requirements).unwrap_or_else(|e| panic!("{e}"));
    let output = Command::new(venv.join("bin").join(tool))
        .args(args)
        .args(python_files(&layout))
        .current_dir(&layout.root)
        .env("PYTHONDONTWRITEBYTECODE", "1")
        .output()
        .unwrap_or_else(|e| panic!("cannot run {tool}: {e}"));
    assert!(
        output.status.success(),
        "{tool} found problems ({}):\n{}{}",
        output.status,
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
}

#[test]
fn ruff_finds_nothing() {
    // Nothing written into the checkout.
    check_with(
        "ruff",
        &["check", "--no-cache", "--output-format", "concise"],
    );
}

#[test]
fn mypy_finds_nothing() {
    let cache = Layout::of_this_checkout()
        .root
        .join(".local/python-checks-mypy-cache");
    let cache = format!("--cache-dir={}", cache.display());
    check_with("mypy", &[&cache]);
}
