//! Finding and ending the processes a notebook run leaves behind (Linux `/proc`).

use std::fs;
use std::path::Path;

struct Process {
    pid: i32,
    parent: i32,
    cmdline: String,
}

fn processes() -> Vec<Process> {
    let Ok(entries) = fs::read_dir("/proc") else {
        return Vec::new();
    };
    entries
        .filter_map(|e| e.ok()?.file_name().to_str()?.parse::<i32>().ok())
        .filter_map(|pid| {
            let stat = fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
            // The command name in parentheses may hold spaces; fields resume after ')'.
            let after_name = &stat[stat.rfind(')')? + 2..];
            let parent = after_name.split_whitespace().nth(1)?.parse().ok()?;
            let cmdline = fs::read(format!("/proc/{pid}/cmdline")).ok()?;
            let cmdline = String::from_utf8_lossy(&cmdline).replace('\0', " ");
            Some(Process {
                pid,
                parent,
                cmdline,
            })
        })
        .collect()
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

fn kill_all(pids: &[i32]) {
    for &pid in pids {
        // SAFETY: kill(2) has no memory-safety preconditions.
        unsafe {
            libc::kill(pid, libc::SIGKILL);
        }
    }
}

/// Those of `pids` still running (zombies, which have exited, do not count).
pub fn alive(pids: &[i32]) -> Vec<i32> {
    pids.iter()
        .copied()
        .filter(|pid| {
            fs::read_to_string(format!("/proc/{pid}/stat")).is_ok_and(|stat| {
                let state = stat
                    .rfind(')')
                    .and_then(|end| stat[end + 1..].split_whitespace().next());
                state.is_some_and(|s| s != "Z" && s != "X")
            })
        })
        .collect()
}

/// Processes whose command line mentions `dir`: the kernels started with a connection
/// file in that runtime directory.
pub fn processes_mentioning(dir: &Path) -> Vec<i32> {
    let needle = dir.to_string_lossy();
    processes()
        .into_iter()
        .filter(|p| p.cmdline.contains(needle.as_ref()))
        .map(|p| p.pid)
        .collect()
}

/// Kills the kernels (and their user-code processes) started from `runtime_dir`;
/// returns how many were still running.
pub fn kill_kernels_of(runtime_dir: &Path) -> usize {
    let kernels = processes_mentioning(runtime_dir);
    kill_all(&with_descendants(&kernels));
    kernels.len()
}
