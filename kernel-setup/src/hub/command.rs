//! `cargo hub`'s arguments: their help text (`cargo hub --help`), their checks, and
//! the [`Hub`] they describe.

use crate::error::{Result, SetupError};
use crate::hub::control_groups::ClassGroups;
use crate::hub::learners::read_learners;
use crate::hub::limits::{COURSE_TASKS, DEFAULT_TASKS};
use crate::hub::server::Hub;
use crate::hub::settings::HubSettings;
use crate::language::Language;
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
    /// The language of the code-along notebooks each learner's JupyterLab opens at
    /// (both are in every copy of the course).
    #[arg(long, value_name = "LANG", default_value = "en", value_parser = Language::from_code)]
    pub lang: Language,
    /// Seconds without activity before a learner's server stops, 10 or more
    /// [default: `cull.timeout` of kernel-setup/hub/z2jh-values.yaml].
    #[arg(long, value_name = "SECONDS", value_parser = idle_timeout)]
    pub idle_timeout: Option<u64>,
    /// The Zero to JupyterHub values file whose memory and CPU limits each learner
    /// gets [default: kernel-setup/hub/z2jh-values.yaml].
    #[arg(long, value_name = "FILE")]
    pub values: Option<PathBuf>,
    /// Threads and processes each learner may have at once (at least the
    /// course's own notebooks' need).
    #[arg(long, value_name = "N", default_value_t = DEFAULT_TASKS, value_parser = tasks)]
    pub tasks_per_learner: u64,
    /// Serve the class without limits, where no control group can be made: one
    /// learner's runaway cell can then stop everyone's (README).
    #[arg(long)]
    pub without_limits: bool,
}

/// The arguments of `kernel-setup learner-group`, which the hub's spawner runs (as
/// root) to make and remove a learner's control group; not a command for people.
#[derive(Debug, Clone, clap::Args)]
pub struct LearnerGroupCommand {
    /// The hub's settings file: its port and the learners' limits.
    #[arg(long, value_name = "FILE")]
    pub settings: PathBuf,
    #[command(subcommand)]
    pub action: LearnerGroupAction,
}

/// What `learner-group` does to a learner's control group.
#[derive(Debug, Clone, clap::Subcommand)]
pub enum LearnerGroupAction {
    /// Make it with the hub's limits (emptying one left from an earlier server) and
    /// print its `cgroup.procs` files as JSON.
    Create {
        /// The learner's account name.
        learner: String,
    },
    /// Stop whatever is left in it and remove it.
    Remove {
        /// The learner's account name.
        learner: String,
    },
}

impl LearnerGroupCommand {
    /// Does what it says; `create` prints the group as JSON.
    pub fn run(self) -> Result<()> {
        let settings = HubSettings::read(&self.settings)?;
        let groups = ClassGroups::for_port(settings.port);
        match self.action {
            LearnerGroupAction::Create { learner } => {
                let limits = settings.limits.ok_or_else(|| {
                    SetupError::new("kernel-setup learner-group: this hub runs without limits")
                })?;
                let group = groups.create(&learner, &limits)?;
                println!(
                    "{}",
                    serde_json::to_string(&group).expect("paths are valid UTF-8")
                );
                Ok(())
            }
            LearnerGroupAction::Remove { learner } => groups.remove(&learner),
        }
    }
}

/// A task limit the course's own notebooks can run under.
fn tasks(text: &str) -> std::result::Result<u64, String> {
    match text.parse() {
        Ok(tasks) if tasks >= COURSE_TASKS => Ok(tasks),
        Ok(_) => Err(format!(
            "--tasks-per-learner {text} is below the {COURSE_TASKS} tasks the course's own notebooks need; raise it (default {DEFAULT_TASKS})"
        )),
        Err(_) => Err(format!("--tasks-per-learner {text} is not a number")),
    }
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
            language: self.lang,
            idle_timeout: self.idle_timeout,
            values: self.values.unwrap_or_else(|| layout.hub_values()),
            tasks_per_learner: (!self.without_limits).then_some(self.tasks_per_learner),
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
