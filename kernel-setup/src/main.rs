//! `kernel-setup`: the commands behind `cargo setup`, `cargo lab` and `cargo hub`
//! (`.cargo/config.toml`). `kernel-setup --help` lists them; their help is the doc
//! comments of [`Action`].
//!
//! `KERNEL_SETUP_ROOT=DIR` installs into another checkout's `.local/` (the tests use it
//! to interrupt a setup without touching this one).

use clap::error::{ContextKind, ContextValue, ErrorKind};
use clap::{Args, CommandFactory, Parser, Subcommand};
use kernel_setup::{
    HubCommand, Installation, Language, Layout, LearnerGroupCommand, SetupError, ensure,
    running_as_root,
};
use std::error::Error;
use std::os::unix::process::CommandExt;
use std::process::{Command, ExitCode};

/// Installs the pinned evcxr Jupyter kernel and JupyterLab into the checkout's
/// `.local/` and runs Jupyter with them.
#[derive(Parser)]
#[command(name = "kernel-setup")]
struct Cli {
    #[command(subcommand)]
    action: Option<Action>,
}

#[derive(Subcommand)]
enum Action {
    /// Install what is missing, then say where everything is (the default; `cargo setup`).
    Setup,
    /// The same, then JupyterLab on notebooks/, open at the code-along notebooks
    /// (`cargo lab`; `cargo lab --lang de` for the German ones).
    #[command(disable_help_flag = true)]
    Lab {
        /// The language of the code-along notebooks it opens at (first, if given).
        #[arg(long, value_name = "LANG", default_value = "en", value_parser = Language::from_code)]
        lang: Language,
        /// Passed to `jupyter lab` as they are.
        #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
        args: Vec<String>,
    },
    /// Any Jupyter command with the project's kernel and folders, e.g.
    /// `jupyter nbconvert --to slides notebooks/en/slides/*.ipynb`.
    #[command(disable_help_flag = true)]
    Jupyter {
        /// `jupyter`'s subcommand and its arguments, passed as they are.
        #[arg(
            value_name = "SUBCOMMAND",
            required = true,
            trailing_var_arg = true,
            allow_hyphen_values = true
        )]
        args: Vec<String>,
    },
    /// The same as setup, plus JupyterHub, then a hub serving the listed learners
    /// (`cargo hub`).
    Hub(HubCommand),
    /// Makes or removes a learner's control group: run by the hub's spawner.
    #[command(hide = true)]
    LearnerGroup(LearnerGroupCommand),
}

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) if !e.use_stderr() => e.exit(),
        Err(e) => {
            eprintln!("{}", bad_arguments(&e));
            return ExitCode::from(2);
        }
    };
    let layout = std::env::var_os("KERNEL_SETUP_ROOT")
        .map(|root| Layout { root: root.into() })
        .unwrap_or_else(Layout::of_this_checkout);
    let done = match cli.action.unwrap_or(Action::Setup) {
        Action::Setup => ensure(&layout).map(|_| {
            eprintln!(
                "kernel-setup: ready. Kernel `rust` (evcxr {}) in {}",
                kernel_setup::EVCXR_VERSION,
                layout.kernel_dir().display()
            );
        }),
        Action::Lab { lang, args } => ensure(&layout).and_then(|installation| {
            let mut lab = installation.jupyter("lab");
            lab.arg(format!(
                "--ServerApp.root_dir={}",
                layout.notebooks().display()
            ))
            .arg(format!(
                "--LabApp.default_url=/lab/tree/{}",
                Layout::codealong(lang).display()
            ));
            if running_as_root() {
                // Jupyter refuses root unless told; containers and CI machines often are.
                lab.arg("--allow-root");
            }
            lab.args(args);
            hand_over(lab)
        }),
        Action::Jupyter { args } => ensure(&layout).and_then(|installation: Installation| {
            let mut jupyter = installation.jupyter(&args[0]);
            jupyter.args(&args[1..]);
            hand_over(jupyter)
        }),
        Action::Hub(arguments) => arguments
            .hub(&layout)
            .and_then(|hub| hub.serve(&layout))
            .map(|never| match never {}),
        Action::LearnerGroup(arguments) => arguments.run(),
    };
    match done {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("{e}");
            ExitCode::FAILURE
        }
    }
}

/// Becomes `command`, so that Ctrl-C reaches Jupyter directly; returns only on failure.
fn hand_over(mut command: Command) -> Result<(), SetupError> {
    let error = command.exec();
    Err(SetupError::from(format!(
        "kernel-setup: cannot start {command:?}: {error}"
    )))
}

/// Bad arguments in one line that names the problem, then the usage of the command
/// they were for (the hub's trials expect exactly that shape).
fn bad_arguments(error: &clap::Error) -> String {
    let action = std::env::args().nth(1).unwrap_or_default();
    let mut cli = Cli::command();
    cli.build();
    let (prefix, usage) = if action == "hub" {
        let mut hub = HubCommand::augment_args(clap::Command::new("cargo hub"));
        ("cargo hub", hub.render_usage())
    } else if cli.find_subcommand(&action).is_some() {
        let action = cli.find_subcommand_mut(&action).expect("found above");
        ("kernel-setup", action.render_usage())
    } else {
        ("kernel-setup", cli.render_usage())
    };
    let missing = match error.get(ContextKind::InvalidArg) {
        Some(ContextValue::Strings(names))
            if error.kind() == ErrorKind::MissingRequiredArgument =>
        {
            Some(format!("{} is required", names.join(" and ")))
        }
        _ => None,
    };
    // A value parser's own message says all; clap's first line otherwise.
    let problem = error
        .source()
        .map(ToString::to_string)
        .or(missing)
        .unwrap_or_else(|| {
            let rendered = error.render().to_string();
            let first = rendered.lines().next().unwrap_or_default();
            first.trim_start_matches("error: ").to_owned()
        });
    format!(
        "{prefix}: {problem}\nusage: {}; --help explains the options",
        usage.to_string().trim_start_matches("Usage: ")
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(line: &[&str]) -> Option<Action> {
        Cli::try_parse_from(std::iter::once("kernel-setup").chain(line.iter().copied()))
            .unwrap_or_else(|e| panic!("{line:?}: {e}"))
            .action
    }

    #[test]
    fn jupyters_arguments_pass_through_as_they_are() {
        let Some(Action::Lab { lang, args }) = parse(&["lab", "--help", "--port", "9999", "x"])
        else {
            panic!("not lab");
        };
        assert_eq!(lang, Language::En);
        assert_eq!(args, ["--help", "--port", "9999", "x"]);
        let Some(Action::Lab { lang, args }) = parse(&["lab", "--lang", "de", "--port", "9"])
        else {
            panic!("not lab");
        };
        assert_eq!(lang, Language::De);
        assert_eq!(args, ["--port", "9"]);
        let line = ["jupyter", "nbconvert", "--to", "slides", "-y", "a b.ipynb"];
        let Some(Action::Jupyter { args }) = parse(&line) else {
            panic!("not jupyter");
        };
        assert_eq!(args, line[1..]);
        let Some(Action::Jupyter { args }) = parse(&["jupyter", "--paths"]) else {
            panic!("not jupyter");
        };
        assert_eq!(args, ["--paths"]);
        assert!(parse(&[]).is_none());
        assert!(matches!(parse(&["setup"]), Some(Action::Setup)));
    }

    #[test]
    fn the_hubs_arguments() {
        let Some(Action::Hub(hub)) = parse(&[
            "hub",
            "--learners",
            "l.txt",
            "--ip",
            "0.0.0.0",
            "--port",
            "8300",
            "--course-repo",
            "https://example.org/c",
            "--branch",
            "main",
            "--idle-timeout",
            "60",
            "--lang",
            "de",
        ]) else {
            panic!("not hub");
        };
        assert_eq!(hub.learners.as_deref(), Some(std::path::Path::new("l.txt")));
        assert_eq!((hub.ip.as_str(), hub.port), ("0.0.0.0", 8300));
        assert_eq!((hub.idle_timeout, hub.lang), (Some(60), Language::De));
        let Some(Action::Hub(defaults)) = parse(&["hub"]) else {
            panic!("not hub");
        };
        assert_eq!((defaults.ip.as_str(), defaults.port), ("127.0.0.1", 8000));
        assert_eq!((defaults.course_repo, defaults.branch), (None, None));
        assert_eq!(defaults.lang, Language::En);
        for (flag, value, message) in [
            ("--port", "65534", "--port 65534 is not a port number"),
            (
                "--idle-timeout",
                "9",
                "--idle-timeout 9 is not a number of seconds (10 or more)",
            ),
            (
                "--lang",
                "fr",
                "--lang fr: the course is written in en (English) and de (German)",
            ),
            (
                "--tasks-per-learner",
                "100",
                "--tasks-per-learner 100 is below the 300 tasks the course's own notebooks need; raise it (default 1536)",
            ),
        ] {
            let error = Cli::try_parse_from(["kernel-setup", "hub", flag, value])
                .err()
                .expect("refused");
            assert_eq!(
                error.source().map(ToString::to_string).as_deref(),
                Some(message)
            );
        }
    }
}
