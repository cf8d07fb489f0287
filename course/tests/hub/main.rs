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

mod bad_input;
mod faults;
mod image;
mod isolation;
mod limits;
mod shared;

use course::class::report::{CheckReport, IdleReport};
use course::class::{self, COURSE_DIR, ClassHub, PASSWORD};
use course::setup;
use kernel_setup::Layout;
use libtest_mimic::{Arguments, Trial};
use notebook_harness::browser::{Browser, Entry, Server};
use shared::{
    NOTEBOOK, PORT, cargo_hub, logs_in, notebook_code_cells, save_report, verdict, work_dir,
};
use std::path::Path;
use std::time::Duration;

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
        Trial::test("hub::bad_input_gets_a_one_line_error", bad_input::bad_input),
        Trial::test(
            "hub::a_learner_logs_in_and_runs_a_notebook_in_chromium",
            || Ok(in_chromium()?),
        ),
        Trial::test("hub::an_idle_server_is_culled", || Ok(idle_server()?)),
        Trial::test(
            "hub::a_learners_runaway_cells_stop_at_their_limits_and_spare_the_class",
            || Ok(faults::faults()?),
        ),
    ]
    .into_iter()
    .map(|trial| trial.with_ignored_flag(cannot_serve.is_some()))
    .chain([Trial::test(
        "hub::image_recipe_runs_the_tested_setup_on_a_clean_checkout",
        || Ok(image::image_recipe()?),
    )])
    .collect();
    if let Some(reason) = cannot_serve {
        eprintln!("hub: class trials ignored: {reason}");
    }
    libtest_mimic::run(&args, trials).exit();
}

fn small_class() -> Result<(), String> {
    let layout = Layout::of_this_checkout();
    let installation = setup::installation(&layout)?;
    let out = work_dir("class");
    let learners = vec!["classcheck-a".to_owned(), "classcheck-b".to_owned()];
    let mut hub = ClassHub::start(&layout.root, &learners, PORT, &[], &out)?;
    let report: Result<CheckReport, String> = hub
        .lesson(NOTEBOOK, &out)
        .and_then(|lesson| hub.client(&installation, "check", &lesson));
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
    save_report(&report, &out)?;
    let mut problems = Vec::new();
    if let Some(error) = &report.error {
        problems.push(format!("the class did not get through: {error}"));
    }
    check_cells(&report, &mut problems);
    isolation::check_isolation(&report.checks, &layout, &mut problems);
    // Each learner's kernels keep evcxr's cache in their own private home: kernels of
    // different learners never share one (see the README on evcxr's cache).
    for (learner, cache) in report.caches.iter().filter(|(_, c)| !c.is_private()) {
        problems.push(format!(
            "{learner}'s evcxr cache is not their own and private: {cache:?}"
        ));
    }
    if report.caches.len() != 2 {
        problems.push(format!(
            "the caches of both learners should be reported: {:?}",
            report.caches
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
    verdict(&problems, &logs_in(&out))
}

/// Every cell ran for both learners, without an error or a panic.
fn check_cells(report: &CheckReport, problems: &mut Vec<String>) {
    if report.cells.len() != 2 {
        problems.push(format!("{} learners ran cells, not 2", report.cells.len()));
    }
    let expected = notebook_code_cells();
    for (learner, cells) in &report.cells {
        if cells.len() != expected {
            problems.push(format!("{learner} ran {} cells of {expected}", cells.len()));
        }
        for cell in cells.iter().filter(|c| c.failed()) {
            problems.push(format!("{learner}: cell {} failed: {cell:?}", cell.index));
        }
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
    let report: Result<IdleReport, String> = hub.client(
        &installation,
        "idle",
        &["--limit".to_owned(), format!("{}", 4.0 * IDLE_TIMEOUT)],
    );
    let left = hub.stop();
    let report = report?;
    save_report(&report, &dir)?;
    if let Some(error) = &report.error {
        return Err(format!("the idle server was not culled: {error}"));
    }
    let culled_after = *report
        .culled_after
        .get(learner)
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
    let notebook = Path::new(COURSE_DIR).join(NOTEBOOK);
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
    verdict(
        &problems,
        &format!("screenshot {}, {}", screenshot.display(), logs_in(&dir)),
    )
}
