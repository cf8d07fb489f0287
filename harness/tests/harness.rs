//! The harness tested on fixture notebooks: one that passes, and ones that fail to
//! compile, fail with the wrong error or name none, panic (in the cell's thread, which
//! the kernel reports as a success, or in a thread it spawns), exit, crash, kill their
//! kernel, hang, display a broken picture or are not notebooks at all; and one whose
//! timelines record threads started in earlier cells (each cell has its own copy of
//! the support crate). Each failure must come back with its type and the right cell,
//! within its timeout, leaving no kernel behind, and no server a notebook started
//! (`hangs` and `serves_then_exits` start one). A cell with a `:dep` line waits for its
//! turn at the kernels' shared evcxr cache, and times out when it never comes.

use kernel_setup::{Installation, Layout, ensure};
use libtest_mimic::{Arguments, Failed, Trial};
use notebook_harness::{Execution, Failure, FailureKind, Notebook, Runner};
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

type Expectation = fn(&Result<Execution, Failure>) -> Result<(), String>;

fn expect_failure(
    result: &Result<Execution, Failure>,
    kind: FailureKind,
    index: Option<usize>,
    text: &str,
) -> Result<(), String> {
    let failure = match result {
        Ok(_) => return Err("the notebook should have failed but passed".to_owned()),
        Err(failure) => failure,
    };
    let report = failure.to_string();
    if failure.kind != kind {
        return Err(format!(
            "expected a failure of kind {kind:?}, got {:?}: {report}",
            failure.kind
        ));
    }
    if failure.cell.as_ref().map(|(at, _)| *at) != index {
        return Err(format!(
            "expected the failure at cell {index:?}, got {:?}: {report}",
            failure.cell
        ));
    }
    if !report.contains(text) {
        return Err(format!("the report should mention `{text}`:\n{report}"));
    }
    Ok(())
}

/// What evcxr reports for a compile error or a user-code process that died.
fn evcxr_error() -> FailureKind {
    FailureKind::CellError {
        ename: "Error".to_owned(),
    }
}

/// The user-code process of cell 1 exited with status 3; evcxr reports it and starts a
/// new one.
fn exited_with_3(result: &Result<Execution, Failure>) -> Result<(), String> {
    expect_failure(
        result,
        evcxr_error(),
        Some(1),
        "Subprocess terminated with status: exit status: 3",
    )
}

const FIXTURES: &[(&str, Expectation)] = &[
    ("passes", |result| {
        let execution = result.as_ref().map_err(|f| f.to_string())?;
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
        expect_failure(result, evcxr_error(), Some(2), "mismatched types")
    }),
    ("wrong_error", |result| {
        expect_failure(
            result,
            FailureKind::WrongError,
            Some(1),
            "should fail with E0499, but failed with",
        )
    }),
    ("unnamed_error", |result| {
        expect_failure(
            result,
            FailureKind::ExpectedErrorUnnamed,
            Some(0),
            "names no error code",
        )
    }),
    // The kernel reports the panicking cell as a success (`preserve_vars_on_panic`):
    // a Panicked failure, not a CellError, is what says the harness caught it anyway.
    ("panics", |result| {
        expect_failure(
            result,
            FailureKind::Panicked,
            Some(1),
            "deliberate panic in a fixture",
        )
    }),
    ("thread_panics", |result| {
        expect_failure(
            result,
            FailureKind::Panicked,
            Some(1),
            "deliberate panic in a spawned thread",
        )
    }),
    ("hangs", |result| {
        expect_failure(
            result,
            FailureKind::CellTimeout,
            Some(1),
            "did not finish within its timeout (30 s)",
        )
    }),
    ("exits", exited_with_3),
    // evcxr's crash guard turns the SIGSEGV into an abort; either way a signal ends it.
    ("segfault", |result| {
        expect_failure(
            result,
            evcxr_error(),
            Some(1),
            "Subprocess terminated with status: signal:",
        )
    }),
    ("kills_kernel", |result| {
        expect_failure(result, FailureKind::DeadKernel, Some(1), "the kernel died")
    }),
    ("broken_picture", |result| {
        expect_failure(
            result,
            FailureKind::BrokenPicture,
            Some(1),
            "displayed a broken picture: the SVG is not well-formed",
        )
    }),
    ("raises_but_succeeds", |result| {
        expect_failure(
            result,
            FailureKind::ExpectedErrorMissing,
            Some(0),
            "tagged `raises-exception` (E0308) but ran without an error",
        )
    }),
    ("not_json", |result| {
        expect_failure(result, FailureKind::Malformed, None, "not a valid notebook")
    }),
];

/// Fixtures whose first cell loads the support crate, which can take longer than the
/// other fixtures' 30 s cell timeout when it compiles afresh.
const CRATE_FIXTURES: &[(&str, Expectation)] = &[
    // The workshop's PEP site stops with its kernel's user-code process.
    ("serves_then_exits", exited_with_3),
    // Each cell has its own copy of the crate; the fixture's own asserts check the
    // lanes, and a failed one is a panic.
    ("timeline_across_cells", |result| {
        let execution = result.as_ref().map_err(|f| f.to_string())?;
        execution
            .notebook
            .cell("a thread from an earlier cell")?
            .expect_text("\"background\"")
    }),
];

/// What the run's cells printed, as far as they ran.
fn printed(result: &Result<Execution, Failure>) -> String {
    let notebook: Option<&Notebook> = match result {
        Ok(execution) => Some(&execution.notebook),
        Err(failure) => failure.executed.as_deref(),
    };
    notebook
        .map(|nb| nb.code_cells().map(|c| c.text()).collect())
        .unwrap_or_default()
}

/// Checks that the run of `source` (written as `name`) left nothing behind: no kernel
/// process, and no server the notebook announced (`serving http://127.0.0.1:PORT` in
/// what it `printed`) still accepting connections. A fixture whose source announces a
/// server must have printed one, or the check would prove nothing.
fn nothing_left_behind(
    runner: &Runner,
    source: &Path,
    name: &str,
    printed: &str,
) -> Result<(), String> {
    if let n @ 1.. = runner.running_kernels(Path::new(name)) {
        return Err(format!(
            "{n} kernel process(es) still running after the run"
        ));
    }
    let mut addresses: Vec<std::net::SocketAddr> = printed
        .split("serving http://")
        .skip(1)
        .filter_map(|rest| rest.split(char::is_whitespace).next())
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

/// Takes the lock the driver takes around `:dep` cells, as a kernel building its
/// dependencies would hold it; released when the file is dropped.
fn hold_lock(path: &Path) -> Result<std::fs::File, String> {
    use std::os::fd::AsRawFd;
    let file = std::fs::File::create(path).map_err(|e| format!("{}: {e}", path.display()))?;
    // SAFETY: flock(2) on a descriptor this function owns.
    if unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX) } != 0 {
        return Err(format!("cannot lock {}", path.display()));
    }
    Ok(file)
}

/// Runs `path` as `name`, checks the result with `expectation`, then that nothing was
/// left behind.
fn run_fixture(
    runner: &Runner,
    path: &Path,
    name: &str,
    expectation: Expectation,
) -> Result<(), Failed> {
    let result = runner.execute(path, Path::new(name));
    expectation(&result)?;
    Ok(nothing_left_behind(runner, path, name, &printed(&result))?)
}

fn main() {
    let args = Arguments::from_args();
    let layout = Layout::of_this_checkout();
    let fixtures = notebook_harness::fixtures();
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
        .map(|fixture| (fixture, None))
        .chain(
            CRATE_FIXTURES
                .iter()
                .map(|fixture| (fixture, Some(Duration::from_secs(300)))),
        )
        .map(|(&(name, expectation), cell_timeout)| {
            let runner = runner.clone();
            let path = fixtures.join(format!("{name}.ipynb"));
            Trial::test(format!("fixture::{name}"), move || {
                let mut runner = (*runner_for(&runner)?).clone();
                if let Some(timeout) = cell_timeout {
                    runner.cell_timeout = timeout;
                }
                run_fixture(&runner, &path, &format!("{name}.ipynb"), expectation)
            })
        })
        .collect();

    let path = fixtures.join("hangs.ipynb");
    let setup = runner.clone();
    let hanging = runner.clone();
    trials.push(Trial::test(
        "whole_notebook_timeout_kills_driver_and_kernel",
        move || {
            let mut runner = (*runner_for(&hanging)?).clone();
            runner.cell_timeout = Duration::from_secs(600);
            runner.notebook_timeout = Duration::from_secs(40);
            let started = std::time::Instant::now();
            run_fixture(&runner, &path, "hangs-whole.ipynb", |result| {
                expect_failure(
                    result,
                    FailureKind::NotebookTimeout,
                    Some(1),
                    "did not finish within 40 s",
                )
            })?;
            if started.elapsed() > Duration::from_secs(60) {
                return Err(
                    format!("took {:?} to give up on a 40 s limit", started.elapsed()).into(),
                );
            }
            Ok(())
        },
    ));
    let timeline = fixtures.join("timeline_across_cells.ipynb");
    let lock = layout.kernel_cache().join("evcxr.lock");
    let waiting = runner.clone();
    trials.push(Trial::test(
        "dep_cells_take_turns_at_the_evcxr_cache",
        move || {
            let mut runner = (*runner_for(&waiting)?).clone();
            runner.cell_timeout = Duration::from_secs(15);
            let _held = hold_lock(&lock)?;
            run_fixture(&runner, &timeline, "timeline-waiting.ipynb", |result| {
                expect_failure(
                    result,
                    FailureKind::CellTimeout,
                    Some(0),
                    "did not start within its timeout (15 s): another kernel's `:dep` cell held",
                )
            })
        },
    ));
    let passes = fixtures.join("passes.ipynb");
    let target = layout.root.join("target");
    trials.push(Trial::test("missing_virtualenv_is_named", {
        let passes = passes.clone();
        let root = target.join("fault-no-jupyter");
        move || {
            let _ = std::fs::create_dir_all(&root);
            let runner = Runner::new(Installation {
                layout: Layout { root: root.clone() },
            });
            let result = runner.execute(&passes, Path::new("no-jupyter.ipynb"));
            expect_failure(
                &result,
                FailureKind::Driver,
                None,
                "cannot start the notebook driver",
            )?;
            expect_failure(&result, FailureKind::Driver, None, "run `cargo setup`")?;
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
        run_fixture(&runner, &passes, "no-evcxr.ipynb", |result| {
            expect_failure(
                result,
                FailureKind::KernelFailedToStart,
                None,
                "evcxr_jupyter",
            )
        })?;
        if started.elapsed() > Duration::from_secs(90) {
            return Err(format!("took {:?} to report a missing kernel", started.elapsed()).into());
        }
        Ok(())
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
    // The virtualenv's own files, so that its Python still finds its packages.
    for part in ["bin", "lib", "pyvenv.cfg"] {
        std::os::unix::fs::symlink(real.venv().join(part), venv.join(part))
            .map_err(|e| e.to_string())?;
    }
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
