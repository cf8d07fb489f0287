//! A small class through `cargo hub`: two learners log in on the hub's page, start
//! their servers, pull the course with nbgitpuller and run a short notebook in step
//! (`tests/hub/classroom.py check`, the same client as the classroom benchmark). Then
//! the isolation checks: each learner's own token and browser session against the
//! other's server, contents, kernels and kernel websocket; nothing reachable without
//! logging in; a learner's kernel cannot read the other's home; every socket on
//! loopback; the limits of the values file reach the learner; no secret in the log.
//! The hub must leave nothing running.
//!
//! Bad input, each a one-line error: a learner name that cannot be an account, a
//! learner that clashes with a system account, a port in use, a hub started twice and
//! the proxy's install missing.
//!
//! The hub creates system accounts, so this needs root (CI runs as root); elsewhere the
//! trials are ignored, and say so.

use kernel_setup::{Layout, ensure};
use libtest_mimic::{Arguments, Failed, Trial};
use serde_json::Value;
use std::fs;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// The short notebook each learner runs: processes, so it also builds the support
/// crate's worker program in the learner's own folders.
const NOTEBOOK: &str = "notebooks/slides/topic_120_multiprocessing_part1.ipynb";
const PORT: u16 = 8310;

fn main() {
    let mut args = Arguments::from_args();
    args.test_threads = Some(1);
    let root = kernel_setup::running_as_root();
    let trials = vec![
        Trial::test(
            "hub::two_learners_run_a_notebook_and_cannot_reach_each_other",
            || Ok(small_class()?),
        ),
        Trial::test("hub::bad_input_gets_a_one_line_error", bad_input),
    ]
    .into_iter()
    .map(|trial| trial.with_ignored_flag(!root))
    .collect();
    if !root {
        eprintln!("hub: the hub creates a system account per learner, so these run as root only");
    }
    libtest_mimic::run(&args, trials).exit();
}

fn work_dir(name: &str) -> PathBuf {
    let dir = Layout::of_this_checkout()
        .root
        .join("target")
        .join("hub")
        .join(name);
    let _ = fs::remove_dir_all(&dir);
    fs::create_dir_all(&dir).expect("target/hub is writable");
    dir
}

fn small_class() -> Result<(), String> {
    let layout = Layout::of_this_checkout();
    let installation = ensure(&layout).map_err(|e| e.to_string())?;
    let out = work_dir("class");
    let output = installation
        .python()
        .arg(layout.root.join("tests/hub/classroom.py"))
        .args(["check", "--root"])
        .arg(&layout.root)
        .arg("--out")
        .arg(&out)
        .args(["--port", &PORT.to_string(), "--notebook", NOTEBOOK])
        .output()
        .map_err(|e| format!("cannot run classroom.py: {e}"))?;
    let report: Value = serde_json::from_slice(&output.stdout).map_err(|e| {
        format!(
            "classroom.py printed no report ({e}); its stderr:\n{}",
            String::from_utf8_lossy(&output.stderr)
        )
    })?;
    fs::write(out.join("report.json"), &output.stdout).map_err(|e| e.to_string())?;
    let mut problems = Vec::new();
    if let Some(error) = report["error"].as_str() {
        problems.push(format!("the class did not get through: {error}"));
    }
    check_cells(&report, &mut problems);
    check_isolation(&report["checks"], &layout, &mut problems);
    if let Some(left) = report["leftovers"].as_array().filter(|l| !l.is_empty()) {
        problems.push(format!("left running after the hub stopped: {left:?}"));
    }
    if report["hub_log_has_secret"] != Value::Bool(false) {
        problems.push("the hub's log shows the cookie secret or the proxy's token".to_owned());
    }
    check_secret_not_tracked(&report, &layout, &mut problems);
    let second = &report["second_hub"];
    let stderr = second["stderr"].as_str().unwrap_or("");
    if second["code"] == 0
        || !stderr.contains("already running")
        || stderr.trim().lines().count() != 1
    {
        problems.push(format!(
            "a second hub from this checkout should stop with one line; got {second}"
        ));
    }
    if problems.is_empty() {
        Ok(())
    } else {
        Err(format!(
            "{}\n(logs in {})",
            problems.join("\n"),
            out.display()
        ))
    }
}

/// Every cell ran for both learners, without an error or a panic.
fn check_cells(report: &Value, problems: &mut Vec<String>) {
    let Some(learners) = report["cells"].as_object() else {
        return;
    };
    if learners.len() != 2 {
        problems.push(format!("{} learners ran cells, not 2", learners.len()));
    }
    let expected = notebook_code_cells();
    for (learner, cells) in learners {
        let cells = cells.as_array().cloned().unwrap_or_default();
        if cells.len() != expected {
            problems.push(format!("{learner} ran {} cells of {expected}", cells.len()));
        }
        for cell in cells {
            let failed = cell["status"] != "ok" && cell["expected_error"] != true;
            if failed || cell["panicked"] == true {
                problems.push(format!("{learner}: cell {} failed: {cell}", cell["index"]));
            }
        }
    }
}

fn notebook_code_cells() -> usize {
    let path = Layout::of_this_checkout().root.join(NOTEBOOK);
    let notebook: Value =
        serde_json::from_str(&fs::read_to_string(path).expect("the notebook is readable"))
            .expect("the notebook is JSON");
    notebook["cells"]
        .as_array()
        .map(|cells| cells.iter().filter(|c| c["cell_type"] == "code").count())
        .unwrap_or(0)
}

fn check_isolation(checks: &Value, layout: &Layout, problems: &mut Vec<String>) {
    let Some(checks) = checks.as_object() else {
        problems.push("no isolation checks were made".to_owned());
        return;
    };
    let mut expect = |name: &str, ok: &dyn Fn(&Value) -> bool| match checks.get(name) {
        Some(found) if ok(found) => {}
        found => problems.push(format!("{name}: got {found:?}")),
    };
    for (name, _) in checks.iter().filter(|(name, _)| name.contains("on b's")) {
        let name = name.clone();
        let denied = if name.ends_with("websocket") {
            |v: &Value| v == 403
        } else if name.contains("hub API") {
            |v: &Value| v == 403 || v == 404
        } else {
            |v: &Value| v == 403
        };
        expect(&name, &denied);
    }
    expect("a's token on a's own contents", &|v| v == 200);
    // Either refused, or the login page.
    let to_login = |v: &Value| {
        v.as_str()
            .is_some_and(|s| s.starts_with("403 ") || s == "200 /hub/login")
    };
    for path in [
        "/hub/home",
        "/hub/api/users",
        "/user/classcheck-a/api/contents",
        "/user/classcheck-a/lab",
    ] {
        expect(&format!("no login on {path}"), &to_login);
    }
    expect("unknown learner logs in", &|v| v == 403);
    expect("wrong password", &|v| v == 403);
    expect("a's kernel reads b's home", &|v| v == "PermissionDenied");
    let uid = checks.get("a's uid").cloned();
    expect("a's kernel runs as uid", &|v| Some(v) == uid.as_ref());
    let (memory, cpus) = values_limits(layout);
    expect("MEM_LIMIT in a's kernel", &|v| {
        v.as_str() == Some(memory.as_str())
    });
    expect("CPU_LIMIT in a's kernel", &|v| {
        v.as_str().and_then(|s| s.parse::<f64>().ok()) == Some(cpus)
    });
    expect("listening", &|v| {
        v.as_array().is_some_and(|addresses| {
            addresses.len() >= 3
                && addresses
                    .iter()
                    .all(|a| a.as_str().is_some_and(|a| a.starts_with("127.0.0.1:")))
        })
    });
}

/// `singleuser.memory.limit` (in bytes, as JupyterHub passes it on) and
/// `singleuser.cpu.limit` of the Zero to JupyterHub values file.
fn values_limits(layout: &Layout) -> (String, f64) {
    let text = fs::read_to_string(layout.hub_values()).expect("the values file is readable");
    let field = |section: &str, key: &str| -> String {
        let mut in_section = false;
        for line in text.lines() {
            let trimmed = line.trim();
            if trimmed == format!("{section}:") {
                in_section = true;
            } else if in_section && trimmed.starts_with(&format!("{key}:")) {
                return trimmed[key.len() + 1..].trim().trim_matches('"').to_owned();
            } else if in_section && !line.starts_with("    ") {
                in_section = false;
            }
        }
        panic!("the values file has no singleuser.{section}.{key}");
    };
    let memory = field("memory", "limit");
    let (number, unit) = memory.split_at(memory.trim_end_matches(char::is_alphabetic).len());
    let scale: f64 = match unit {
        "K" => 1024.0,
        "M" => 1024.0 * 1024.0,
        "G" => 1024.0 * 1024.0 * 1024.0,
        _ => 1.0,
    };
    let bytes = (number.parse::<f64>().expect("a number") * scale) as u64;
    (
        bytes.to_string(),
        field("cpu", "limit").parse().expect("a number"),
    )
}

/// The proxy's token is nowhere in the repository's tracked files.
fn check_secret_not_tracked(report: &Value, layout: &Layout, problems: &mut Vec<String>) {
    let Some(token) = report["proxy_token"].as_str() else {
        problems.push("could not read the proxy's token to look for it".to_owned());
        return;
    };
    let found = Command::new("git")
        .args(["grep", "-q", "-F", token])
        .current_dir(&layout.root)
        .status()
        .is_ok_and(|s| s.success());
    if found {
        problems.push("the proxy's token is in a tracked file".to_owned());
    }
}

fn cargo_hub(args: &[&str]) -> Output {
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    Command::new(cargo)
        .arg("hub")
        .args(args)
        .current_dir(Layout::of_this_checkout().root)
        .output()
        .expect("cargo runs")
}

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

fn bad_input() -> Result<(), Failed> {
    let layout = Layout::of_this_checkout();
    let installation = ensure(&layout).map_err(|e| e.to_string())?;
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
