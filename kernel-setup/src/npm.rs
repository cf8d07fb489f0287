//! Pinned packages from the npm registry, installed with `npm ci` from a committed
//! `package.json` and `package-lock.json` into a folder of `.local/`, again only when
//! the lock file changes.

use crate::error::{Result, SetupError, io_error};
use crate::files::once;
use crate::layout::Layout;
use crate::progress::Step;
use std::fs;
use std::path::Path;
use std::process::Command;
use std::time::Duration;

/// What [`ensure_npm_packages`] installs: the folder holding `package.json` and
/// `package-lock.json`, where to, and what to tell the user.
pub struct NpmPackages<'a> {
    /// The committed folder with `package.json` and `package-lock.json`.
    pub from: &'a Path,
    /// The folder below `.local/` that gets `node_modules/`.
    pub into: &'a Path,
    /// The progress line, e.g. "installing the pinned reveal.js into .local/handouts-js".
    pub title: &'a str,
    /// Who needs the packages, for the error when npm is missing.
    pub needed_by: &'a str,
    /// The log file's name below `.local/logs/`.
    pub log: &'a str,
}

/// Installs `packages` unless the same lock file was installed there before.
pub fn ensure_npm_packages(layout: &Layout, packages: &NpmPackages) -> Result<()> {
    let lock = packages.from.join("package-lock.json");
    let wanted = fs::read_to_string(&lock).map_err(io_error("read", &lock))?;
    once(
        &packages.into.join("installed-package-lock.json"),
        &wanted,
        || {
            let runs = Command::new("npm")
                .arg("--version")
                .output()
                .is_ok_and(|o| o.status.success());
            if !runs {
                return Err(SetupError::new(format!(
                    "kernel-setup: `npm` is not on PATH; {} needs Node.js 20 or newer: apt-get install nodejs npm, then retry",
                    packages.needed_by
                )));
            }
            let step = Step::start(packages.title, "a few seconds, once");
            fs::create_dir_all(packages.into).map_err(io_error("create", packages.into))?;
            for file in ["package.json", "package-lock.json"] {
                let from = packages.from.join(file);
                fs::copy(&from, packages.into.join(file)).map_err(io_error("copy", &from))?;
            }
            let mut npm = Command::new("npm");
            npm.args(["ci", "--omit=dev", "--no-audit", "--no-fund"])
                .current_dir(packages.into);
            step.run(
                npm,
                &layout.logs().join(packages.log),
                Duration::from_secs(10 * 60),
            )?;
            step.done();
            Ok(())
        },
    )
}
