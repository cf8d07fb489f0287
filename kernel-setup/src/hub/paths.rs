//! Where the hub keeps what it installs and its state, all under `.local/hub`, and
//! where its own files are in the checkout (`kernel-setup/hub`).

use crate::layout::Layout;
use std::path::PathBuf;

impl Layout {
    /// Where the hub keeps what it installs and its state (database, cookie secret,
    /// learners' password hashes).
    pub fn hub(&self) -> PathBuf {
        self.local().join("hub")
    }
    /// The hub's files in the checkout: its config, the proxy's pins, the values file.
    pub(crate) fn hub_files(&self) -> PathBuf {
        self.kernel_setup().join("hub")
    }
    /// The virtualenv the hub and learners' servers run from.
    pub fn hub_venv(&self) -> PathBuf {
        self.hub().join("venv")
    }
    /// The hub's database, cookie secret and password hashes (mode 700).
    pub fn hub_state(&self) -> PathBuf {
        self.hub().join("state")
    }
    /// The settings file `cargo hub` writes for `jupyterhub_config.py`.
    pub fn hub_settings(&self) -> PathBuf {
        self.hub_state().join("hub-settings.json")
    }
    pub(crate) fn proxy_dir(&self) -> PathBuf {
        self.hub().join("proxy")
    }
    /// The installed configurable-http-proxy.
    pub(crate) fn proxy(&self) -> PathBuf {
        self.proxy_dir()
            .join("node_modules/.bin/configurable-http-proxy")
    }
    /// The Rust toolchain learners' kernels run (their own accounts cannot reach a
    /// toolchain inside root's home).
    pub fn hub_toolchain(&self) -> PathBuf {
        self.hub().join("toolchain")
    }
    /// Cargo's home for learners: the registry with every crate the course uses, read
    /// only, and a config that keeps cargo offline.
    pub fn hub_cargo_home(&self) -> PathBuf {
        self.hub().join("cargo-home")
    }
    /// The git configuration of learners' servers (GIT_CONFIG_SYSTEM).
    pub fn hub_git_config(&self) -> PathBuf {
        self.hub().join("gitconfig")
    }
    /// The home the hub compiles its seed cache in (`.cache/evcxr` below it).
    pub(crate) fn hub_seed_home(&self) -> PathBuf {
        self.hub().join("seed-home")
    }
    /// The kernelspec folder of learners' servers.
    pub fn hub_jupyter_path(&self) -> PathBuf {
        self.hub().join("share").join("jupyter")
    }
    /// The Zero to JupyterHub values file, whose limits the local hub also uses.
    pub fn hub_values(&self) -> PathBuf {
        self.hub_files().join("z2jh-values.yaml")
    }
}
