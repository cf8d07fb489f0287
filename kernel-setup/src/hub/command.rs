//! `cargo hub`'s arguments: their help text (`cargo hub --help`), their checks, and
//! the [`Hub`] they describe.

use crate::error::{Result, SetupError};
use crate::hub::learners::read_learners;
use crate::hub::server::Hub;
use crate::layout::Layout;
use std::path::PathBuf;
use std::process::Command;

/// JupyterHub for a class on this machine, one system account per learner (as root;
/// see the README's "A class on one server").
#[derive(Debug, Clone, clap::Args)]
pub struct HubCommand {
    /// The learners' account names, one per line (blank lines and `#` comments are
    /// ignored). Required.
    #[arg(long, value_name = "FILE")]
    pub learners: Option<PathBuf>,
    /// The address learners' browsers use.
    #[arg(long, value_name = "IP", default_value = "127.0.0.1")]
    pub ip: String,
    /// The proxy's public port; the hub also takes the next two, on loopback.
    #[arg(long, value_name = "PORT", default_value_t = 8000, value_parser = port)]
    pub port: u16,
    /// The git repository each learner gets a copy of [default: this checkout].
    #[arg(long, value_name = "URL")]
    pub course_repo: Option<String>,
    /// The branch of the course repository [default: this checkout's].
    #[arg(long, value_name = "NAME")]
    pub branch: Option<String>,
    /// Seconds without activity before a learner's server stops, 10 or more
    /// [default: `cull.timeout` of kernel-setup/hub/z2jh-values.yaml].
    #[arg(long, value_name = "SECONDS", value_parser = idle_timeout)]
    pub idle_timeout: Option<u64>,
}

/// A port the hub can take with the two after it.
fn port(text: &str) -> std::result::Result<u16, String> {
    text.parse()
        .ok()
        .filter(|port| (1..=65533).contains(port))
        .ok_or_else(|| format!("--port {text} is not a port number"))
}

/// The culler checks at most every timeout; under 10 s it would cull a server
/// between a learner's cells.
fn idle_timeout(text: &str) -> std::result::Result<u64, String> {
    text.parse()
        .ok()
        .filter(|seconds| *seconds >= 10)
        .ok_or_else(|| format!("--idle-timeout {text} is not a number of seconds (10 or more)"))
}

impl HubCommand {
    /// The hub these arguments describe, its learners read from their file; the
    /// course defaults to this checkout's own repository and branch.
    pub fn hub(self, layout: &Layout) -> Result<Hub> {
        let learners_file = self.learners.ok_or_else(|| {
            SetupError::new("cargo hub: --learners FILE is required (one account per line)")
        })?;
        let learners = read_learners(&learners_file)?;
        let branch = match self.branch {
            Some(branch) => branch,
            None => current_branch(layout)?,
        };
        Ok(Hub {
            learners,
            ip: self.ip,
            port: self.port,
            course_repo: self
                .course_repo
                .unwrap_or_else(|| format!("file://{}", layout.root.display())),
            branch,
            idle_timeout: self.idle_timeout,
        })
    }
}

fn current_branch(layout: &Layout) -> Result<String> {
    Command::new("git")
        .args(["rev-parse", "--abbrev-ref", "HEAD"])
        .current_dir(&layout.root)
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned())
        .filter(|branch| branch != "HEAD")
        .ok_or_else(|| {
            SetupError::new(
                "cargo hub: cannot tell this checkout's git branch; name the course's branch with --branch",
            )
        })
}
