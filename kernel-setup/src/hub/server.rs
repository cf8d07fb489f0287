//! One hub: its learners and addresses, the checks before it starts, and the
//! `jupyterhub` command that serves them.

use crate::error::{Result, SetupError};
use crate::hub::accounts::ensure_learner;
use crate::hub::control_groups::ClassGroups;
use crate::hub::install::ensure_hub;
use crate::hub::limits::LearnerLimits;
use crate::hub::settings::{HubSettings, SETTINGS_VARIABLE};
use crate::install::ensure;
use crate::language::Language;
use crate::layout::Layout;
use crate::permissions::{readable_by_all, running_as_root};
use std::convert::Infallible;
use std::fs;
use std::os::fd::AsRawFd;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::Command;

/// Whether this machine and checkout can serve a class at all: the hub runs as root,
/// and learners' accounts must be able to read the checkout.
pub fn can_serve_from(layout: &Layout) -> Result<()> {
    if !running_as_root() {
        return Err(SetupError::new(
            "cargo hub: run it as root (sudo): it creates a system account per learner and starts each learner's server as that account",
        ));
    }
    if !readable_by_all(&layout.root).unwrap_or(false) {
        return Err(SetupError::new(format!(
            "cargo hub: learners' accounts cannot read this checkout ({}); clone the course where every account can read it, e.g. under /opt or /srv",
            layout.root.display()
        )));
    }
    Ok(())
}

/// The settings of one hub.
#[derive(Debug, Clone)]
pub struct Hub {
    /// The learners' account names.
    pub learners: Vec<String>,
    /// The address learners' browsers use (127.0.0.1 unless told otherwise).
    pub ip: String,
    /// The proxy's public port; the hub's API uses the next one, the proxy's API the one
    /// after.
    pub port: u16,
    /// The git repository nbgitpuller copies into each learner's home.
    pub course_repo: String,
    /// The branch of `course_repo` learners get.
    pub branch: String,
    /// The language of the code-along notebooks learners open at.
    pub language: Language,
    /// Seconds without activity before a learner's server stops, when not the values
    /// file's `cull.timeout`.
    pub idle_timeout: Option<u64>,
    /// The Zero to JupyterHub values file whose memory and CPU limits learners get.
    pub values: PathBuf,
    /// Threads and processes each learner may have at once; `None` serves the class
    /// without limits (`--without-limits`).
    pub tasks_per_learner: Option<u64>,
}

impl Hub {
    /// The three ports the hub listens on.
    pub fn ports(&self) -> [u16; 3] {
        [self.port, self.port + 1, self.port + 2]
    }

    /// Checks what would stop the hub from serving its learners, in a line each.
    pub fn check(&self, layout: &Layout) -> Result<()> {
        can_serve_from(layout)?;
        for port in self.ports() {
            let address = if port == self.port {
                self.ip.as_str()
            } else {
                "127.0.0.1"
            };
            if let Err(e) = std::net::TcpListener::bind((address, port)) {
                return Err(SetupError::new(format!(
                    "cargo hub: port {port} on {address} is not free ({e}); the hub needs ports {}-{}: choose others with --port",
                    self.port,
                    self.port + 2
                )));
            }
        }
        Ok(())
    }

    /// The nbgitpuller link every learner's server opens at: the course pulled into
    /// `~/concurrency-course`, then the code-along notebooks in the class's language.
    pub fn default_url(&self) -> String {
        let folder = Path::new("lab/tree/concurrency-course/notebooks")
            .join(Layout::codealong(self.language));
        let folder = folder.to_string_lossy();
        let query = [
            ("repo", self.course_repo.as_str()),
            ("branch", self.branch.as_str()),
            ("targetpath", "concurrency-course"),
            ("urlpath", &*folder),
        ];
        let query: Vec<String> = query
            .iter()
            .map(|(key, value)| format!("{key}={}", percent_encode(value)))
            .collect();
        format!("/git-pull?{}", query.join("&"))
    }

    /// Serves the class: takes the checkout's hub lock, checks the machine, installs
    /// what is missing, makes the learners' accounts, then becomes `jupyterhub`
    /// (returns only on failure).
    pub fn serve(&self, layout: &Layout) -> Result<Infallible> {
        let lock_path = layout.hub().join("hub.lock");
        fs::create_dir_all(layout.hub()).map_err(|e| {
            SetupError::from(format!(
                "cargo hub: cannot create {}: {e}",
                layout.hub().display()
            ))
        })?;
        let lock = fs::File::create(&lock_path).map_err(|e| {
            SetupError::from(format!(
                "cargo hub: cannot create {}: {e}",
                lock_path.display()
            ))
        })?;
        if lock.try_lock().is_err() {
            return Err(SetupError::from(
                "cargo hub: a hub from this checkout is already running; stop it (Ctrl-C in its terminal) before starting another".to_owned(),
            ));
        }
        self.check(layout)?;
        let installation = ensure(layout)?;
        ensure_hub(&installation)?;
        let limits = self.limits(layout)?;
        for learner in &self.learners {
            ensure_learner(layout, learner)?;
        }
        // jupyterhub inherits the lock, so it is held until the hub itself exits.
        // SAFETY: fcntl on a descriptor this function owns changes only its flags.
        unsafe {
            let fd = lock.as_raw_fd();
            let flags = libc::fcntl(fd, libc::F_GETFD);
            libc::fcntl(fd, libc::F_SETFD, flags & !libc::FD_CLOEXEC);
        }
        eprintln!(
            "cargo hub: serving {} learner(s) at http://{}:{}/ (each chooses a password at the first login)",
            self.learners.len(),
            self.ip,
            self.port
        );
        self.settings(layout, limits)
            .write(&layout.hub_settings())?;
        let mut command = self.command(layout);
        let error = command.exec();
        Err(SetupError::from(format!(
            "cargo hub: cannot start jupyterhub: {error}"
        )))
    }

    /// `jupyterhub` for this class, to run in the hub's state folder once
    /// [`settings`](Self::settings) are written to [`Layout::hub_settings`].
    pub fn command(&self, layout: &Layout) -> Command {
        let bin = layout.hub_venv().join("bin");
        let path = std::env::var_os("PATH").unwrap_or_default();
        let paths = std::iter::once(bin.clone()).chain(std::env::split_paths(&path));
        let mut command = Command::new(bin.join("jupyterhub"));
        command
            .env(
                "PATH",
                std::env::join_paths(paths).expect("PATH entries are valid"),
            )
            .env("JUPYTER_PATH", layout.hub_jupyter_path())
            .env("JUPYTER_PLATFORM_DIRS", "1")
            .env_remove("PYTHONHOME")
            .arg("--config")
            .arg(layout.hub_files().join("jupyterhub_config.py"))
            .current_dir(layout.hub_state())
            .env(SETTINGS_VARIABLE, layout.hub_settings());
        command
    }

    /// The limits each learner gets, once checked to be enforceable here; `None`
    /// (said in a line) without limits. Groups a killed hub on this port left behind
    /// are removed first.
    fn limits(&self, layout: &Layout) -> Result<Option<LearnerLimits>> {
        let Some(tasks) = self.tasks_per_learner else {
            eprintln!(
                "cargo hub: --without-limits: nothing bounds a learner's memory, CPU or tasks; one runaway cell can stop the whole class"
            );
            return Ok(None);
        };
        let limits = LearnerLimits::from_values(layout, &self.values, tasks)?;
        let groups = ClassGroups::for_port(self.port);
        groups.remove_all()?;
        groups.check(&limits)?;
        Ok(Some(limits))
    }

    /// What `jupyterhub_config.py` needs to serve this class with `limits`.
    pub fn settings(&self, layout: &Layout, limits: Option<LearnerLimits>) -> HubSettings {
        let program = std::env::current_exe()
            .map(|exe| exe.display().to_string())
            .unwrap_or_else(|_| "kernel-setup".to_owned());
        HubSettings {
            state: layout.hub_state(),
            venv: layout.hub_venv(),
            learners: self.learners.clone(),
            ip: self.ip.clone(),
            port: self.port,
            proxy: layout.proxy(),
            toolchain: layout.hub_toolchain(),
            cargo_home: layout.hub_cargo_home(),
            jupyter_path: layout.hub_jupyter_path(),
            values: self.values.clone(),
            git_config: layout.hub_git_config(),
            default_url: self.default_url(),
            idle_timeout: self.idle_timeout,
            limits,
            learner_group: vec![
                program,
                "learner-group".to_owned(),
                "--settings".to_owned(),
                layout.hub_settings().display().to_string(),
            ],
        }
    }
}

fn percent_encode(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_pull_link_encodes_the_repository() {
        let hub = Hub {
            learners: vec!["alice".into()],
            ip: "127.0.0.1".into(),
            port: 8000,
            course_repo: "file:///srv/course x".into(),
            branch: "main".into(),
            language: Language::De,
            idle_timeout: None,
            values: "z2jh-values.yaml".into(),
            tasks_per_learner: None,
        };
        assert_eq!(
            hub.default_url(),
            "/git-pull?repo=file%3A%2F%2F%2Fsrv%2Fcourse%20x&branch=main&targetpath=concurrency-course&urlpath=lab%2Ftree%2Fconcurrency-course%2Fnotebooks%2Fde%2Fcodealong"
        );
    }
}
