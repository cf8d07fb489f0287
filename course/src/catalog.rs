//! The course's notebooks as committed: where they are, and the rule every one of them
//! keeps in git.

use notebook_harness::{Check, Notebook};
use std::path::{Path, PathBuf};

/// Every notebook below `dir`, sorted, as paths relative to `dir`.
pub fn notebooks_under(dir: &Path) -> Vec<PathBuf> {
    fn walk(dir: &Path, base: &Path, found: &mut Vec<PathBuf>) {
        let Ok(entries) = std::fs::read_dir(dir) else {
            return;
        };
        for entry in entries.flatten() {
            let path = entry.path();
            if path.is_dir() && path.file_name().is_some_and(|n| n != ".ipynb_checkpoints") {
                walk(&path, base, found);
            } else if path.extension().is_some_and(|e| e == "ipynb") {
                found.push(path.strip_prefix(base).expect("below base").to_owned());
            }
        }
    }
    let mut found = Vec::new();
    walk(dir, dir, &mut found);
    found.sort();
    found
}

/// A notebook as committed must carry no outputs or execution counts, so that learners
/// start from a clean page and diffs show only what changed in the lesson.
pub fn check_committed_clean(path: &Path) -> Check {
    let notebook = Notebook::load(path)?;
    if let Some(cell) = notebook
        .cells
        .iter()
        .find(|c| !c.outputs.is_empty() || c.execution_count.is_some())
    {
        return Err(format!(
            "{}: cell {} (`{}`) is committed with outputs or an execution count; clear them (Edit > Clear Outputs of All Cells) and save",
            path.display(),
            cell.index,
            cell.first_line()
        ));
    }
    if notebook.kernel_name.as_deref() != Some("rust") {
        return Err(format!(
            "{}: kernelspec name should be `rust`",
            path.display()
        ));
    }
    Ok(())
}
