//! Bad input to `cargo hub`, each a one-line error.

use crate::shared::{cargo_hub, work_dir};
use course::setup;
use kernel_setup::Layout;
use libtest_mimic::Failed;
use std::fs;
use std::net::TcpListener;
use std::path::Path;

/// Runs `cargo hub` and expects it to fail with one line that contains `wanted`.
fn expect_error(what: &str, args: &[&str], wanted: &str) -> Result<(), String> {
    let output = cargo_hub(args);
    let stderr = String::from_utf8_lossy(&output.stderr);
    let lines: Vec<&str> = stderr
        .lines()
        .filter(|l| !l.starts_with("usage:"))
        .collect();
    if output.status.success() || lines.len() != 1 || !lines[0].contains(wanted) {
        return Err(format!(
            "{what}: expected one line with {wanted:?}, got ({}):\n{stderr}",
            output.status
        ));
    }
    Ok(())
}

fn learners_file(dir: &Path, name: &str, text: &str) -> String {
    let path = dir.join(name);
    fs::write(&path, text).expect("target/hub is writable");
    path.display().to_string()
}

pub fn bad_input() -> Result<(), Failed> {
    let layout = Layout::of_this_checkout();
    let installation = setup::installation(&layout)?;
    kernel_setup::ensure_hub(&installation).map_err(|e| e.to_string())?;
    let dir = work_dir("bad-input");
    let good = learners_file(&dir, "good.txt", "classcheck-a\n");
    expect_error("no learners file", &[], "--learners FILE is required")?;
    expect_error(
        "a learner name that is not an account name",
        &[
            "--learners",
            &learners_file(&dir, "upper.txt", "Alice Smith\n"),
        ],
        "is not usable as an account",
    )?;
    expect_error(
        "a learner that is a system account",
        &[
            "--learners",
            &learners_file(&dir, "daemon.txt", "daemon\n"),
            "--port",
            "8340",
        ],
        "already a system account the hub did not create",
    )?;
    expect_error(
        "a missing learners file",
        &["--learners", "/nonexistent/learners.txt"],
        "cannot read the learners file",
    )?;
    expect_error(
        "an idle timeout that would cull between cells",
        &["--learners", &good, "--idle-timeout", "5"],
        "--idle-timeout 5 is not a number of seconds (10 or more)",
    )?;
    let taken = TcpListener::bind(("127.0.0.1", 0)).map_err(|e| e.to_string())?;
    let port = taken
        .local_addr()
        .map_err(|e| e.to_string())?
        .port()
        .to_string();
    expect_error(
        "a port in use",
        &["--learners", &good, "--port", &port],
        "is not free",
    )?;
    drop(taken);
    // The proxy's install gone (a node_modules removed by hand): the hub says so
    // instead of failing later inside JupyterHub.
    let proxy = layout
        .root
        .join(".local/hub/proxy/node_modules/.bin/configurable-http-proxy");
    let aside = proxy.with_extension("aside");
    fs::rename(&proxy, &aside).map_err(|e| format!("{}: {e}", proxy.display()))?;
    let result = expect_error(
        "the proxy's install missing",
        &["--learners", &good, "--port", "8340"],
        "configurable-http-proxy install is missing",
    );
    fs::rename(&aside, &proxy).map_err(|e| e.to_string())?;
    Ok(result?)
}
