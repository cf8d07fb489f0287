//! Gives every version of this crate's source its own compiler command line.
//!
//! Notebooks load the crate with evcxr's `:dep`, and evcxr keeps compiled crates in a
//! cache keyed by rustc's arguments. The project's `.cargo/config.toml` turns off
//! incremental compilation for this crate so that evcxr caches it too (a kernel's
//! first `:dep` then takes about 1.7 s instead of 2.9 s). Cargo's arguments for a path
//! crate do not change when its source does, so this script adds a `--cfg` naming a
//! digest of the source: an edited crate misses the cache and is compiled afresh.

use std::collections::hash_map::DefaultHasher;
use std::fs;
use std::hash::Hasher;
use std::path::{Path, PathBuf};

fn main() {
    let manifest_dir = PathBuf::from(std::env::var_os("CARGO_MANIFEST_DIR").unwrap());
    let mut files = vec![manifest_dir.join("Cargo.toml")];
    collect_rust_files(&manifest_dir.join("src"), &mut files);
    files.sort();
    let mut hasher = DefaultHasher::new();
    for file in &files {
        let relative = file.strip_prefix(&manifest_dir).unwrap_or(file);
        hasher.write(relative.to_string_lossy().as_bytes());
        hasher.write(&fs::read(file).unwrap_or_default());
    }
    println!("cargo::rerun-if-changed=Cargo.toml");
    println!("cargo::rerun-if-changed=src");
    println!("cargo::rustc-check-cfg=cfg(source_digest, values(any()))");
    println!(
        "cargo::rustc-cfg=source_digest=\"{:016x}\"",
        hasher.finish()
    );
}

fn collect_rust_files(dir: &Path, files: &mut Vec<PathBuf>) {
    let Ok(entries) = fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            collect_rust_files(&path, files);
        } else if path.extension().is_some_and(|e| e == "rs") {
            files.push(path);
        }
    }
}
