//! The project's kernel and Jupyter, installed on first use (`kernel_setup::ensure`), as
//! the course's commands and trials ask for them.

use kernel_setup::{Installation, Layout, ensure};

/// The installation in `layout`, or why it cannot be made, as one line.
pub fn installation(layout: &Layout) -> Result<Installation, String> {
    ensure(layout).map_err(|e| e.to_string())
}

/// For a command: the installation in `layout`, or `None` once the reason is printed
/// (the command then exits with a failure).
pub fn installation_or_report(layout: &Layout) -> Option<Installation> {
    installation(layout).inspect_err(|e| eprintln!("{e}")).ok()
}
