"""course_hub.configurer applied to a fresh traitlets Config: no root, no hub."""

from __future__ import annotations

import dataclasses
import importlib.util
import json
import os
import pwd
from pathlib import Path
from types import SimpleNamespace

import pytest
from course_hub import configurer
from course_hub.configurer import HubSettings, Limits
from traitlets.config import Config

TESTS = Path(__file__).parent
HUB_FILES = TESTS.parent
# Written by the Rust struct: kernel-setup/src/hub/settings.rs checks that it is.
EXAMPLE = TESTS / "settings.example.json"


def example(**changes: object) -> HubSettings:
    """The committed sample, its values file swapped for the tests' own."""
    settings = HubSettings.load(EXAMPLE)
    changes.setdefault("values", TESTS / "values.example.yaml")
    return dataclasses.replace(settings, **changes)  # type: ignore[arg-type]


def configured(settings: HubSettings) -> Config:
    c = Config()
    configurer.apply_config(settings, c)
    return c


def culler_command(c: Config) -> list[str]:
    (service,) = c.JupyterHub.services
    assert service["name"] == "idle-culler"
    command: list[str] = service["command"]
    return command


def test_the_example_loads_as_the_rust_struct_wrote_it() -> None:
    settings = HubSettings.load(EXAMPLE)
    assert settings.state == Path("/srv/course/.local/hub/state")
    assert settings.learners == ["alice", "bob"]
    assert settings.port == 8000
    assert settings.idle_timeout == 600
    assert settings.limits == configurer.LearnerLimits(memory_bytes=2 << 30, cpus=2.0, tasks=1536)


def test_addresses_public_port_and_loopback_apis() -> None:
    c = configured(example())
    assert c.JupyterHub.ip == "0.0.0.0"
    assert c.JupyterHub.port == 8000
    assert (c.JupyterHub.hub_ip, c.JupyterHub.hub_port) == ("127.0.0.1", 8001)
    assert c.ConfigurableHTTPProxy.api_url == "http://127.0.0.1:8002"
    assert c.ConfigurableHTTPProxy.command == [
        "/srv/course/.local/hub/proxy/node_modules/.bin/configurable-http-proxy"
    ]


def test_state_and_secrets_stay_in_the_state_folder() -> None:
    c = configured(example())
    state = "/srv/course/.local/hub/state"
    assert c.JupyterHub.cookie_secret_file == f"{state}/jupyterhub_cookie_secret"
    assert c.JupyterHub.db_url == f"sqlite:///{state}/jupyterhub.sqlite"
    assert c.JupyterHub.pid_file == f"{state}/jupyterhub.pid"
    assert c.FirstUseAuthenticator.dbm_path == f"{state}/passwords.dbm"


def test_only_listed_learners_log_in_with_a_first_use_password() -> None:
    c = configured(example())
    assert c.JupyterHub.authenticator_class == "firstuseauthenticator.FirstUseAuthenticator"
    assert c.FirstUseAuthenticator.create_users is False
    assert c.Authenticator.allowed_users == {"alice", "bob"}


def test_learners_servers_see_only_the_course_environment() -> None:
    c = configured(example())
    hub = "/srv/course/.local/hub"
    assert c.JupyterHub.spawner_class == "course_hub.spawner.CourseSpawner"
    assert c.Spawner.cmd == [f"{hub}/venv/bin/jupyterhub-singleuser"]
    assert c.Spawner.notebook_dir == "~"
    assert c.Spawner.env_keep == ["LANG", "LC_ALL"]
    assert c.Spawner.environment == {
        "PATH": f"{hub}/toolchain/bin:{hub}/venv/bin:/usr/bin:/bin",
        "JUPYTER_PATH": f"{hub}/share/jupyter",
        "JUPYTER_PLATFORM_DIRS": "1",
        "CARGO_HOME": f"{hub}/cargo-home",
        "GIT_CONFIG_SYSTEM": f"{hub}/gitconfig",
        "JUPYTERHUB_ACTIVITY_INTERVAL": "200",
    }
    assert c.Spawner.default_url == "/git-pull?repo=file%3A%2F%2F%2Fsrv%2Fcourse&branch=main"
    assert (c.Spawner.start_timeout, c.Spawner.http_timeout) == (120, 120)
    assert c.Spawner.pre_spawn_hook is configurer.prepare_home
    assert c.Spawner.args == ["--KernelManager.cache_ports=False"]


def test_the_spawner_module_is_where_jupyterhub_looks() -> None:
    # Found without importing it: importing it needs jupyterhub.
    module, _, name = configurer.SPAWNER_CLASS.rpartition(".")
    spec = importlib.util.find_spec(module)
    assert spec is not None and spec.origin is not None
    assert f"class {name}(" in Path(spec.origin).read_text()


def test_enforced_limits_reach_the_spawner_and_the_server() -> None:
    c = configured(example())
    assert (c.Spawner.mem_limit, c.Spawner.cpu_limit) == (2 << 30, 2.0)
    assert c.CourseSpawner.learner_group == [
        "/srv/course/target/debug/kernel-setup",
        "learner-group",
        "--settings",
        "/srv/course/.local/hub/state/hub-settings.json",
    ]


def test_without_limits_the_server_still_sees_the_values_files() -> None:
    c = configured(example(limits=None))
    assert c.Spawner.mem_limit == "3G"
    assert c.Spawner.cpu_limit == 1.5
    assert c.CourseSpawner.learner_group == []


@pytest.mark.parametrize(
    ("memory", "expected"),
    [("2G", 2 << 30), ("1536M", 1536 << 20), ("1.5G", 3 << 29), ("512k", 512 << 10), (1000, 1000)],
)
def test_memory_limits_are_read_in_binary_units_as_jupyterhub_does(memory: str | int, expected: int) -> None:
    limits = Limits(memory=memory, cpus=1.0, cull_timeout=60, cull_every=60)
    assert limits.memory_bytes == expected


def test_cargo_hub_reads_the_values_files_limits_as_json(capsys: pytest.CaptureFixture[str]) -> None:
    assert configurer.main(["limits", str(TESTS / "values.example.yaml")]) == 0
    assert json.loads(capsys.readouterr().out) == {"memory_bytes": 3 << 30, "cpus": 1.5}


CULL = "cull: {timeout: 1, every: 1}\n"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("singleuser:\n  memory: {limit: 2Q}\n  cpu: {limit: 1}\n" + CULL, "not a size"),
        ("singleuser:\n  cpu: {limit: 1}\n" + CULL, "has no 'memory'"),
        ("singleuser: [\n", "while parsing"),
    ],
)
def test_a_bad_values_file_is_one_line_that_names_it(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], text: str, message: str
) -> None:
    values = tmp_path / "values.yaml"
    values.write_text(text)
    assert configurer.main(["limits", str(values)]) == 1
    (line,) = capsys.readouterr().err.splitlines()
    assert line.startswith(f"{values}: ") and message in line and line.endswith("fix the values file")


def test_the_course_values_file_gives_every_limit() -> None:
    limits = Limits.from_values(HUB_FILES / "z2jh-values.yaml")
    assert limits.cpus > 0
    assert limits.cull_timeout >= 10 and limits.cull_every > 0
    c = configured(example(values=HUB_FILES / "z2jh-values.yaml", idle_timeout=None))
    assert c.Spawner.mem_limit == limits.memory_bytes
    assert f"--timeout={limits.cull_timeout}" in culler_command(c)


@pytest.mark.parametrize(
    ("idle_timeout", "timeout", "every", "activity"),
    [
        (None, 1800, 120, 300),  # the values file's timeout; reports every 5 minutes
        (600, 600, 120, 200),  # a third of the timeout
        (30, 30, 30, 10),  # the culler checks at least once per timeout
        (12, 12, 12, 5),  # reports at most every 5 s
    ],
)
def test_the_idle_culler_and_activity_reports(
    idle_timeout: int | None, timeout: int, every: int, activity: int
) -> None:
    c = configured(example(idle_timeout=idle_timeout))
    assert culler_command(c) == [
        "/srv/course/.local/hub/venv/bin/python",
        "-m",
        "jupyterhub_idle_culler",
        f"--timeout={timeout}",
        f"--cull-every={every}",
    ]
    assert c.JupyterHub.last_activity_interval == activity
    assert c.Spawner.environment["JUPYTERHUB_ACTIVITY_INTERVAL"] == str(activity)
    (role,) = c.JupyterHub.load_roles
    assert role["services"] == ["idle-culler"]
    assert set(role["scopes"]) == {
        "list:users",
        "read:users:activity",
        "read:servers",
        "delete:servers",
    }


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (lambda d: d.pop("port"), "expected the fields"),
        (lambda d: d.update(extra=1), "expected the fields"),
        (lambda d: d.update(port="8000"), "port is .8000., not of type int"),
        (lambda d: d.update(idle_timeout=True), "idle_timeout is True, not of type int"),
        (lambda d: d.update(learners=["alice", 2]), "learners are not all names"),
        (lambda d: d.update(learner_group=["kernel-setup", 1]), "learner_group is not a command"),
        (lambda d: d["limits"].pop("tasks"), "limits: expected the fields"),
        (lambda d: d["limits"].update(cpus="2"), "limits.cpus is '2', not a number"),
        (lambda d: d["limits"].update(tasks=1.5), "limits.tasks is 1.5, not of type int"),
    ],
)
def test_a_settings_file_from_another_version_is_refused(tmp_path: Path, edit: object, message: str) -> None:
    data = json.loads(EXAMPLE.read_text())
    assert callable(edit)
    edit(data)
    path = tmp_path / "hub-settings.json"
    path.write_text(json.dumps(data))
    with pytest.raises(ValueError, match=message):
        HubSettings.load(path)


def test_prepare_home_makes_the_learners_cache_folders(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    account = pwd.struct_passwd(("learner", "x", os.getuid(), os.getgid(), "", str(tmp_path), "/bin/sh"))
    monkeypatch.setattr(pwd, "getpwnam", lambda name: account)
    (tmp_path / ".cache").mkdir(mode=0o755)
    configurer.prepare_home(SimpleNamespace(user=SimpleNamespace(name="learner")))
    for folder in (".cache", ".cache/evcxr-tmp"):
        path = tmp_path / folder
        assert path.is_dir()
        assert path.stat().st_uid == os.getuid()
    assert (tmp_path / ".cache/evcxr-tmp").stat().st_mode & 0o777 == 0o700
