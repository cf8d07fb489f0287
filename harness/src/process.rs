//! Finding and ending the processes a notebook run leaves behind (Linux `/proc`).

use std::fs;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// A running process, as `/proc` describes it.
#[derive(Debug, Clone)]
pub struct Process {
    pub pid: i32,
    pub parent: i32,
    /// Its real user id.
    pub uid: u32,
    /// Its command line, arguments separated by spaces.
    pub command: String,
    /// Resident memory (`VmRSS`), 0 for a kernel thread.
    pub resident_bytes: u64,
    /// CPU time, user and system, of it and of its children it has waited for.
    pub cpu_seconds: f64,
}

impl Process {
    /// The value of `name` in its environment (readable for this user's processes, or
    /// as root).
    pub fn env(&self, name: &str) -> Option<String> {
        let environ = fs::read(format!("/proc/{}/environ", self.pid)).ok()?;
        let prefix = format!("{name}=");
        environ
            .split(|&b| b == 0)
            .find_map(|entry| entry.strip_prefix(prefix.as_bytes()))
            .map(|value| String::from_utf8_lossy(value).into_owned())
    }
}

/// Every process running now, this one included.
pub fn processes() -> Vec<Process> {
    let Ok(entries) = fs::read_dir("/proc") else {
        return Vec::new();
    };
    entries
        .filter_map(|e| e.ok()?.file_name().to_str()?.parse::<i32>().ok())
        .filter_map(|pid| {
            let stat = Stat::of(&pid.to_string())?;
            let status = fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
            let status_number = |field: &str| -> Option<u64> {
                status
                    .lines()
                    .find_map(|l| l.strip_prefix(field)?.strip_prefix(':'))?
                    .split_whitespace()
                    .next()?
                    .parse()
                    .ok()
            };
            let command = fs::read_to_string(format!("/proc/{pid}/cmdline"))
                .unwrap_or_default()
                .replace('\0', " ");
            Some(Process {
                pid,
                parent: stat.parent()?,
                uid: u32::try_from(status_number("Uid")?).ok()?,
                command,
                resident_bytes: status_number("VmRSS").unwrap_or(0) * 1024,
                cpu_seconds: stat.cpu_seconds(),
            })
        })
        .collect()
}

/// `/proc/PID/stat` from the process's state on: the fields after its command name,
/// which may hold spaces.
struct Stat(String);

impl Stat {
    /// The stat of `pid`, a number or `self`.
    fn of(pid: &str) -> Option<Stat> {
        let stat = fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
        Some(Stat(stat.get(stat.rfind(')')? + 2..)?.to_owned()))
    }

    fn field(&self, index: usize) -> Option<&str> {
        self.0.split_whitespace().nth(index)
    }

    /// Whether the process runs (a zombie has exited).
    fn running(&self) -> bool {
        self.field(0).is_some_and(|s| s != "Z" && s != "X")
    }

    fn parent(&self) -> Option<i32> {
        self.field(1)?.parse().ok()
    }

    /// utime, stime, cutime and cstime (fields 11 to 14 from the state), in seconds.
    fn cpu_seconds(&self) -> f64 {
        let ticks: f64 = (11..=14)
            .filter_map(|i| self.field(i)?.parse::<f64>().ok())
            .sum();
        ticks / clock_ticks_per_second()
    }
}

/// CPU seconds this process and the children it has waited for have used, user and
/// system (0 if unreadable).
pub fn our_cpu_seconds() -> f64 {
    Stat::of("self").map_or(0.0, |stat| stat.cpu_seconds())
}

pub(crate) fn clock_ticks_per_second() -> f64 {
    // SAFETY: sysconf only reads a configuration value.
    unsafe { libc::sysconf(libc::_SC_CLK_TCK) as f64 }
}

/// `roots` and all their descendants, children first found before they are orphaned.
pub fn with_descendants(roots: &[i32]) -> Vec<i32> {
    let all = processes();
    let mut found: Vec<i32> = roots.to_vec();
    let mut i = 0;
    while i < found.len() {
        let parent = found[i];
        let children: Vec<i32> = all
            .iter()
            .filter(|p| p.parent == parent && !found.contains(&p.pid))
            .map(|p| p.pid)
            .collect();
        found.extend(children);
        i += 1;
    }
    found
}

/// Sends SIGKILL to `pid` and all its descendants.
pub fn kill_tree(pid: i32) {
    kill_all(&with_descendants(&[pid]));
}

/// Sends SIGKILL to `pids` and waits, up to 5 s, until none of them runs: a killed
/// process takes a moment to exit, and until it has, /proc still lists it with its
/// environment, as if it had survived.
fn kill_all(pids: &[i32]) {
    for &pid in pids {
        // SAFETY: kill(2) has no memory-safety preconditions.
        unsafe {
            libc::kill(pid, libc::SIGKILL);
        }
    }
    let started = Instant::now();
    while !alive(pids).is_empty() && started.elapsed() < Duration::from_secs(5) {
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// Those of `pids` still running (zombies, which have exited, do not count).
pub fn alive(pids: &[i32]) -> Vec<i32> {
    pids.iter()
        .copied()
        .filter(|pid| Stat::of(&pid.to_string()).is_some_and(|stat| stat.running()))
        .collect()
}

/// Processes of the notebook runs in `runtime_root` whose folder name satisfies `run`.
/// nbconvert, its kernel and the kernel's user-code process all carry the run's
/// `JUPYTER_RUNTIME_DIR` in their environment (a kernel's command line names a
/// connection file elsewhere, in /tmp, so it cannot identify the run).
pub fn processes_of_runs(runtime_root: &Path, run: impl Fn(&str) -> bool) -> Vec<i32> {
    processes()
        .into_iter()
        .filter(|p| {
            p.env("JUPYTER_RUNTIME_DIR")
                .map(PathBuf::from)
                .is_some_and(|dir| {
                    dir.parent() == Some(runtime_root)
                        && dir
                            .file_name()
                            .is_some_and(|name| run(&name.to_string_lossy()))
                })
        })
        .map(|p| p.pid)
        .collect()
}

/// Kills what is left of the run in `runtime_dir` (its kernel, should nbconvert not
/// have shut it down); returns how many processes were still running.
pub fn kill_run(runtime_dir: &Path) -> usize {
    let (Some(root), Some(folder)) = (runtime_dir.parent(), runtime_dir.file_name()) else {
        return 0;
    };
    let mut killed = 0;
    // A kernel may start a process (cargo, its user-code process) while it is being
    // killed, after its descendants were listed: look again until none is left.
    for _ in 0..5 {
        let left = processes_of_runs(root, |name| name == folder.to_string_lossy());
        if left.is_empty() {
            break;
        }
        kill_all(&with_descendants(&left));
        killed += left.len();
    }
    killed
}

/// The name of the runtime folder of this test process's `run`th notebook run, of
/// `notebook`: `<test process id>-<run>-<notebook>`. The process id tells whose run it
/// is ([`reap_orphaned_kernels`]), the notebook which ([`is_run_of`]).
pub fn run_folder(run: usize, notebook: &Path) -> String {
    format!("{}-{run}-{}", std::process::id(), folder_part(notebook))
}

/// Whether the run folder named `folder` is a run of `notebook`.
pub fn is_run_of(folder: &str, notebook: &Path) -> bool {
    folder.splitn(3, '-').nth(2) == Some(folder_part(notebook).as_str())
}

fn folder_part(notebook: &Path) -> String {
    notebook.to_string_lossy().replace(['/', ' '], "_")
}

/// Kills the kernels of earlier test runs that were themselves killed (Ctrl-C on
/// `cargo test`, a cancelled CI job) and removes their runtime folders: a kernel whose
/// [`run_folder`] names a process that is gone is an orphan. Returns how many
/// processes it killed.
pub fn reap_orphaned_kernels(runtime_root: &Path) -> usize {
    let owner = |folder: &str| folder.split('-').next()?.parse::<i32>().ok();
    let gone = |folder: &str| owner(folder).is_some_and(|pid| alive(&[pid]).is_empty());
    let orphans = processes_of_runs(runtime_root, gone);
    kill_all(&with_descendants(&orphans));
    if let Ok(entries) = fs::read_dir(runtime_root) {
        for entry in entries.flatten() {
            if gone(&entry.file_name().to_string_lossy()) {
                let _ = fs::remove_dir_all(entry.path());
            }
        }
    }
    orphans.len()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::process::{Child, Command};

    /// A stand-in kernel: a shell (with a `sleep` child) started for the run in `dir`.
    fn fake_kernel(dir: &Path) -> Child {
        fs::create_dir_all(dir).unwrap();
        Command::new("sh")
            .args(["-c", "sleep 600; true"])
            .env("JUPYTER_RUNTIME_DIR", dir)
            .spawn()
            .unwrap()
    }

    fn ended_within(child: &mut Child, limit: Duration) -> bool {
        let started = Instant::now();
        while started.elapsed() < limit {
            if child.try_wait().unwrap().is_some() {
                return true;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        false
    }

    #[test]
    fn kernels_of_a_killed_test_process_are_reaped_and_others_kept() {
        let root = std::env::temp_dir().join(format!("reap-{}", std::process::id()));
        let runtime = root.join("runtime");
        let mut gone = Command::new("true").spawn().unwrap();
        gone.wait().unwrap();
        let mut orphan = fake_kernel(&runtime.join(format!("{}-0-topic.ipynb", gone.id())));
        let mut ours = fake_kernel(&runtime.join(run_folder(0, Path::new("topic.ipynb"))));
        // Let the shells start their `sleep`, so that the tree has two levels.
        std::thread::sleep(Duration::from_millis(200));
        let orphan_tree = with_descendants(&[orphan.id() as i32]);
        let found = processes_of_runs(&runtime, |run| is_run_of(run, Path::new("topic.ipynb")));
        for kernel in [&orphan, &ours] {
            assert!(
                found.contains(&(kernel.id() as i32)),
                "a run's process was not found by its environment: {found:?}"
            );
        }

        let reaped = reap_orphaned_kernels(&runtime);

        let orphan_ended = ended_within(&mut orphan, Duration::from_secs(5));
        let ours_alive = ours.try_wait().unwrap().is_none();
        kill_tree(ours.id() as i32);
        let _ = ours.wait();
        let left = alive(&orphan_tree);
        let folders: Vec<_> = fs::read_dir(&runtime)
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        let _ = fs::remove_dir_all(&root);
        assert!(reaped >= 1, "nothing was reaped");
        assert!(orphan_ended, "the orphaned kernel was not killed");
        assert!(left.is_empty(), "its children survived: {left:?}");
        assert!(ours_alive, "a kernel of this live test process was killed");
        assert_eq!(
            folders.len(),
            1,
            "only this process's folder stays: {folders:?}"
        );
    }
}
