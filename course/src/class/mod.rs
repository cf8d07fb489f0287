//! A class served by `cargo hub`, for the hub tests and the classroom benchmark: the
//! hub started in a process group of its own, its simulated learners driven by
//! `course/classroom/classroom.py` (the client: log in, start a server, pull the course, run
//! cells over the kernel websocket), and the hub stopped as Ctrl-C stops it, with
//! whatever outlived it reported and killed and the learners' accounts removed.
//!
//! Whatever the client and the hub must agree on comes from here: the password, the
//! cell timeout, the course's repository, branch and folder, and the notebook's code
//! cells (read by the harness); the client's reports are typed in [`report`].

pub mod faults;
pub mod machine;
pub mod report;

use kernel_setup::{Installation, Layout, account, child_within, poll_until};
use machine::{Measured, Sampler};
use notebook_harness::process::processes;
use notebook_harness::{Check, Notebook, Runner};
use report::{CELLS_DONE, CLASS_MEASURED, ClassReport, CodeCell, KERNELS_IDLE};
use serde::de::DeserializeOwned;
use std::fs;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// The password simulated learners choose at their first login.
pub const PASSWORD: &str = "learner-password-1";
/// The folder below their home that learners' servers pull the course into (the
/// hub's nbgitpuller link names it too).
pub const COURSE_DIR: &str = "concurrency-course";
/// How long a hub may take to answer, its first installation included.
const HUB_START: Duration = Duration::from_secs(900);

/// `cargo hub` serving `learners`, until [`stop`](ClassHub::stop).
pub struct ClassHub {
    child: Child,
    pub port: u16,
    pub learners: Vec<String>,
    /// The hub's output (JupyterHub's and the proxy's log).
    pub log: PathBuf,
    /// Seconds from `cargo hub` to the hub's first answer.
    pub start_seconds: f64,
    /// The repository and branch learners pull (`file://` the checkout, its branch).
    course_repo: String,
    branch: String,
}

impl ClassHub {
    /// Starts `cargo hub` in `checkout` for `learners` on `port` (and the two ports
    /// after it), with `options` (e.g. `--idle-timeout 30`); `dir` receives the
    /// learners file and the log.
    pub fn start(
        checkout: &Path,
        learners: &[String],
        port: u16,
        options: &[&str],
        dir: &Path,
    ) -> Result<ClassHub, String> {
        fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
        // A new class: accounts (and homes, with their evcxr caches) made afresh.
        remove_accounts(learners)?;
        let file = dir.join("learners.txt");
        fs::write(&file, learners.join("\n") + "\n").map_err(|e| e.to_string())?;
        let log = dir.join("hub.log");
        let log_file = fs::File::create(&log).map_err(|e| e.to_string())?;
        let course_repo = format!("file://{}", checkout.display());
        let branch = branch_of(checkout)?;
        let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
        let started = Instant::now();
        let child = Command::new(cargo)
            .arg("hub")
            .arg("--learners")
            .arg(&file)
            .args(["--port", &port.to_string()])
            .args(["--course-repo", &course_repo, "--branch", &branch])
            .args(options)
            .current_dir(checkout)
            .stdin(Stdio::null())
            .stdout(log_file.try_clone().map_err(|e| e.to_string())?)
            .stderr(log_file)
            // Its own group: stopping it reaches JupyterHub, the proxy and the servers.
            .process_group(0)
            .spawn()
            .map_err(|e| format!("cannot run cargo hub: {e}"))?;
        let mut hub = ClassHub {
            child,
            port,
            learners: learners.to_vec(),
            log,
            start_seconds: 0.0,
            course_repo,
            branch,
        };
        let ready = poll_until(HUB_START, Duration::from_millis(300), || {
            if let Ok(Some(status)) = hub.child.try_wait() {
                return Some(Err(format!(
                    "cargo hub exited ({status}): {}",
                    kernel_setup::last_lines(&hub.log, 10)
                )));
            }
            (http_status(port, "/hub/api") == Some(200)).then_some(Ok(()))
        });
        match ready {
            Some(Ok(())) => {
                hub.start_seconds = started.elapsed().as_secs_f64();
                Ok(hub)
            }
            Some(Err(e)) => {
                hub.stop();
                Err(e)
            }
            None => {
                hub.stop();
                Err(format!(
                    "the hub did not answer within {} s",
                    HUB_START.as_secs()
                ))
            }
        }
    }

    /// The base URL learners' browsers use.
    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// The token the hub gave its proxy at this start (read from the proxy's
    /// environment), to check that it shows nowhere.
    pub fn proxy_token(&self) -> Option<String> {
        let api_port = format!("--api-port {}", self.port + 2);
        processes()
            .into_iter()
            .filter(|p| {
                p.command.contains("configurable-http-proxy") && p.command.contains(&api_port)
            })
            .find_map(|proxy| proxy.env("CONFIGPROXY_AUTH_TOKEN"))
    }

    /// The client's arguments for a class on `notebook` (a path below the course):
    /// the course to pull and the notebook's code cells, written to `dir`.
    pub fn lesson(&self, notebook: &str, dir: &Path) -> Result<Vec<String>, String> {
        let root = Layout::of_this_checkout().root;
        let cells = CodeCell::all(&Notebook::load(&root.join(notebook))?);
        let cells_file = dir.join("cells.json");
        let text = serde_json::to_string(&cells).map_err(|e| e.to_string())?;
        fs::write(&cells_file, text).map_err(|e| format!("{}: {e}", cells_file.display()))?;
        Ok([
            "--course-repo",
            &self.course_repo,
            "--branch",
            &self.branch,
            "--course-dir",
            COURSE_DIR,
            "--notebook",
            notebook,
            "--cells",
            &cells_file.display().to_string(),
        ]
        .map(str::to_owned)
        .to_vec())
    }

    /// Runs the classroom client in `mode` with `args` (after what every mode takes)
    /// against this hub, and returns the report it prints.
    pub fn client<R: DeserializeOwned>(
        &self,
        installation: &Installation,
        mode: &str,
        args: &[String],
    ) -> Result<R, String> {
        self.run_client(installation, mode, args, |_| false)
    }

    /// The client's `class` mode (the classroom benchmark) with the machine measured
    /// from here: memory sampled while the class runs, the learners' CPU time once
    /// their last cell has run, and the steady memory once their kernels have idled.
    pub fn measure_class(
        &self,
        installation: &Installation,
        args: &[String],
    ) -> Result<(ClassReport, Measured), String> {
        let (machine_memory, machine_idle) = machine::machine_memory();
        let mut sampler = Some(Sampler::start(&self.learners)?);
        let mut measured = Measured {
            machine_memory,
            machine_idle,
            ..Measured::default()
        };
        let mut cpu = Ok(Default::default());
        let signals = ["--cells-done", CELLS_DONE, "--kernels-idle", KERNELS_IDLE];
        let args: Vec<String> = signals
            .map(str::to_owned)
            .into_iter()
            .chain(args.iter().cloned())
            .collect();
        let report = self.run_client(installation, "class", &args, |line| match line {
            CELLS_DONE => {
                cpu = machine::cpu_seconds(&self.learners);
                false
            }
            KERNELS_IDLE => {
                measured.samples = sampler.take().map(Sampler::stop).unwrap_or_default();
                true
            }
            _ => false,
        });
        // A class that failed midway never said its kernels idle.
        if let Some(sampler) = sampler {
            measured.samples = sampler.stop();
        }
        measured.cpu_seconds = cpu?;
        Ok((report?, measured))
    }

    /// Runs the client in `mode`, passing on what it prints to stderr line by line;
    /// `on_line` answers a line it returns true for (on the client's stdin), which the
    /// client waits for. Returns the report it printed on stdout.
    fn run_client<R: DeserializeOwned>(
        &self,
        installation: &Installation,
        mode: &str,
        args: &[String],
        mut on_line: impl FnMut(&str) -> bool,
    ) -> Result<R, String> {
        let client = Path::new(env!("CARGO_MANIFEST_DIR")).join("classroom/classroom.py");
        let mut child = installation
            .python()
            .arg(&client)
            .arg(mode)
            .args(["--hub", &self.url(), "--learners", &self.learners.join(",")])
            .args(["--password", PASSWORD])
            .arg("--cell-timeout")
            .arg(Runner::CELL_TIMEOUT.as_secs().to_string())
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|e| format!("cannot run {}: {e}", client.display()))?;
        let mut stdout = child.stdout.take().expect("stdout is piped");
        let report = std::thread::spawn(move || {
            let mut text = Vec::new();
            let _ = stdout.read_to_end(&mut text);
            text
        });
        let mut stdin = child.stdin.take();
        let stderr = child.stderr.take().expect("stderr is piped");
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            eprintln!("{line}");
            if on_line(&line)
                && let Some(stdin) = stdin.as_mut()
            {
                let _ = writeln!(stdin, "{CLASS_MEASURED}");
                let _ = stdin.flush();
            }
        }
        drop(stdin);
        let status = child.wait().map_err(|e| e.to_string())?;
        let stdout = report.join().unwrap_or_default();
        serde_json::from_slice(&stdout).map_err(|e| {
            format!(
                "{} {mode} printed no report ({e}, {status}): {}",
                client.display(),
                String::from_utf8_lossy(&stdout)
            )
        })
    }

    /// Stops the hub as Ctrl-C does (JupyterHub stops the learners' servers and the
    /// proxy), kills and returns whatever of it is left (processes of the learners'
    /// accounts, the proxy), and removes the learners' accounts and homes.
    pub fn stop(&mut self) -> Vec<String> {
        let group = self.child.id() as i32;
        // SAFETY: kill(2) on the process group made for the hub.
        unsafe { libc::kill(-group, libc::SIGINT) };
        // JupyterHub stops its idle culler first (about 30 s), then the servers.
        let _ = child_within(&mut self.child, Duration::from_secs(150), || {});
        let uids: Vec<u32> = self
            .learners
            .iter()
            .filter_map(|l| account(l).map(|a| a.uid))
            .collect();
        let api_port = format!("--api-port {}", self.port + 2);
        let mut left = Vec::new();
        let us = std::process::id() as i32;
        for process in processes().into_iter().filter(|p| p.pid != us) {
            if uids.contains(&process.uid) || process.command.contains(&api_port) {
                // SAFETY: kill(2) on a process this hub left behind.
                unsafe { libc::kill(process.pid, libc::SIGKILL) };
                left.push(process.command);
            }
        }
        // SAFETY: as above; the group is gone if the hub stopped in time.
        unsafe { libc::kill(-group, libc::SIGKILL) };
        let _ = self.child.wait();
        if let Err(e) = remove_accounts(&self.learners) {
            left.push(e);
        }
        left.extend(
            control_groups_named(&format!("course-hub-{}", self.port))
                .into_iter()
                .map(|group| format!("control group {}", group.display())),
        );
        left
    }
}

/// The value below which `fraction` of `values` lie (the nearest one; NaN for none).
pub fn percentile(values: &[f64], fraction: f64) -> f64 {
    let mut sorted: Vec<f64> = values.iter().copied().filter(|v| v.is_finite()).collect();
    if sorted.is_empty() {
        return f64::NAN;
    }
    sorted.sort_by(f64::total_cmp);
    sorted[((fraction * (sorted.len() - 1) as f64).round() as usize).min(sorted.len() - 1)]
}

/// The control groups called `name`, in every hierarchy below /sys/fs/cgroup.
pub fn control_groups_named(name: &str) -> Vec<PathBuf> {
    fn walk(folder: &Path, name: &str, depth: usize, found: &mut Vec<PathBuf>) {
        let Ok(entries) = fs::read_dir(folder) else {
            return;
        };
        for entry in entries.flatten() {
            if !entry.file_type().is_ok_and(|t| t.is_dir()) {
                continue;
            }
            let path = entry.path();
            if entry.file_name() == name {
                found.push(path);
            } else if depth > 0 {
                walk(&path, name, depth - 1, found);
            }
        }
    }
    let mut found = Vec::new();
    // Deep enough for a hub nested a few groups down (a container's, a session's).
    walk(Path::new("/sys/fs/cgroup"), name, 6, &mut found);
    found
}

/// The branch checked out in `checkout`, which learners pull.
fn branch_of(checkout: &Path) -> Result<String, String> {
    Command::new("git")
        .args(["rev-parse", "--abbrev-ref", "HEAD"])
        .current_dir(checkout)
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned())
        .filter(|branch| branch != "HEAD")
        .ok_or_else(|| format!("cannot tell the git branch of {}", checkout.display()))
}

/// Removes the accounts and homes of `learners` that exist; `userdel` refuses while a
/// process of the account runs, so it waits a little for killed ones to go.
fn remove_accounts(learners: &[String]) -> Result<(), String> {
    for learner in learners {
        if account(learner).is_none() {
            continue;
        }
        let removed = poll_until(Duration::from_secs(10), Duration::from_millis(200), || {
            Command::new("userdel")
                .args(["--remove", learner])
                .output()
                .ok()
                .filter(|o| o.status.success())
        });
        if removed.is_none() || account(learner).is_some() {
            return Err(format!(
                "cannot remove the account {learner} (userdel failed)"
            ));
        }
    }
    Ok(())
}

/// Whether the hub's log, or any file git tracks in `checkout`, shows the cookie
/// secret or `proxy_token`.
pub fn secrets_shown(checkout: &Layout, log: &Path, proxy_token: &str) -> Check {
    let cookie = fs::read_to_string(checkout.hub_state().join("jupyterhub_cookie_secret"))
        .map_err(|e| format!("the hub wrote no cookie secret: {e}"))?;
    let log_text = fs::read_to_string(log).unwrap_or_default();
    for (name, secret) in [
        ("cookie secret", cookie.trim()),
        ("proxy token", proxy_token),
    ] {
        if secret.len() < 16 {
            return Err(format!(
                "the {name} is too short to be a secret: {} characters",
                secret.len()
            ));
        }
        if log_text.contains(secret) {
            return Err(format!("the hub's log shows the {name}"));
        }
        let tracked = Command::new("git")
            .args(["grep", "-q", "-F", secret])
            .current_dir(&checkout.root)
            .status()
            .is_ok_and(|s| s.success());
        if tracked {
            return Err(format!("the {name} is in a file git tracks"));
        }
    }
    Ok(())
}

/// The status code of `GET path` on 127.0.0.1:`port`, if anything answers.
pub fn http_status(port: u16, path: &str) -> Option<u16> {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).ok()?;
    stream.set_read_timeout(Some(Duration::from_secs(5))).ok()?;
    write!(
        stream,
        "GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n"
    )
    .ok()?;
    let mut head = [0u8; 12];
    stream.read_exact(&mut head).ok()?;
    String::from_utf8_lossy(&head[9..12]).parse().ok()
}
