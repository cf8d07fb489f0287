"""The spawner of learners' servers; imported by JupyterHub only (it needs jupyterhub)."""

from __future__ import annotations

from jupyterhub.spawner import LocalProcessSpawner


class CourseSpawner(LocalProcessSpawner):  # type: ignore[misc]  # jupyterhub is untyped
    """The local spawner, stopping a server with SIGTERM instead of SIGINT first.

    Started without a terminal, Jupyter Server does not catch SIGINT: it dies of a
    KeyboardInterrupt without shutting down its kernels, and every learner's evcxr
    kernel outlived a stopped hub (seen here). SIGTERM runs its cleanup, which stops
    the kernels; a kernel busy compiling gets a few seconds to answer, so the server
    gets longer than the default 5 s before SIGKILL."""

    term_timeout = 20

    async def stop(self, now: bool = False) -> None:
        await super().stop(now=True)
