//! Who this process is and who may read what: the hub runs as root and serves
//! accounts that must read the checkout.

use std::fs;
use std::io;
use std::os::unix::fs::MetadataExt;
use std::path::Path;

/// Whether this process runs as root (Jupyter refuses root unless told; apt needs it).
pub fn running_as_root() -> bool {
    fs::metadata("/proc/self").is_ok_and(|m| m.uid() == 0)
}

/// Whether `path` can be read by any account: every folder above it searchable.
pub(crate) fn readable_by_all(path: &Path) -> io::Result<bool> {
    for folder in path.ancestors() {
        if fs::metadata(folder)?.mode() & 0o001 == 0 {
            return Ok(false);
        }
    }
    Ok(true)
}
