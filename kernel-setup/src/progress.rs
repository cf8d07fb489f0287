//! Visible progress for the long installation steps.

use crate::error::{Result, SetupError};
use crate::log::last_lines;
use crate::wait::child_within;
use std::fs::{self, File};
use std::io::{BufRead, BufReader, Write};
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

/// How often a running step reports that it is still alive.
const HEARTBEAT: Duration = Duration::from_secs(20);

/// The file beside the steps' logs where each finished step adds a line: its title
/// and how many seconds it took (`cargo bench-notebooks` prints the latest of each).
pub const STEP_TIMES: &str = "step-times.tsv";

/// One installation step: says what it does and how long that usually takes, runs
/// commands with their output in a log file, and reports progress while they run.
pub struct Step {
    title: String,
    started: Instant,
    /// Where [`Step::done`] records the step's time: [`STEP_TIMES`] beside its log.
    times: std::cell::RefCell<Option<std::path::PathBuf>>,
}

#[derive(Default)]
struct Activity {
    lines: usize,
    compiled: usize,
    last: String,
}

impl Step {
    /// Announces the step: what it does and how long that usually takes.
    pub fn start(title: &str, typical: &str) -> Step {
        eprintln!("kernel-setup: {title} ({typical})...");
        Step {
            title: title.to_owned(),
            started: Instant::now(),
            times: std::cell::RefCell::new(None),
        }
    }

    /// Runs `command` to completion within `limit`, its output going to `log`.
    pub fn run(&self, mut command: Command, log: &Path, limit: Duration) -> Result<()> {
        *self.times.borrow_mut() = log.parent().map(|logs| logs.join(STEP_TIMES));
        let log_file = File::create(log).map_err(|e| {
            SetupError::new(format!(
                "kernel-setup: cannot create {}: {e}",
                log.display()
            ))
        })?;
        let log_file = Arc::new(Mutex::new(log_file));
        let activity = Arc::new(Mutex::new(Activity::default()));
        let mut child = command
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|e| SetupError::new(format!("kernel-setup: cannot start {command:?}: {e}")))?;
        let readers = [
            child
                .stdout
                .take()
                .map(|s| Box::new(s) as Box<dyn std::io::Read + Send>),
            child
                .stderr
                .take()
                .map(|s| Box::new(s) as Box<dyn std::io::Read + Send>),
        ]
        .into_iter()
        .flatten()
        .map(|stream| {
            let (log_file, activity) = (Arc::clone(&log_file), Arc::clone(&activity));
            thread::spawn(move || {
                for line in BufReader::new(stream).lines().map_while(|l| l.ok()) {
                    let _ = writeln!(log_file.lock().unwrap(), "{line}");
                    let mut a = activity.lock().unwrap();
                    a.lines += 1;
                    if line.trim_start().starts_with("Compiling ") {
                        a.compiled += 1;
                    }
                    if !line.trim().is_empty() {
                        a.last = line.trim().chars().take(70).collect();
                    }
                }
            })
        })
        .collect::<Vec<_>>();
        let step_started = Instant::now();
        let mut next_report = step_started + HEARTBEAT;
        let status = child_within(&mut child, limit, || {
            if Instant::now() >= next_report {
                let a = activity.lock().unwrap();
                let counted = if a.compiled > 0 {
                    format!("{} crates compiled", a.compiled)
                } else {
                    format!("{} lines of output", a.lines)
                };
                eprintln!(
                    "  ... {}, {counted}; now: {}",
                    elapsed(self.started),
                    a.last
                );
                next_report += HEARTBEAT;
            }
        })
        .map_err(|e| SetupError::new(format!("kernel-setup: {e}")))?;
        let Some(status) = status else {
            let _ = child.kill();
            let _ = child.wait();
            return Err(SetupError::new(format!(
                "kernel-setup: {} did not finish within {} min; see {} (the next run resumes)",
                self.title,
                limit.as_secs() / 60,
                log.display()
            )));
        };
        for reader in readers {
            let _ = reader.join();
        }
        if status.success() {
            return Ok(());
        }
        Err(SetupError::new(format!(
            "kernel-setup: {} failed ({status}); last lines of {}:\n{}",
            self.title,
            log.display(),
            last_lines(log, 15)
        )))
    }

    /// Says that the step finished, and how long it took (steps may run side by side,
    /// so the line names it), and records that time.
    pub fn done(&self) {
        eprintln!(
            "kernel-setup: {}: done in {}",
            self.title,
            elapsed(self.started)
        );
        if let Some(path) = self.times.borrow().as_ref() {
            let line = format!(
                "{}\t{:.0}\n",
                self.title,
                self.started.elapsed().as_secs_f64()
            );
            // The record is for comparing runs; a step that cannot write it still
            // finished.
            let _ = fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(path)
                .and_then(|mut file| file.write_all(line.as_bytes()));
        }
    }
}

fn elapsed(since: Instant) -> String {
    let s = since.elapsed().as_secs();
    if s >= 60 {
        format!("{}m{:02}s", s / 60, s % 60)
    } else {
        format!("{s}s")
    }
}
