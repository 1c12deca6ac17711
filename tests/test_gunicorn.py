"""gunicorn with two workers: rate limits hold across workers on Redis; no access log; production checks."""

from __future__ import annotations

import os
import secrets
import socket
import subprocess
import sys
import urllib.parse
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask

from intake import dates

from .servers import ROOT, Client, Redis, Server, env_for, redis_server, start_gunicorn

pytestmark = pytest.mark.slow

WRONG_TOKEN = "ABCD-EFGH-JKMN-PQRS-TVWX"  # well formed, opens nothing
LIMIT = 3


@pytest.fixture(scope="module")
def redis(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Redis]:
    server = redis_server(tmp_path_factory.mktemp("redis"))
    yield server
    server.stop()


@pytest.fixture
def serve(make_app: Any, redis: Redis, tmp_path: Path) -> Iterator[Any]:
    """Start gunicorn (2 workers) on the test instance with extra INTAKE_* settings (officer sessions on
    the test Redis: memory would keep each worker's sessions apart)."""
    servers: list[Server] = []

    def start(**extra: Any) -> Server:
        app: Flask = make_app()
        env = env_for(app.config, **{"SESSION_STORE_URI": redis.url, **extra})
        server = start_gunicorn(env, tmp_path / f"gunicorn-{len(servers)}.log", workers=2)
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.stop()


def _held_track_post(server: Server, client: Client) -> tuple[socket.socket, bytes]:
    """Open a connection and send all of a wrong-token POST /track but its last byte.

    A sync worker accepts it and blocks reading the body, so every later request goes to the OTHER
    worker until the last byte is sent (the listen queue is first in, first out).
    """
    csrf = client.csrf("/track")
    cookies = "; ".join(f"{c.name}={c.value}" for c in client.jar)
    body = urllib.parse.urlencode({"csrf_token": csrf, "token": WRONG_TOKEN}).encode()
    head = (
        f"POST /track HTTP/1.1\r\nHost: 127.0.0.1:{server.port}\r\nCookie: {cookies}\r\n"
        "Content-Type: application/x-www-form-urlencoded\r\n"
        f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n"
    ).encode()
    sock = socket.create_connection(("127.0.0.1", server.port), timeout=30)
    sock.sendall(head + body[:-1])
    return sock, body[-1:]


def _finish(sock: socket.socket, rest: bytes) -> int:
    with sock:
        sock.sendall(rest)
        data = b""
        while chunk := sock.recv(65536):
            data += chunk
    return int(data.split(b" ", 2)[1])


def _wrong_tokens_then_held(server: Server) -> tuple[list[int], int]:
    client = Client(server.url)
    held, rest = _held_track_post(server, client)
    statuses = [
        client.post("/track", {"token": WRONG_TOKEN}).status for _ in range(LIMIT + 1)
    ]
    return statuses, _finish(held, rest)


def test_tracking_limit_holds_across_workers_with_redis(serve: Any, redis: Redis) -> None:
    server = serve(
        RATELIMIT_STORAGE_URI=redis.url,
        RATELIMIT_KEY_PREFIX="test-" + secrets.token_hex(6),
        RATELIMIT_TRACK_FAILURES=f"{LIMIT} per 10 minutes",
    )
    statuses, held = _wrong_tokens_then_held(server)
    assert statuses == [404] * LIMIT + [429]
    # The held request is answered by the worker that has served nothing else: it still knows.
    assert held == 429


def test_memory_storage_would_not_hold_across_workers(serve: Any) -> None:
    """The control: with per-process memory the other worker has its own count (why Redis is needed)."""
    server = serve(RATELIMIT_STORAGE_URI="memory://", RATELIMIT_TRACK_FAILURES=f"{LIMIT} per 10 minutes")
    statuses, held = _wrong_tokens_then_held(server)
    assert statuses == [404] * LIMIT + [429]
    assert held == 404


def test_no_access_log_and_no_client_address(serve: Any) -> None:
    server = serve()
    client = Client(server.url)
    assert client.get("/").status == 200
    assert client.post("/track", {"token": WRONG_TOKEN}).status == 404
    with socket.create_connection(("127.0.0.1", server.port), timeout=30) as sock:
        sock.sendall(b"GARBAGE\x01 / HTTP/1.1\r\n\r\n")
        assert sock.recv(100).startswith(b"HTTP/1.1 400")
    server.stop()
    log = server.log()
    assert "Booting worker" in log  # the error log is written: it just holds no request
    assert "127.0.0.1" not in log.replace(f"127.0.0.1:{server.port}", "")
    assert "GET /" not in log
    assert "POST /track" not in log
    assert "Invalid request from ip=-" in log


def _gunicorn_refuses(tmp_path: Path, **env: str) -> subprocess.CompletedProcess[str]:
    full = {k: v for k, v in os.environ.items() if not k.startswith("INTAKE_")}
    full.update(env)
    full.update(INTAKE_ENV="production", INTAKE_BIND="127.0.0.1:0")
    return subprocess.run(
        [sys.executable, "-m", "gunicorn", "-c", str(ROOT / "gunicorn.conf.py"), "wsgi:app"],
        cwd=ROOT,
        env=full,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_production_refuses_to_start_without_secret_and_keys(tmp_path: Path) -> None:
    result = _gunicorn_refuses(tmp_path, INTAKE_KEYS_DIR=str(tmp_path / "keys"))
    assert result.returncode != 0
    assert "refusing to start: INTAKE_SECRET_KEY is not set" in result.stderr
    assert "token.secret is missing" in result.stderr
    assert "recovery.pub is missing" in result.stderr
    assert "Booting worker" not in result.stderr


def test_production_refuses_without_keys_even_with_secret(tmp_path: Path) -> None:
    keys = tmp_path / "keys"
    keys.mkdir()
    (keys / "token.secret").write_text("x")
    result = _gunicorn_refuses(tmp_path, INTAKE_KEYS_DIR=str(keys), INTAKE_SECRET_KEY="s" * 40)
    assert result.returncode != 0
    assert "recovery.pub is missing" in result.stderr
    assert "INTAKE_SECRET_KEY" not in result.stderr


def _production_keys(tmp_path: Path) -> Path:
    keys = tmp_path / "keys"
    keys.mkdir(exist_ok=True)
    (keys / "token.secret").write_text("x")
    (keys / "recovery.pub").write_text("x")
    return keys


@pytest.mark.parametrize(
    ("workers", "cmd_args"), [("2", ""), ("1", "--threads 4"), ("1", "--workers 3")]
)
def test_finding_04_production_refuses_memory_limits_with_several_workers_or_threads(
    tmp_path: Path, workers: str, cmd_args: str
) -> None:
    """Issue 9, finding 4: memory:// counts per process, so gunicorn refuses to start, naming the setting."""
    keys = _production_keys(tmp_path)
    result = _gunicorn_refuses(
        tmp_path,
        INTAKE_KEYS_DIR=str(keys),
        INTAKE_SECRET_KEY="s" * 40,
        INTAKE_WORKERS=workers,
        GUNICORN_CMD_ARGS=cmd_args,
    )
    assert result.returncode != 0
    assert "refusing to start: INTAKE_RATELIMIT_STORAGE_URI is memory://" in result.stderr
    assert "Booting worker" not in result.stderr


def test_finding_04_one_worker_one_thread_or_redis_may_use_the_default(tmp_path: Path) -> None:
    import importlib.util

    spec = importlib.util.spec_from_file_location("gunicorn_conf", ROOT / "gunicorn.conf.py")
    assert spec is not None and spec.loader is not None
    conf = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(conf)
    keys = _production_keys(tmp_path)
    env = {
        "INTAKE_ENV": "production",
        "INTAKE_SECRET_KEY": "s" * 40,
        "INTAKE_KEYS_DIR": str(keys),
        "INTAKE_PUBLIC_URL": "https://intake.example.go.th",
    }
    assert conf.production_problems(env, 1, 1) == []
    redis = {**env, "INTAKE_RATELIMIT_STORAGE_URI": "redis://127.0.0.1:1/0"}
    assert conf.production_problems(redis, 8, 4) == []
    shared = "redis://127.0.0.1:1/0"
    unlimited = {**env, "INTAKE_RATELIMIT_ENABLED": "false", "INTAKE_SESSION_STORE_URI": shared}
    assert conf.production_problems(unlimited, 8, 1) == []
    assert conf.production_problems({**env, "INTAKE_ENV": "development"}, 8, 4) == []
    problem, sessions = conf.production_problems(env, 5, 1)  # memory sessions too (finding 2)
    assert "INTAKE_SESSION_STORE_URI" in sessions
    assert "INTAKE_RATELIMIT_STORAGE_URI" in problem and "5 worker(s)" in problem


def _parallel(count: int, action: Any) -> list[Any]:
    """`action(i)` in `count` threads released at once; the results in order."""
    import threading

    barrier = threading.Barrier(count)
    results: list[Any] = [None] * count

    def run(i: int) -> None:
        barrier.wait(timeout=60)
        try:
            results[i] = action(i)
        except Exception as exc:  # noqa: BLE001 - shown by the assertion
            results[i] = exc

    threads = [threading.Thread(target=run, args=(i,), daemon=True) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    return results


def _form_posts(server: Server, path: str, count: int) -> list[tuple[Client, str]]:
    """`count` visitors, each holding the CSRF token of the form at `path` (fetched beforehand)."""
    clients = [Client(server.url) for _ in range(count)]
    return [(c, c.csrf(path)) for c in clients]


def _post(client: Client, token: str, path: str, fields: dict[str, str]) -> int:
    body = urllib.parse.urlencode({"csrf_token": token, **fields}).encode()
    return client.request("POST", path, body, {"Content-Type": "application/x-www-form-urlencoded"}).status


def test_finding_05_parallel_wrong_codes_get_at_most_five_evaluations(
    make_app: Any, redis: Redis, tmp_path: Path
) -> None:
    """Issue 9, finding 5: the limit is hit before a code is evaluated, atomically, across 2 x 4 workers."""
    app: Flask = make_app()
    env = env_for(
        app.config,
        RATELIMIT_STORAGE_URI=redis.url,
        RATELIMIT_KEY_PREFIX="test-" + secrets.token_hex(6),
        RATELIMIT_TRACK_FAILURES="5 per 10 minutes",
    )
    server = start_gunicorn(env, tmp_path / "gunicorn.log", workers=2, threads=4)
    try:
        visitors = _form_posts(server, "/track", 30)
        statuses = _parallel(30, lambda i: _post(*visitors[i], "/track", {"token": WRONG_TOKEN}))
    finally:
        server.stop()
    assert sorted(set(statuses)) <= [404, 429], statuses
    assert statuses.count(404) <= 5, f"{statuses.count(404)} codes evaluated: {statuses}"
    assert statuses.count(429) >= 25


def test_finding_05_parallel_wrong_passwords_are_counted_atomically(
    make_app: Any, redis: Redis, tmp_path: Path
) -> None:
    """Issue 9, finding 5: failed_logins is counted in one UPDATE before the check; the lock comes from it."""
    from intake.models import Officer
    from intake.officer.signin import MAX_FAILURES

    from .officer_helpers import audit_actions, officer_named, world

    app: Flask = make_app()
    with world(app) as (_s, factory):
        factory.officer("target", "the right password", ("feedback",))
    env = env_for(
        app.config,
        RATELIMIT_STORAGE_URI=redis.url,
        RATELIMIT_KEY_PREFIX="test-" + secrets.token_hex(6),
        RATELIMIT_LOGIN="1000 per minute",
    )
    server = start_gunicorn(env, tmp_path / "gunicorn.log", workers=2, threads=4)
    try:
        visitors = _form_posts(server, "/officer/login", 16)
        statuses = _parallel(
            16,
            lambda i: _post(*visitors[i], "/officer/login", {"username": "target", "password": f"guess {i}"}),
        )
    finally:
        server.stop()
    assert statuses == [200] * 16, statuses
    failures = [e.detail or "" for e in audit_actions(app, "login.failure")]
    checked = [d for d in failures if d.startswith("reason=password")]
    assert len(failures) == 16
    assert len(checked) <= MAX_FAILURES, failures
    with world(app) as (s, _f):
        target: Officer = officer_named(s, "target")
        assert target.locked_until is not None and target.locked_until > dates.now()
