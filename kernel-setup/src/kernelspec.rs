//! The `rust` kernelspec: what Jupyter starts for a Rust notebook, and the clean-up of
//! the build folders of kernels that are gone.

use crate::error::{Result, io_error};
use crate::files::{pretty_json, write_atomically};
use crate::layout::Layout;
use crate::progress::Step;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

/// The kernelspec, as evcxr's own `--install` writes it, plus the environment that
/// keeps the kernel's configuration, cache and self-update inside the project;
/// `overrides` replace entries of that environment (the hub's learners keep their
/// cache in their own homes).
pub(crate) fn kernel_json(
    layout: &Layout,
    launcher: &[&str],
    overrides: &[(&str, PathBuf)],
) -> String {
    let env = [
        ("EVCXR_CONFIG_DIR", layout.evcxr_config()),
        ("XDG_CACHE_HOME", layout.kernel_cache()),
        // evcxr re-installs its kernelspec at start-up when the one in
        // $JUPYTER_PATH/kernels/rust differs from its version: pointing it here keeps
        // it from touching a user's global `rust` kernel.
        ("JUPYTER_PATH", layout.jupyter_path()),
        // evcxr builds each kernel's cells in a fresh folder under $TMPDIR. Inside the
        // project, cargo reads the project's .cargo/config.toml there, whose profile
        // lets evcxr's cache keep the support crate (the warm first `:dep` drops from
        // 2.9 s to 1.7 s).
        ("TMPDIR", layout.kernel_tmpdir()),
    ];
    let env: serde_json::Map<String, serde_json::Value> = env
        .into_iter()
        .chain(overrides.iter().cloned())
        .map(|(key, value)| (key.to_owned(), value.to_string_lossy().into()))
        .collect();
    let spec = serde_json::json!({
        "argv": launcher.iter().map(|word| word.to_string()).chain([
            layout.evcxr_jupyter().to_string_lossy().into_owned(),
            "--control_file".to_owned(),
            "{connection_file}".to_owned(),
        ]).collect::<Vec<_>>(),
        "display_name": "Rust",
        "language": "rust",
        "interrupt_mode": "message",
        "env": env,
    });
    pretty_json(&spec)
}

/// Removes the build folders of kernels that are gone. A kernel removes its own when
/// it exits, but not when it is killed (a timeout in the tests, a crash), and each
/// holds a compiled copy of the crate's dependencies. A folder counts as abandoned
/// when no process has a file from it mapped (a kernel's cells are shared objects
/// loaded from there) and it is more than an hour old, so a kernel that is starting
/// or has not yet run a cell keeps its folder.
fn remove_abandoned_kernel_dirs(tmpdir: &Path) {
    let Ok(entries) = fs::read_dir(tmpdir) else {
        return;
    };
    let candidates: Vec<PathBuf> = entries
        .flatten()
        .filter(|entry| {
            entry
                .metadata()
                .and_then(|m| m.modified())
                .is_ok_and(|modified| {
                    modified.elapsed().unwrap_or_default() > Duration::from_secs(3600)
                })
        })
        .map(|entry| entry.path())
        .collect();
    if candidates.is_empty() {
        return;
    }
    let mut mapped = String::new();
    if let Ok(processes) = fs::read_dir("/proc") {
        for process in processes.flatten() {
            if let Ok(maps) = fs::read_to_string(process.path().join("maps")) {
                mapped.push_str(&maps);
            }
        }
    }
    for dir in candidates {
        let prefix = format!("{}/", dir.display());
        if !mapped.contains(&prefix) {
            let _ = fs::remove_dir_all(&dir);
        }
    }
}

pub(crate) fn ensure_kernelspec(layout: &Layout) -> Result<()> {
    let tmpdir = layout.kernel_tmpdir();
    fs::create_dir_all(&tmpdir).map_err(io_error("create", &tmpdir))?;
    remove_abandoned_kernel_dirs(&tmpdir);
    let wanted = kernel_json(layout, &[], &[]);
    let kernel_json_path = layout.kernel_dir().join("kernel.json");
    if fs::read_to_string(&kernel_json_path).is_ok_and(|current| current == wanted)
        && layout.kernel_dir().join("version.txt").is_file()
    {
        return Ok(());
    }
    let step = Step::start("registering the Rust kernel in .local/venv", "a second");
    // evcxr's --install writes the logos and client files next to kernel.json.
    let mut install = Command::new(layout.evcxr_jupyter());
    install
        .arg("--install")
        .env("JUPYTER_PATH", layout.jupyter_path());
    step.run(
        install,
        &layout.logs().join("kernel-install.log"),
        Duration::from_secs(60),
    )?;
    write_atomically(&kernel_json_path, &wanted)?;
    step.done();
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kernel_json_is_valid_and_points_inside_the_project() {
        let layout = Layout {
            root: PathBuf::from("/home/a \"quoted\" dir"),
        };
        let json: serde_json::Value =
            serde_json::from_str(&kernel_json(&layout, &[], &[])).unwrap();
        assert_eq!(
            json["argv"][0],
            "/home/a \"quoted\" dir/.local/cargo/bin/evcxr_jupyter"
        );
        assert_eq!(
            json["env"]["JUPYTER_PATH"],
            "/home/a \"quoted\" dir/.local/venv/share/jupyter"
        );
        assert_eq!(json["display_name"], "Rust");
    }

    #[test]
    fn only_old_unmapped_kernel_dirs_are_removed() {
        let tmpdir = std::env::temp_dir().join(format!("kernel-dirs-{}", std::process::id()));
        let (old, fresh) = (tmpdir.join(".tmpOld"), tmpdir.join(".tmpFresh"));
        fs::create_dir_all(old.join("target")).unwrap();
        fs::create_dir_all(&fresh).unwrap();
        let two_hours_ago = std::time::SystemTime::now() - Duration::from_secs(7200);
        fs::File::open(&old)
            .and_then(|dir| dir.set_modified(two_hours_ago))
            .unwrap();
        remove_abandoned_kernel_dirs(&tmpdir);
        let (old_left, fresh_left) = (old.exists(), fresh.exists());
        let _ = fs::remove_dir_all(&tmpdir);
        assert!(!old_left, "an abandoned folder was kept");
        assert!(fresh_left, "a new kernel's folder was removed");
    }
}
