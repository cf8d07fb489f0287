//! Real operating-system processes for the multiprocessing notebooks: the support
//! crate's small `worker` program, and a rendezvous that processes can share.
//!
//! Python's `multiprocessing` starts a new interpreter that runs a function of the
//! notebook. A compiled Rust notebook cannot hand a function to another process, so
//! the work a process does lives in a program of its own, `src/bin/worker.rs`, and
//! [`worker()`] starts it. [`worker_source`] shows its code in a notebook.

use std::fs;
use std::io;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;
use std::time::{Duration, Instant};

/// This crate's folder, as it was compiled (a notebook's `:dep` path).
const CRATE_DIR: &str = env!("CARGO_MANIFEST_DIR");

/// The source of the worker program, to show in a notebook.
const WORKER_SOURCE: &str = include_str!("bin/worker.rs");

/// This module's source, to show the rendezvous in a notebook.
const PROCESSES_SOURCE: &str = include_str!("processes.rs");

/// A [`Command`] that runs the support crate's `worker` program, built with cargo on
/// first use in this process (about 10 s the first time on a machine, then cargo
/// finds it up to date). Its subcommands are the tasks of the multiprocessing notebooks: `greet ID`,
/// `say-hi LOCK_FILE NAME`, `server BARRIER_DIR`, `client BARRIER_DIR`, `crash`.
///
/// # Panics
/// When cargo cannot build the worker: the message says why.
pub fn worker() -> Command {
    static PROGRAM: OnceLock<PathBuf> = OnceLock::new();
    Command::new(PROGRAM.get_or_init(|| build_worker().unwrap_or_else(|e| panic!("{e}"))))
}

fn build_worker() -> Result<PathBuf, String> {
    let manifest = Path::new(CRATE_DIR).join("Cargo.toml");
    // The kernel's temp folder (inside the project for this course's kernel): every
    // kernel shares one build, and cargo's lock lets one build it at a time.
    let target = std::env::temp_dir().join("concurrency-helpers-worker");
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let output = Command::new(&cargo)
        .args(["build", "--quiet", "--bin", "worker"])
        .arg("--manifest-path")
        .arg(&manifest)
        .arg("--target-dir")
        .arg(&target)
        .output()
        .map_err(|e| {
            format!("cannot run cargo to build the worker program ({e}); is cargo on PATH?")
        })?;
    if !output.status.success() {
        return Err(format!(
            "cargo could not build the worker program:\n{}",
            String::from_utf8_lossy(&output.stderr)
        ));
    }
    Ok(target.join("debug").join("worker"))
}

/// The worker program's function `name`, as written in `src/bin/worker.rs`, for a
/// notebook to show what its processes run. Empty if there is no such function.
pub fn worker_source(name: &str) -> String {
    function_source(WORKER_SOURCE, name)
}

/// The source of [`wait_at_rendezvous`], for a notebook to show how the processes of a
/// [`ProcessBarrier`] meet.
pub fn rendezvous_source() -> String {
    function_source(PROCESSES_SOURCE, "wait_at_rendezvous")
}

/// The top-level function `name` in `source`, from the doc comment above it to its
/// closing brace; empty if there is none.
fn function_source(source: &str, name: &str) -> String {
    let start = format!("fn {name}(");
    source
        .find(&start)
        .and_then(|at| {
            let begin = source[..at].rfind("\n\n").map_or(0, |b| b + 2);
            let end = source[at..].find("\n}\n").map(|e| at + e + 2)?;
            Some(source[begin..end].to_owned())
        })
        .unwrap_or_default()
}

/// A rendezvous for processes, the counterpart of `multiprocessing.Barrier`: a fresh
/// folder that each party marks when it arrives ([`wait_at_rendezvous`]); every party
/// goes on once all have arrived. Threads' `Mutex` and `Barrier` live in one process's
/// memory; a folder is something every process can see. Removed when dropped.
#[derive(Debug)]
pub struct ProcessBarrier {
    dir: PathBuf,
    parties: usize,
}

impl ProcessBarrier {
    /// A rendezvous of `parties` processes, in a new folder under the temp directory.
    pub fn new(parties: usize) -> io::Result<ProcessBarrier> {
        // Unique per process and moment; `create_dir` fails rather than reuse a folder.
        let since_epoch = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap_or_default();
        let dir = std::env::temp_dir().join(format!(
            "process-barrier-{}-{}",
            std::process::id(),
            since_epoch.as_nanos()
        ));
        fs::create_dir(&dir)?;
        Ok(ProcessBarrier { dir, parties })
    }

    /// The folder to give each party (a worker's `BARRIER_DIR`).
    pub fn path(&self) -> &Path {
        &self.dir
    }

    /// The number of processes that must arrive.
    pub fn parties(&self) -> usize {
        self.parties
    }
}

impl Drop for ProcessBarrier {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.dir);
    }
}

/// Marks `me` as arrived at the rendezvous in `dir` and waits until `parties` have,
/// or fails after `timeout` (like a barrier's wait with a timeout). Each party looks at
/// the folder every 5 ms: the last to arrive goes on at once, the others within 5 ms.
pub fn wait_at_rendezvous(
    dir: &Path,
    me: &str,
    parties: usize,
    timeout: Duration,
) -> io::Result<()> {
    fs::write(dir.join(me), b"")?;
    let deadline = Instant::now() + timeout;
    loop {
        if fs::read_dir(dir)?.count() >= parties {
            return Ok(());
        }
        if Instant::now() > deadline {
            return Err(io::Error::new(
                io::ErrorKind::TimedOut,
                format!("only some of {parties} parties arrived within {timeout:?}"),
            ));
        }
        std::thread::sleep(Duration::from_millis(5));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shows_one_function_of_the_worker() {
        let source = worker_source("say_hi");
        assert!(source.starts_with("/// Waits up to a second"), "{source}");
        assert!(source.contains("lock.lock()?;"), "{source}");
        assert!(source.ends_with("Ok(())\n}"), "{source}");
        assert_eq!(worker_source("no_such_function"), "");
        let rendezvous = rendezvous_source();
        assert!(rendezvous.starts_with("/// Marks `me`"), "{rendezvous}");
        assert!(rendezvous.ends_with("    }\n}"), "{rendezvous}");
    }

    #[test]
    fn a_rendezvous_lets_all_parties_through_or_times_out() {
        let barrier = ProcessBarrier::new(2).unwrap();
        let dir = barrier.path().to_owned();
        std::thread::scope(|s| {
            let other = s.spawn(|| wait_at_rendezvous(&dir, "b", 2, Duration::from_secs(5)));
            wait_at_rendezvous(&dir, "a", 2, Duration::from_secs(5)).unwrap();
            other.join().unwrap().unwrap();
        });
        let alone = ProcessBarrier::new(2).unwrap();
        let error = wait_at_rendezvous(alone.path(), "a", 2, Duration::from_millis(50));
        assert_eq!(error.unwrap_err().kind(), io::ErrorKind::TimedOut);
        drop(barrier);
        assert!(!dir.exists(), "the folder is removed with the barrier");
    }

    #[test]
    fn workers_are_processes_of_their_own() {
        let output = worker().args(["greet", "7"]).output().unwrap();
        let text = String::from_utf8(output.stdout).unwrap();
        let pid: u32 = text
            .trim()
            .strip_prefix("Hello, from task 7. PID is ")
            .and_then(|rest| rest.strip_suffix('.'))
            .and_then(|pid| pid.parse().ok())
            .unwrap_or_else(|| panic!("unexpected greeting {text:?}"));
        assert_ne!(pid, std::process::id());
        let crashed = worker().arg("crash").output().unwrap();
        assert!(!crashed.status.success());
    }
}
