//! The Rust toolchain and crate registry learners' kernels use: readable by every
//! learner's account, and the same paths for all of them.

use crate::error::{Result, SetupError, io_error};
use crate::files::once;
use crate::layout::Layout;
use crate::progress::Step;
use std::fs;
use std::path::PathBuf;
use std::process::Command;
use std::time::Duration;

/// The toolchain cargo uses here.
pub(crate) struct Toolchain {
    /// The output of `rustc -vV`: what the hub's copies are made from.
    pub(crate) version: String,
    /// Where it is installed.
    pub(crate) sysroot: PathBuf,
}

impl Toolchain {
    /// The toolchain `rustc` on PATH belongs to.
    pub(crate) fn on_path() -> Result<Toolchain> {
        let run = |args: &[&str]| {
            Command::new("rustc")
            .args(args)
            .output()
            .ok()
            .filter(|o| o.status.success())
            .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned())
            .ok_or_else(|| {
                SetupError::new(
                    "kernel-setup: `rustc` does not run; install the Rust toolchain (https://rustup.rs) and retry",
                )
            })
        };
        Ok(Toolchain {
            version: run(&["-vV"])?,
            sysroot: PathBuf::from(run(&["--print", "sysroot"])?),
        })
    }
}

/// Learners' accounts need a toolchain they can read. rustup's usually sits in the
/// installing user's home, which others cannot enter: the hub keeps a copy made of
/// hard links (no extra space; a plain copy across file systems).
pub(crate) fn ensure_toolchain(layout: &Layout, toolchain: &Toolchain) -> Result<()> {
    let Toolchain { version, sysroot } = toolchain;
    let target = layout.hub_toolchain();
    once(&layout.hub().join("toolchain-version.txt"), version, || {
        let step = Step::start(
            "linking the Rust toolchain into .local/hub/toolchain for learners' accounts",
            "seconds, once per toolchain",
        );
        if target.exists() {
            fs::remove_dir_all(&target).map_err(io_error("remove", &target))?;
        }
        let linked = Command::new("cp")
            .arg("-al")
            .arg(sysroot)
            .arg(&target)
            .status()
            .is_ok_and(|s| s.success());
        if !linked {
            let _ = fs::remove_dir_all(&target);
            let mut copy = Command::new("cp");
            copy.arg("-a").arg(sysroot).arg(&target);
            step.run(
                copy,
                &layout.logs().join("toolchain-copy.log"),
                Duration::from_secs(600),
            )?;
        }
        step.done();
        Ok(())
    })
}

/// The registry learners' cargo reads: every crate of this workspace's lock fetched
/// once (all features), then used offline. One path for all learners also gives their
/// compiled dependencies one evcxr cache key. It also holds the crates of the
/// toolchain's own `library` workspace: evcxr's rust-analyzer loads std through
/// `cargo metadata` there, and without them it cannot tell any type (every `let` of a
/// value fails with "Couldn't automatically determine type").
pub(crate) fn ensure_cargo_home(layout: &Layout, toolchain: &Toolchain) -> Result<()> {
    let Toolchain { version, sysroot } = toolchain;
    let home = layout.hub_cargo_home();
    let lock = layout.root.join("Cargo.lock");
    let wanted = fs::read_to_string(&lock).map_err(io_error("read", &lock))? + version;
    once(&home.join("fetched-Cargo.lock"), &wanted, || {
        let step = Step::start(
            "fetching the course's crates into .local/hub/cargo-home for learners",
            "seconds, once",
        );
        fs::create_dir_all(&home).map_err(io_error("create", &home))?;
        // The same profile as the project's .cargo/config.toml: evcxr's cache then keeps
        // a learner's compiled support crate between kernel starts.
        let config = home.join("config.toml");
        fs::write(
            &config,
            "[net]\noffline = true\n\n[profile.dev.package.concurrency_helpers]\nincremental = false\n",
        )
        .map_err(io_error("write", &config))?;
        let manifests = [
            layout.root.join("Cargo.toml"),
            sysroot.join("lib/rustlib/src/rust/library/Cargo.toml"),
        ];
        // Without rust-src (no library folder) the kernel has no std to load anyway.
        for manifest in manifests.into_iter().filter(|m| m.is_file()) {
            let mut fetch = Command::new("cargo");
            fetch
                .args(["fetch", "--locked", "--manifest-path"])
                .arg(manifest)
                .env("CARGO_HOME", &home)
                .env("CARGO_NET_OFFLINE", "false")
                // The library workspace uses unstable manifest features.
                .env("RUSTC_BOOTSTRAP", "1");
            step.run(
                fetch,
                &layout.logs().join("cargo-fetch-hub.log"),
                Duration::from_secs(600),
            )?;
        }
        step.done();
        Ok(())
    })
}
