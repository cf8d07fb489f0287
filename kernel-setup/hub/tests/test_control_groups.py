"""course_hub.control_groups with a stand-in for `kernel-setup learner-group`."""

from __future__ import annotations

import asyncio
import os
import sys
from pathlib import Path

import pytest
from course_hub.control_groups import LearnerGroups, joining

# Prints what `learner-group create` prints, records every call, and fails for "bob".
STAND_IN = """
import json, sys
from pathlib import Path
action, learner = sys.argv[-2:]
folder = Path(sys.argv[1])
with open(folder / "calls", "a") as calls:
    calls.write(f"{action} {learner}\\n")
if learner == "bob":
    sys.exit(f"cargo hub: cannot limit bob's control group /sys/fs/cgroup/pids/x (Permission denied)")
if action == "create":
    print(json.dumps({"procs": [str(folder / "memory.procs"), str(folder / "pids.procs")]}))
"""


def groups(tmp_path: Path) -> LearnerGroups:
    script = tmp_path / "learner-group.py"
    script.write_text(STAND_IN)
    return LearnerGroups([sys.executable, str(script), str(tmp_path)])


def test_create_returns_the_procs_files_and_remove_is_called_by_name(tmp_path: Path) -> None:
    learner_groups = groups(tmp_path)
    assert learner_groups.enforced
    procs = asyncio.run(learner_groups.create("alice"))
    assert procs == [tmp_path / "memory.procs", tmp_path / "pids.procs"]
    asyncio.run(learner_groups.remove("alice"))
    assert (tmp_path / "calls").read_text() == "create alice\nremove alice\n"


def test_a_failure_is_the_commands_own_line(tmp_path: Path) -> None:
    line = r"^cargo hub: cannot limit bob's control group .*Permission denied\)$"
    with pytest.raises(RuntimeError, match=line):
        asyncio.run(groups(tmp_path).create("bob"))


def test_no_command_means_no_limits() -> None:
    assert not LearnerGroups([]).enforced


def test_the_starting_process_joins_every_hierarchy_before_the_spawners_own_step(tmp_path: Path) -> None:
    procs = [tmp_path / "memory.procs", tmp_path / "pids.procs"]
    seen: list[str] = []
    joining(procs, lambda: seen.extend(path.read_text() for path in procs))()
    assert seen == [str(os.getpid())] * 2
