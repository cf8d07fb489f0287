//! The warm evcxr cache every new learner starts with: compiled once by the hub, then
//! copied into each new learner's home.

use crate::error::{Result, SetupError, io_error};
use crate::files::once;
use crate::hub::toolchain::Toolchain;
use crate::layout::Layout;
use crate::progress::Step;
use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::Command;
use std::time::Duration;

/// The `:dep` lines of the course's notebooks (from their sources: every language
/// shares the code cells), with the support crate's path made absolute: what the seed
/// cache compiles.
fn course_deps(layout: &Layout) -> Result<Vec<String>> {
    let crate_path = layout.root.join("crate");
    let mut deps: Vec<String> = Vec::new();
    for folder in ["topics", "workshops"] {
        let dir = layout.notebooks().join("source").join(folder);
        for entry in fs::read_dir(&dir).map_err(io_error("read", &dir))? {
            let path = entry.map_err(io_error("read", &dir))?.path();
            if path.extension().is_none_or(|e| e != "ipynb") {
                continue;
            }
            let text = fs::read_to_string(&path).map_err(io_error("read", &path))?;
            let notebook: serde_json::Value = serde_json::from_str(&text)
                .map_err(|e| SetupError::new(format!("kernel-setup: {}: {e}", path.display())))?;
            let sources = notebook["cells"].as_array().into_iter().flatten().map(
                |cell| match &cell["source"] {
                    serde_json::Value::Array(lines) => {
                        lines.iter().filter_map(|l| l.as_str()).collect::<String>()
                    }
                    other => other.as_str().unwrap_or_default().to_owned(),
                },
            );
            for line in sources.flat_map(|s| s.lines().map(str::to_owned).collect::<Vec<_>>()) {
                let line = line.replace(
                    "\"../../../crate\"",
                    &format!("{:?}", crate_path.display().to_string()),
                );
                if line.starts_with(":dep concurrency_helpers") && !deps.contains(&line) {
                    deps.push(line);
                }
            }
        }
    }
    deps.sort();
    Ok(deps)
}

/// A warm evcxr cache every new learner's account starts with. A learner's first
/// `:dep` otherwise compiles the support crate's dependencies at the same moment as
/// everyone else's, on the same cores. Entries are keyed by rustc's arguments; the
/// dependencies' sources (the shared registry), the toolchain and evcxr's settings are
/// the same for every learner, so these entries hit for all of them (the support crate
/// itself, in each learner's copy of the course, is still compiled per learner). The
/// hub makes the seed itself, with the learners' kernelspec, so no learner can put
/// anything into another's cache.
pub(crate) fn ensure_seed_cache(layout: &Layout, toolchain: &Toolchain) -> Result<()> {
    let version = &toolchain.version;
    let deps = course_deps(layout)?;
    let lock = layout.root.join("Cargo.lock");
    let wanted = format!(
        "{}\n{version}\n{}",
        deps.join("\n"),
        fs::read_to_string(&lock).map_err(io_error("read", &lock))?
    );
    let home = layout.hub_seed_home();
    once(&layout.hub().join("seed-cache-inputs.txt"), &wanted, || {
        let step = Step::start(
            "compiling the course's dependencies into the cache new learners start with",
            "about a minute, once",
        );
        if home.exists() {
            fs::remove_dir_all(&home).map_err(io_error("remove", &home))?;
        }
        let tmp = home.join(".cache").join("evcxr-tmp");
        fs::create_dir_all(&tmp).map_err(io_error("create", &tmp))?;
        let cells: Vec<serde_json::Value> = deps
            .iter()
            .map(|dep| {
                serde_json::json!({"cell_type": "code", "metadata": {}, "outputs": [],
                    "execution_count": null, "source": dep})
            })
            .collect();
        let notebook = serde_json::json!({
            "cells": cells, "nbformat": 4, "nbformat_minor": 5,
            "metadata": {"kernelspec": {"name": "rust", "display_name": "Rust", "language": "rust"}},
        });
        let path = home.join("seed.ipynb");
        fs::write(&path, notebook.to_string()).map_err(io_error("write", &path))?;
        let bin = layout.hub_venv().join("bin");
        let mut run = Command::new(bin.join("jupyter"));
        run.args(["nbconvert", "--to", "notebook", "--execute", "--inplace"])
            .arg("--ExecutePreprocessor.timeout=900")
            .arg(&path)
            .env("HOME", &home)
            .env("JUPYTER_PATH", layout.hub_jupyter_path())
            .env("JUPYTER_PLATFORM_DIRS", "1")
            .env("CARGO_HOME", layout.hub_cargo_home())
            .env(
                "PATH",
                format!(
                    "{}:{}:/usr/bin:/bin",
                    layout.hub_toolchain().join("bin").display(),
                    bin.display()
                ),
            );
        step.run(
            run,
            &layout.logs().join("hub-seed-cache.log"),
            Duration::from_secs(1800),
        )?;
        step.done();
        Ok(())
    })
}

/// Gives a learner without an evcxr cache a copy of the hub's seed, owned by them.
pub(crate) fn seed_cache(layout: &Layout, name: &str, home: &Path) -> Result<()> {
    let seed = layout.hub_seed_home().join(".cache").join("evcxr");
    let cache = home.join(".cache");
    if !seed.is_dir() || cache.join("evcxr").exists() {
        return Ok(());
    }
    fs::create_dir_all(&cache).map_err(io_error("create", &cache))?;
    fs::set_permissions(&cache, fs::Permissions::from_mode(0o700))
        .map_err(io_error("protect", &cache))?;
    let copied = Command::new("cp").arg("-a").arg(&seed).arg(&cache).status();
    let owned = Command::new("chown")
        .args(["-R", &format!("{name}:")])
        .arg(&cache)
        .status();
    if !(copied.is_ok_and(|s| s.success()) && owned.is_ok_and(|s| s.success())) {
        return Err(SetupError::new(format!(
            "cargo hub: cannot give {name:?} the seed cache ({})",
            cache.display()
        )));
    }
    Ok(())
}
