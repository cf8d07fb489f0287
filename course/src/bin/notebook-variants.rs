//! `cargo variants`: regenerates each language's notebooks (`notebooks/en/`,
//! `notebooks/de/`) from the bilingual sources in `notebooks/source/`: the complete
//! slides and solutions, the code-along and exercise notebooks (code cells emptied
//! unless tagged `keep`), and `rise.css` beside the presented ones. The notebook tests
//! fail until the committed files match.

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
            "warning: {} has no source to come from; delete it or restore its source",
            orphan.display()
        );
    }
    if failed {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    }
}
