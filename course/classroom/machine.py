"""The machine as the classroom benchmark measures it: the learners' processes, their
memory and CPU time, and the machine's memory in use."""

from __future__ import annotations

import os
import pwd
import re
import threading


def status_number(pid: int, field: str) -> int | None:
    """The first number of `field` in /proc/PID/status, if the process still runs."""
    try:
        with open(f"/proc/{pid}/status") as f:
            found = re.search(rf"^{field}:\s+(\d+)", f.read(), re.MULTILINE)
    except OSError:
        return None
    return int(found.group(1)) if found else None


def processes() -> list[tuple[int, int]]:
    """(pid, uid) of every process."""
    found = []
    for pid in (int(entry) for entry in os.listdir("/proc") if entry.isdigit()):
        uid = status_number(pid, "Uid")
        if uid is not None:
            found.append((pid, uid))
    return found


def machine_memory() -> tuple[int, int]:
    """(total, in use) bytes: MemTotal and MemTotal - MemAvailable."""
    info = {}
    with open("/proc/meminfo") as f:
        for line in f:
            key, value = line.split(":")
            info[key] = int(value.split()[0]) * 1024
    return info["MemTotal"], info["MemTotal"] - info["MemAvailable"]


def cpu_seconds(name: str) -> float:
    """CPU time of the learner's processes, with their finished children (rustc)."""
    uid = pwd.getpwnam(name).pw_uid
    ticks = os.sysconf("SC_CLK_TCK")
    total = 0
    for pid, owner in processes():
        if owner != uid:
            continue
        try:
            with open(f"/proc/{pid}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += sum(int(fields[i]) for i in (11, 12, 13, 14))
    return total / ticks


class Sampler(threading.Thread):
    """Every half second: resident memory of each learner's processes, and the
    machine's memory in use."""

    def __init__(self, learners: list[str]) -> None:
        super().__init__(daemon=True)
        self.uids = {pwd.getpwnam(n).pw_uid: n for n in learners}
        self.per_learner: dict[str, list[int]] = {n: [] for n in learners}
        self.machine: list[int] = []
        self.stopping = threading.Event()

    def run(self) -> None:
        while not self.stopping.wait(0.5):
            rss = dict.fromkeys(self.per_learner, 0)
            for pid, uid in processes():
                kilobytes = status_number(pid, "VmRSS") if uid in self.uids else None
                if kilobytes is not None:
                    rss[self.uids[uid]] += kilobytes * 1024
            for name, value in rss.items():
                self.per_learner[name].append(value)
            self.machine.append(machine_memory()[1])

    def stop(self) -> None:
        self.stopping.set()
        self.join()
