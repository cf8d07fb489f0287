//! The limits the Zero to JupyterHub values file gives every learner, which the local
//! hub's learners must get too.

use course::setup;
use kernel_setup::Layout;
use serde::Deserialize;

/// What `python -m course_hub.configurer limits` prints: the reader `cargo hub`
/// itself uses.
#[derive(Deserialize)]
struct ValuesLimits {
    memory_bytes: u64,
    cpus: f64,
}

/// `singleuser.memory.limit` in bytes, as JupyterHub hands it to a server, and
/// `singleuser.cpu.limit`, as the hub's configurer reads the values file.
pub fn values_limits(layout: &Layout) -> Result<(String, f64), String> {
    let installation = setup::installation(layout)?;
    let output = installation
        .python()
        .args(["-m", "course_hub.configurer", "limits"])
        .arg(layout.hub_values())
        .env("PYTHONPATH", layout.root.join("kernel-setup/hub"))
        .env("PYTHONDONTWRITEBYTECODE", "1")
        .output()
        .map_err(|e| e.to_string())?;
    let limits: ValuesLimits = serde_json::from_slice(&output.stdout).map_err(|e| {
        format!(
            "{} does not give limits: {e}: {}",
            layout.hub_values().display(),
            String::from_utf8_lossy(&output.stderr)
        )
    })?;
    Ok((limits.memory_bytes.to_string(), limits.cpus))
}
