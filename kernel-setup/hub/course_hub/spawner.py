"""The spawner of learners' servers; imported by JupyterHub only (it needs jupyterhub)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from jupyterhub.spawner import LocalProcessSpawner
from traitlets import List, Unicode

from course_hub.control_groups import LearnerGroups, joining


class CourseSpawner(LocalProcessSpawner):  # type: ignore[misc]  # jupyterhub is untyped
    """The local spawner, with each learner's server in a control group of its own,
    and stopping a server with SIGTERM instead of SIGINT first.

    The group (memory, CPU and tasks limited) is made before the server starts and
    holds everything the server starts; it is removed when the server stops.

    Started without a terminal, Jupyter Server does not catch SIGINT: it dies of a
    KeyboardInterrupt without shutting down its kernels, and every learner's evcxr
    kernel outlived a stopped hub (seen here). SIGTERM runs its cleanup, which stops
    the kernels; a kernel busy compiling gets a few seconds to answer, so the server
    gets longer than the default 5 s before SIGKILL."""

    term_timeout = 20

    learner_group = List(
        Unicode(),
        help="The command that makes (`create LEARNER`) and removes (`remove LEARNER`) "
        "a learner's control group; empty: servers run without limits.",
    ).tag(config=True)

    _procs: list[Path] | None = None

    @property
    def _groups(self) -> LearnerGroups:
        return LearnerGroups(self.learner_group)

    async def start(self) -> Any:
        if self._groups.enforced:
            self._procs = await self._groups.create(self.user.name)
        return await super().start()

    def make_preexec_fn(self, name: str) -> Callable[[], None]:
        setuid = super().make_preexec_fn(name)
        return joining(self._procs, setuid) if self._procs else setuid

    async def poll(self) -> int | None:
        status: int | None = await super().poll()
        if status is not None:
            # A server that ended on its own (its memory ran out) is not stopped by the
            # hub: its group goes here.
            await self._release_group()
        return status

    async def stop(self, now: bool = False) -> None:
        await super().stop(now=True)
        await self._release_group()

    async def _release_group(self) -> None:
        # Whatever the server left (a worker process that outlived its kernel) goes with
        # the group.
        if self._procs is not None:
            self._procs = None
            await self._groups.remove(self.user.name)
