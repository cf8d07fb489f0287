//! Each learner's control group: the kernel's own accounting of the memory, CPU and
//! tasks (threads and processes) of the learner's server and everything it starts,
//! with the limits of [`LearnerLimits`].
//!
//! The groups sit below the group the hub itself runs in (`/proc/self/cgroup`), in a
//! class group named for the hub's port: `<hub's group>/course-hub-8000/alice`. On
//! cgroup v1 (separate `memory`, `cpu` and `pids` hierarchies) that is one folder in
//! each; on cgroup v2 one folder in the unified hierarchy. The cgroupfs work itself is
//! the cgroups-rs crate's (Kata Containers'): 0.3, the last line without its systemd
//! D-Bus manager, which this hub does not use and which would add some 150 crates to
//! every newcomer's first `cargo lab`.
//!
//! The hub's spawner (`course_hub/control_groups.py`) makes a learner's group before
//! the server starts, moves the server into it before it runs anything (so whatever
//! the server starts is in it too), and removes it when the server stops; see
//! [`LearnerGroupCommand`].

use crate::error::{Result, SetupError};
use crate::hub::limits::LearnerLimits;
use cgroups_rs::cgroup::get_cgroups_relative_paths;
use cgroups_rs::hierarchies::{self, V1};
use cgroups_rs::{Cgroup, CpuResources, MaxValue, MemoryResources, PidResources, Resources};
use std::collections::HashMap;
use std::path::PathBuf;
use std::time::{Duration, Instant};

/// The controllers a learner's group is limited by.
const CONTROLLERS: [&str; 3] = ["memory", "cpu", "pids"];

/// The scheduler's accounting period; a CPU limit of 1.5 is 150 ms of CPU time in
/// each.
const CPU_PERIOD_MICROS: u64 = 100_000;

/// How long removing a group waits for the tasks it killed to be gone.
const REMOVE_WITHIN: Duration = Duration::from_secs(10);

/// The class groups of the hub on one port.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClassGroups {
    name: String,
}

/// A learner's group, made and limited: its `cgroup.procs` files, one per hierarchy,
/// into which the spawner writes the server's process ID.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct LearnerGroup {
    /// Where the server's process ID goes: one file on cgroup v2, one per controller
    /// on v1.
    pub procs: Vec<PathBuf>,
}

impl ClassGroups {
    /// The groups of the hub whose public port is `port`.
    pub fn for_port(port: u16) -> Self {
        ClassGroups {
            name: format!("course-hub-{port}"),
        }
    }

    /// Makes `learner`'s group (or finds it) and sets `limits` on it.
    pub fn create(&self, learner: &str, limits: &LearnerLimits) -> Result<LearnerGroup> {
        let handles = self.handles(Some(learner))?;
        let found: Vec<String> = handles
            .iter()
            .flat_map(|handle| handle.subsystems().iter().map(|s| s.controller_name()))
            .collect();
        if let Some(missing) = CONTROLLERS.iter().find(|c| !found.iter().any(|f| f == *c)) {
            return Err(SetupError::new(format!(
                "cargo hub: this machine has no {missing} control group hierarchy mounted under /sys/fs/cgroup"
            )));
        }
        let resources = resources(limits);
        let mut procs = Vec::new();
        for handle in &handles {
            handle
                .create()
                .and_then(|()| handle.apply(&resources))
                .map_err(|e| self.cannot("limit", learner, handle, &e))?;
            procs.extend(
                handle
                    .subsystems()
                    .iter()
                    .map(|s| s.to_controller().path().join("cgroup.procs")),
            );
        }
        Ok(LearnerGroup { procs })
    }

    /// Stops every task left in `learner`'s group and removes the group, then the
    /// class group if no other learner's is left in it.
    pub fn remove(&self, learner: &str) -> Result<()> {
        for handle in self.handles(Some(learner))? {
            empty(&handle)
                .and_then(|()| handle.delete().map_err(|e| e.to_string()))
                .map_err(|e| {
                    SetupError::new(format!(
                        "cargo hub: cannot remove {learner}'s control group {}: {e}",
                        describe(&handle)
                    ))
                })?;
        }
        // Another learner's group keeps the class group busy: it goes with the last.
        for handle in self.handles(None)? {
            if handle.exists() && children(&handle).is_empty() {
                let _ = handle.delete();
            }
        }
        Ok(())
    }

    /// Removes every learner's group of this class and the class group: what a hub
    /// that did not stop its servers (killed) left behind.
    pub fn remove_all(&self) -> Result<()> {
        let learners: std::collections::BTreeSet<String> =
            self.handles(None)?.iter().flat_map(children).collect();
        for learner in &learners {
            self.remove(learner)?;
        }
        for handle in self.handles(None)? {
            handle.delete().map_err(|e| {
                SetupError::new(format!(
                    "cargo hub: cannot remove the class's control group {}: {e}",
                    describe(&handle)
                ))
            })?;
        }
        Ok(())
    }

    /// Whether limits can be enforced here: makes a group with `limits`, then removes
    /// it. The error says what to do.
    pub fn check(&self, limits: &LearnerLimits) -> Result<()> {
        const PROBE: &str = "limits-check";
        let made = self.create(PROBE, limits);
        let removed = self.remove(PROBE);
        made.and(removed).map(|_| ()).map_err(|e| {
            SetupError::new(format!(
                "{e}. Learners' limits cannot be enforced here: run cargo hub as root where cgroup v1 or v2 is mounted at /sys/fs/cgroup (under systemd, in a delegated unit: systemd-run --scope -p Delegate=yes cargo hub ...), or pass --without-limits to serve a class that nothing protects"
            ))
        })
    }

    /// One handle per hierarchy: the class group (`learner` None) or a learner's.
    fn handles(&self, learner: Option<&str>) -> Result<Vec<Cgroup>> {
        let own = get_cgroups_relative_paths().map_err(|e| {
            SetupError::new(format!(
                "cargo hub: cannot read this process's control groups (/proc/self/cgroup): {e}"
            ))
        })?;
        let below = |controller: &str| {
            let mut path = PathBuf::from(own_group(&own, controller).trim_start_matches('/'));
            path.push(&self.name);
            path.extend(learner);
            path
        };
        let hierarchy = hierarchies::auto();
        Ok(if hierarchy.v2() {
            vec![Cgroup::load_with_specified_controllers(
                hierarchy,
                below(""),
                CONTROLLERS.map(String::from).to_vec(),
            )]
        } else {
            CONTROLLERS
                .iter()
                .map(|controller| {
                    Cgroup::load_with_specified_controllers(
                        Box::new(V1::new()),
                        below(controller),
                        vec![controller.to_string()],
                    )
                })
                .collect()
        })
    }

    fn cannot(
        &self,
        what: &str,
        learner: &str,
        handle: &Cgroup,
        error: &cgroups_rs::error::Error,
    ) -> SetupError {
        let cause = std::error::Error::source(error)
            .map(|cause| format!(": {cause}"))
            .unwrap_or_default();
        SetupError::new(format!(
            "cargo hub: cannot {what} {learner}'s control group {} ({error}{cause})",
            describe(handle)
        ))
    }
}

/// The group this process runs in for `controller` ("" on cgroup v2), as
/// `/proc/self/cgroup` names it.
fn own_group<'a>(own: &'a HashMap<String, String>, controller: &str) -> &'a str {
    own.get(controller).map(String::as_str).unwrap_or("/")
}

fn resources(limits: &LearnerLimits) -> Resources {
    Resources {
        memory: MemoryResources {
            memory_hard_limit: Some(limits.memory_bytes as i64),
            ..Default::default()
        },
        cpu: CpuResources {
            quota: Some((limits.cpus * CPU_PERIOD_MICROS as f64).round() as i64),
            period: Some(CPU_PERIOD_MICROS),
            ..Default::default()
        },
        pid: PidResources {
            maximum_number_of_processes: Some(MaxValue::Value(limits.tasks as i64)),
        },
        ..Default::default()
    }
}

/// Kills every process in the group until none is left: a learner's processes may
/// still be starting others (a fork loop), so one pass is not enough.
fn empty(handle: &Cgroup) -> std::result::Result<(), String> {
    if !handle.exists() {
        return Ok(());
    }
    let deadline = Instant::now() + REMOVE_WITHIN;
    loop {
        let procs = handle.procs();
        if procs.is_empty() {
            return Ok(());
        }
        if Instant::now() > deadline {
            return Err(format!(
                "{} process(es) still in it after {} s",
                procs.len(),
                REMOVE_WITHIN.as_secs()
            ));
        }
        for pid in procs {
            // SAFETY: kill has no memory effects; a process gone meanwhile is ESRCH.
            unsafe { libc::kill(pid.pid as libc::pid_t, libc::SIGKILL) };
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// The names of the groups below `handle`'s folder in its (first) hierarchy.
fn children(handle: &Cgroup) -> Vec<String> {
    let Some(folder) = handle
        .subsystems()
        .first()
        .map(|s| s.to_controller().path().to_owned())
    else {
        return Vec::new();
    };
    std::fs::read_dir(folder)
        .into_iter()
        .flatten()
        .flatten()
        .filter(|entry| entry.file_type().is_ok_and(|t| t.is_dir()))
        .filter_map(|entry| entry.file_name().into_string().ok())
        .collect()
}

fn describe(handle: &Cgroup) -> String {
    handle
        .subsystems()
        .first()
        .map(|s| s.to_controller().path().display().to_string())
        .unwrap_or_else(|| handle.path().to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limits_become_the_kernels_figures() {
        let limits = LearnerLimits {
            memory_bytes: 2 << 30,
            cpus: 1.5,
            tasks: 1200,
        };
        let resources = resources(&limits);
        assert_eq!(resources.memory.memory_hard_limit, Some(2 << 30));
        assert_eq!(resources.cpu.quota, Some(150_000));
        assert_eq!(resources.cpu.period, Some(100_000));
        assert_eq!(
            resources.pid.maximum_number_of_processes,
            Some(MaxValue::Value(1200))
        );
    }

    #[test]
    fn a_controller_this_process_is_not_listed_in_is_the_root() {
        let own = HashMap::from([("memory".to_owned(), "/process_api/6ae4".to_owned())]);
        assert_eq!(own_group(&own, "memory"), "/process_api/6ae4");
        assert_eq!(own_group(&own, "pids"), "/");
    }
}
