//! The one error type of setup: a line a learner can act on.

use std::fmt;
use std::io;
use std::path::Path;

/// What went wrong during setup, in one line a learner can act on.
#[derive(Debug)]
pub struct SetupError(String);

impl fmt::Display for SetupError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for SetupError {}

impl From<String> for SetupError {
    fn from(message: String) -> Self {
        SetupError(message)
    }
}

impl SetupError {
    pub(crate) fn new(message: impl Into<String>) -> Self {
        SetupError(message.into())
    }
}

/// Setup's result: the error is always a [`SetupError`].
pub type Result<T> = std::result::Result<T, SetupError>;

/// Turns an I/O error on `path` into "kernel-setup: cannot WHAT PATH: ERROR".
pub(crate) fn io_error(what: &str, path: &Path) -> impl FnOnce(io::Error) -> SetupError {
    let context = format!("{what} {}", path.display());
    move |e| SetupError(format!("kernel-setup: cannot {context}: {e}"))
}
