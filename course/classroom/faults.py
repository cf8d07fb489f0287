"""`faults`: what one learner's runaway cell does to a class (course/tests/hub/faults.rs).

Learner A runs the faults a concurrency class produces, one at a time (threads
spinning, threads or processes spawned until the task limit, memory allocated until
the limit, endless output, a deadlock); meanwhile learner B runs a short notebook and
the hub's API is asked every half second. Then A interrupts the cell if it still
runs, restarts the kernel and runs a cell again, as a learner would. Reported per
fault: B's cells, the hub's answers, what A saw, A's group's counters (did its limit
bind?) and whether A got going again; and whether A's files changed.
"""

from __future__ import annotations

import hashlib
import json
import os
import pwd
import sys
import threading
import time
from pathlib import Path
from typing import TypedDict

import requests
from learner import CellResult, Failure, Learner
from report import CellReport, CodeCell, cell_reports


class Fault(TypedDict):
    """A fault as the Rust side describes it (--faults)."""

    name: str
    source: str
    # Seconds the fault runs before B starts (the cell compiles meanwhile).
    settle: float


class SeenByA(TypedDict):
    """What A's notebook showed for the fault's cell."""

    status: str
    ename: str
    stderr: str
    output_bytes: int
    kernel_states: list[str]
    interrupted: bool


class FaultReport(TypedDict, total=False):
    b_cells: list[CellReport]
    hub_seconds: list[float]
    hub_failures: list[str]
    seen_by_a: SeenByA
    counters_before: dict[str, int]
    counters_after: dict[str, int]
    recovered: bool
    restarts: int
    recover_error: str


class FaultsReport(TypedDict, total=False):
    error: str
    baseline: list[CellReport]
    faults: dict[str, FaultReport]
    a_files_unchanged: bool
    a_server_pid_same: bool


# What each limit's group counts when it binds: the CPU scheduler's throttled periods,
# the memory controller's out-of-memory kills, the pids controller's refused forks.
COUNTERS = {
    "cpu": ("cpu.stat", "nr_throttled"),
    "memory": ("memory.oom_control", "oom_kill"),
    "pids": ("pids.events", "max"),
}
COUNTERS_V2 = {
    "cpu": ("cpu.stat", "nr_throttled"),
    "memory": ("memory.events", "oom_kill"),
    "pids": ("pids.events", "max"),
}


def counters(name: str) -> dict[str, int]:
    """A's group's counters, read through the cgroup of a process of A's account
    (empty where A's server is in no group of its own)."""
    uid = pwd.getpwnam(name).pw_uid
    for pid in (p for p in os.listdir("/proc") if p.isdigit()):
        try:
            if os.stat(f"/proc/{pid}").st_uid != uid:
                continue
            lines = Path(f"/proc/{pid}/cgroup").read_text().splitlines()
        except OSError:
            continue
        found: dict[str, int] = {}
        for line in lines:
            _, controllers, path = line.split(":", 2)
            if "course-hub-" not in path:
                continue
            for controller in controllers.split(",") if controllers else ["cpu", "memory", "pids"]:
                table = COUNTERS if controllers else COUNTERS_V2
                if controller not in table:
                    continue
                file, key = table[controller]
                base = f"/sys/fs/cgroup/{controller}{path}" if controllers else f"/sys/fs/cgroup{path}"
                found[controller] = read_counter(Path(base) / file, key)
        return found
    return {}


def read_counter(path: Path, key: str) -> int:
    try:
        for line in path.read_text().splitlines():
            name, _, value = line.partition(" ")
            if name == key:
                return int(value)
    except (OSError, ValueError):
        pass
    return -1


def files_of(name: str, course_dir: str) -> dict[str, str]:
    """The hash of every file in the learner's copy of the course."""
    root = Path(pwd.getpwnam(name).pw_dir) / course_dir
    return {
        str(path.relative_to(root)): hashlib.sha256(path.read_bytes()).hexdigest()
        for path in sorted(root.rglob("*"))
        if path.is_file() and ".git" not in path.parts and ".ipynb_checkpoints" not in path.parts
    }


def server_pid(name: str) -> int | None:
    """The process ID of the learner's Jupyter server."""
    uid = pwd.getpwnam(name).pw_uid
    for pid in (p for p in os.listdir("/proc") if p.isdigit()):
        try:
            if os.stat(f"/proc/{pid}").st_uid == uid and b"jupyterhub-singleuser" in Path(
                f"/proc/{pid}/cmdline"
            ).read_bytes():
                return int(pid)
        except OSError:
            continue
    return None


class Watcher:
    """Reads A's messages for the fault's cell in the background."""

    def __init__(self, learner: Learner, msg_id: str) -> None:
        self.learner = learner
        self.msg_id = msg_id
        self.stop = threading.Event()
        self.done = threading.Event()
        self.seen: SeenByA = {
            "status": "",
            "ename": "",
            "stderr": "",
            "output_bytes": 0,
            "kernel_states": [],
            "interrupted": False,
        }
        self.thread = threading.Thread(target=self.run)
        self.thread.start()

    def run(self) -> None:
        while not self.stop.is_set() and not self.done.is_set():
            message = self.learner.receive()
            if message is None:
                continue
            kind, content = message["msg_type"], message["content"]
            if kind == "status" and content.get("execution_state") in ("restarting", "dead", "starting"):
                self.seen["kernel_states"].append(content["execution_state"])
            if message.get("parent_header", {}).get("msg_id") != self.msg_id:
                continue
            if kind == "execute_reply":
                self.seen["status"] = content.get("status", "")
                self.seen["ename"] = content.get("ename", "")
                self.done.set()
            elif kind == "stream":
                self.seen["output_bytes"] += len(content["text"])
                if content["name"] == "stderr" and len(self.seen["stderr"]) < 2000:
                    self.seen["stderr"] += content["text"][:2000]
            elif kind == "error" and len(self.seen["stderr"]) < 2000:
                self.seen["stderr"] += "\n".join(content.get("traceback", []))[:2000]

    def finish(self, within: float) -> None:
        self.done.wait(within)
        self.stop.set()
        self.thread.join()


def ask_hub(hub_url: str, stop: threading.Event, seconds: list[float], failures: list[str]) -> None:
    """Asks the hub's API through the proxy every half second until `stop`."""
    while not stop.is_set():
        began = time.monotonic()
        try:
            status = requests.get(hub_url + "/hub/api", timeout=10).status_code
            if status != 200:
                failures.append(f"/hub/api answered {status}")
        except requests.RequestException as e:
            failures.append(f"/hub/api: {e}")
        seconds.append(time.monotonic() - began)
        stop.wait(0.5)


def run_cells(learner: Learner, cells: list[CodeCell]) -> list[CellResult]:
    return [learner.execute(index, cell["source"]) for index, cell in enumerate(cells)]


def recover(a: Learner, watcher: Watcher) -> int:
    """As a learner would: interrupt the cell if it still runs, restart the kernel,
    and run a cell again; returns the restarts that took. A kernel that starts while
    the old one's processes still hold the task limit dies, and the server restarts
    it once more (seen with 1,500 processes being killed)."""
    if not watcher.done.is_set():
        watcher.seen["interrupted"] = True
        a.api("POST", f"/api/kernels/{a.kernel_id}/interrupt")
    watcher.finish(within=60)
    response = a.api("POST", f"/api/kernels/{a.kernel_id}/restart")
    if response.status_code != 200:
        raise Failure(f"restart answered {response.status_code}: {response.text[:200]}")
    restarts = 1
    while True:
        a.wait_for_kernel()
        result = a.execute(0, 'println!("{}", 6 * 7);')
        if result.status == "ok" and "42" in result.text:
            return restarts
        if restarts > 1 or "Subprocess terminated" not in result.stderr:
            raise Failure(f"the cell after the restart: {result.status} {result.stderr[:300]}")
        restarts += 1
        time.sleep(5)


def one_fault(a: Learner, b: Learner, fault: Fault, cells: list[CodeCell], hub_url: str) -> FaultReport:
    report: FaultReport = {"counters_before": counters(a.name)}
    watcher = Watcher(a, a.request_execute(fault["source"]))
    stop = threading.Event()
    hub_seconds: list[float] = []
    hub_failures: list[str] = []
    asker = threading.Thread(target=ask_hub, args=(hub_url, stop, hub_seconds, hub_failures))
    asker.start()
    try:
        time.sleep(fault["settle"])
        report["b_cells"] = cell_reports(run_cells(b, cells), cells)
    finally:
        stop.set()
        asker.join()
    report["hub_seconds"] = hub_seconds
    report["hub_failures"] = hub_failures
    report["counters_after"] = counters(a.name)
    try:
        report["restarts"] = recover(a, watcher)
        report["recovered"] = True
    except (Failure, requests.RequestException) as e:
        report["recovered"] = False
        report["recover_error"] = str(e)
    finally:
        watcher.stop.set()
        watcher.thread.join()
    report["seen_by_a"] = watcher.seen
    return report


def run_faults(
    a: Learner, b: Learner, course_dir: str, cells: list[CodeCell], faults: list[Fault]
) -> FaultsReport:
    """Both learners' notebooks are open: B's baseline alone, then each fault."""
    report: FaultsReport = {"faults": {}}
    files = files_of(a.name, course_dir)
    pid = server_pid(a.name)
    # B's first run compiles the dependencies; the second is B alone, warm.
    run_cells(b, cells)
    report["baseline"] = cell_reports(run_cells(b, cells), cells)
    for fault in faults:
        print(f"  fault {fault['name']}", flush=True, file=sys.stderr)
        report["faults"][fault["name"]] = one_fault(a, b, fault, cells, a.hub_url)
    report["a_files_unchanged"] = files_of(a.name, course_dir) == files
    report["a_server_pid_same"] = pid is not None and server_pid(a.name) == pid
    return report


def read_faults(path: str) -> list[Fault]:
    with open(path) as f:
        faults: list[Fault] = json.load(f)
    return faults
