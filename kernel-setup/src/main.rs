//! `kernel-setup [setup | lab [ARGS] | jupyter SUBCOMMAND [ARGS]]`
//!
//! - `setup` (the default): install what is missing, then say where everything is.
//! - `lab`: the same, then JupyterLab on `notebooks/` (this is `cargo lab`).
//! - `jupyter ...`: any Jupyter command with the project's kernel and folders, e.g.
//!   `cargo run -p kernel-setup -- jupyter nbconvert --to slides notebooks/slides/*.ipynb`.
//!
//! - `hub --learners FILE [--ip IP] [--port PORT] [--course-repo URL] [--branch NAME]`:
//!   the same plus JupyterHub, then a hub serving the listed learners (this is
//!   `cargo hub`; see the README's "A class on one server").
//!
//! `KERNEL_SETUP_ROOT=DIR` installs into another checkout's `.local/` (the tests use it
//! to interrupt a setup without touching this one).

use kernel_setup::{Layout, ensure};
use std::os::unix::process::CommandExt;
use std::process::ExitCode;

mod hub_command;

fn main() -> ExitCode {
    let mut args = std::env::args().skip(1);
    let action = args.next().unwrap_or_else(|| "setup".to_owned());
    let rest: Vec<String> = args.collect();
    if !matches!(action.as_str(), "setup" | "lab" | "jupyter" | "hub")
        || (action == "jupyter" && rest.is_empty())
    {
        eprintln!(
            "usage: kernel-setup [setup | lab [JUPYTERLAB ARGS] | jupyter SUBCOMMAND [ARGS] | hub --learners FILE [--ip IP] [--port PORT]]"
        );
        return ExitCode::from(2);
    }
    let layout = std::env::var_os("KERNEL_SETUP_ROOT")
        .map(|root| Layout { root: root.into() })
        .unwrap_or_else(Layout::of_this_checkout);
    if action == "hub" {
        return match hub_command::start(&layout, &rest) {
            Ok(never) => match never {},
            Err(e) => {
                eprintln!("{e}");
                ExitCode::FAILURE
            }
        };
    }
    let installation = match ensure(&layout) {
        Ok(installation) => installation,
        Err(e) => {
            eprintln!("{e}");
            return ExitCode::FAILURE;
        }
    };
    let mut command = match action.as_str() {
        "setup" => {
            eprintln!(
                "kernel-setup: ready. Kernel `rust` (evcxr {}) in {}",
                kernel_setup::EVCXR_VERSION,
                layout.kernel_dir().display()
            );
            return ExitCode::SUCCESS;
        }
        "lab" => {
            let mut lab = installation.jupyter("lab");
            lab.arg(format!(
                "--ServerApp.root_dir={}",
                layout.notebooks().display()
            ));
            if kernel_setup::running_as_root() {
                // Jupyter refuses root unless told; containers and CI machines often are.
                lab.arg("--allow-root");
            }
            lab.args(&rest);
            lab
        }
        _ => {
            let mut jupyter = installation.jupyter(&rest[0]);
            jupyter.args(&rest[1..]);
            jupyter
        }
    };
    // Hand the terminal over: Ctrl-C then reaches Jupyter directly.
    let error = command.exec();
    eprintln!("kernel-setup: cannot start {command:?}: {error}");
    ExitCode::FAILURE
}
