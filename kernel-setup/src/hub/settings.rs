//! What `jupyterhub_config.py` is told: one JSON file, written by `cargo hub` from
//! [`HubSettings`] and read by `course_hub.configurer.HubSettings`
//! (`kernel-setup/hub/course_hub/configurer.py`), which applies it to JupyterHub's
//! configuration.

use crate::error::io_error;
use crate::error::{Result, SetupError};
use crate::files::write_atomically;
use crate::hub::limits::LearnerLimits;
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

/// The environment variable that names the settings file for `jupyterhub_config.py`.
pub(crate) const SETTINGS_VARIABLE: &str = "COURSE_HUB_SETTINGS";

/// Everything `jupyterhub_config.py` needs to serve one class. The Python mirror is
/// `HubSettings` in `course_hub/configurer.py`; `hub/tests/settings.example.json`
/// is a sample both sides' tests read, so neither can change alone.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HubSettings {
    /// The hub's working folder: database, cookie secret, pid file and learners'
    /// password hashes (mode 700).
    pub state: PathBuf,
    /// The virtualenv learners' servers and the idle culler run from.
    pub venv: PathBuf,
    /// The learners' account names: the only users the hub lets in.
    pub learners: Vec<String>,
    /// The address learners' browsers use.
    pub ip: String,
    /// The proxy's public port; the hub's API listens on the next one, the proxy's
    /// API on the one after, both on loopback.
    pub port: u16,
    /// The configurable-http-proxy executable.
    pub proxy: PathBuf,
    /// The Rust toolchain learners' kernels run (its `bin` goes first on their PATH).
    pub toolchain: PathBuf,
    /// Learners' CARGO_HOME: the offline registry.
    pub cargo_home: PathBuf,
    /// Learners' JUPYTER_PATH: where their servers find the `rust` kernelspec.
    pub jupyter_path: PathBuf,
    /// The Zero to JupyterHub values file: memory and CPU limits and the culler's
    /// timing.
    pub values: PathBuf,
    /// Learners' GIT_CONFIG_SYSTEM, which trusts the course's checkout.
    pub git_config: PathBuf,
    /// The nbgitpuller link every learner's server opens at.
    pub default_url: String,
    /// Seconds without activity before a learner's server stops; `None` for the
    /// values file's `cull.timeout`.
    pub idle_timeout: Option<u64>,
    /// What each learner's server and everything it starts may use, enforced by a
    /// control group of its own; `None` when `cargo hub --without-limits` serves a
    /// class that nothing protects.
    pub limits: Option<LearnerLimits>,
    /// The command that makes (`create LEARNER`) and removes (`remove LEARNER`) a
    /// learner's control group: this program's `learner-group`.
    pub learner_group: Vec<String>,
}

impl HubSettings {
    /// The settings as the file holds them: indented JSON ending in a newline.
    pub fn to_json(&self) -> Result<String> {
        serde_json::to_string_pretty(self)
            .map(|text| text + "\n")
            .map_err(|e| {
                SetupError::new(format!(
                    "cargo hub: cannot write the hub's settings ({e}); move the checkout to a path that is valid UTF-8"
                ))
            })
    }

    /// Reads the settings file at `path`, as a hub from this checkout wrote it.
    pub fn read(path: &Path) -> Result<Self> {
        let text = std::fs::read_to_string(path).map_err(io_error("read", path))?;
        serde_json::from_str(&text).map_err(|e| {
            SetupError::new(format!(
                "kernel-setup: {} is not a hub's settings ({e}); restart the hub with this checkout's cargo hub",
                path.display()
            ))
        })
    }

    /// Writes the settings file at `path`.
    pub fn write(&self, path: &Path) -> Result<()> {
        write_atomically(path, &self.to_json()?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The committed sample: the Python tests apply it to a JupyterHub config.
    const EXAMPLE: &str = include_str!("../../hub/tests/settings.example.json");

    #[test]
    fn the_committed_example_is_what_this_struct_writes() {
        let hub = PathBuf::from("/srv/course/.local/hub");
        let example = HubSettings {
            state: hub.join("state"),
            venv: hub.join("venv"),
            learners: vec!["alice".into(), "bob".into()],
            ip: "0.0.0.0".into(),
            port: 8000,
            proxy: hub.join("proxy/node_modules/.bin/configurable-http-proxy"),
            toolchain: hub.join("toolchain"),
            cargo_home: hub.join("cargo-home"),
            jupyter_path: hub.join("share/jupyter"),
            values: "/srv/course/kernel-setup/hub/z2jh-values.yaml".into(),
            git_config: hub.join("gitconfig"),
            default_url: "/git-pull?repo=file%3A%2F%2F%2Fsrv%2Fcourse&branch=main".into(),
            idle_timeout: Some(600),
            limits: Some(LearnerLimits {
                memory_bytes: 2 << 30,
                cpus: 2.0,
                tasks: 1536,
            }),
            learner_group: vec![
                "/srv/course/target/debug/kernel-setup".into(),
                "learner-group".into(),
                "--settings".into(),
                "/srv/course/.local/hub/state/hub-settings.json".into(),
            ],
        };
        assert_eq!(
            example.to_json().unwrap(),
            EXAMPLE,
            "HubSettings changed: update hub/tests/settings.example.json and course_hub/configurer.py together"
        );
        let path = std::env::temp_dir().join(format!("hub-settings-{}.json", std::process::id()));
        example.write(&path).unwrap();
        let read = HubSettings::read(&path);
        std::fs::remove_file(&path).unwrap();
        assert_eq!(read.unwrap(), example);
    }
}
