"""Applies `cargo hub`'s settings to JupyterHub's configuration.

`cargo hub` writes one JSON file from the Rust struct `HubSettings`
(kernel-setup/src/hub/settings.rs) and names it in `COURSE_HUB_SETTINGS`;
jupyterhub_config.py loads it with `HubSettings.load` and calls `apply_config`.
Learners are system users the hub command created, one each, as The Littlest
JupyterHub does it; each learner's server runs as that user, so a learner's kernel
cannot read another learner's files.
"""

from __future__ import annotations

import dataclasses
import json
import os
import pwd
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol, TypeVar

import yaml
from traitlets.config import Config

# JupyterHub imports it by name: importing jupyterhub here would keep this module from
# being tested without it.
SPAWNER_CLASS = "course_hub.spawner.CourseSpawner"

T = TypeVar("T")


@dataclass(frozen=True)
class HubSettings:
    """One class's hub: the mirror of the Rust `HubSettings`, field for field."""

    state: Path
    """The hub's working folder: database, cookie secret, pid file and learners'
    password hashes (mode 700)."""
    venv: Path
    """The virtualenv learners' servers and the idle culler run from."""
    learners: list[str]
    """The learners' account names: the only users the hub lets in."""
    ip: str
    """The address learners' browsers use."""
    port: int
    """The proxy's public port; the hub's API listens on the next one, the proxy's API
    on the one after, both on loopback."""
    proxy: Path
    """The configurable-http-proxy executable."""
    toolchain: Path
    """The Rust toolchain learners' kernels run (its `bin` goes first on their PATH)."""
    cargo_home: Path
    """Learners' CARGO_HOME: the offline registry."""
    jupyter_path: Path
    """Learners' JUPYTER_PATH: where their servers find the `rust` kernelspec."""
    values: Path
    """The Zero to JupyterHub values file: memory and CPU limits and the culler's
    timing."""
    git_config: Path
    """Learners' GIT_CONFIG_SYSTEM, which trusts the course's checkout."""
    default_url: str
    """The nbgitpuller link every learner's server opens at."""
    idle_timeout: int | None
    """Seconds without activity before a learner's server stops; None for the values
    file's `cull.timeout`."""
    limits: LearnerLimits | None
    """What each learner's server and everything it starts may use, enforced by a
    control group of its own; None when `cargo hub --without-limits` serves a class
    that nothing protects."""
    learner_group: list[str]
    """The command that makes (`create LEARNER`) and removes (`remove LEARNER`) a
    learner's control group."""

    @classmethod
    def load(cls, path: Path) -> HubSettings:
        """Reads the settings file `cargo hub` wrote; a field missing, unknown or of
        the wrong type is an error that names it."""
        data = json.loads(path.read_text())
        names = {field.name for field in dataclasses.fields(cls)}
        if not isinstance(data, dict) or set(data) != names:
            keys = sorted(data) if isinstance(data, dict) else type(data).__name__
            raise ValueError(
                f"{path}: expected the fields {sorted(names)}, found {keys}; "
                "restart the hub with this checkout's `cargo hub`"
            )

        def typed(name: str, kind: type[T]) -> T:
            return _typed(path, name, data[name], kind)

        learners = typed("learners", list)
        if not all(isinstance(name, str) for name in learners):
            raise ValueError(f"{path}: learners are not all names: {learners!r}")
        idle_timeout = None if data["idle_timeout"] is None else typed("idle_timeout", int)
        learner_group = typed("learner_group", list)
        if not all(isinstance(word, str) for word in learner_group):
            raise ValueError(f"{path}: learner_group is not a command: {learner_group!r}")
        limits = None if data["limits"] is None else LearnerLimits.load(path, typed("limits", dict))
        return cls(
            state=Path(typed("state", str)),
            venv=Path(typed("venv", str)),
            learners=[str(name) for name in learners],
            ip=typed("ip", str),
            port=typed("port", int),
            proxy=Path(typed("proxy", str)),
            toolchain=Path(typed("toolchain", str)),
            cargo_home=Path(typed("cargo_home", str)),
            jupyter_path=Path(typed("jupyter_path", str)),
            values=Path(typed("values", str)),
            git_config=Path(typed("git_config", str)),
            default_url=typed("default_url", str),
            idle_timeout=idle_timeout,
            limits=limits,
            learner_group=[str(word) for word in learner_group],
        )


def _typed(path: Path, name: str, value: Any, kind: type[T]) -> T:
    # JSON's true is a Python int too; no field of the settings is a bool.
    if not isinstance(value, kind) or isinstance(value, bool):
        raise ValueError(f"{path}: {name} is {value!r}, not of type {kind.__name__}")
    return value


@dataclass(frozen=True)
class LearnerLimits:
    """The mirror of the Rust `LearnerLimits` (kernel-setup/src/hub/limits.rs)."""

    memory_bytes: int
    """Memory, page cache included; past it the out-of-memory killer stops the largest
    process in the learner's group."""
    cpus: float
    """CPU time in cores."""
    tasks: int
    """Threads and processes at once."""

    @classmethod
    def load(cls, path: Path, data: dict[str, Any]) -> LearnerLimits:
        """The `limits` object of the settings file at `path`."""
        names = {field.name for field in dataclasses.fields(cls)}
        if set(data) != names:
            raise ValueError(f"{path}: limits: expected the fields {sorted(names)}, found {sorted(data)}")
        cpus = data["cpus"]
        if not isinstance(cpus, (int, float)) or isinstance(cpus, bool):
            raise ValueError(f"{path}: limits.cpus is {cpus!r}, not a number")
        return cls(
            memory_bytes=_typed(path, "limits.memory_bytes", data["memory_bytes"], int),
            cpus=float(cpus),
            tasks=_typed(path, "limits.tasks", data["tasks"], int),
        )


# JupyterHub's units for a byte count ("2G"): binary, as its ByteSpecification reads them.
_UNITS = {"K": 1 << 10, "M": 1 << 20, "G": 1 << 30, "T": 1 << 40}


@dataclass(frozen=True)
class Limits:
    """What a Kubernetes class gets, from the Zero to JupyterHub values file: one
    figure for both deployments."""

    memory: str | int
    """`singleuser.memory.limit`, as JupyterHub reads a byte count ("2G")."""
    cpus: float
    """`singleuser.cpu.limit`."""
    cull_timeout: int
    """`cull.timeout`: seconds without activity before a server stops."""
    cull_every: int
    """`cull.every`: seconds between the culler's checks."""

    @property
    def memory_bytes(self) -> int:
        """The memory limit in bytes, as JupyterHub reads it."""
        if isinstance(self.memory, int):
            return self.memory
        number, unit = self.memory[:-1], self.memory[-1:].upper()
        try:
            return int(float(number) * _UNITS[unit])
        except (KeyError, ValueError):
            raise ValueError(
                f"singleuser.memory.limit {self.memory!r} is not a size: write it as 2G, 1536M or bytes"
            ) from None

    @classmethod
    def from_values(cls, path: Path) -> Limits:
        """The limits in the values file at `path`."""
        values = yaml.safe_load(path.read_text())
        singleuser, culler = values["singleuser"], values["cull"]
        memory = singleuser["memory"]["limit"]
        if not isinstance(memory, (str, int)):
            raise ValueError(f"{path}: singleuser.memory.limit is not a size: {memory!r}")
        return cls(
            memory=memory,
            cpus=float(singleuser["cpu"]["limit"]),
            cull_timeout=int(culler["timeout"]),
            cull_every=int(culler["every"]),
        )


def apply_config(settings: HubSettings, c: Config) -> None:
    """Configures JupyterHub in `c` to serve the class `settings` describes."""
    limits = Limits.from_values(settings.values)
    state, port = settings.state, settings.port
    venv_bin = settings.venv / "bin"

    c.JupyterHub.ip = settings.ip
    c.JupyterHub.port = port
    # The hub's own API and the proxy's API stay on loopback, beside the public port.
    c.JupyterHub.hub_ip = "127.0.0.1"
    c.JupyterHub.hub_port = port + 1
    c.ConfigurableHTTPProxy.api_url = f"http://127.0.0.1:{port + 2}"
    c.ConfigurableHTTPProxy.command = [str(settings.proxy)]
    # Secrets: JupyterHub writes the cookie secret (mode 600) on first start and makes
    # a fresh proxy token in memory at every start; neither is in the repository or a
    # log.
    c.JupyterHub.cookie_secret_file = str(state / "jupyterhub_cookie_secret")
    c.JupyterHub.db_url = f"sqlite:///{state / 'jupyterhub.sqlite'}"
    c.JupyterHub.pid_file = str(state / "jupyterhub.pid")

    # Learners choose their password at their first login; only listed accounts exist.
    c.JupyterHub.authenticator_class = "firstuseauthenticator.FirstUseAuthenticator"
    c.FirstUseAuthenticator.dbm_path = str(state / "passwords.dbm")
    c.FirstUseAuthenticator.create_users = False
    c.Authenticator.allowed_users = set(settings.learners)

    c.JupyterHub.spawner_class = SPAWNER_CLASS
    c.Spawner.cmd = [str(venv_bin / "jupyterhub-singleuser")]
    c.Spawner.notebook_dir = "~"
    # The server sees them (MEM_LIMIT and CPU_LIMIT in its environment); the learner's
    # control group enforces them, unless the hub runs without limits.
    enforced = settings.limits
    c.Spawner.mem_limit = limits.memory if enforced is None else enforced.memory_bytes
    c.Spawner.cpu_limit = limits.cpus if enforced is None else enforced.cpus
    c.CourseSpawner.learner_group = [] if enforced is None else settings.learner_group
    c.Spawner.start_timeout = 120
    c.Spawner.http_timeout = 120
    c.Spawner.pre_spawn_hook = prepare_home
    # Each kernel's ports are chosen once and kept across restarts, even the server's
    # "new random ports" after a failed start: a port another learner's kernel took at
    # the same moment then kills the kernel for good (seen with 12 learners opening the
    # notebook at once). Unkept, each restart picks free ports again.
    c.Spawner.args = ["--KernelManager.cache_ports=False"]
    # Every start pulls the course into ~/concurrency-course with nbgitpuller, which
    # merges the instructor's new commits and never overwrites what the learner changed.
    c.Spawner.default_url = settings.default_url

    # Idle servers stop (their kernels with them) after the values file's timeout, or
    # `cargo hub --idle-timeout`'s. The culler judges by the activity the hub has heard
    # of, which servers and the proxy report every 5 minutes by default: with a shorter
    # timeout they report more often, or a learner at work would look idle.
    idle_timeout = limits.cull_timeout if settings.idle_timeout is None else settings.idle_timeout
    activity_interval = max(5, min(300, idle_timeout // 3))
    c.JupyterHub.last_activity_interval = activity_interval

    # Nothing of the hub's own environment (it runs as root) reaches a learner's server.
    c.Spawner.env_keep = ["LANG", "LC_ALL"]
    c.Spawner.environment = {
        "PATH": f"{settings.toolchain}/bin:{venv_bin}:/usr/bin:/bin",
        "JUPYTER_PATH": str(settings.jupyter_path),
        "JUPYTER_PLATFORM_DIRS": "1",
        "CARGO_HOME": str(settings.cargo_home),
        # Trusts the course's checkout, which another account owns, for nbgitpuller.
        "GIT_CONFIG_SYSTEM": str(settings.git_config),
        "JUPYTERHUB_ACTIVITY_INTERVAL": str(activity_interval),
    }

    c.JupyterHub.services = [
        {
            "name": "idle-culler",
            "command": [
                str(venv_bin / "python"),
                "-m",
                "jupyterhub_idle_culler",
                f"--timeout={idle_timeout}",
                f"--cull-every={min(limits.cull_every, idle_timeout)}",
            ],
        }
    ]
    c.JupyterHub.load_roles = [
        {
            "name": "idle-culler",
            "scopes": [
                "list:users",
                "read:users:activity",
                "read:servers",
                "delete:servers",
            ],
            "services": ["idle-culler"],
        }
    ]


class _User(Protocol):
    name: str


class _Spawner(Protocol):
    user: _User


def prepare_home(spawner: _Spawner) -> None:
    """Makes the folders the learner's kernels write in (evcxr's cache, the folder
    each kernel builds its cells in), owned by the learner: deleted by the learner,
    they come back at the next start."""
    account = pwd.getpwnam(spawner.user.name)
    for folder in (".cache", ".cache/evcxr-tmp"):
        path = Path(account.pw_dir) / folder
        path.mkdir(mode=0o700, exist_ok=True)
        os.chown(path, account.pw_uid, account.pw_gid)


def main(argv: list[str]) -> int:
    """`python -m course_hub.configurer limits VALUES`: prints the values file's memory
    (in bytes) and CPU limits as JSON, for `cargo hub`; an error is one line."""
    if len(argv) != 2 or argv[0] != "limits":
        print("usage: python -m course_hub.configurer limits VALUES", file=sys.stderr)
        return 2
    path = Path(argv[1])
    try:
        limits = Limits.from_values(path)
        print(json.dumps({"memory_bytes": limits.memory_bytes, "cpus": limits.cpus}))
    except (OSError, KeyError, TypeError, ValueError, yaml.YAMLError) as e:
        what = f"has no {e}" if isinstance(e, KeyError) else f"{e}".splitlines()[0]
        print(f"{path}: {what}; fix the values file", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
