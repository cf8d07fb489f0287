//! The harness tested on fixture notebooks: one that passes, and ones that fail to
//! compile, panic, exit, crash, hang, display a broken picture or are not notebooks at
//! all. Each failure must be reported as a failure that names the right cell, within
//! its timeout, leaving no kernel behind, and no server a notebook started (`hangs`
//! and `serves_then_exits` start one).

use kernel_setup::{Installation, Layout, ensure};
use libtest_mimic::{Arguments, Failed, Trial};
use notebook_harness::{Execution, Failure, Runner};
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

type Expectation = fn(Result<Execution, Failure>) -> Result<(), String>;

fn expect_failure_at(
    result: Result<Execution, Failure>,
    index: usize,
    text: &str,
) -> Result<(), String> {
    let failure = match result {
        Ok(_) => return Err("the notebook should have failed but passed".to_owned()),
        Err(failure) => failure,
    };
    let report = failure.to_string();
    match &failure.cell {
        Some((at, _)) if *at == index => {}
        other => {
            return Err(format!(
                "expected the failure at cell {index}, got {other:?}: {report}"
            ));
        }
    }
    if !report.contains(text) {
        return Err(format!("the report should mention `{text}`:\n{report}"));
    }
    Ok(())
}

const FIXTURES: &[(&str, Expectation)] = &[
    ("passes", |result| {
        let execution = result.map_err(|f| f.to_string())?;
        let nb = &execution.notebook;
        let value = nb.cell("x + 2")?.number()?;
        if value != 42.0 {
            return Err(format!("x + 2 displayed {value}"));
        }
        let tagged = nb.cell("not a number")?;
        let error = tagged
            .error()
            .ok_or("the raises-exception cell has no error output")?;
        if !error.contains("mismatched types") {
            return Err(format!("expected the compiler's error text, got: {error}"));
        }
        nb.cell("still running")?.expect_text("still running: 40")
    }),
    ("compile_error", |result| {
        expect_failure_at(result, 2, "mismatched types")
    }),
    ("panics", |result| {
        expect_failure_at(result, 1, "deliberate panic in a fixture")
    }),
    ("hangs", |result| {
        expect_failure_at(result, 1, "did not finish within its timeout")
    }),
    // The kernel's user-code process dies; evcxr reports it and starts a new one.
    ("exits", |result| {
        expect_failure_at(
            result,
            1,
            "Subprocess terminated with status: exit status: 3",
        )
    }),
    // evcxr's crash guard turns the SIGSEGV into an abort; either way a signal ends it.
    ("segfault", |result| {
        expect_failure_at(result, 1, "Subprocess terminated with status: signal:")
    }),
    ("broken_picture", |result| {
        expect_failure_at(
            result,
            1,
            "displayed a broken picture: the SVG is not well-formed",
        )
    }),
    ("raises_but_succeeds", |result| {
        expect_failure_at(
            result,
            0,
            "tagged `raises-exception` but ran without an error",
        )
    }),
    ("not_json", |result| match result {
        Err(failure) if failure.to_string().contains("not a valid notebook") => Ok(()),
        other => Err(format!(
            "expected a report that the file is not a notebook, got {other:?}"
        )),
    }),
];

/// Checks that the run of `source` (written as `name`) left nothing behind: no kernel
/// process, and no server the notebook announced (`serving http://127.0.0.1:PORT` in
/// its output, which nbconvert's debug log records) still accepting connections. A
/// fixture whose source announces a server must have printed one, or the check would
/// prove nothing.
fn nothing_left_behind(runner: &Runner, source: &Path, name: &str) -> Result<(), String> {
    if let n @ 1.. = runner.running_kernels(Path::new(name)) {
        return Err(format!(
            "{n} kernel process(es) still running after the run"
        ));
    }
    let log_path = runner.output_dir.join(name).with_extension("log");
    // No log: nbconvert never started (the file was not a notebook).
    let log = std::fs::read_to_string(&log_path).unwrap_or_default();
    // The log also echoes the cell's source (`serving http://{}`); only outputs parse.
    let mut addresses: Vec<std::net::SocketAddr> = log
        .split("serving http://")
        .skip(1)
        .filter_map(|rest| rest.split(|c: char| c.is_whitespace() || c == '\\').next())
        .filter_map(|address| address.parse().ok())
        .collect();
    addresses.sort();
    addresses.dedup();
    let announces = std::fs::read_to_string(source).is_ok_and(|s| s.contains("serving http://"));
    if announces && addresses.is_empty() {
        return Err(format!(
            "{name} announced no server; the check would prove nothing"
        ));
    }
    for address in &addresses {
        if std::net::TcpStream::connect_timeout(address, Duration::from_secs(2)).is_ok() {
            return Err(format!(
                "the server at {address} that the notebook started still accepts connections"
            ));
        }
    }
    Ok(())
}

fn main() {
    let args = Arguments::from_args();
    let layout = Layout::of_this_checkout();
    let fixtures = layout.root.join("tests").join("fixtures");
    let runner = if args.list {
        None
    } else {
        Some(
            ensure(&layout)
                .map_err(|e| e.to_string())
                .map(|installation| {
                    let mut runner = Runner::new(installation);
                    runner.cell_timeout = Duration::from_secs(30);
                    runner.output_dir = layout.root.join("target").join("executed-fixtures");
                    Arc::new(runner)
                }),
        )
    };
    let runner_for =
        move |runner: &Option<Result<Arc<Runner>, String>>| -> Result<Arc<Runner>, Failed> {
            runner
                .clone()
                .expect("set up unless listing")
                .map_err(Failed::from)
        };

    let mut trials: Vec<Trial> = FIXTURES
        .iter()
        .map(|&(name, expectation)| {
            let runner = runner.clone();
            let path = fixtures.join(format!("{name}.ipynb"));
            Trial::test(format!("fixture::{name}"), move || {
                let runner = runner_for(&runner)?;
                let file = format!("{name}.ipynb");
                expectation(runner.execute(&path, Path::new(&file)))?;
                Ok(nothing_left_behind(&runner, &path, &file)?)
            })
        })
        .collect();

    let path = fixtures.join("hangs.ipynb");
    let setup = runner.clone();
    let hanging = runner.clone();
    trials.push(Trial::test(
        "whole_notebook_timeout_kills_nbconvert_and_kernel",
        move || {
            let mut runner = (*runner_for(&hanging)?).clone();
            runner.cell_timeout = Duration::from_secs(600);
            runner.notebook_timeout = Duration::from_secs(40);
            let started = std::time::Instant::now();
            let result = runner.execute(&path, Path::new("hangs-whole.ipynb"));
            if started.elapsed() > Duration::from_secs(60) {
                return Err(
                    format!("took {:?} to give up on a 40 s limit", started.elapsed()).into(),
                );
            }
            expect_failure_at(result, 1, "did not finish within 40 s")?;
            Ok(nothing_left_behind(&runner, &path, "hangs-whole.ipynb")?)
        },
    ));
    let path = fixtures.join("serves_then_exits.ipynb");
    let serving = runner.clone();
    trials.push(Trial::test("pep_site_ends_with_its_kernel", move || {
        let mut runner = (*runner_for(&serving)?).clone();
        // Its first cell compiles the HTTP crates, which takes longer than 30 s cold.
        runner.cell_timeout = Duration::from_secs(300);
        let result = runner.execute(&path, Path::new("serves_then_exits.ipynb"));
        expect_failure_at(
            result,
            1,
            "Subprocess terminated with status: exit status: 3",
        )?;
        Ok(nothing_left_behind(
            &runner,
            &path,
            "serves_then_exits.ipynb",
        )?)
    }));
    let passes = fixtures.join("passes.ipynb");
    let target = layout.root.join("target");
    trials.push(Trial::test("missing_jupyter_is_named", {
        let passes = passes.clone();
        let root = target.join("fault-no-jupyter");
        move || {
            let _ = std::fs::create_dir_all(&root);
            let runner = Runner::new(Installation {
                layout: Layout { root: root.clone() },
            });
            let report = match runner.execute(&passes, Path::new("no-jupyter.ipynb")) {
                Ok(_) => return Err("ran without a Jupyter installation".into()),
                Err(failure) => failure.to_string(),
            };
            if !report.contains("cannot start jupyter nbconvert") || !report.contains("cargo setup")
            {
                return Err(format!("the report should say Jupyter is missing: {report}").into());
            }
            Ok(())
        }
    }));
    let real = layout.clone();
    trials.push(Trial::test("missing_evcxr_is_named", move || {
        // Only once the real installation is in place is a broken copy meaningful.
        runner_for(&setup)?;
        let root = target.join("fault-no-evcxr");
        let broken = broken_kernel_layout(&real, &root).map_err(Failed::from)?;
        let mut runner = Runner::new(Installation { layout: broken });
        runner.startup_timeout = Duration::from_secs(30);
        let started = std::time::Instant::now();
        let report = match runner.execute(&passes, Path::new("no-evcxr.ipynb")) {
            Ok(_) => return Err("ran with a kernel that does not exist".into()),
            Err(failure) => failure.to_string(),
        };
        if started.elapsed() > Duration::from_secs(90) {
            return Err(format!("took {:?} to report a missing kernel", started.elapsed()).into());
        }
        if !report.contains("evcxr_jupyter") {
            return Err(
                format!("the report should name the missing evcxr_jupyter: {report}").into(),
            );
        }
        Ok(nothing_left_behind(&runner, &passes, "no-evcxr.ipynb")?)
    }));
    libtest_mimic::run(&args, trials).exit();
}

/// A copy of the installation's layout whose `rust` kernel points at an evcxr_jupyter
/// that does not exist, as after a deleted or half-built install.
fn broken_kernel_layout(real: &Layout, root: &Path) -> Result<Layout, String> {
    let venv = root.join(".local").join("venv");
    let kernel_dir = venv.join("share/jupyter/kernels/rust");
    let _ = std::fs::remove_dir_all(root);
    std::fs::create_dir_all(&kernel_dir).map_err(|e| e.to_string())?;
    std::os::unix::fs::symlink(real.venv().join("bin"), venv.join("bin"))
        .map_err(|e| e.to_string())?;
    let spec = std::fs::read_to_string(real.kernel_dir().join("kernel.json"))
        .map_err(|e| e.to_string())?;
    let missing = root.join("nowhere/evcxr_jupyter");
    let spec = spec.replace(
        &real.evcxr_jupyter().display().to_string(),
        &missing.display().to_string(),
    );
    std::fs::write(kernel_dir.join("kernel.json"), spec).map_err(|e| e.to_string())?;
    Ok(Layout {
        root: root.to_owned(),
    })
}
