"""One simulated learner, going through the hub's proxy as a browser does: the hub's
login page, the hub's API for their server, nbgitpuller, a Jupyter session and the
kernel's websocket."""

from __future__ import annotations

import json
import re
import time
import urllib.parse
import uuid
from dataclasses import dataclass
from typing import Any

import requests
import websocket


class Failure(Exception):
    """A step of the class that did not work, with what the hub or server said."""


@dataclass
class CellResult:
    index: int
    seconds: float
    status: str
    ename: str
    stderr: str
    text: str

    def panicked(self) -> bool:
        return "panicked at" in self.stderr


class Learner:
    def __init__(self, hub_url: str, name: str, password: str, cell_timeout: float) -> None:
        self.hub_url = hub_url
        self.name = name
        self.password = password
        self.cell_timeout = cell_timeout
        self.session = requests.Session()
        self.kernel_id: str | None = None
        self.socket: websocket.WebSocket | None = None
        self.ws_session = uuid.uuid4().hex

    # --- as the browser does it

    def xsrf(self, path: str) -> str:
        """The _xsrf cookie the page at `path` set (sent back as X-XSRFToken)."""
        for cookie in self.session.cookies:
            if cookie.name == "_xsrf" and path.startswith(cookie.path or "/"):
                return cookie.value or ""
        return ""

    def login(self, password: str | None = None) -> int:
        """Logs in on the hub's page (the first login sets the password); the status."""
        page = self.session.get(self.hub_url + "/hub/login", timeout=30)
        xsrf = re.search(r'name="_xsrf" value="([^"]+)"', page.text)
        response = self.session.post(
            self.hub_url + "/hub/login",
            data={
                "username": self.name,
                "password": self.password if password is None else password,
                "_xsrf": xsrf.group(1) if xsrf else "",
            },
            allow_redirects=False,
            timeout=30,
        )
        return response.status_code

    def start_server(self, limit: float = 300) -> float:
        """Asks the hub for the learner's server and waits until it is ready; seconds."""
        started = time.monotonic()
        response = self.session.post(
            f"{self.hub_url}/hub/api/users/{self.name}/server",
            headers={"X-XSRFToken": self.xsrf("/hub/")},
            timeout=60,
        )
        if response.status_code not in (201, 202, 400):
            raise Failure(
                f"{self.name}: server start answered {response.status_code}: {response.text[:200]}"
            )
        deadline = started + limit
        while time.monotonic() < deadline:
            if (self.server() or {}).get("ready"):
                return time.monotonic() - started
            time.sleep(0.3)
        raise Failure(f"{self.name}: the server was not ready within {limit} s")

    def server(self) -> dict[str, Any] | None:
        """The learner's server as the hub's API describes it to the learner, or None."""
        user = self.session.get(
            f"{self.hub_url}/hub/api/users/{self.name}",
            timeout=30,
            headers={"X-XSRFToken": self.xsrf("/hub/")},
        ).json()
        server: dict[str, Any] | None = user.get("servers", {}).get("")
        return server

    def wait_until_stopped(self, limit: float) -> float:
        """Seconds until the hub no longer lists the learner's server."""
        started = time.monotonic()
        while time.monotonic() - started < limit:
            if self.server() is None:
                return time.monotonic() - started
            time.sleep(1)
        raise Failure(f"{self.name}: the server was still running after {limit} s")

    def server_url(self, path: str) -> str:
        return f"{self.hub_url}/user/{self.name}{path}"

    def open_lab(self) -> None:
        """Visits the server's page: the hub's OAuth hands the browser a cookie for it."""
        response = self.session.get(self.server_url("/lab"), timeout=60)
        if response.status_code != 200:
            raise Failure(f"{self.name}: /user/{self.name}/lab answered {response.status_code}")

    def pull_course(self, repo: str, branch: str, target: str) -> None:
        """What nbgitpuller's page does: follows its progress stream to the end."""
        query = urllib.parse.urlencode({"repo": repo, "branch": branch, "targetpath": target})
        with self.session.get(
            self.server_url("/git-pull/api?" + query), stream=True, timeout=300
        ) as response:
            events = [
                line
                for line in response.iter_lines(decode_unicode=True)
                if isinstance(line, str) and line.startswith("data:")
            ]
        last = json.loads(events[-1][5:]) if events else {}
        if last.get("phase") != "finished":
            raise Failure(f"{self.name}: nbgitpuller did not finish: {events[-3:]}")

    def api(self, method: str, path: str, **kwargs: Any) -> requests.Response:
        headers = {"X-XSRFToken": self.xsrf(f"/user/{self.name}/")}
        return self.session.request(
            method, self.server_url(path), headers=headers, timeout=60, **kwargs
        )

    def open_notebook(self, notebook_path: str) -> float:
        """Starts a kernel for the notebook as opening it in JupyterLab does; returns
        the seconds until the kernel answered."""
        began = time.monotonic()
        response = self.api(
            "POST",
            "/api/sessions",
            json={"path": notebook_path, "type": "notebook", "name": "", "kernel": {"name": "rust"}},
        )
        if response.status_code != 201:
            raise Failure(
                f"{self.name}: no session for {notebook_path}: {response.status_code} {response.text[:200]}"
            )
        kernel_id: str = response.json()["kernel"]["id"]
        self.kernel_id = kernel_id
        cookies = "; ".join(f"{c.name}={c.value}" for c in self.session.cookies)
        url = self.server_url(f"/api/kernels/{kernel_id}/channels?session_id={self.ws_session}")
        self.socket = websocket.create_connection(
            url.replace("http://", "ws://"),
            cookie=cookies,
            header=[f"X-XSRFToken: {self.xsrf(f'/user/{self.name}/')}"],
            timeout=self.cell_timeout,
        )
        # The server answers the handshake once the kernel has started (11 s with 8
        # learners here); after that, reads wake up every few seconds to check deadlines.
        self.socket.settimeout(5)
        self.wait_for_kernel()
        return time.monotonic() - began

    def connected(self) -> websocket.WebSocket:
        if self.socket is None:
            raise Failure(f"{self.name}: no notebook is open")
        return self.socket

    def send(self, msg_type: str, content: dict[str, Any], channel: str = "shell") -> str:
        msg_id = uuid.uuid4().hex
        header = {
            "msg_id": msg_id,
            "username": self.name,
            "session": self.ws_session,
            "msg_type": msg_type,
            "version": "5.3",
            "date": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        }
        self.connected().send(
            json.dumps(
                {
                    "header": header,
                    "parent_header": {},
                    "metadata": {},
                    "channel": channel,
                    "buffers": [],
                    "content": content,
                }
            )
        )
        return msg_id

    def receive(self) -> dict[str, Any] | None:
        """The next message from the kernel, or None when none came within 5 s."""
        try:
            message: dict[str, Any] = json.loads(self.connected().recv())
        except websocket.WebSocketTimeoutException:
            return None
        return message

    def wait_for_kernel(self) -> None:
        """Asks for the kernel's info until it answers, as JupyterLab does before it
        sends any cell: a request sent while the server is still connecting to a
        kernel that is starting can be lost (seen here with 8 kernels starting)."""
        deadline = time.monotonic() + self.cell_timeout
        # Any of the requests may be the one answered: a kernel busy starting answers
        # them late, one after another (CI saw every answer come after the next ask).
        asked = set()
        while time.monotonic() < deadline:
            asked.add(self.send("kernel_info_request", {}))
            sent = time.monotonic()
            while time.monotonic() - sent < 2:
                message = self.receive()
                if message is None:
                    break
                if (
                    message.get("msg_type") == "kernel_info_reply"
                    and message.get("parent_header", {}).get("msg_id") in asked
                ):
                    return
        raise Failure(f"{self.name}: the kernel did not answer within {self.cell_timeout} s")

    def request_execute(self, code: str) -> str:
        """Sends `code` to run as JupyterLab sends a cell; the request's message id."""
        return self.send(
            "execute_request",
            {
                "code": code,
                "silent": False,
                "store_history": True,
                "user_expressions": {},
                "allow_stdin": False,
                "stop_on_error": True,
            },
        )

    def execute(self, index: int, code: str) -> CellResult:
        msg_id = self.request_execute(code)
        started = time.monotonic()
        reply: dict[str, Any] | None = None
        idle = False
        stderr: list[str] = []
        text: list[str] = []
        while reply is None or not idle:
            if time.monotonic() - started > self.cell_timeout:
                raise Failure(f"{self.name}: cell {index} got no reply within {self.cell_timeout} s")
            message = self.receive()
            if message is None or message.get("parent_header", {}).get("msg_id") != msg_id:
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
        return CellResult(
            index=index,
            seconds=time.monotonic() - started,
            status=reply.get("status", ""),
            ename=reply.get("ename", ""),
            stderr="".join(stderr),
            text="".join(text),
        )

    def close(self) -> None:
        if self.socket is not None:
            self.socket.close()
        if self.kernel_id is not None:
            self.api("DELETE", f"/api/kernels/{self.kernel_id}")

    def token(self) -> str:
        """An API token of the learner's own, as the hub's token page makes one."""
        response = self.session.post(
            f"{self.hub_url}/hub/api/users/{self.name}/tokens",
            headers={"X-XSRFToken": self.xsrf("/hub/")},
            json={"note": "classroom check"},
            timeout=30,
        )
        if response.status_code != 201:
            raise Failure(f"{self.name}: no token: {response.status_code} {response.text[:200]}")
        token: str = response.json()["token"]
        return token
