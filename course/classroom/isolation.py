"""What one learner can reach of another's, and a stranger of anyone's: each check
records what it observed; the Rust side (course/tests/hub.rs) judges it."""

from __future__ import annotations

import os
import pwd
import urllib.parse

import requests
import websocket
from learner import Learner
from report import CacheReport, Observation


def isolation_checks(a: Learner, b: Learner, course_dir: str) -> dict[str, Observation]:
    """What learner `a` gets when reaching for learner `b`'s things (`b`'s copy of the
    course in `course_dir`), and what a stranger gets; each value is what was observed."""
    hub_url = a.hub_url
    token_a = a.token()
    by_token = {"Authorization": f"token {token_a}"}
    found: dict[str, Observation] = {}
    for path in (
        "/api/contents",
        f"/api/contents/{course_dir}",
        "/api/kernels",
        f"/api/kernels/{b.kernel_id}",
        "/api/sessions",
        "/lab",
    ):
        found[f"a's token on b's {path}"] = requests.get(
            b.server_url(path), headers=by_token, allow_redirects=False, timeout=30
        ).status_code
        found[f"a's browser session on b's {path}"] = a.session.get(
            b.server_url(path), timeout=30
        ).status_code
    found["a's token on b's user in the hub API"] = requests.get(
        f"{hub_url}/hub/api/users/{b.name}", headers=by_token, timeout=30
    ).status_code
    found["a's token on a's own contents"] = requests.get(
        a.server_url("/api/contents"), headers=by_token, timeout=30
    ).status_code
    try:
        websocket.create_connection(
            b.server_url(f"/api/kernels/{b.kernel_id}/channels").replace("http://", "ws://"),
            header=[f"Authorization: token {token_a}"],
            timeout=30,
        ).close()
        found["a's token on b's kernel websocket"] = "connected"
    except websocket.WebSocketBadStatusException as e:
        found["a's token on b's kernel websocket"] = e.status_code
    stranger = requests.Session()
    for path in ("/hub/home", "/hub/api/users", f"/user/{a.name}/api/contents", f"/user/{a.name}/lab"):
        # Followed as a browser does: where it ends is what a stranger sees.
        response = stranger.get(hub_url + path, timeout=30)
        found[f"no login on {path}"] = f"{response.status_code} {urllib.parse.urlsplit(response.url).path}"
    found["unknown learner logs in"] = Learner(hub_url, "mallory", a.password, a.cell_timeout).login()
    found["wrong password"] = Learner(hub_url, a.name, "not-the-password", a.cell_timeout).login()
    found.update(kernel_checks(a, b))
    found["listening"] = listening_addresses(urllib.parse.urlsplit(hub_url).port or 80, [a.name, b.name])
    return found


def kernel_checks(a: Learner, b: Learner) -> dict[str, Observation]:
    """The operating system's side: a's kernel, as a's account, reaches for b's home."""
    home_b = pwd.getpwnam(b.name).pw_dir
    cell = a.execute(
        0,
        f"""
use std::os::unix::fs::MetadataExt;
match std::fs::read_dir("{home_b}") {{
    Ok(_) => println!("read b's home"),
    Err(e) => println!("{{:?}}", e.kind()),
}}
println!("{{}}", std::fs::metadata("/proc/self").unwrap().uid());
println!("{{}}", std::env::var("MEM_LIMIT").unwrap_or_default());
println!("{{}}", std::env::var("CPU_LIMIT").unwrap_or_default());
""",
    )
    lines = [*cell.text.splitlines(), "", "", "", ""]
    return {
        "a's kernel reads b's home": lines[0] or cell.stderr[-300:],
        "a's kernel runs as uid": lines[1],
        "a's uid": str(pwd.getpwnam(a.name).pw_uid),
        "MEM_LIMIT in a's kernel": lines[2],
        "CPU_LIMIT in a's kernel": lines[3],
    }


def cache_of(name: str) -> CacheReport:
    """Where the learner's evcxr cache is, who owns it, and who else may enter."""
    account = pwd.getpwnam(name)
    cache = os.path.join(account.pw_dir, ".cache")
    evcxr = os.path.join(cache, "evcxr")
    entries = os.listdir(evcxr) if os.path.isdir(evcxr) else []
    return {
        "entries": len(entries),
        "owner_is_learner": os.stat(cache).st_uid == account.pw_uid,
        "home_mode": oct(os.stat(account.pw_dir).st_mode & 0o777),
        "cache_mode": oct(os.stat(cache).st_mode & 0o777),
    }


def listening_addresses(port: int, names: list[str]) -> list[str]:
    """The local address of every TCP socket that the hub, its proxy and the learners'
    servers and kernels listen on."""
    sockets = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        with open(table) as f:
            for line in f.readlines()[1:]:
                fields = line.split()
                if fields[3] == "0A":  # LISTEN
                    sockets.add((fields[1], int(fields[7])))
    uids = {pwd.getpwnam(n).pw_uid for n in names}
    found = []
    for address, uid in sockets:
        host, hex_port = address.split(":")
        if int(hex_port, 16) in (port, port + 1, port + 2) or uid in uids:
            found.append(f"{decode_address(host)}:{int(hex_port, 16)}")
    return sorted(found)


def decode_address(host: str) -> str:
    if len(host) == 8:
        return ".".join(str(int(host[i : i + 2], 16)) for i in (6, 4, 2, 0))
    return "ipv6:" + host
