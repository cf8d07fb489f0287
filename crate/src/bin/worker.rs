//! The support crate's worker program: what the processes of the multiprocessing
//! notebooks run. `concurrency_helpers::worker()` builds it and returns a `Command`
//! for it; `concurrency_helpers::worker_source(NAME)` shows one of its functions.
//!
//! ```text
//! worker greet TASK_ID | say-hi LOCK_FILE NAME | server BARRIER_DIR | client BARRIER_DIR | crash
//! ```

use concurrency_helpers::{random, wait_at_rendezvous};
use std::fs::File;
use std::io;
use std::path::Path;
use std::process::ExitCode;
use std::time::Duration;

const USAGE: &str = "usage: worker greet TASK_ID | say-hi LOCK_FILE NAME | server BARRIER_DIR | client BARRIER_DIR | crash";

/// How long a server or client waits for the other at the rendezvous.
const RENDEZVOUS_TIMEOUT: Duration = Duration::from_secs(10);

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let done = match args.as_slice() {
        ["greet", task_id] => {
            print_message(task_id);
            Ok(())
        }
        ["say-hi", lock, name] => say_hi(Path::new(lock), name),
        ["server", barrier] => server(Path::new(barrier)),
        ["client", barrier] => client(Path::new(barrier)),
        ["crash"] => crash(),
        _ => {
            eprintln!("{USAGE}");
            return ExitCode::from(2);
        }
    };
    match done {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("worker {}: {e}", args.join(" "));
            ExitCode::FAILURE
        }
    }
}

/// Says which process runs the task.
fn print_message(task_id: &str) {
    println!("Hello, from task {task_id}. PID is {}.", std::process::id());
}

/// Waits up to a second, then greets while holding a lock that every process can see:
/// an exclusive lock on a file, released when the file is closed at the end.
fn say_hi(lock: &Path, name: &str) -> io::Result<()> {
    std::thread::sleep(Duration::from_secs_f64(random()));
    let lock = File::create(lock)?;
    lock.lock()?;
    println!("Hello, {name}!");
    Ok(())
}

/// Meets the client at the rendezvous, then serves.
fn server(barrier: &Path) -> io::Result<()> {
    wait_at_rendezvous(barrier, "server", 2, RENDEZVOUS_TIMEOUT)?;
    println!("Server is serving");
    println!("Server is still serving");
    println!("Server is serving even more data");
    Ok(())
}

/// Meets the server at the rendezvous, then accesses it.
fn client(barrier: &Path) -> io::Result<()> {
    wait_at_rendezvous(barrier, "client", 2, RENDEZVOUS_TIMEOUT)?;
    println!("Client is accessing server");
    println!("Client is still accessing server");
    println!("Client is taking really long to access the server");
    Ok(())
}

/// Ends the process at once, as a crash in native code would: no unwinding, no
/// clean-up, nothing a `join` could catch.
fn crash() -> io::Result<()> {
    println!("Worker {} is about to crash.", std::process::id());
    // No core file: this crash is on purpose.
    let no_core = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: setrlimit only reads the struct it is given.
    unsafe { libc::setrlimit(libc::RLIMIT_CORE, &no_core) };
    std::process::abort()
}
