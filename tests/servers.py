"""Real services for tests and benchmarks: throwaway PostgreSQL databases, the app served by gunicorn on
127.0.0.1 (in a process group of its own) and a client that talks to it over HTTP, Redis.

Used by the test suite (tests/conftest.py: the one throwaway-database fixture), the multi-worker,
durability, hostile-input and browser tests, and the benchmarks (bench/). Every server binds a free port
on loopback only, and every wait has a deadline.
"""

from __future__ import annotations

import atexit
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
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import text
from sqlalchemy.engine import make_url

from config import ROOT
from intake.db import make_engine

CSRF = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')
CASE_TOKEN = re.compile(r'id="case-token"[^>]*>\s*([^<\s][^<]*?)\s*<')


# --- throwaway PostgreSQL databases ---------------------------------------------------------------


def _on_server(server_url: str, sql: str) -> None:
    engine = make_engine(server_url, isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as conn:
            conn.execute(text(sql))
    finally:
        engine.dispose()


def create_database(server_url: str, name: str) -> str:
    """A new, empty database `name` on the PostgreSQL server of `server_url`, owned by a role of its own
    that is no superuser (row-level security binds it, as in production); the URL to it as that role."""
    role = app_role(name)
    _on_server(server_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    _on_server(server_url, f'DROP ROLE IF EXISTS "{role}"')
    _on_server(server_url, f'CREATE ROLE "{role}" LOGIN NOSUPERUSER NOBYPASSRLS NOCREATEDB NOCREATEROLE')
    _on_server(server_url, f'CREATE DATABASE "{name}" OWNER "{role}"')
    return make_url(server_url).set(database=name, username=role).render_as_string(hide_password=False)


def app_role(database: str) -> str:
    return f"{database}_app"[:63]


def superuser_url(url: str, server_url: str) -> str:
    """`url`'s database as the server's own (superuser) user: for what only a superuser may do in tests."""
    return make_url(url).set(username=make_url(server_url).username).render_as_string(hide_password=False)


def drop_database(server_url: str, name: str) -> None:
    """Drop database `name` (connections to it are ended first) and its role."""
    _on_server(server_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    _on_server(server_url, f'DROP ROLE IF EXISTS "{app_role(name)}"')


@contextlib.contextmanager
def throwaway_database(server_url: str, prefix: str = "intake_test") -> Iterator[str]:
    """The URL of a new, empty database next to `server_url`, named for this process; dropped afterwards."""
    name = f"{prefix}_{os.getpid()}_{secrets.token_hex(3)}"
    url = create_database(server_url, name)
    try:
        yield url
    finally:
        drop_database(server_url, name)


# --- the app served for real -------------------------------------------------------------------------


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
            "STORAGE_URL",
            "S3_ENDPOINT_URL",
            "S3_ACCESS_KEY",
            "S3_SECRET_KEY",
            "S3_REGION",
            "NOTIFY_AUDIT_DAILY",
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
    env: Mapping[str, str],
    log_path: Path,
    workers: int = 2,
    timeout: float = 60,
    root: Path = ROOT,
    python: str = sys.executable,
    config: str | None = None,
    threads: int = 1,
    port: int | None = None,
) -> Server:
    """gunicorn with the gunicorn.conf.py of `root` (this checkout, or a copy; `config` for another, e.g.
    python:intake.gunicorn_conf of an installed wheel) on `port` (default: a free loopback port), run from
    `root`; returns once it answers.

    `threads` > 1 is what GUNICORN_CMD_ARGS="--threads N" does to the shipped config (gthread workers).
    """
    port = port or free_port()
    full = dict(env)
    full["INTAKE_BIND"] = f"127.0.0.1:{port}"
    full["INTAKE_WORKERS"] = str(workers)
    if workers > 1 and not full.get("INTAKE_SESSION_STORE_URI"):
        # Officer sessions' secrets live in one process's memory unless Redis holds them: several worker
        # processes need a shared store, as production requires (intake/session_store.py).
        limiter = full.get("INTAKE_RATELIMIT_STORAGE_URI", "")
        full["INTAKE_SESSION_STORE_URI"] = limiter if limiter.startswith("redis") else shared_redis_url()
    if threads > 1:
        full["GUNICORN_CMD_ARGS"] = f"--threads {threads}"
    command = [python, "-m", "gunicorn", "-c", config or str(root / "gunicorn.conf.py"), "wsgi:app"]
    return _start(command, full, port, log_path, timeout, "gunicorn", cwd=root)


def start_flask_run(env: Mapping[str, str], log_path: Path, timeout: float = 60) -> Server:
    """`flask run` (Werkzeug's development server, threaded: what the quick start serves) on loopback."""
    port = free_port()
    command = [
        sys.executable, "-m", "flask", "--app", "wsgi", "run", "--host", "127.0.0.1", "--port", str(port),
        "--with-threads", "--no-reload", "--no-debugger",
    ]
    return _start(command, dict(env), port, log_path, timeout, "flask run", cwd=ROOT)


def _start(
    command: list[str], env: dict[str, str], port: int, log_path: Path, timeout: float, name: str, cwd: Path
) -> Server:
    log = open(log_path, "ab")  # noqa: SIM115 - handed to the child, closed below
    try:
        proc = subprocess.Popen(
            command,
            cwd=cwd,
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


_SHARED_REDIS: list[Redis] = []


def shared_redis_url() -> str:
    """One Redis for the servers this test process starts (INTAKE_TEST_REDIS_URL, or a private one that
    stops when the process ends)."""
    if not _SHARED_REDIS:
        workdir = Path(os.environ.get("TMPDIR", "/tmp"))  # noqa: S108 - redis-server keeps nothing there
        _SHARED_REDIS.append(redis_server(workdir))
        atexit.register(_SHARED_REDIS[0].stop)
    return _SHARED_REDIS[0].url


@contextlib.contextmanager
def production_env(env: Mapping[str, str], workdir: Path) -> Iterator[dict[str, str]]:
    """`env` as production starts only with it: INTAKE_ENV=production, a secret key, the public address
    and Redis for the rate limits and the officer sessions' secrets (memory:// is refused with several
    workers); Redis stops afterwards."""
    redis = redis_server(workdir)
    try:
        yield {
            **env,
            "INTAKE_ENV": "production",
            "INTAKE_SECRET_KEY": secrets.token_urlsafe(32),
            "INTAKE_PUBLIC_URL": "http://127.0.0.1",
            "INTAKE_RATELIMIT_STORAGE_URI": redis.url,
            "INTAKE_SESSION_STORE_URI": redis.url,
        }
    finally:
        redis.stop()
