//! The kernelspec learners' servers find: the project's kernel, with its cache and
//! build folders in each learner's home.

use crate::error::{Result, io_error};
use crate::files::write_atomically;
use crate::kernelspec::kernel_json;
use crate::layout::Layout;
use std::fs;

/// What a learner's kernel starts ends with it. The server starts each kernel in a
/// process group of its own; evcxr's user code runs in a child process, and whatever
/// that starts (worker processes, or `sleep` in a loop) outlives an interrupt, a
/// restart or a shutdown, holding the learner's task limit: the next kernel could not
/// start (seen in the fault trial). This shell runs evcxr, ignoring the interrupts
/// meant for it, and once evcxr exits it kills the rest of the group.
const KERNEL_LAUNCHER: [&str; 3] = ["/bin/sh", "-c", "trap '' INT; \"$0\" \"$@\"; kill -KILL 0"];

/// The project's kernel (the same evcxr binary and evcxr-config) registered for
/// learners: its cache and build folders are in each learner's home. Jupyter
/// replaces `${HOME}` in a kernelspec's environment when it starts a kernel.
pub(crate) fn ensure_hub_kernelspec(layout: &Layout) -> Result<()> {
    let folder = layout.hub_jupyter_path().join("kernels").join("rust");
    fs::create_dir_all(&folder).map_err(io_error("create", &folder))?;
    // evcxr rewrites a kernelspec whose version.txt is not its own; the logos too.
    for entry in
        fs::read_dir(layout.kernel_dir()).map_err(io_error("read", &layout.kernel_dir()))?
    {
        let entry = entry.map_err(io_error("read", &layout.kernel_dir()))?;
        if entry.file_name() != "kernel.json" {
            fs::copy(entry.path(), folder.join(entry.file_name()))
                .map_err(io_error("copy", &entry.path()))?;
        }
    }
    // evcxr writes `[net] offline = false` into each kernel's own cargo config unless
    // told `:offline 1`, which would hide the offline setting of the learners' cargo
    // home: the hub's evcxr-config is the project's plus that line.
    let config = layout.hub().join("evcxr-config");
    fs::create_dir_all(&config).map_err(io_error("create", &config))?;
    for entry in
        fs::read_dir(layout.evcxr_config()).map_err(io_error("read", &layout.evcxr_config()))?
    {
        let entry = entry.map_err(io_error("read", &layout.evcxr_config()))?;
        let mut text = fs::read_to_string(entry.path()).map_err(io_error("read", &entry.path()))?;
        if entry.file_name() == "init.evcxr" {
            text.push_str(":offline 1\n");
        }
        write_atomically(&config.join(entry.file_name()), &text)?;
    }
    // In a class, kernels start as learners arrive, while cells run in step with the
    // instructor. A variable at start-up has rust-analyzer load std then, which the
    // first `let` would otherwise do in step with everyone's (alone, that cell takes
    // 1.0 s instead of 2.4 s, and the kernel 1.5 s longer to start).
    let prelude = fs::read_to_string(layout.evcxr_config().join("prelude.rs")).unwrap_or_default();
    write_atomically(
        &config.join("prelude.rs"),
        &format!("{prelude}let rust_analyzer_warm_up = ();\n"),
    )?;
    let spec = kernel_json(
        layout,
        &KERNEL_LAUNCHER,
        &[
            ("EVCXR_CONFIG_DIR", config),
            ("XDG_CACHE_HOME", "${HOME}/.cache".into()),
            ("JUPYTER_PATH", layout.hub_jupyter_path()),
            ("TMPDIR", "${HOME}/.cache/evcxr-tmp".into()),
        ],
    );
    write_atomically(&folder.join("kernel.json"), &spec)
}
