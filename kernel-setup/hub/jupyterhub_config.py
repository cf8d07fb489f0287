# JupyterHub for a class, as `cargo hub` starts it (kernel-setup/src/hub.rs sets the
# COURSE_HUB_* variables and checks them first). Learners are system users the hub
# command created, one each, as The Littlest JupyterHub does it; each learner's server
# runs as that user, so a learner's kernel cannot read another learner's files.
import os
import pathlib

import yaml
from jupyterhub.spawner import LocalProcessSpawner

env = os.environ
c = get_config()  # noqa: F821 (JupyterHub's config loader provides it)

state = pathlib.Path(env["COURSE_HUB_STATE"])
venv_bin = pathlib.Path(env["COURSE_HUB_VENV"]) / "bin"
learners = set(env["COURSE_HUB_LEARNERS"].split(","))
port = int(env["COURSE_HUB_PORT"])

# The limits a Kubernetes class gets, from the Zero to JupyterHub values file: one
# figure for both deployments.
values = yaml.safe_load(pathlib.Path(env["COURSE_HUB_VALUES"]).read_text())
singleuser = values["singleuser"]
culler = values["cull"]

c.JupyterHub.ip = env["COURSE_HUB_IP"]
c.JupyterHub.port = port
# The hub's own API and the proxy's API stay on loopback, beside the public port.
c.JupyterHub.hub_ip = "127.0.0.1"
c.JupyterHub.hub_port = port + 1
c.ConfigurableHTTPProxy.api_url = f"http://127.0.0.1:{port + 2}"
c.ConfigurableHTTPProxy.command = [env["COURSE_HUB_PROXY"]]
# Secrets: JupyterHub writes the cookie secret (mode 600) on first start and makes a
# fresh proxy token in memory at every start; neither is in the repository or a log.
c.JupyterHub.cookie_secret_file = str(state / "jupyterhub_cookie_secret")
c.JupyterHub.db_url = f"sqlite:///{state / 'jupyterhub.sqlite'}"
c.JupyterHub.pid_file = str(state / "jupyterhub.pid")

# Learners choose their password at their first login; only listed accounts exist.
c.JupyterHub.authenticator_class = "firstuseauthenticator.FirstUseAuthenticator"
c.FirstUseAuthenticator.dbm_path = str(state / "passwords.dbm")
c.FirstUseAuthenticator.create_users = False
c.Authenticator.allowed_users = learners

class CourseSpawner(LocalProcessSpawner):
    """The local spawner, stopping a server with SIGTERM instead of SIGINT first.

    Started without a terminal, Jupyter Server does not catch SIGINT: it dies of a
    KeyboardInterrupt without shutting down its kernels, and every learner's evcxr
    kernel outlived a stopped hub (seen here). SIGTERM runs its cleanup, which stops
    the kernels; a kernel busy compiling gets a few seconds to answer, so the server
    gets longer than the default 5 s before SIGKILL."""

    term_timeout = 20

    async def stop(self, now=False):
        await super().stop(now=True)


c.JupyterHub.spawner_class = CourseSpawner
c.Spawner.cmd = [str(venv_bin / "jupyterhub-singleuser")]
c.Spawner.notebook_dir = "~"
# Nothing of the hub's own environment (it runs as root) reaches a learner's server.
c.Spawner.env_keep = ["LANG", "LC_ALL"]
c.Spawner.environment = {
    "PATH": f"{env['COURSE_HUB_TOOLCHAIN']}/bin:{venv_bin}:/usr/bin:/bin",
    "JUPYTER_PATH": env["COURSE_HUB_JUPYTER_PATH"],
    "JUPYTER_PLATFORM_DIRS": "1",
    "CARGO_HOME": env["COURSE_HUB_CARGO_HOME"],
    # Trusts the course's checkout, which another account owns, for nbgitpuller.
    "GIT_CONFIG_SYSTEM": env["COURSE_HUB_GIT_CONFIG"],
}
# A local spawner cannot enforce these: the server only sees them (MEM_LIMIT and
# CPU_LIMIT in its environment). systemd or Kubernetes enforce them (README).
c.Spawner.mem_limit = singleuser["memory"]["limit"]
c.Spawner.cpu_limit = float(singleuser["cpu"]["limit"])
c.Spawner.start_timeout = 120
c.Spawner.http_timeout = 120


def prepare_home(spawner):
    """Makes the folders the learner's kernels write in (evcxr's cache, the folder
    each kernel builds its cells in), owned by the learner: deleted by the learner,
    they come back at the next start."""
    import pwd

    account = pwd.getpwnam(spawner.user.name)
    for folder in (".cache", ".cache/evcxr-tmp"):
        path = pathlib.Path(account.pw_dir) / folder
        path.mkdir(mode=0o700, exist_ok=True)
        os.chown(path, account.pw_uid, account.pw_gid)


c.Spawner.pre_spawn_hook = prepare_home

# Every start pulls the course into ~/concurrency-course with nbgitpuller, which merges
# the instructor's new commits and never overwrites what the learner changed.
c.Spawner.default_url = env["COURSE_HUB_DEFAULT_URL"]

# Idle servers stop (their kernels with them) after the values file's timeout, or
# `cargo hub --idle-timeout`'s. The culler judges by the activity the hub has heard
# of, which servers and the proxy report every 5 minutes by default: with a shorter
# timeout they report more often, or a learner at work would look idle.
idle_timeout = int(env.get("COURSE_HUB_IDLE_TIMEOUT") or culler["timeout"])
activity_interval = max(5, min(300, idle_timeout // 3))
c.JupyterHub.last_activity_interval = activity_interval
c.Spawner.environment["JUPYTERHUB_ACTIVITY_INTERVAL"] = str(activity_interval)
c.JupyterHub.services = [
    {
        "name": "idle-culler",
        "command": [
            str(venv_bin / "python"),
            "-m",
            "jupyterhub_idle_culler",
            f"--timeout={idle_timeout}",
            f"--cull-every={min(int(culler['every']), idle_timeout)}",
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
