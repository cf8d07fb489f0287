//! `cargo variants`: regenerates `notebooks/codealong/` from `notebooks/slides/` and
//! `notebooks/workshops/` from `notebooks/solutions/` (code cells emptied unless
//! tagged `keep`). The notebook tests fail until the committed variants match.

use course::variants::{orphans, variants};
use kernel_setup::Layout;
use std::process::ExitCode;

fn main() -> ExitCode {
    let notebooks = Layout::of_this_checkout().notebooks();
    let mut failed = false;
    for variant in variants(&notebooks) {
        let shown = variant
            .target
            .strip_prefix(&notebooks)
            .unwrap_or(&variant.target)
            .display()
            .to_string();
        match variant.write() {
            Ok(true) => println!("wrote     {shown}"),
            Ok(false) => println!("unchanged {shown}"),
            Err(e) => {
                eprintln!("error: {e}");
                failed = true;
            }
        }
    }
    for orphan in orphans(&notebooks) {
        eprintln!(
            "warning: {} has no complete notebook to come from; delete it or restore its source",
            orphan.display()
        );
    }
    if failed {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    }
}
