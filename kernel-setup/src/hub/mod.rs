//! A class on one machine: JupyterHub (`cargo hub`) with one system account per
//! learner, as The Littlest JupyterHub does it.
//!
//! [`ensure_hub`](install::ensure_hub) adds to an installation what a hub needs: the pinned JupyterHub,
//! idle culler, nbgitpuller and first-use authenticator (in the same virtualenv as
//! JupyterLab), the pinned configurable-http-proxy (npm, `.local/hub/proxy`), a Rust
//! toolchain and a crate registry every learner account can read, and the kernelspec
//! learners' servers find. [`Hub::serve`](server::Hub::serve) makes the learners'
//! accounts and becomes the `jupyterhub` command for them.
//!
//! The modules, one concern each: [`paths`] (where the hub's files are), [`install`]
//! (its virtualenv, proxy and git configuration), [`toolchain`] (the Rust toolchain
//! and crate registry learners use), [`kernelspec`] (the kernel learners' servers
//! start), [`seed`] (the warm evcxr cache new learners start with), [`learners`] (the
//! learners file), [`accounts`] (their system accounts), [`limits`] (what each learner may use),
//! [`control_groups`] (the kernel's enforcement of those limits), [`settings`] (what
//! `jupyterhub_config.py` reads), [`server`] (the `jupyterhub` command) and
//! [`command`] (`cargo hub`'s arguments).

pub(crate) mod accounts;
pub(crate) mod command;
pub(crate) mod control_groups;
pub(crate) mod install;
pub(crate) mod kernelspec;
pub(crate) mod learners;
pub(crate) mod limits;
pub(crate) mod paths;
pub(crate) mod seed;
pub(crate) mod server;
pub(crate) mod settings;
pub(crate) mod toolchain;
