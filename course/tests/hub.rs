//! A small class through `cargo hub`: two learners log in on the hub's page, start
//! their servers, pull the course with nbgitpuller and run a short notebook in step
//! (`course/classroom/classroom.py check`, the same client as the classroom benchmark). Then
//! the isolation checks: each learner's own token and browser session against the
//! other's server, contents, kernels and kernel websocket; nothing reachable without
//! logging in; a learner's kernel cannot read the other's home; every socket on
//! loopback; the limits of the values file reach the learner; no secret in the log.
//! Each learner's evcxr cache is in their own private home. The hub must leave
//! nothing running.
//!
//! Bad input, each a one-line error: a learner name that cannot be an account, a
//! learner that clashes with a system account, an idle timeout under 10 s, a port in
//! use, a hub started twice and the proxy's install missing.
//!
//! In Chromium, one learner logs in on the hub's page, lands in JupyterLab on their
//! pulled copy of the course, and runs the short notebook with Run All.
//!
//! A server left idle is stopped by the hub's idle culler after `--idle-timeout`.
//!
//! Past one machine: the single-user image's recipe (`kernel-setup/hub/Dockerfile`)
//! must install the course with `image-setup.sh` and nothing else; that script runs
//! here on a clean clone and the kernel it installs executes a notebook. The values
//! file must parse, and the limits it names are the ones the local hub's learners get.
//!
//! The hub creates system accounts and its learners read this checkout, so the class,
//! browser and bad-input trials need root and a checkout other accounts can read (CI runs as root); elsewhere the
//! trials are ignored, and say so.

use course::class::{self, ClassHub, PASSWORD};
use course::setup;
use kernel_setup::Layout;
use libtest_mimic::{Arguments, Failed, Trial};
use notebook_harness::Notebook;
use notebook_harness::browser::{Browser, Entry, Server};
use serde_json::Value;
use std::fs;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::Duration;

/// The short notebook each learner runs: processes, so it also builds the support
/// crate's worker program in the learner's own folders.
const NOTEBOOK: &str = "notebooks/slides/topic_120_multiprocessing_part1.ipynb";
const PORT: u16 = 8310;

fn main() {
    let mut args = Arguments::from_args();
    args.test_threads = Some(1);
    // The hub runs as root and its learners' accounts read this checkout; where that
    // cannot be, the class trials are ignored and say why.
    let cannot_serve = kernel_setup::can_serve_from(&Layout::of_this_checkout()).err();
    let trials = vec![
        Trial::test(
            "hub::two_learners_run_a_notebook_and_cannot_reach_each_other",
            || Ok(small_class()?),
        ),
        Trial::test("hub::bad_input_gets_a_one_line_error", bad_input),
        Trial::test(
            "hub::a_learner_logs_in_and_runs_a_notebook_in_chromium",
            || Ok(in_chromium()?),
        ),
        Trial::test("hub::an_idle_server_is_culled", || Ok(idle_server()?)),
    ]
    .into_iter()
    .map(|trial| trial.with_ignored_flag(cannot_serve.is_some()))
    .chain([Trial::test(
        "hub::image_recipe_runs_the_tested_setup_on_a_clean_checkout",
        || Ok(image_recipe()?),
    )])
    .collect();
    if let Some(reason) = cannot_serve {
        eprintln!("hub: class trials ignored: {reason}");
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
    let installation = setup::installation(&layout)?;
    let out = work_dir("class");
    let learners = vec!["classcheck-a".to_owned(), "classcheck-b".to_owned()];
    let mut hub = ClassHub::start(&layout.root, &learners, PORT, &[], &out)?;
    let report = hub.client(
        &installation,
        "check",
        &["--notebook".to_owned(), NOTEBOOK.to_owned()],
    );
    let token = hub.proxy_token();
    // A second hub from this checkout, while the first runs.
    let second = cargo_hub(&[
        "--learners",
        &out.join("learners.txt").display().to_string(),
        "--port",
        &(PORT + 10).to_string(),
    ]);
    let left = hub.stop();
    let report = report?;
    fs::write(out.join("report.json"), report.to_string()).map_err(|e| e.to_string())?;
    let mut problems = Vec::new();
    if let Some(error) = report["error"].as_str() {
        problems.push(format!("the class did not get through: {error}"));
    }
    check_cells(&report, &mut problems);
    check_isolation(&report["checks"], &layout, &mut problems);
    // Each learner's kernels keep evcxr's cache in their own private home: kernels of
    // different learners never share one (see the README on evcxr's cache).
    for (learner, cache) in report["caches"].as_object().into_iter().flatten() {
        let private = cache["entries"].as_u64().unwrap_or(0) > 0
            && cache["owner_is_learner"] == true
            && cache["home_mode"] == "0o700"
            && cache["cache_mode"] == "0o700";
        if !private {
            problems.push(format!(
                "{learner}'s evcxr cache is not their own and private: {cache}"
            ));
        }
    }
    if report["caches"].as_object().is_none_or(|c| c.len() != 2) {
        problems.push(format!(
            "the caches of both learners should be reported: {}",
            report["caches"]
        ));
    }
    if !left.is_empty() {
        problems.push(format!("left running after the hub stopped: {left:?}"));
    }
    match token {
        Some(token) => {
            if let Err(e) = class::secrets_shown(&layout, &hub.log, &token) {
                problems.push(e);
            }
        }
        None => problems.push("the proxy's token could not be read to look for it".to_owned()),
    }
    let stderr = String::from_utf8_lossy(&second.stderr);
    if second.status.success()
        || !stderr.contains("already running")
        || stderr.trim().lines().count() != 1
    {
        problems.push(format!(
            "a second hub from this checkout should stop with one line; got {}: {stderr}",
            second.status
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
    Notebook::load(&path).map_or(0, |notebook| notebook.code_cells().count())
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
    let (memory, cpus) = match values_limits(layout) {
        Ok(limits) => limits,
        Err(e) => {
            problems.push(e);
            return;
        }
    };
    let mut expect = |name: &str, ok: &dyn Fn(&Value) -> bool| match checks.get(name) {
        Some(found) if ok(found) => {}
        found => problems.push(format!("{name}: got {found:?}")),
    };
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
fn values_limits(layout: &Layout) -> Result<(String, f64), String> {
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

/// The Dockerfile installs the course by `image-setup.sh` alone; the script, run on a
/// clean clone (its evcxr build folder seeded from this checkout's, as a Docker layer
/// cache would be), leaves a kernel that runs a notebook.
fn image_recipe() -> Result<(), String> {
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
    // This checkout's evcxr build folder seeds the clone's.
    setup::installation(&layout)?;
    let clone = layout.root.join("target/hub/image-checkout");
    let _ = fs::remove_dir_all(&clone);
    run(Command::new("git")
        .args(["clone", "--quiet", "--no-hardlinks"])
        .arg(&layout.root)
        .arg(&clone))?;
    fs::create_dir_all(clone.join(".local")).map_err(|e| e.to_string())?;
    run(Command::new("cp")
        .arg("-al")
        .arg(layout.root.join(".local/build"))
        .arg(clone.join(".local/build")))?;
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

/// How long the idle trial's hub lets a server idle.
const IDLE_TIMEOUT: f64 = 30.0;

/// One learner starts a server and leaves it alone: the hub's idle culler must stop
/// it after `--idle-timeout`, not before, and within a check of the culler's after it
/// (it checks once per timeout), with everything of the learner's gone.
fn idle_server() -> Result<(), String> {
    let layout = Layout::of_this_checkout();
    let installation = setup::installation(&layout)?;
    let dir = work_dir("idle");
    let learner = "classcheck-d";
    let timeout = format!("{IDLE_TIMEOUT}");
    let mut hub = ClassHub::start(
        &layout.root,
        &[learner.to_owned()],
        PORT + 30,
        &["--idle-timeout", &timeout],
        &dir,
    )?;
    let report = hub.client(
        &installation,
        "idle",
        &["--limit".to_owned(), format!("{}", 4.0 * IDLE_TIMEOUT)],
    );
    let left = hub.stop();
    let report = report?;
    fs::write(dir.join("report.json"), report.to_string()).map_err(|e| e.to_string())?;
    if let Some(error) = report["error"].as_str() {
        return Err(format!("the idle server was not culled: {error}"));
    }
    let culled_after = report["culled_after"][learner]
        .as_f64()
        .ok_or("the client reported no culling time")?;
    // The server reports its last activity when it starts, a few seconds before it
    // is ready; the culler then waits out the timeout, checking once per timeout.
    if !(IDLE_TIMEOUT - 10.0..=2.0 * IDLE_TIMEOUT + 15.0).contains(&culled_after) {
        return Err(format!(
            "culled {culled_after:.0} s after the server was ready, with --idle-timeout {IDLE_TIMEOUT}"
        ));
    }
    if !left.is_empty() {
        return Err(format!("left running after the hub stopped: {left:?}"));
    }
    Ok(())
}

/// One learner, in Chromium: the hub's login page, then Run All on the short notebook
/// in their own copy of the course.
fn in_chromium() -> Result<(), String> {
    let layout = Layout::of_this_checkout();
    setup::installation(&layout)?;
    let browser = Browser::ensure(&layout.root)?;
    let dir = work_dir("browser");
    let learner = "classcheck-c";
    let mut hub = ClassHub::start(&layout.root, &[learner.to_owned()], PORT + 20, &[], &dir)?;
    let server = Server {
        url: format!("{}/user/{learner}", hub.url()),
        entry: Entry::HubLogin {
            user: learner.to_owned(),
            password: PASSWORD.to_owned(),
        },
    };
    let notebook = Path::new("concurrency-course").join(NOTEBOOK);
    let screenshot = layout.root.join("target/browser/hub-learner.png");
    let shown = browser.run_notebook(
        &server,
        &notebook,
        &dir,
        &screenshot,
        Duration::from_secs(600),
    );
    let left = hub.stop();
    let page = shown?;
    let mut problems = Vec::new();
    if page.kernel_name() != "Rust" {
        problems.push(format!(
            "the toolbar names the kernel `{}`",
            page.kernel_name()
        ));
    }
    let code: Vec<_> = page
        .cells()
        .into_iter()
        .filter(|c| c.kind == "code")
        .collect();
    if code.len() != notebook_code_cells() {
        problems.push(format!("the page shows {} code cells", code.len()));
    }
    for (index, cell) in code.iter().enumerate() {
        if !cell.prompt.starts_with('[') || cell.prompt.contains('*') || cell.prompt == "[ ]:" {
            problems.push(format!(
                "code cell {index} did not run: prompt {}",
                cell.prompt
            ));
        }
        if let Some(error) = cell.outputs.iter().find(|o| o.mime.ends_with("stderr")) {
            problems.push(format!("code cell {index} shows an error: {}", error.text));
        }
    }
    let printed: String = code
        .iter()
        .flat_map(|c| c.outputs.iter().map(|o| o.text))
        .collect();
    if printed.matches("Hello, from task").count() < 10 {
        problems.push(format!("the tasks' greetings are missing: {printed}"));
    }
    if !left.is_empty() {
        problems.push(format!("left running after the hub stopped: {left:?}"));
    }
    if problems.is_empty() {
        Ok(())
    } else {
        Err(format!(
            "{}\n(screenshot {}, logs in {})",
            problems.join("\n"),
            screenshot.display(),
            dir.display()
        ))
    }
}
