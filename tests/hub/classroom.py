"""Simulated learners in a class served by `cargo hub`.

Each learner goes through the hub's proxy as a browser does: logs in on the hub's
page (first login sets the password), starts a server, pulls the course with
nbgitpuller, opens a notebook (a Jupyter session, which starts its kernel) and runs
its code cells over the kernel websocket. Learners follow an instructor: everyone
starts the same cell within a few seconds of the others, and the next cell only once
all have finished.

Two uses, one command line each (`python classroom.py --help`):

- `bench`: the classroom benchmark behind `cargo bench-class`. Prints, for each
  class size, server start, first `:dep`, cell latency, memory and CPU per learner,
  then the largest class this machine serves.
- `check`: the small class `cargo test` runs (`tests/hub.rs`): two learners each run
  a short notebook, then every isolation check; prints one JSON report.

Both start the hub themselves, stop it at the end and report whatever outlived it.
"""

import argparse
import json
import os
import pwd
import random
import re
import signal
import statistics
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


# ---------------------------------------------------------------------------------
# The hub


class Hub:
    """`cargo hub` in a process group of its own, stopped with everything it started."""

    def __init__(self, root, learners, port, log_path):
        self.root = root
        self.port = port
        self.learners = learners
        self.url = f"http://127.0.0.1:{port}"
        self.log_path = log_path
        learners_file = log_path + ".learners"
        with open(learners_file, "w") as f:
            f.write("\n".join(learners) + "\n")
        self.log = open(log_path, "w")
        cargo = os.environ.get("CARGO", "cargo")
        self.process = subprocess.Popen(
            [cargo, "hub", "--learners", learners_file, "--port", str(port)],
            cwd=root,
            stdin=subprocess.DEVNULL,
            stdout=self.log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        self.started = time.monotonic()

    def wait_ready(self, limit=900):
        deadline = time.monotonic() + limit
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise Failure(f"the hub exited ({self.process.returncode}): {self.tail()}")
            try:
                if requests.get(self.url + "/hub/api", timeout=2).status_code == 200:
                    return time.monotonic() - self.started
            except requests.RequestException:
                pass
            time.sleep(0.3)
        raise Failure(f"the hub did not answer within {limit} s: {self.tail()}")

    def tail(self, lines=15):
        self.log.flush()
        with open(self.log_path) as f:
            return "".join(f.readlines()[-lines:])

    def stop(self):
        """Stops the hub as Ctrl-C does (it stops learners' servers and the proxy),
        then kills whatever of it is left. Returns the processes that were left."""
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGINT)
            try:
                self.process.wait(timeout=60)
            except subprocess.TimeoutExpired:
                pass
        left = leftovers(self.learners, self.root)
        for pid, _ in left:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        try:
            os.killpg(self.process.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        self.process.wait()
        self.log.close()
        return left


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


def leftovers(learners, root):
    """Processes of the learners' accounts, and the hub's or proxy's of this checkout."""
    uids = {pwd.getpwnam(name).pw_uid for name in learners if account_exists(name)}
    hub_dir = os.path.join(root, ".local", "hub")
    return [
        (pid, command)
        for pid, uid, command in processes()
        if pid != os.getpid()
        and (uid in uids or (hub_dir in command and "jupyterhub" in command)
             or "configurable-http-proxy" in command and hub_dir in command)
    ]


def account_exists(name):
    try:
        pwd.getpwnam(name)
        return True
    except KeyError:
        return False


def reset_home(name):
    """Empties a simulated learner's home, so each class starts as a new one (no pulled
    course, no evcxr cache)."""
    if not account_exists(name):
        return
    home = pwd.getpwnam(name).pw_dir
    subprocess.run(["find", home, "-mindepth", "1", "-delete"], check=True)


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
            user = self.session.get(
                f"{self.hub_url}/hub/api/users/{self.name}", timeout=30,
                headers={"X-XSRFToken": self.xsrf("/hub/")},
            ).json()
            server = user.get("servers", {}).get("", {})
            if server.get("ready"):
                return time.monotonic() - started
            time.sleep(0.3)
        raise Failure(f"{self.name}: the server was not ready within {limit} s")

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
        """Starts a kernel for the notebook as opening it in JupyterLab does."""
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

    def execute(self, index, code):
        msg_id = uuid.uuid4().hex
        self.socket.send(json.dumps({
            "header": {"msg_id": msg_id, "username": self.name, "session": self.ws_session,
                       "msg_type": "execute_request", "version": "5.3",
                       "date": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())},
            "parent_header": {}, "metadata": {}, "channel": "shell", "buffers": [],
            "content": {"code": code, "silent": False, "store_history": True,
                        "user_expressions": {}, "allow_stdin": False, "stop_on_error": True},
        }))
        started = time.monotonic()
        reply, idle, stderr, text = None, False, [], []
        while reply is None or not idle:
            message = json.loads(self.socket.recv())
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


def percentile(values, fraction):
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    return ordered[min(len(ordered) - 1, int(round(fraction * (len(ordered) - 1))))]


# ---------------------------------------------------------------------------------
# A class


def run_class(hub, names, notebook, cells, jitter, log):
    """Every learner logs in, starts a server, pulls the course and runs `cells` of
    `notebook` in step with the others. Returns the learners and their results."""
    repo, branch = course_repo(hub.root)
    learners = [Learner(hub.url, name) for name in names]
    results = {name: [] for name in names}
    starts = {}
    errors = []
    barrier = threading.Barrier(len(learners))

    def learner_main(learner):
        try:
            if learner.login() != 302:
                raise Failure(f"{learner.name}: login refused")
            starts[learner.name] = learner.start_server()
            learner.open_lab()
            learner.pull_course(repo, branch)
            learner.open_notebook(f"{COURSE_DIR}/{notebook}")
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
    return learners, results, starts


# ---------------------------------------------------------------------------------
# bench


def bench(args):
    root = os.path.abspath(args.root)
    notebook = args.notebook
    cells = code_cells(os.path.join(root, notebook))
    total_memory = machine_memory()[0]
    rows = []
    print(f"classroom benchmark: {notebook}, {len(cells)} code cells, class sizes {args.learners}, "
          f"{os.cpu_count()} cores, {total_memory / 2**30:.1f} GiB", flush=True)
    for size in args.learners:
        names = [f"learner{i:02d}" for i in range(1, size + 1)]
        for name in names:
            reset_home(name)
        hub = Hub(root, names, args.port, os.path.join(args.out, f"hub-{size}.log"))
        try:
            hub_start = hub.wait_ready()
            idle_memory = machine_memory()[1]
            sampler = Sampler(names)
            sampler.start()
            with open(os.path.join(args.out, f"cells-{size}.log"), "w") as log:
                learners, results, starts = run_class(hub, names, notebook, cells, args.jitter, log)
            cpu = [cpu_seconds(n) for n in names]
            # Steady: the learners' kernels idle after the last cell.
            time.sleep(3)
            steady = statistics.median(sampler.per_learner[n][-1] for n in names)
            sampler.stop()
            for learner in learners:
                learner.close()
        finally:
            left = hub.stop()
        if left:
            print(f"  left running after the hub stopped (killed): {left}", flush=True)
        first = [results[n][0].seconds for n in names]
        latencies = [r.seconds for n in names for r in results[n][1:]]
        solo = baseline(rows, results, names)
        added = [r.seconds - solo[r.index] for n in names for r in results[n][1:]] if solo else []
        peak_learner = max(max(sampler.per_learner[n]) for n in names)
        peak_machine = max(sampler.machine)
        row = {
            "learners": size,
            "hub_start_s": hub_start,
            "server_start_median_s": statistics.median(starts.values()),
            "server_start_max_s": max(starts.values()),
            "first_dep_median_s": statistics.median(first),
            "first_dep_max_s": max(first),
            "cell_p50_s": percentile(latencies, 0.5),
            "cell_p95_s": percentile(latencies, 0.95),
            "cell_max_s": max(latencies),
            "added_p95_s": percentile(added, 0.95) if added else None,
            "peak_per_learner_mb": peak_learner / 2**20,
            "steady_per_learner_mb": steady / 2**20,
            "cpu_per_learner_s": statistics.mean(cpu),
            "machine_peak_mb": peak_machine / 2**20,
            "machine_idle_mb": idle_memory / 2**20,
            "machine_peak_percent": 100 * peak_machine / total_memory,
            "failed_cells": sum(1 for n in names for r in results[n]
                                if r.panicked() or (r.status != "ok" and not cells[r.index][1])),
            "per_cell": {n: [r.seconds for r in results[n]] for n in names},
        }
        rows.append(row)
        print_row(row, flush=True)
        with open(os.path.join(args.out, "classroom.json"), "w") as f:
            json.dump(rows, f, indent=1)
    print_summary(rows, total_memory)


def baseline(rows, results, names):
    """Each cell's seconds for a learner alone (the 1-learner class of this run)."""
    for row in rows:
        if row["learners"] == 1:
            return next(iter(row["per_cell"].values()))
    if len(names) == 1:
        return [r.seconds for r in results[names[0]]]
    return None


def print_row(row, flush=False):
    added = f"{row['added_p95_s']:.2f}" if row["added_p95_s"] is not None else "-"
    print(
        f"N={row['learners']:>3}: server start {row['server_start_median_s']:.1f} s "
        f"(max {row['server_start_max_s']:.1f}), first :dep {row['first_dep_median_s']:.1f} s "
        f"(max {row['first_dep_max_s']:.1f}), cells p50 {row['cell_p50_s']:.2f} s "
        f"p95 {row['cell_p95_s']:.2f} s max {row['cell_max_s']:.2f} s "
        f"(p95 added over alone {added} s), memory per learner peak "
        f"{row['peak_per_learner_mb']:.0f} MB steady {row['steady_per_learner_mb']:.0f} MB, "
        f"machine peak {row['machine_peak_mb']:.0f} MB ({row['machine_peak_percent']:.0f} %), "
        f"CPU {row['cpu_per_learner_s']:.1f} s per learner, failed cells {row['failed_cells']}",
        flush=flush,
    )


def print_summary(rows, total_memory):
    served = [r for r in rows if r["cell_p95_s"] <= 2.0 and r["machine_peak_percent"] < 80
              and r["failed_cells"] == 0]
    print()
    if served:
        best = max(served, key=lambda r: r["learners"])
        print(f"largest class measured that this machine serves (cell p95 <= 2 s, memory < 80 %): "
              f"{best['learners']} learners")
    else:
        print("no class size measured here met cell p95 <= 2 s with memory < 80 %")
    big = max(rows, key=lambda r: r["learners"])
    print(f"per learner, for sizing (from N={big['learners']}): memory peak "
          f"{big['peak_per_learner_mb']:.0f} MB, steady {big['steady_per_learner_mb']:.0f} MB; "
          f"CPU {big['cpu_per_learner_s']:.1f} s for the notebook; memory bound on this machine: "
          f"{int(0.8 * total_memory / (big['peak_per_learner_mb'] * 2**20))} learners at peak")


# ---------------------------------------------------------------------------------
# check


def check(args):
    """Two learners run a short notebook; then every isolation check. Prints a JSON
    report; exits 1 if a step failed (the report says which)."""
    root = os.path.abspath(args.root)
    names = ["classcheck-a", "classcheck-b"]
    report = {"checks": {}, "cells": {}, "leftovers": []}
    checks = report["checks"]
    for name in names:
        reset_home(name)
    hub = Hub(root, names, args.port, os.path.join(args.out, "hub-check.log"))
    try:
        hub.wait_ready()
        cells = code_cells(os.path.join(root, args.notebook))
        learners, results, _ = run_class(hub, names, args.notebook, cells, 1.0, sys.stderr)
        for name in names:
            report["cells"][name] = [
                {"index": r.index, "status": r.status, "ename": r.ename,
                 "panicked": r.panicked(), "expected_error": cells[r.index][1]}
                for r in results[name]]
        a, b = learners
        checks.update(isolation_checks(hub, a, b, root))
        report["proxy_token"] = proxy_token(hub)
        second = subprocess.run(
            [os.environ.get("CARGO", "cargo"), "hub", "--learners", hub.log_path + ".learners",
             "--port", str(args.port + 10)],
            cwd=root, capture_output=True, text=True, timeout=600)
        report["second_hub"] = {"code": second.returncode, "stderr": second.stderr}
        for learner in learners:
            learner.close()
    except Failure as e:
        report["error"] = str(e)
    finally:
        report["leftovers"] = [command for _, command in hub.stop()]
        report["hub_log_has_secret"] = secret_in_log(root, hub.log_path, report.get("proxy_token"))
    print(json.dumps(report, indent=1))


def isolation_checks(hub, a, b, root):
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
        f"{hub.url}/hub/api/users/{b.name}", headers=by_token, timeout=30).status_code
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
        response = stranger.get(hub.url + path, timeout=30)
        found[f"no login on {path}"] = f"{response.status_code} {urllib.parse.urlsplit(response.url).path}"
    found["unknown learner logs in"] = Learner(hub.url, "mallory").login()
    found["wrong password"] = Learner(hub.url, a.name).login("not-the-password")
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
    found["listening"] = listening_addresses(hub, [a.name, b.name])
    return found


def listening_addresses(hub, names):
    """The local addresses of every TCP socket the hub, proxy and learners' servers
    listen on."""
    ports = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        with open(table) as f:
            for line in f.readlines()[1:]:
                fields = line.split()
                if fields[3] == "0A":  # LISTEN
                    ports.add((fields[1], int(fields[7])))
    uids = {pwd.getpwnam(n).pw_uid for n in names}
    hub_ports = {hub.port, hub.port + 1, hub.port + 2}
    found = []
    for address, uid in ports:
        host, port = address.split(":")
        port = int(port, 16)
        if port in hub_ports or uid in uids:
            found.append(f"{decode_address(host)}:{port}")
    return sorted(found)


def decode_address(host):
    if len(host) == 8:
        return ".".join(str(int(host[i:i + 2], 16)) for i in (6, 4, 2, 0))
    return "ipv6:" + host


def proxy_token(hub):
    """The token the hub gave its proxy (in the proxy's environment)."""
    for pid, _, command in processes():
        if "configurable-http-proxy" in command and f"--api-port {hub.port + 2}" in command:
            with open(f"/proc/{pid}/environ", "rb") as f:
                for entry in f.read().split(b"\0"):
                    if entry.startswith(b"CONFIGPROXY_AUTH_TOKEN="):
                        return entry.split(b"=", 1)[1].decode()
    return None


def secret_in_log(root, log_path, token):
    """Whether the cookie secret or the proxy's token shows in the hub log."""
    secrets = [token] if token else []
    secret_file = os.path.join(root, ".local", "hub", "state", "jupyterhub_cookie_secret")
    if os.path.exists(secret_file):
        with open(secret_file) as f:
            secrets.append(f.read().strip())
    with open(log_path) as f:
        log = f.read()
    return any(s and s in log for s in secrets)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="mode", required=True)
    for mode in ("bench", "check"):
        p = sub.add_parser(mode)
        p.add_argument("--root", required=True, help="the course checkout")
        p.add_argument("--out", required=True, help="folder for logs and results")
        p.add_argument("--port", type=int, default=8300)
        p.add_argument("--notebook", default="notebooks/slides/topic_410_concurrency.ipynb")
    sub.choices["bench"].add_argument(
        "--learners", type=lambda s: [int(n) for n in s.split(",")], default=[1, 2, 4, 8],
        help="class sizes, e.g. 1,4,8")
    sub.choices["bench"].add_argument(
        "--jitter", type=float, default=3.0,
        help="learners start each cell within this many seconds of each other")
    args = parser.parse_args()
    os.makedirs(args.out, exist_ok=True)
    try:
        (bench if args.mode == "bench" else check)(args)
    except Failure as e:
        print(f"classroom: {e}", file=sys.stderr)
        sys.exit(1)


if __name__ == "__main__":
    main()
