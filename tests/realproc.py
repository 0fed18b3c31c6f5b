"""Real processes for concurrency tests: app servers (gunicorn, one sync worker each) on the test's
database and repository, HTTP clients that log in like a browser, and a barrier that releases
two requests at the same instant (a barrier, never a sleep)."""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import requests
from flask import Flask

BIN = Path(sys.executable).parent
CSRF_RE = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"|value="([^"]+)"[^>]*name="csrf_token"')


def app_env(app: Flask, **extra: str) -> dict[str, str]:
    """The environment that points a new process at this test's database, repository and index."""
    return {
        **os.environ,
        "DATABASE_URL": app.config["SQLALCHEMY_DATABASE_URI"],
        "TEBIKI_INSTANCE": app.config["INSTANCE_DIR"],
        "MANUALS_REPO": app.config["MANUALS_REPO"],
        "SEARCH_INDEX_DIR": app.config["SEARCH_INDEX_DIR"],
        "SEARCH_BACKEND": app.config.get("SEARCH_BACKEND", "fts"),
        "SECRET_KEY": app.config["SECRET_KEY"],
        "PASSWORD_HASH_METHOD": app.config["PASSWORD_HASH_METHOD"],
        "TEBIKI_SINGLE_HOST": "1",
        **extra,
    }


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Server:
    url: str
    proc: subprocess.Popen[str]
    log: Path


@contextmanager
def servers(app: Flask, count: int = 2, log_dir: Path | None = None, envs: list[dict[str, str]] | None = None,
            **env: str) -> Iterator[list[Server]]:
    """`count` gunicorn processes (one sync worker each) serving the same database and repository;
    `envs` gives each its own environment instead (e.g. hosts with instance folders of their own)."""
    started: list[Server] = []
    log_dir = log_dir or Path(app.config["INSTANCE_DIR"])
    log_dir.mkdir(parents=True, exist_ok=True)
    environments = envs or [app_env(app, **env) for _ in range(count)]
    try:
        for i, environment in enumerate(environments):
            port = free_port()
            log = log_dir / f"server-{i}-{port}.log"
            proc = subprocess.Popen(
                [str(BIN / "gunicorn"), "-c", "python:app.gunicorn_conf", "--workers", "1", "--bind", f"127.0.0.1:{port}", "--timeout", "120",
                 "app.wsgi:app"],
                env=environment, stdout=log.open("w"), stderr=subprocess.STDOUT, text=True)
            started.append(Server(f"http://127.0.0.1:{port}", proc, log))
        for server in started:
            _wait_ready(server)
        yield started
    finally:
        for server in started:
            server.proc.terminate()
        for server in started:
            try:
                server.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                server.proc.kill()


def _wait_ready(server: Server) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if server.proc.poll() is not None:
            raise AssertionError(f"server exited: {server.log.read_text()[-3000:]}")
        try:
            if requests.get(server.url + "/healthz", timeout=2).status_code == 200:
                return
        except requests.RequestException:
            pass
        time.sleep(0.1)
    raise AssertionError(f"server did not start: {server.log.read_text()[-3000:]}")


class Client:
    """A logged-in browser: session cookie and CSRF token, no redirects followed."""

    def __init__(self, base: str, login: str, password: str = "tebiki-demo",
                 cookies: requests.cookies.RequestsCookieJar | None = None) -> None:
        self.base = base
        self.http = requests.Session()
        if cookies is not None:
            self.http.cookies.update(cookies)
            self.token = self._token("/dashboard")
            return
        token = self._token("/login")
        res = self.http.post(base + "/login", data={"login": login, "password": password, "csrf_token": token},
                             allow_redirects=False, timeout=60)
        assert res.status_code == 302 and "/login" not in res.headers.get("Location", ""), res.text[:500]
        self.token = self._token("/dashboard")

    def _token(self, path: str) -> str:
        html = self.http.get(self.base + path, timeout=60).text
        m = CSRF_RE.search(html)
        assert m, f"no CSRF token on {path}"
        return m.group(1) or m.group(2)

    def on(self, base: str) -> Client:
        """The same browser session against another server (a second click landing elsewhere)."""
        return Client(base, "", cookies=self.http.cookies)

    def post(self, path: str, data: dict[str, Any] | None = None, **kw: Any) -> requests.Response:
        return self.http.post(self.base + path, data={**(data or {}), "csrf_token": self.token},
                              allow_redirects=False, timeout=120, **kw)

    def get(self, path: str, **kw: Any) -> requests.Response:
        return self.http.get(self.base + path, timeout=60, **kw)

    def flashes(self, res: requests.Response) -> str:
        """The page a redirect leads to (where the flash messages are shown)."""
        if res.is_redirect:
            return self.get(res.headers["Location"]).text
        return res.text


def together(*calls: Callable[[], Any]) -> list[Any]:
    """Run the calls in threads released at the same instant by a barrier; return their results
    (or the exception each raised)."""
    barrier = threading.Barrier(len(calls))
    results: list[Any] = [None] * len(calls)

    def run(i: int, call: Callable[[], Any]) -> None:
        barrier.wait()
        try:
            results[i] = call()
        except Exception as exc:  # reported to the test, which asserts on it
            results[i] = exc

    threads = [threading.Thread(target=run, args=(i, c)) for i, c in enumerate(calls)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=300)
    return results
