"""Serve the app for real on 127.0.0.1 (gunicorn in a process group of its own) and talk to it over HTTP.

Used by the multi-worker, durability, hostile-input and browser tests, and by bench/load.py. Every server
binds a free port on loopback only, and every wait has a deadline.
"""

from __future__ import annotations

import contextlib
import http.cookiejar
import os
import re
import secrets
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
CSRF = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')
CASE_TOKEN = re.compile(r'id="case-token"[^>]*>\s*([^<\s][^<]*?)\s*<')


class ServerFailed(RuntimeError):
    """The server did not come up (its log is in the message)."""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def env_for(config: Mapping[str, Any], **extra: Any) -> dict[str, str]:
    """INTAKE_* variables for the app config used in tests (booleans and numbers as JSON)."""
    wanted = {
        key: config[key]
        for key in (
            "DATABASE_URL",
            "INSTANCE_DIR",
            "KEYS_DIR",
            "SECRET_KEY",
            "KDF_PROFILE",
            "SESSION_COOKIE_SECURE",
            "RATELIMIT_STORAGE_URI",
        )
        if key in config
    }
    wanted.update(extra)
    env = {k: v for k, v in os.environ.items() if not k.startswith("INTAKE_")}
    for key, value in wanted.items():
        if isinstance(value, bool):
            env[f"INTAKE_{key}"] = "true" if value else "false"
        else:
            env[f"INTAKE_{key}"] = str(value)
    env["PYTHONUNBUFFERED"] = "1"
    return env


@dataclass
class Server:
    proc: subprocess.Popen[bytes]
    port: int
    log_path: Path

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def stop(self) -> None:
        """Graceful stop (SIGTERM to the whole group), SIGKILL after a deadline."""
        self._signal(signal.SIGTERM)
        try:
            self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.kill()
        self._reap_group()

    def kill(self) -> None:
        """SIGKILL the master and every worker at once: a crash, as far as the app can tell."""
        self._signal(signal.SIGKILL)
        self.proc.wait(timeout=30)
        self._reap_group()

    def _signal(self, sig: signal.Signals) -> None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.proc.pid, sig)

    def _reap_group(self) -> None:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                os.killpg(self.proc.pid, 0)
            except ProcessLookupError:
                return
            time.sleep(0.05)
        os.killpg(self.proc.pid, signal.SIGKILL)


def start_gunicorn(
    env: Mapping[str, str], log_path: Path, workers: int = 2, timeout: float = 60, threads: int = 1
) -> Server:
    """gunicorn with the project's gunicorn.conf.py on a free loopback port; returns once it answers.

    `threads` > 1 is what GUNICORN_CMD_ARGS="--threads N" does to the shipped config (gthread workers).
    """
    port = free_port()
    full = dict(env)
    full["INTAKE_BIND"] = f"127.0.0.1:{port}"
    full["INTAKE_WORKERS"] = str(workers)
    if threads > 1:
        full["GUNICORN_CMD_ARGS"] = f"--threads {threads}"
    command = [sys.executable, "-m", "gunicorn", "-c", str(ROOT / "gunicorn.conf.py"), "wsgi:app"]
    return _start(command, full, port, log_path, timeout, "gunicorn")


def start_flask_run(env: Mapping[str, str], log_path: Path, timeout: float = 60) -> Server:
    """`flask run` (Werkzeug's development server, threaded: what the quick start serves) on loopback."""
    port = free_port()
    command = [
        sys.executable, "-m", "flask", "--app", "wsgi", "run", "--host", "127.0.0.1", "--port", str(port),
        "--with-threads", "--no-reload", "--no-debugger",
    ]
    return _start(command, dict(env), port, log_path, timeout, "flask run")


def _start(
    command: list[str], env: dict[str, str], port: int, log_path: Path, timeout: float, name: str
) -> Server:
    log = open(log_path, "ab")  # noqa: SIM115 - handed to the child, closed below
    try:
        proc = subprocess.Popen(
            command,
            cwd=ROOT,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=log,
            start_new_session=True,
        )
    finally:
        log.close()
    server = Server(proc, port, log_path)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise ServerFailed(f"{name} exited with {proc.returncode}:\n{server.log()}")
        try:
            with urllib.request.urlopen(server.url + "/", timeout=5) as resp:  # noqa: S310 - loopback
                if resp.status == 200:
                    return server
        except (OSError, urllib.error.URLError):
            pass
        time.sleep(0.1)
    server.kill()
    raise ServerFailed(f"{name} did not answer within {timeout} s:\n{server.log()}")


# --- a small HTTP client with cookies, CSRF and multipart ----------------------------------------


@dataclass
class Reply:
    status: int
    body: str
    headers: dict[str, str] = field(default_factory=dict)

    def token(self) -> str | None:
        """The case token shown on a receipt page (id="case-token"), or None."""
        match = CASE_TOKEN.search(self.body)
        return match.group(1).strip() if match else None


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


class Client:
    """One visitor: a cookie jar, forms fetched for their CSRF token, redirects followed (303 -> GET)."""

    def __init__(self, base_url: str, timeout: float = 60) -> None:
        self.base = base_url.rstrip("/")
        self.timeout = timeout
        self.jar = http.cookiejar.CookieJar()
        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(self.jar))

    def request(
        self, method: str, path: str, body: bytes | None = None, headers: Mapping[str, str] | None = None
    ) -> Reply:
        req = urllib.request.Request(  # noqa: S310 - our own server on loopback
            self.base + path, data=body, method=method, headers=dict(headers or {})
        )
        try:
            with self.opener.open(req, timeout=self.timeout) as resp:
                return Reply(resp.status, resp.read().decode("utf-8", "replace"), dict(resp.headers))
        except urllib.error.HTTPError as err:
            with err:
                return Reply(err.code, err.read().decode("utf-8", "replace"), dict(err.headers))

    def get(self, path: str) -> Reply:
        return self.request("GET", path)

    def csrf(self, path: str) -> str:
        page = self.get(path)
        match = CSRF.search(page.body)
        if not match:
            raise AssertionError(f"no csrf_token on {path} (HTTP {page.status})")
        return match.group(1)

    def post(
        self,
        path: str,
        fields: Mapping[str, str],
        files: list[tuple[str, str, bytes, str]] | None = None,
        form_path: str | None = None,
    ) -> Reply:
        """POST a form (multipart when files are given) with the CSRF token of the form at `form_path`."""
        data = {"csrf_token": self.csrf(form_path or path), **fields}
        if files is None:
            body = urllib.parse.urlencode(data).encode()
            return self.request("POST", path, body, {"Content-Type": "application/x-www-form-urlencoded"})
        body, content_type = multipart(data, files)
        return self.request("POST", path, body, {"Content-Type": content_type})


def multipart(fields: Mapping[str, str], files: list[tuple[str, str, bytes, str]]) -> tuple[bytes, str]:
    """Encode fields and (field name, file name, bytes, media type) files as multipart/form-data."""
    boundary = "----intake" + secrets.token_hex(12)
    out = bytearray()
    for name, value in fields.items():
        out += f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n'.encode()
        out += value.encode("utf-8") + b"\r\n"
    for name, filename, data, media_type in files:
        out += (
            f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"; filename="{filename}"\r\n'
            f"Content-Type: {media_type}\r\n\r\n"
        ).encode()
        out += data + b"\r\n"
    out += f"--{boundary}--\r\n".encode()
    return bytes(out), f"multipart/form-data; boundary={boundary}"


def raw_request(port: int, data: bytes, timeout: float = 30) -> bytes:
    """Send raw bytes to the server and return everything it answers (for malformed requests)."""
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as sock:
        sock.sendall(data)
        sock.shutdown(socket.SHUT_WR)
        chunks = []
        while chunk := sock.recv(65536):
            chunks.append(chunk)
    return b"".join(chunks)


def http_status(raw: bytes) -> int:
    """The status code of a raw HTTP response."""
    line = raw.split(b"\r\n", 1)[0].decode("latin-1")
    return int(line.split()[1])



@dataclass
class Redis:
    proc: subprocess.Popen[bytes] | None
    url: str

    def stop(self) -> None:
        if self.proc is not None:
            self.proc.terminate()
            self.proc.wait(timeout=30)


def redis_server(workdir: Path) -> Redis:
    """INTAKE_TEST_REDIS_URL when set (make test starts one), else a private redis-server on loopback."""
    url = os.environ.get("INTAKE_TEST_REDIS_URL")
    if url:
        return Redis(None, url)
    port = free_port()
    proc = subprocess.Popen(
        ["redis-server", "--bind", "127.0.0.1", "--port", str(port), "--save", "", "--appendonly", "no",
         "--dir", str(workdir)],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1) as sock:
                sock.sendall(b"PING\r\n")
                if sock.recv(16).startswith(b"+PONG"):
                    return Redis(proc, f"redis://127.0.0.1:{port}/0")
        except OSError:
            time.sleep(0.05)
    proc.kill()
    raise ServerFailed("redis-server did not answer")
