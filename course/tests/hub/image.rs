//! Past one machine: the single-user image's recipe.

use crate::limits::values_limits;
use course::setup;
use kernel_setup::{Layout, holds_evcxr_build};
use std::fs;
use std::process::Command;

/// The Dockerfile installs the course by `image-setup.sh` alone; the script, run on a
/// clean clone (its evcxr build folder seeded from a finished one, as a Docker layer
/// cache would be), leaves a kernel that runs a notebook.
pub fn image_recipe() -> Result<(), String> {
    let layout = Layout::of_this_checkout();
    let dockerfile = fs::read_to_string(layout.root.join("kernel-setup/hub/Dockerfile"))
        .map_err(|e| e.to_string())?;
    let runs: Vec<&str> = dockerfile
        .lines()
        .filter(|l| l.starts_with("RUN "))
        .collect();
    let setup = "RUN bash /opt/course/kernel-setup/hub/image-setup.sh";
    if runs.iter().filter(|l| **l == setup).count() != 1 {
        return Err(format!(
            "the Dockerfile should run `{setup}` once; its RUN lines: {runs:?}"
        ));
    }
    // Every other step prepares the machine; none installs the course a second way.
    let other_setup = ["cargo", "kernel-setup", "pip", "jupyter", "evcxr"];
    let continued = dockerfile.replace("\\\n", " ");
    for run in continued
        .lines()
        .filter(|l| l.starts_with("RUN ") && *l != setup)
    {
        if let Some(word) = other_setup.iter().find(|w| run.contains(*w)) {
            return Err(format!(
                "a RUN step besides image-setup.sh installs with {word}: {run}"
            ));
        }
    }
    if !dockerfile.contains("COPY --chown=${NB_UID}:${NB_GID} . /opt/course") {
        return Err("the Dockerfile should copy the course to /opt/course".to_owned());
    }
    setup::installation(&layout)?;
    let clone = layout.root.join("target/hub/image-checkout");
    let _ = fs::remove_dir_all(&clone);
    run(Command::new("git")
        .args(["clone", "--quiet", "--no-hardlinks"])
        .arg(&layout.root)
        .arg(&clone))?;
    fs::create_dir_all(clone.join(".local")).map_err(|e| e.to_string())?;
    // A finished evcxr build folder seeds the clone's; this checkout's may have been
    // deleted, as the README allows, so the tests' own seed serves too.
    match [layout.evcxr_build(), layout.test_build_seed()]
        .into_iter()
        .find(|folder| holds_evcxr_build(folder))
    {
        Some(seed) => run(Command::new("cp")
            .arg("-al")
            .arg(seed)
            .arg(clone.join(".local/build")))?,
        None => eprintln!(
            "image recipe: no finished evcxr build folder to seed the clone's; image-setup.sh builds evcxr (5-10 min)"
        ),
    }
    run(Command::new("bash")
        .arg(clone.join("kernel-setup/hub/image-setup.sh"))
        .env_remove("CARGO_TARGET_DIR"))?;
    for gone in [".local/build", "target"] {
        if clone.join(gone).exists() {
            return Err(format!("image-setup.sh left {gone} in the image"));
        }
    }
    let venv = clone.join(".local/venv/bin");
    for program in ["jupyterhub-singleuser", "gitpuller"] {
        if !venv.join(program).is_file() {
            return Err(format!("image-setup.sh did not install {program}"));
        }
    }
    // The image's own kernel, from the image's own Jupyter, runs a notebook (`x + 2`
    // gives 42; its cell that fails on purpose is let through).
    let executed = clone.join("passes.ipynb");
    let jupyter_home = clone.join(".local/jupyter");
    let nbconvert = Command::new(venv.join("jupyter"))
        .args([
            "nbconvert",
            "--to",
            "notebook",
            "--execute",
            "--allow-errors",
            "--output",
        ])
        .arg(&executed)
        .arg(notebook_harness::fixtures().join("passes.ipynb"))
        .env("JUPYTER_PATH", clone.join(".local/venv/share/jupyter"))
        .env("JUPYTER_CONFIG_DIR", jupyter_home.join("config"))
        .env("JUPYTER_DATA_DIR", jupyter_home.join("data"))
        .env("JUPYTER_RUNTIME_DIR", jupyter_home.join("runtime"))
        .output()
        .map_err(|e| e.to_string())?;
    let outputs = fs::read_to_string(&executed).unwrap_or_default();
    if !nbconvert.status.success() || !outputs.contains("\"42\"") {
        return Err(format!(
            "the image's kernel did not run a notebook: {}",
            String::from_utf8_lossy(&nbconvert.stderr)
        ));
    }
    let spec = fs::read_to_string(clone.join(".local/venv/share/jupyter/kernels/rust/kernel.json"))
        .map_err(|e| e.to_string())?;
    if !spec.contains(
        &clone
            .join(".local/cargo/bin/evcxr_jupyter")
            .display()
            .to_string(),
    ) {
        return Err(format!(
            "the image's kernelspec does not run its own evcxr: {spec}"
        ));
    }
    values_limits(&layout)?;
    fs::remove_dir_all(&clone).map_err(|e| e.to_string())
}

fn run(command: &mut Command) -> Result<(), String> {
    let output = command.output().map_err(|e| format!("{command:?}: {e}"))?;
    if output.status.success() {
        Ok(())
    } else {
        Err(format!(
            "{command:?} failed ({}):\n{}",
            output.status,
            String::from_utf8_lossy(&output.stderr)
        ))
    }
}
