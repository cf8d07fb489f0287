//! The hub's configurer (`kernel-setup/hub/course_hub`) passes its Python tests: pytest
//! on `kernel-setup/hub/tests`, with the versions `requirements-pytest.txt` pins,
//! installed into `.local/pytest-venv` on first use. No root, no running hub.

use kernel_setup::{Layout, ensure_tool_venv};
use std::process::Command;

#[test]
fn the_hub_configurer_passes_its_python_tests() {
    let layout = Layout::of_this_checkout();
    let kernel_setup = layout.root.join("kernel-setup");
    let venv = ensure_tool_venv(
        &layout,
        "pytest-venv",
        &kernel_setup.join("requirements-pytest.txt"),
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let output = Command::new(venv.join("bin").join("python"))
        // Nothing written into the checkout: no bytecode, no pytest cache.
        .args([
            "-B",
            "-m",
            "pytest",
            "-q",
            "-p",
            "no:cacheprovider",
            "tests",
        ])
        .current_dir(kernel_setup.join("hub"))
        .output()
        .expect("the virtualenv's python runs");
    assert!(
        output.status.success(),
        "pytest failed ({}):\n{}{}",
        output.status,
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
}
