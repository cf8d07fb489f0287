//! The limits the Zero to JupyterHub values file gives every learner, which the local
//! hub's learners must get too.

use course::setup;
use kernel_setup::Layout;
use serde_json::Value;

/// The Zero to JupyterHub values file, parsed by PyYAML (as the local hub's config
/// reads it).
fn values(layout: &Layout) -> Result<Value, String> {
    let installation = setup::installation(layout)?;
    let output = installation
        .python()
        .args([
            "-c",
            "import json, sys, yaml; print(json.dumps(yaml.safe_load(open(sys.argv[1]))))",
        ])
        .arg(layout.hub_values())
        .output()
        .map_err(|e| e.to_string())?;
    serde_json::from_slice(&output.stdout).map_err(|e| {
        format!(
            "{} does not parse: {e}: {}",
            layout.hub_values().display(),
            String::from_utf8_lossy(&output.stderr)
        )
    })
}

/// `singleuser.memory.limit` in bytes, as JupyterHub hands it to a server (binary
/// units), and `singleuser.cpu.limit`.
pub fn values_limits(layout: &Layout) -> Result<(String, f64), String> {
    let values = values(layout)?;
    let singleuser = &values["singleuser"];
    let memory = singleuser["memory"]["limit"]
        .as_str()
        .ok_or("the values file has no singleuser.memory.limit")?;
    let (number, unit) = memory.split_at(memory.trim_end_matches(char::is_alphabetic).len());
    let scale = match unit {
        "K" => 1u64 << 10,
        "M" => 1 << 20,
        "G" => 1 << 30,
        "T" => 1 << 40,
        _ => {
            return Err(format!(
                "singleuser.memory.limit {memory}: expected K, M, G or T"
            ));
        }
    };
    let number: f64 = number
        .parse()
        .map_err(|_| format!("singleuser.memory.limit {memory}"))?;
    let cpus = singleuser["cpu"]["limit"]
        .as_f64()
        .ok_or("the values file has no singleuser.cpu.limit")?;
    Ok((((number * scale as f64) as u64).to_string(), cpus))
}
