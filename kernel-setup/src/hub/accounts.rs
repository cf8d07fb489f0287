//! Learners' system accounts: created by the hub, marked as its own, read back from
//! `/etc/passwd`.

use crate::error::{Result, SetupError, io_error};
use crate::hub::learners::check_learner_name;
use crate::hub::seed::seed_cache;
use crate::layout::Layout;
use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::PathBuf;
use std::process::Command;

/// Marks the system accounts the hub created (their GECOS field), so that it never
/// takes over an account that was there before.
pub const ACCOUNT_MARK: &str = "concurrency course learner";

/// The system account of learner `name`, created if missing: its home is private
/// (mode 700), so no other learner's kernel can read it. An existing account is used
/// only if the hub created it.
pub fn ensure_learner(layout: &Layout, name: &str) -> Result<()> {
    check_learner_name(name)?;
    match account(name).map(|a| a.comment) {
        Some(mark) if mark == ACCOUNT_MARK => {}
        Some(_) => {
            return Err(SetupError::new(format!(
                "cargo hub: learner {name:?} is already a system account the hub did not create; give the learner another name"
            )));
        }
        None => {
            let output = Command::new("useradd")
                .args([
                    "--create-home",
                    "--shell",
                    "/bin/bash",
                    "--comment",
                    ACCOUNT_MARK,
                ])
                .arg(name)
                .output()
                .map_err(|e| {
                    SetupError::new(format!("cargo hub: cannot run useradd for {name:?}: {e}"))
                })?;
            if !output.status.success() {
                return Err(SetupError::new(format!(
                    "cargo hub: useradd {name:?} failed: {}",
                    String::from_utf8_lossy(&output.stderr).trim()
                )));
            }
        }
    }
    let home = account(name).map(|a| a.home).ok_or_else(|| {
        SetupError::new(format!(
            "cargo hub: account {name:?} has no home folder in /etc/passwd"
        ))
    })?;
    fs::set_permissions(&home, fs::Permissions::from_mode(0o700))
        .map_err(io_error("protect", &home))?;
    seed_cache(layout, name, &home)
}

/// A system account, as /etc/passwd has it.
pub struct Account {
    /// The account's user id.
    pub uid: u32,
    /// The GECOS field: [`ACCOUNT_MARK`] on the accounts the hub created.
    pub comment: String,
    /// The account's home folder.
    pub home: PathBuf,
}

/// The system account `name`, if there is one.
pub fn account(name: &str) -> Option<Account> {
    let passwd = fs::read_to_string("/etc/passwd").ok()?;
    let fields: Vec<&str> = passwd
        .lines()
        .find(|line| line.split(':').next() == Some(name))?
        .split(':')
        .collect();
    Some(Account {
        uid: fields.get(2)?.parse().ok()?,
        comment: (*fields.get(4)?).to_owned(),
        home: PathBuf::from(fields.get(5)?),
    })
}
