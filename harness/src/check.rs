//! The result of checking one claim on a run, and the helper claims are written with.

/// The result of checking one claim: `Err` says what was expected and what was found.
pub type Check = Result<(), String>;

/// `Ok` when `ok`, else the message (built only then).
pub fn ensure(ok: bool, message: impl FnOnce() -> String) -> Check {
    if ok { Ok(()) } else { Err(message()) }
}
