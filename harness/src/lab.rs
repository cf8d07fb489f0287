//! JupyterLab started the way the README starts it (`cargo lab`), for a browser test:
//! on 127.0.0.1 only, behind a random token, with settings of its own, and stopped
//! with all its kernels at the end.

use crate::process;
use kernel_setup::{child_within, last_lines, poll_until};
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

pub struct Lab {
    child: Child,
    pub port: u16,
    pub token: String,
    log: PathBuf,
}

/// Settings a test needs and a learner would not: every cell kept in the page (so
/// the test can read them all) and no autosave (so running cells cannot write outputs
/// into the committed notebook). The news prompt stays off by the project's own
/// settings, which the test checks.
const SETTINGS: &[(&str, &str)] = &[
    (
        "@jupyterlab/notebook-extension/tracker.jupyterlab-settings",
        r#"{"windowingMode": "none"}"#,
    ),
    (
        "@jupyterlab/docmanager-extension/plugin.jupyterlab-settings",
        r#"{"autosave": false}"#,
    ),
];

impl Lab {
    /// Runs `cargo lab` in `checkout` with a free port and a fresh token and waits until
    /// the server answers. `work_dir` receives the log and the test's settings.
    pub fn start(checkout: &Path, work_dir: &Path, timeout: Duration) -> Result<Lab, String> {
        let settings = work_dir.join("lab-settings");
        for (file, text) in SETTINGS {
            let path = settings.join(file);
            std::fs::create_dir_all(path.parent().expect("settings file has a folder"))
                .and_then(|()| std::fs::write(&path, text))
                .map_err(|e| format!("cannot write {}: {e}", path.display()))?;
        }
        let port = free_port()?;
        let token = random_token()?;
        let log = work_dir.join("lab.log");
        let log_file = std::fs::File::create(&log)
            .map_err(|e| format!("cannot create {}: {e}", log.display()))?;
        let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
        let child = Command::new(cargo)
            .current_dir(checkout)
            .args(["lab", "--no-browser", "--ServerApp.ip=127.0.0.1"])
            .arg(format!("--ServerApp.port={port}"))
            .arg("--ServerApp.port_retries=0")
            .arg(format!("--IdentityProvider.token={token}"))
            .arg(format!("--LabApp.user_settings_dir={}", settings.display()))
            .arg(format!(
                "--LabApp.workspaces_dir={}",
                work_dir.join("lab-workspaces").display()
            ))
            .stdin(Stdio::null())
            .stdout(log_file.try_clone().map_err(|e| e.to_string())?)
            .stderr(log_file)
            .spawn()
            .map_err(|e| format!("cannot run `cargo lab`: {e}"))?;
        let mut lab = Lab {
            child,
            port,
            token,
            log,
        };
        let ready = poll_until(timeout, Duration::from_millis(300), || {
            if lab
                .request("GET", "/api/status")
                .is_ok_and(|r| r.starts_with("HTTP/1.1 200"))
            {
                return Some(Ok(()));
            }
            let exited = lab.child.try_wait().ok().flatten()?;
            Some(Err(format!(
                "`cargo lab` exited ({exited}) before serving; its log:\n{}",
                lab.log_tail()
            )))
        });
        match ready {
            Some(Ok(())) => Ok(lab),
            Some(Err(message)) => Err(message),
            None => {
                let message = format!(
                    "JupyterLab did not answer within {} s; its log:\n{}",
                    timeout.as_secs(),
                    lab.log_tail()
                );
                lab.stop();
                Err(message)
            }
        }
    }

    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// The last lines of the server's log, for failure reports.
    pub fn log_tail(&self) -> String {
        last_lines(&self.log, 30)
    }

    /// A bare HTTP/1.1 request with the token; the whole response as text.
    fn request(&self, method: &str, path: &str) -> std::io::Result<String> {
        let mut stream = TcpStream::connect(("127.0.0.1", self.port))?;
        stream.set_read_timeout(Some(Duration::from_secs(10)))?;
        write!(
            stream,
            "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1:{}\r\nAuthorization: token {}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
            self.port, self.token
        )?;
        let mut response = String::new();
        stream.read_to_string(&mut response)?;
        Ok(response)
    }

    /// Asks the server to shut down with its kernels, as Ctrl-C twice would, then kills
    /// whatever is left. Returns the processes that were still running at the end and had
    /// to be killed (none when the shutdown worked).
    pub fn stop(&mut self) -> Vec<i32> {
        let pid = self.child.id() as i32;
        let family = process::with_descendants(&[pid]);
        let _ = self.request("POST", "/api/shutdown");
        let _ = child_within(&mut self.child, Duration::from_secs(30), || {});
        // Kernels run in sessions of their own; give them a moment after the server.
        let left = poll_until(Duration::from_secs(10), Duration::from_millis(200), || {
            Some(process::alive(&family)).filter(Vec::is_empty)
        })
        .unwrap_or_else(|| process::alive(&family));
        process::kill_tree(pid);
        for &pid in &left {
            process::kill_tree(pid);
        }
        let _ = self.child.wait();
        left
    }
}

impl Drop for Lab {
    fn drop(&mut self) {
        if matches!(self.child.try_wait(), Ok(None)) {
            self.stop();
        }
    }
}

fn free_port() -> Result<u16, String> {
    TcpListener::bind(("127.0.0.1", 0))
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .map_err(|e| format!("no free port on 127.0.0.1: {e}"))
}

fn random_token() -> Result<String, String> {
    let mut bytes = [0_u8; 16];
    std::fs::File::open("/dev/urandom")
        .and_then(|mut f| f.read_exact(&mut bytes))
        .map_err(|e| format!("cannot read /dev/urandom: {e}"))?;
    Ok(bytes.iter().map(|b| format!("{b:02x}")).collect())
}
