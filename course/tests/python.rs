//! The repository's Python is as checked as its Rust: `ruff check` and `mypy` (strict;
//! the settings are in `pyproject.toml`) pass on every `.py` file git tracks or would
//! add: the harness's driver, the classroom client, the hub's configuration and its
//! tests; and the hub's configurer (`kernel-setup/hub/course_hub`) passes its unit
//! tests (pytest on `kernel-setup/hub/tests`: no root, no running hub). The tools and the libraries they need to see are pinned in
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

/// `program` from the checkers' virtualenv, installed on first use.
fn tool(layout: &Layout, program: &str) -> Command {
    let requirements = layout.root.join("course/requirements-python-checks.txt");
    let venv =
        ensure_tool_venv(layout, "python-checks", &requirements).unwrap_or_else(|e| panic!("{e}"));
    let mut command = Command::new(venv.join("bin").join(program));
    // Nothing written into the checkout: no bytecode.
    command.env("PYTHONDONTWRITEBYTECODE", "1");
    command
}

/// Runs `command`; fails with its report.
fn passes(tool: &str, mut command: Command) {
    let output = command
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

/// Runs `program` from the checkers' virtualenv on every Python file, in the checkout
/// (where `pyproject.toml` configures it).
fn check_with(program: &str, args: &[&str]) {
    let layout = Layout::of_this_checkout();
    let mut command = tool(&layout, program);
    command
        .args(args)
        .args(python_files(&layout))
        .current_dir(&layout.root);
    passes(program, command);
}

#[test]
fn the_hub_configurer_passes_its_tests() {
    let layout = Layout::of_this_checkout();
    let mut pytest = tool(&layout, "python");
    pytest
        .args(["-m", "pytest", "-q", "-p", "no:cacheprovider", "tests"])
        .current_dir(layout.root.join("kernel-setup/hub"));
    passes("pytest", pytest);
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
        .join(".local/python-checks/mypy-cache");
    let cache = format!("--cache-dir={}", cache.display());
    check_with("mypy", &[&cache]);
}
