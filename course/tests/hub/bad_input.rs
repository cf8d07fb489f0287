//! Bad input to `cargo hub`, each a one-line error.

use crate::shared::{cargo_hub, work_dir};
use course::setup;
use kernel_setup::Layout;
use libtest_mimic::Failed;
use std::fs;
use std::net::TcpListener;
use std::path::Path;
use std::process::{Command, Output};

/// Runs `cargo hub` and expects it to fail with one line that contains `wanted`.
fn expect_error(what: &str, args: &[&str], wanted: &str) -> Result<(), String> {
    expect_output(what, cargo_hub(args), wanted)
}

/// `cargo hub` with `args` where no control group hierarchy is mounted: in a mount
/// namespace of its own whose /sys/fs/cgroup is unmounted.
fn without_cgroups(args: &[&str]) -> Output {
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    Command::new("unshare")
        .args(["--mount", "--propagation", "private", "sh", "-c"])
        .arg("umount --recursive --lazy /sys/fs/cgroup && exec \"$0\" hub \"$@\"")
        .arg(cargo)
        .args(args)
        .current_dir(Layout::of_this_checkout().root)
        .output()
        .expect("unshare runs")
}

fn expect_output(what: &str, output: Output, wanted: &str) -> Result<(), String> {
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
    expect_error(
        "a task limit the course's own notebooks cannot run under",
        &["--learners", &good, "--tasks-per-learner", "100"],
        "--tasks-per-learner 100 is below the",
    )?;
    let low = dir.join("low-memory.yaml");
    fs::write(
        &low,
        "singleuser:\n  memory: {limit: 1G}\n  cpu: {limit: 1}\ncull: {timeout: 600, every: 60}\n",
    )
    .map_err(|e| e.to_string())?;
    expect_error(
        "a memory limit below what one learner needs",
        &[
            "--learners",
            &good,
            "--port",
            "8340",
            "--values",
            &low.display().to_string(),
        ],
        "is 1.00G, below the 1.5G one learner needs",
    )?;
    expect_output(
        "no control group hierarchy to enforce limits with",
        without_cgroups(&["--learners", &good, "--port", "8340"]),
        "pass --without-limits to serve a class that nothing protects",
    )?;
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
