"""Simulated learners in a class served by `cargo hub` (the client; the hub itself is
started and stopped by course/src/class.rs).

Each learner goes through the hub's proxy as a browser does: logs in on the hub's
page (the first login sets the password), starts a server, pulls the course with
nbgitpuller, opens a notebook (a Jupyter session, which starts its kernel) and runs
its code cells over the kernel websocket. Learners follow an instructor: everyone
starts the same cell within a few seconds of the others, and the next cell only once
all have finished.

Three modes, each printing one JSON document:

- `class`: the classroom benchmark's measurements for one class (`cargo bench-class`):
  per learner the server's and the kernel's start, each cell's seconds and status,
  memory (peak and steady) and CPU seconds; the machine's memory.
- `check`: the small class `cargo test` runs (course/tests/hub.rs): every learner runs a
  short notebook, then the isolation checks between the first two learners.
- `idle`: every learner starts a server and leaves it alone; the seconds until the
  hub's idle culler stopped it.
"""

import argparse
import json
import os
import pwd
import random
import re
import subprocess
import sys
import threading
import time
import urllib.parse
import uuid

import requests
import websocket

CELL_TIMEOUT = 300
PASSWORD = "learner-password-1"
COURSE_DIR = "concurrency-course"


class Failure(Exception):
    """A step of the class that did not work, with what the hub or server said."""


def processes():
    """(pid, uid, command line) of every process."""
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/status") as f:
                uid = int(re.search(r"^Uid:\s+(\d+)", f.read(), re.M).group(1))
            with open(f"/proc/{entry}/cmdline", "rb") as f:
                command = f.read().replace(b"\0", b" ").decode(errors="replace").strip()
        except (OSError, AttributeError):
            continue
        found.append((int(entry), uid, command))
    return found


def account_exists(name):
    try:
        pwd.getpwnam(name)
        return True
    except KeyError:
        return False


# ---------------------------------------------------------------------------------
# One learner


class CellResult:
    def __init__(self, index, seconds, status, ename, stderr, text):
        self.index = index
        self.seconds = seconds
        self.status = status
        self.ename = ename
        self.stderr = stderr
        self.text = text

    def panicked(self):
        return "panicked at" in self.stderr


class Learner:
    def __init__(self, hub_url, name):
        self.hub_url = hub_url
        self.name = name
        self.session = requests.Session()
        self.kernel_id = None
        self.socket = None
        self.ws_session = uuid.uuid4().hex

    # --- as the browser does it

    def xsrf(self, path):
        """The _xsrf cookie the page at `path` set (sent back as X-XSRFToken)."""
        for cookie in self.session.cookies:
            if cookie.name == "_xsrf" and path.startswith(cookie.path or "/"):
                return cookie.value
        return ""

    def login(self, password=PASSWORD):
        page = self.session.get(self.hub_url + "/hub/login", timeout=30)
        xsrf = re.search(r'name="_xsrf" value="([^"]+)"', page.text)
        response = self.session.post(
            self.hub_url + "/hub/login",
            data={"username": self.name, "password": password,
                  "_xsrf": xsrf.group(1) if xsrf else ""},
            allow_redirects=False,
            timeout=30,
        )
        return response.status_code

    def start_server(self, limit=300):
        """Asks the hub for the learner's server and waits until it is ready; seconds."""
        started = time.monotonic()
        response = self.session.post(
            f"{self.hub_url}/hub/api/users/{self.name}/server",
            headers={"X-XSRFToken": self.xsrf("/hub/")},
            timeout=60,
        )
        if response.status_code not in (201, 202, 400):
            raise Failure(f"{self.name}: server start answered {response.status_code}: {response.text[:200]}")
        deadline = started + limit
        while time.monotonic() < deadline:
            if (self.server() or {}).get("ready"):
                return time.monotonic() - started
            time.sleep(0.3)
        raise Failure(f"{self.name}: the server was not ready within {limit} s")

    def server(self):
        """The learner's server as the hub's API describes it to the learner, or None."""
        user = self.session.get(
            f"{self.hub_url}/hub/api/users/{self.name}", timeout=30,
            headers={"X-XSRFToken": self.xsrf("/hub/")},
        ).json()
        return user.get("servers", {}).get("")

    def wait_until_stopped(self, limit):
        """Seconds until the hub no longer lists the learner's server."""
        started = time.monotonic()
        while time.monotonic() - started < limit:
            if self.server() is None:
                return time.monotonic() - started
            time.sleep(1)
        raise Failure(f"{self.name}: the server was still running after {limit} s")

    def server_url(self, path):
        return f"{self.hub_url}/user/{self.name}{path}"

    def open_lab(self):
        """Visits the server's page: the hub's OAuth hands the browser a cookie for it."""
        response = self.session.get(self.server_url("/lab"), timeout=60)
        if response.status_code != 200:
            raise Failure(f"{self.name}: /user/{self.name}/lab answered {response.status_code}")

    def pull_course(self, repo, branch):
        """What nbgitpuller's page does: follows its progress stream to the end."""
        query = urllib.parse.urlencode(
            {"repo": repo, "branch": branch, "targetpath": COURSE_DIR})
        with self.session.get(self.server_url("/git-pull/api?" + query), stream=True,
                              timeout=300) as response:
            events = [line for line in response.iter_lines(decode_unicode=True)
                      if line.startswith("data:")]
        last = json.loads(events[-1][5:]) if events else {}
        if last.get("phase") != "finished":
            raise Failure(f"{self.name}: nbgitpuller did not finish: {events[-3:]}")

    def api(self, method, path, **kwargs):
        headers = {"X-XSRFToken": self.xsrf(f"/user/{self.name}/")}
        return self.session.request(method, self.server_url(path), headers=headers,
                                    timeout=60, **kwargs)

    def open_notebook(self, notebook_path):
        """Starts a kernel for the notebook as opening it in JupyterLab does; returns
        the seconds until the kernel answered."""
        began = time.monotonic()
        response = self.api("POST", "/api/sessions", json={
            "path": notebook_path, "type": "notebook", "name": "",
            "kernel": {"name": "rust"}})
        if response.status_code != 201:
            raise Failure(f"{self.name}: no session for {notebook_path}: {response.status_code} {response.text[:200]}")
        self.kernel_id = response.json()["kernel"]["id"]
        cookies = "; ".join(f"{c.name}={c.value}" for c in self.session.cookies)
        url = self.server_url(f"/api/kernels/{self.kernel_id}/channels?session_id={self.ws_session}")
        self.socket = websocket.create_connection(
            url.replace("http://", "ws://"), cookie=cookies,
            header=[f"X-XSRFToken: {self.xsrf(f'/user/{self.name}/')}"], timeout=CELL_TIMEOUT)
        # The server answers the handshake once the kernel has started (11 s with 8
        # learners here); after that, reads wake up every few seconds to check deadlines.
        self.socket.settimeout(5)
        self.wait_for_kernel()
        return time.monotonic() - began

    def send(self, msg_type, content, channel="shell"):
        msg_id = uuid.uuid4().hex
        self.socket.send(json.dumps({
            "header": {"msg_id": msg_id, "username": self.name, "session": self.ws_session,
                       "msg_type": msg_type, "version": "5.3",
                       "date": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())},
            "parent_header": {}, "metadata": {}, "channel": channel, "buffers": [],
            "content": content,
        }))
        return msg_id

    def wait_for_kernel(self, limit=CELL_TIMEOUT):
        """Asks for the kernel's info until it answers, as JupyterLab does before it
        sends any cell: a request sent while the server is still connecting to a
        kernel that is starting can be lost (seen here with 8 kernels starting)."""
        deadline = time.monotonic() + limit
        # Any of the requests may be the one answered: a kernel busy starting answers
        # them late, one after another (CI saw every answer come after the next ask).
        asked = set()
        while time.monotonic() < deadline:
            asked.add(self.send("kernel_info_request", {}))
            sent = time.monotonic()
            while time.monotonic() - sent < 2:
                try:
                    message = json.loads(self.socket.recv())
                except websocket.WebSocketTimeoutException:
                    break
                if (message.get("msg_type") == "kernel_info_reply"
                        and message.get("parent_header", {}).get("msg_id") in asked):
                    return
        raise Failure(f"{self.name}: the kernel did not answer within {limit} s")

    def execute(self, index, code):
        msg_id = self.send("execute_request", {
            "code": code, "silent": False, "store_history": True, "user_expressions": {},
            "allow_stdin": False, "stop_on_error": True})
        started = time.monotonic()
        reply, idle, stderr, text = None, False, [], []
        while reply is None or not idle:
            if time.monotonic() - started > CELL_TIMEOUT:
                raise Failure(f"{self.name}: cell {index} got no reply within {CELL_TIMEOUT} s")
            try:
                message = json.loads(self.socket.recv())
            except websocket.WebSocketTimeoutException:
                continue
            if message.get("parent_header", {}).get("msg_id") != msg_id:
                continue
            kind, content = message["msg_type"], message["content"]
            if kind == "execute_reply":
                reply = content
            elif kind == "status" and content.get("execution_state") == "idle":
                idle = True
            elif kind == "stream":
                (stderr if content["name"] == "stderr" else text).append(content["text"])
            elif kind in ("execute_result", "display_data"):
                text.append(content.get("data", {}).get("text/plain", ""))
            elif kind == "error":
                stderr.append("\n".join(content.get("traceback", [])))
        return CellResult(index, time.monotonic() - started, reply.get("status"),
                          reply.get("ename", ""), "".join(stderr), "".join(text))

    def close(self):
        if self.socket is not None:
            self.socket.close()
        if self.kernel_id is not None:
            self.api("DELETE", f"/api/kernels/{self.kernel_id}")

    def token(self):
        """An API token of the learner's own, as the hub's token page makes one."""
        response = self.session.post(
            f"{self.hub_url}/hub/api/users/{self.name}/tokens",
            headers={"X-XSRFToken": self.xsrf("/hub/")},
            json={"note": "classroom check"}, timeout=30)
        if response.status_code != 201:
            raise Failure(f"{self.name}: no token: {response.status_code} {response.text[:200]}")
        return response.json()["token"]


def code_cells(notebook_file):
    with open(notebook_file) as f:
        notebook = json.load(f)
    return [("".join(cell["source"]), "raises-exception" in cell["metadata"].get("tags", []))
            for cell in notebook["cells"] if cell["cell_type"] == "code"]


def course_repo(root):
    branch = subprocess.run(["git", "rev-parse", "--abbrev-ref", "HEAD"], cwd=root,
                            capture_output=True, text=True, check=True).stdout.strip()
    return f"file://{root}", branch


# ---------------------------------------------------------------------------------
# Measuring the machine


class Sampler(threading.Thread):
    """Every half second: resident memory of each learner's processes, and the
    machine's memory in use."""

    def __init__(self, learners):
        super().__init__(daemon=True)
        self.uids = {pwd.getpwnam(n).pw_uid: n for n in learners}
        self.per_learner = {n: [] for n in learners}
        self.machine = []
        self.stopping = threading.Event()

    def run(self):
        while not self.stopping.wait(0.5):
            rss = {n: 0 for n in self.per_learner}
            for pid, uid, _ in processes():
                if uid in self.uids:
                    try:
                        with open(f"/proc/{pid}/status") as f:
                            found = re.search(r"^VmRSS:\s+(\d+) kB", f.read(), re.M)
                    except OSError:
                        continue
                    if found:
                        rss[self.uids[uid]] += int(found.group(1)) * 1024
            for name, value in rss.items():
                self.per_learner[name].append(value)
            self.machine.append(machine_memory()[1])

    def stop(self):
        self.stopping.set()
        self.join()


def machine_memory():
    """(total, in use) bytes: MemTotal and MemTotal - MemAvailable."""
    info = {}
    with open("/proc/meminfo") as f:
        for line in f:
            key, value = line.split(":")
            info[key] = int(value.split()[0]) * 1024
    return info["MemTotal"], info["MemTotal"] - info["MemAvailable"]


def cpu_seconds(name):
    """CPU time of the learner's processes, with their finished children (rustc)."""
    uid = pwd.getpwnam(name).pw_uid
    ticks = os.sysconf("SC_CLK_TCK")
    total = 0
    for pid, owner, _ in processes():
        if owner != uid:
            continue
        try:
            with open(f"/proc/{pid}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += sum(int(fields[i]) for i in (11, 12, 13, 14))
    return total / ticks


# ---------------------------------------------------------------------------------
# A class


def run_class(hub_url, root, names, notebook, cells, jitter, log):
    """Every learner logs in, starts a server, pulls the course and runs `cells` of
    `notebook` in step with the others. Returns the learners, their cell results, and
    their servers' and kernels' start times."""
    repo, branch = course_repo(root)
    learners = [Learner(hub_url, name) for name in names]
    results = {name: [] for name in names}
    starts = {}
    kernel_starts = {}
    errors = []
    barrier = threading.Barrier(len(learners))

    def learner_main(learner):
        try:
            if learner.login() != 302:
                raise Failure(f"{learner.name}: login refused")
            starts[learner.name] = learner.start_server()
            learner.open_lab()
            learner.pull_course(repo, branch)
            kernel_starts[learner.name] = learner.open_notebook(f"{COURSE_DIR}/{notebook}")
        except Exception as e:  # noqa: BLE001 (reported with the learner's name)
            errors.append(f"{learner.name}: {e}")
            barrier.abort()
            return
        for index, (code, _) in enumerate(cells):
            try:
                barrier.wait(timeout=CELL_TIMEOUT * 2)
            except threading.BrokenBarrierError:
                return
            time.sleep(random.uniform(0, jitter))
            try:
                result = learner.execute(index, code)
            except Exception as e:  # noqa: BLE001
                errors.append(f"{learner.name}: cell {index}: {e}")
                barrier.abort()
                return
            results[learner.name].append(result)
            print(f"  {learner.name} cell {index}: {result.seconds:.2f} s {result.status}",
                  file=log, flush=True)

    threads = [threading.Thread(target=learner_main, args=(l,)) for l in learners]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    if errors:
        raise Failure("; ".join(errors))
    return learners, results, starts, kernel_starts


def cell_records(results, cells):
    return [{"index": r.index, "seconds": r.seconds, "status": r.status, "ename": r.ename,
             "panicked": r.panicked(), "expected_error": cells[r.index][1]}
            for r in results]


# ---------------------------------------------------------------------------------
# class: the benchmark's measurements


def measure_class(args):
    cells = code_cells(os.path.join(args.root, args.notebook))
    idle_memory = machine_memory()[1]
    sampler = Sampler(args.learners)
    sampler.start()
    with open(os.path.join(args.out, "cells.log"), "w") as log:
        learners, results, starts, kernel_starts = run_class(
            args.hub, args.root, args.learners, args.notebook, cells, args.jitter, log)
    cpu = {n: cpu_seconds(n) for n in args.learners}
    # Steady: the kernels idle after the last cell.
    time.sleep(3)
    sampler.stop()
    for learner in learners:
        learner.close()
    total, _ = machine_memory()
    return {
        "machine_memory": total,
        "machine_idle": idle_memory,
        "machine_peak": max(sampler.machine),
        "learners": {
            n: {
                "server_start": starts[n],
                "kernel_start": kernel_starts[n],
                "cells": cell_records(results[n], cells),
                "memory_peak": max(sampler.per_learner[n]),
                "memory_steady": sampler.per_learner[n][-1],
                "cpu_seconds": cpu[n],
            }
            for n in args.learners
        },
    }


# ---------------------------------------------------------------------------------
# check: the small class and its isolation checks


def check(args):
    report = {"checks": {}, "cells": {}}
    try:
        cells = code_cells(os.path.join(args.root, args.notebook))
        learners, results, _, _ = run_class(
            args.hub, args.root, args.learners, args.notebook, cells, 1.0, sys.stderr)
        for name in args.learners:
            report["cells"][name] = cell_records(results[name], cells)
        report["checks"] = isolation_checks(args.hub, learners[0], learners[1])
        report["caches"] = {name: cache_of(name) for name in args.learners}
        # The kernels stay running: stopping the hub must stop them too.
    except Failure as e:
        report["error"] = str(e)
    return report


# ---------------------------------------------------------------------------------
# idle: the culler


def idle(args):
    """Each learner logs in, starts a server and leaves it alone; reports the seconds
    from the server being ready until the hub's idle culler stopped it."""
    report = {"culled_after": {}}
    try:
        for name in args.learners:
            learner = Learner(args.hub, name)
            if learner.login() != 302:
                raise Failure(f"{name}: login refused")
            learner.start_server()
            report["culled_after"][name] = learner.wait_until_stopped(args.limit)
    except Failure as e:
        report["error"] = str(e)
    return report


def isolation_checks(hub_url, a, b):
    """What learner `a` gets when reaching for learner `b`'s things, and what a
    stranger gets; each value is what was observed."""
    token_a = a.token()
    by_token = {"Authorization": f"token {token_a}"}
    found = {}
    for path in ("/api/contents", f"/api/contents/{COURSE_DIR}", "/api/kernels",
                 f"/api/kernels/{b.kernel_id}", "/api/sessions", "/lab"):
        found[f"a's token on b's {path}"] = requests.get(
            b.server_url(path), headers=by_token, allow_redirects=False, timeout=30).status_code
        found[f"a's browser session on b's {path}"] = a.session.get(
            b.server_url(path), timeout=30).status_code
    found["a's token on b's user in the hub API"] = requests.get(
        f"{hub_url}/hub/api/users/{b.name}", headers=by_token, timeout=30).status_code
    found["a's token on a's own contents"] = requests.get(
        a.server_url("/api/contents"), headers=by_token, timeout=30).status_code
    try:
        websocket.create_connection(
            b.server_url(f"/api/kernels/{b.kernel_id}/channels").replace("http://", "ws://"),
            header=[f"Authorization: token {token_a}"], timeout=30).close()
        found["a's token on b's kernel websocket"] = "connected"
    except websocket.WebSocketBadStatusException as e:
        found["a's token on b's kernel websocket"] = e.status_code
    stranger = requests.Session()
    for path in ("/hub/home", "/hub/api/users", f"/user/{a.name}/api/contents",
                 f"/user/{a.name}/lab"):
        # Followed as a browser does: where it ends is what a stranger sees.
        response = stranger.get(hub_url + path, timeout=30)
        found[f"no login on {path}"] = f"{response.status_code} {urllib.parse.urlsplit(response.url).path}"
    found["unknown learner logs in"] = Learner(hub_url, "mallory").login()
    found["wrong password"] = Learner(hub_url, a.name).login("not-the-password")
    # The operating system's side: a's kernel, as a's account, reaches for b's home.
    home_b = pwd.getpwnam(b.name).pw_dir
    cell = a.execute(0, f'''
use std::os::unix::fs::MetadataExt;
match std::fs::read_dir("{home_b}") {{
    Ok(_) => println!("read b's home"),
    Err(e) => println!("{{:?}}", e.kind()),
}}
println!("{{}}", std::fs::metadata("/proc/self").unwrap().uid());
println!("{{}}", std::env::var("MEM_LIMIT").unwrap_or_default());
println!("{{}}", std::env::var("CPU_LIMIT").unwrap_or_default());
''')
    lines = cell.text.splitlines() + [""] * 4
    found["a's kernel reads b's home"] = lines[0] or cell.stderr[-300:]
    found["a's kernel runs as uid"] = lines[1]
    found["a's uid"] = str(pwd.getpwnam(a.name).pw_uid)
    found["MEM_LIMIT in a's kernel"] = lines[2]
    found["CPU_LIMIT in a's kernel"] = lines[3]
    found["listening"] = listening_addresses(urllib.parse.urlsplit(hub_url).port, [a.name, b.name])
    return found


def cache_of(name):
    """Where the learner's evcxr cache is, who owns it, and who else may enter."""
    account = pwd.getpwnam(name)
    cache = os.path.join(account.pw_dir, ".cache")
    entries = os.listdir(os.path.join(cache, "evcxr")) if os.path.isdir(
        os.path.join(cache, "evcxr")) else []
    return {
        "entries": len(entries),
        "owner_is_learner": os.stat(cache).st_uid == account.pw_uid,
        "home_mode": oct(os.stat(account.pw_dir).st_mode & 0o777),
        "cache_mode": oct(os.stat(cache).st_mode & 0o777),
    }


def listening_addresses(port, names):
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


def decode_address(host):
    if len(host) == 8:
        return ".".join(str(int(host[i:i + 2], 16)) for i in (6, 4, 2, 0))
    return "ipv6:" + host


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="mode", required=True)
    for mode in ("class", "check", "idle"):
        p = sub.add_parser(mode)
        p.add_argument("--root", required=True, help="the course checkout the hub serves")
        p.add_argument("--hub", required=True, help="the hub's URL, e.g. http://127.0.0.1:8000")
        p.add_argument("--learners", required=True, type=lambda s: s.split(","),
                       help="the accounts the hub serves, comma-separated")
        p.add_argument("--notebook", default="notebooks/slides/topic_410_concurrency.ipynb")
    sub.choices["class"].add_argument("--out", required=True, help="folder for the cells' log")
    sub.choices["class"].add_argument(
        "--jitter", type=float, default=3.0,
        help="learners start each cell within this many seconds of each other")
    sub.choices["idle"].add_argument(
        "--limit", type=float, default=300, help="seconds to wait for the culler")
    args = parser.parse_args()
    try:
        report = {"class": measure_class, "check": check, "idle": idle}[args.mode](args)
    except Failure as e:
        report = {"error": str(e)}
    print(json.dumps(report, indent=1))


if __name__ == "__main__":
    main()
