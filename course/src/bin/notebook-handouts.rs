//! `cargo handouts [--out DIR] [--notebooks DIR]`: executes every notebook once and
//! builds the handouts in English and German under `target/handouts/` (see
//! `course::handouts`): HTML with outputs, reveal.js slides of the topics (reveal.js
//! shipped beside them, so they open offline), the code-along and exercise notebooks
//! with the support crate, and `index.html` linking them. Exits non-zero,
//! naming each notebook that failed to execute, when any did.

use course::handouts;
use course::setup;
use kernel_setup::Layout;
use std::path::PathBuf;
use std::process::ExitCode;

const USAGE: &str = "usage: cargo handouts [--out DIR] [--notebooks DIR]";

fn main() -> ExitCode {
    let layout = Layout::of_this_checkout();
    let mut out = layout.root.join("target/handouts");
    let mut notebooks = layout.notebooks();
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        let value = args.next().map(PathBuf::from);
        match (arg.as_str(), value) {
            ("--out", Some(dir)) => out = dir,
            ("--notebooks", Some(dir)) => notebooks = dir,
            _ => {
                eprintln!("handouts: unexpected argument `{arg}`; {USAGE}");
                return ExitCode::from(2);
            }
        }
    }
    if !notebooks.is_dir() {
        eprintln!(
            "handouts: no notebook folder {}; {USAGE}",
            notebooks.display()
        );
        return ExitCode::from(2);
    }
    let Some(installation) = setup::installation_or_report(&layout) else {
        return ExitCode::FAILURE;
    };
    match handouts::build(&installation, &notebooks, &layout.root.join("crate"), &out) {
        Ok(built) if built.failed.is_empty() => {
            println!(
                "handouts: {} notebooks; open {}",
                built.built.len(),
                built.index.display()
            );
            ExitCode::SUCCESS
        }
        Ok(built) => {
            eprintln!(
                "handouts: {} of {} notebooks failed to execute (above); the others are linked from {}",
                built.failed.len(),
                built.failed.len() + built.built.len(),
                built.index.display()
            );
            ExitCode::FAILURE
        }
        Err(e) => {
            eprintln!("handouts: {e}");
            ExitCode::FAILURE
        }
    }
}
