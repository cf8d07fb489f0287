//! Where everything of one checkout lives: the course's own folders and `.local/`.

use crate::Language;
use crate::files::lab_overrides_in;
use std::path::{Path, PathBuf};

/// The folders of one checkout of the course.
#[derive(Debug, Clone)]
pub struct Layout {
    /// The repository root (holds `notebooks/`).
    pub root: PathBuf,
}

impl Layout {
    /// The checkout this crate was built from.
    pub fn of_this_checkout() -> Self {
        let manifest_dir = Path::new(env!("CARGO_MANIFEST_DIR"));
        Layout {
            root: manifest_dir
                .parent()
                .expect("kernel-setup lives in the repository")
                .to_path_buf(),
        }
    }

    /// The course's notebooks (JupyterLab's root folder).
    pub fn notebooks(&self) -> PathBuf {
        self.root.join("notebooks")
    }
    /// The folder of code-along notebooks in `language`, relative to [`Layout::notebooks`]:
    /// what `cargo lab` and `cargo hub` open.
    pub fn codealong(language: Language) -> PathBuf {
        Path::new(language.code()).join("codealong")
    }
    /// Everything setup installs: `.local/` in the checkout.
    pub(crate) fn local(&self) -> PathBuf {
        self.root.join(".local")
    }
    pub(crate) fn cargo_root(&self) -> PathBuf {
        self.local().join("cargo")
    }
    /// What the handouts ship so that they open offline (reveal.js and the scripts
    /// nbconvert's pages load), installed from `course/handouts/`.
    pub fn handouts_js(&self) -> PathBuf {
        self.local().join("handouts-js")
    }
    /// The installed kernel binary.
    pub fn evcxr_jupyter(&self) -> PathBuf {
        self.cargo_root().join("bin").join("evcxr_jupyter")
    }
    /// The project's virtualenv: JupyterLab, nbconvert and the kernelspec.
    pub fn venv(&self) -> PathBuf {
        self.local().join("venv")
    }
    pub(crate) fn venv_bin(&self) -> PathBuf {
        self.venv().join("bin")
    }
    /// Where Jupyter finds the project's kernelspecs (put first on `JUPYTER_PATH`).
    pub fn jupyter_path(&self) -> PathBuf {
        self.venv().join("share").join("jupyter")
    }
    /// JupyterLab's settings overrides for every user of this installation.
    pub fn lab_overrides(&self) -> PathBuf {
        lab_overrides_in(&self.venv())
    }
    /// The project's `rust` kernelspec folder.
    pub fn kernel_dir(&self) -> PathBuf {
        self.jupyter_path().join("kernels").join("rust")
    }
    /// `XDG_CACHE_HOME` of the project's kernels: evcxr keeps its compiled-dependency
    /// cache in `evcxr/` there, and the test harness's runs take turns at it through
    /// `evcxr.lock` beside it.
    pub fn kernel_cache(&self) -> PathBuf {
        self.local().join("cache")
    }
    /// Where kernels build their cells (each in a folder of its own, removed when
    /// the kernel exits).
    pub fn kernel_tmpdir(&self) -> PathBuf {
        self.local().join("evcxr-tmp")
    }
    /// The folder of this crate, which holds the pinned requirements and the hub's files.
    pub(crate) fn kernel_setup(&self) -> PathBuf {
        self.root.join("kernel-setup")
    }
    pub(crate) fn requirements(&self) -> PathBuf {
        self.kernel_setup().join("requirements.txt")
    }
    pub(crate) fn evcxr_config(&self) -> PathBuf {
        self.kernel_setup().join("evcxr-config")
    }
    /// cargo's build folder for evcxr (`.local/build`, about 750 MB). It only lets an
    /// interrupted build resume: once evcxr is installed it may be deleted.
    pub fn evcxr_build(&self) -> PathBuf {
        self.local().join("build")
    }
    /// A finished evcxr build folder that the tests keep for themselves
    /// (`target/evcxr-build-seed`), so that no trial needs [`evcxr_build`](Self::evcxr_build).
    pub fn test_build_seed(&self) -> PathBuf {
        self.root.join("target").join("evcxr-build-seed")
    }
    /// Log files of the long installation steps.
    pub fn logs(&self) -> PathBuf {
        self.local().join("logs")
    }
}
