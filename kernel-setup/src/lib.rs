//! Project-local installation of the Rust Jupyter kernel (evcxr) and of JupyterLab,
//! and a class hub on top of it.
//!
//! Everything lives under `.local/` in the repository: the `evcxr_jupyter` binary
//! (`.local/cargo`), its build directory (`.local/build`, so an interrupted build
//! resumes), a virtualenv with the pinned JupyterLab and nbconvert (`.local/venv`), the
//! kernelspec inside that virtualenv, Jupyter's own config/data/runtime folders,
//! evcxr's compiled-dependency cache and the folders where kernels build their cells.
//! Nothing is written to `~/.local/share/jupyter`, `~/.jupyter` or `~/.cargo/bin`.
//!
//! # A tour
//!
//! A [`Layout`] names the folders of one checkout. [`ensure`] installs what is missing
//! there (idempotently, each long [`Step`] showing progress) and returns an
//! [`Installation`], whose [`jupyter`](Installation::jupyter) builds `jupyter ...`
//! commands that use this project's kernel even when another `rust` kernel is
//! installed for the user:
//!
//! ```no_run
//! let layout = kernel_setup::Layout::of_this_checkout();
//! let installation = kernel_setup::ensure(&layout)?;
//! let status = installation.jupyter("kernelspec").arg("list").status();
//! # Ok::<(), kernel_setup::SetupError>(())
//! ```
//!
//! Every failure is a [`SetupError`]: one line that says what to do.
//!
//! A class on one machine (`cargo hub`): [`ensure_hub`] adds JupyterHub and what
//! learners' accounts need, [`read_learners`] reads the learners file,
//! [`ensure_learner`] makes each learner's system [`Account`], and a [`Hub`] (from
//! the [`HubCommand`] line) checks the machine, writes its [`HubSettings`] for
//! `jupyterhub_config.py` and [serves](Hub::serve) the class as `jupyterhub`.
//! Each learner's server runs in a control group of its own ([`ClassGroups`],
//! [`LearnerGroup`]) with the [`LearnerLimits`] the values file and the task limit
//! give; the hub's spawner makes and removes it through [`LearnerGroupCommand`].
//!
//! The tests that install into scratch checkouts start from a finished evcxr build
//! folder ([`holds_evcxr_build`], [`Layout::test_build_seed`]) instead of compiling
//! evcxr again.
//!
//! [`ensure_tool_venv`] keeps a virtualenv of pinned Python tools for the tests.
//!
//! Waiting with a deadline ([`poll_until`], [`child_within`]) and quoting a log
//! ([`last_lines`]) are shared with the notebook harness.

mod error;
mod files;
mod hub;
mod install;
mod kernelspec;
mod language;
mod layout;
mod log;
mod npm;
mod permissions;
mod progress;
mod venv;
mod wait;

pub use error::{Result, SetupError};
pub use hub::accounts::{ACCOUNT_MARK, Account, account, ensure_learner};
pub use hub::command::{HubCommand, LearnerGroupCommand};
pub use hub::control_groups::{ClassGroups, LearnerGroup};
pub use hub::install::ensure_hub;
pub use hub::learners::{check_learner_name, read_learners};
pub use hub::limits::{COURSE_TASKS, DEFAULT_TASKS, LEARNER_MEMORY_BYTES, LearnerLimits};
pub use hub::server::{Hub, can_serve_from};
pub use hub::settings::HubSettings;
pub use install::{EVCXR_VERSION, Installation, ensure, holds_evcxr_build};
pub use language::Language;
pub use layout::Layout;
pub use log::last_lines;
pub use npm::{NpmPackages, ensure_npm_packages};
pub use permissions::running_as_root;
pub use progress::{STEP_TIMES, Step};
pub use venv::ensure_tool_venv;
pub use wait::{child_within, poll_until};
