//! `kernel-setup hub ...` (`cargo hub`): checks the arguments and the machine, installs
//! what is missing, creates the learners' accounts, then becomes `jupyterhub`.

use kernel_setup::{Hub, Layout, SetupError, ensure, ensure_hub, ensure_learner, read_learners};
use std::convert::Infallible;
use std::fs;
use std::os::fd::AsRawFd;
use std::os::unix::process::CommandExt;
use std::path::PathBuf;
use std::process::Command;

const USAGE: &str = "usage: cargo hub --learners FILE [--ip IP] [--port PORT] [--course-repo URL] [--branch NAME] [--idle-timeout SECONDS]";

fn usage(problem: &str) -> SetupError {
    SetupError::from(format!("cargo hub: {problem}\n{USAGE}"))
}

/// Reads the arguments into a hub; the course defaults to this checkout's own
/// repository and branch.
fn parse(layout: &Layout, args: &[String]) -> Result<Hub, SetupError> {
    let mut learners_file = None;
    let mut hub = Hub {
        learners: Vec::new(),
        ip: "127.0.0.1".to_owned(),
        port: 8000,
        course_repo: format!("file://{}", layout.root.display()),
        branch: String::new(),
        idle_timeout: None,
    };
    let mut args = args.iter();
    while let Some(flag) = args.next() {
        let mut value = || {
            args.next()
                .cloned()
                .ok_or_else(|| usage(&format!("{flag} needs a value")))
        };
        match flag.as_str() {
            "--learners" => learners_file = Some(PathBuf::from(value()?)),
            "--ip" => hub.ip = value()?,
            "--port" => {
                let text = value()?;
                hub.port = text
                    .parse()
                    .ok()
                    .filter(|port| (1..=65533).contains(port))
                    .ok_or_else(|| usage(&format!("--port {text} is not a port number")))?;
            }
            "--course-repo" => hub.course_repo = value()?,
            "--branch" => hub.branch = value()?,
            "--idle-timeout" => {
                let text = value()?;
                // The culler checks at most every timeout; under 10 s it would cull a
                // server between a learner's cells.
                hub.idle_timeout = Some(
                    text.parse()
                        .ok()
                        .filter(|seconds| *seconds >= 10)
                        .ok_or_else(|| {
                            usage(&format!(
                                "--idle-timeout {text} is not a number of seconds (10 or more)"
                            ))
                        })?,
                );
            }
            other => return Err(usage(&format!("unknown argument {other}"))),
        }
    }
    let learners_file =
        learners_file.ok_or_else(|| usage("--learners FILE is required (one account per line)"))?;
    hub.learners = read_learners(&learners_file)?;
    if hub.branch.is_empty() {
        hub.branch = current_branch(layout)?;
    }
    Ok(hub)
}

fn current_branch(layout: &Layout) -> Result<String, SetupError> {
    Command::new("git")
        .args(["rev-parse", "--abbrev-ref", "HEAD"])
        .current_dir(&layout.root)
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned())
        .filter(|branch| branch != "HEAD")
        .ok_or_else(|| {
            SetupError::from(
                "cargo hub: cannot tell this checkout's git branch; name the course's branch with --branch".to_owned(),
            )
        })
}

/// Runs the hub in place of this process; returns only on failure.
pub fn start(layout: &Layout, args: &[String]) -> Result<Infallible, SetupError> {
    let hub = parse(layout, args)?;
    let lock_path = layout.hub().join("hub.lock");
    fs::create_dir_all(layout.hub()).map_err(|e| {
        SetupError::from(format!(
            "cargo hub: cannot create {}: {e}",
            layout.hub().display()
        ))
    })?;
    let lock = fs::File::create(&lock_path).map_err(|e| {
        SetupError::from(format!(
            "cargo hub: cannot create {}: {e}",
            lock_path.display()
        ))
    })?;
    if lock.try_lock().is_err() {
        return Err(SetupError::from(
            "cargo hub: a hub from this checkout is already running; stop it (Ctrl-C in its terminal) before starting another".to_owned(),
        ));
    }
    hub.check(layout)?;
    let installation = ensure(layout)?;
    ensure_hub(&installation)?;
    for learner in &hub.learners {
        ensure_learner(layout, learner)?;
    }
    // jupyterhub inherits the lock, so it is held until the hub itself exits.
    // SAFETY: fcntl on a descriptor this function owns changes only its flags.
    unsafe {
        let fd = lock.as_raw_fd();
        let flags = libc::fcntl(fd, libc::F_GETFD);
        libc::fcntl(fd, libc::F_SETFD, flags & !libc::FD_CLOEXEC);
    }
    eprintln!(
        "cargo hub: serving {} learner(s) at http://{}:{}/ (each chooses a password at the first login)",
        hub.learners.len(),
        hub.ip,
        hub.port
    );
    hub.settings(layout).write(&layout.hub_settings())?;
    let mut command = hub.command(layout);
    let error = command.exec();
    Err(SetupError::from(format!(
        "cargo hub: cannot start jupyterhub: {error}"
    )))
}
