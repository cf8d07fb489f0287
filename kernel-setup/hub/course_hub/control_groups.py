"""Each learner's control group, as the spawner uses it.

`cargo hub`'s own binary makes and removes the groups (`kernel-setup learner-group`,
kernel-setup/src/hub/control_groups.rs, with the limits of the hub's settings file);
this module runs it and moves a starting server into the group it made, before the
server runs anything, so that everything the server starts is in the group too.
"""

from __future__ import annotations

import asyncio
import json
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class LearnerGroups:
    """The command that makes and removes learners' groups (empty: no limits)."""

    command: Sequence[str]

    @property
    def enforced(self) -> bool:
        """Whether this hub limits its learners."""
        return bool(self.command)

    async def create(self, learner: str) -> list[Path]:
        """Makes `learner`'s group (a group left from an earlier server is emptied
        first) and returns the files a process ID is written to, to join it."""
        output = await self._run("create", learner)
        procs = json.loads(output)["procs"]
        if not procs or not all(isinstance(path, str) for path in procs):
            raise RuntimeError(f"{self.command[0]} learner-group create printed no group: {output!r}")
        return [Path(path) for path in procs]

    async def remove(self, learner: str) -> None:
        """Stops whatever is left in `learner`'s group and removes it."""
        await self._run("remove", learner)

    async def _run(self, action: str, learner: str) -> str:
        process = await asyncio.create_subprocess_exec(
            *self.command,
            action,
            learner,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        stdout, stderr = await process.communicate()
        if process.returncode != 0:
            raise RuntimeError(stderr.decode(errors="replace").strip() or f"{action} {learner} failed")
        return stdout.decode()


def joining(procs: Sequence[Path], then: Callable[[], None]) -> Callable[[], None]:
    """A pre-exec function: moves the starting process into the group whose
    `procs` files are given, then runs `then` (the spawner's own, which drops to the
    learner's account: only root may move a process between groups)."""

    def preexec() -> None:
        pid = str(os.getpid())
        for path in procs:
            path.write_text(pid)
        then()

    return preexec
