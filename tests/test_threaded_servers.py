"""Threaded servers (`flask run`, gunicorn --threads): concurrent sign-ins, oversized uploads, headers."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask

from .conftest import ADMIN, PASSWORD
from .servers import Client, Server, env_for, start_flask_run, start_gunicorn

pytestmark = pytest.mark.slow


@pytest.fixture
def serve(make_app: Any, tmp_path: Path) -> Iterator[Any]:
    """Start a threaded server of the given kind on the test instance, with extra app settings."""
    servers: list[Server] = []

    def start(kind: str, env_extra: dict[str, Any] | None = None, **config: Any) -> Server:
        app: Flask = make_app(**config)
        env = env_for(app.config, **(env_extra or {}))
        log = tmp_path / f"{kind}-{len(servers)}.log"
        if kind == "flask":
            server = start_flask_run(env, log)
        else:
            server = start_gunicorn(env, log, workers=1, threads=4)
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.kill()


def _concurrently(count: int, action: Any) -> list[Any]:
    """Run `action(i)` in `count` threads released together; each result, or the exception it raised."""
    barrier = threading.Barrier(count)
    results: list[Any] = [None] * count

    def run(i: int) -> None:
        barrier.wait(timeout=30)
        try:
            results[i] = action(i)
        except Exception as exc:  # noqa: BLE001 - reported by the assertion
            results[i] = exc

    threads = [threading.Thread(target=run, args=(i,), daemon=True) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    return results


@pytest.mark.parametrize("kind", ["flask", "gunicorn"])
def test_finding_01_threaded_server_answers_concurrent_logins(serve: Any, kind: str) -> None:
    """Issue 9, finding 1: two sign-ins at once with the production KDF on a threaded server both answer."""
    server = serve(kind, KDF_PROFILE="interactive", RATELIMIT_LOGIN="1000 per minute")
    clients = [Client(server.url, timeout=60) for _ in range(2)]
    tokens = [c.csrf("/officer/login") for c in clients]

    def sign_in(i: int) -> int:
        body = f"csrf_token={tokens[i]}&username={ADMIN}&password={PASSWORD.replace(' ', '+')}".encode()
        headers = {"Content-Type": "application/x-www-form-urlencoded"}
        return clients[i].request("POST", "/officer/login", body, headers).status

    statuses = _concurrently(2, sign_in)
    assert statuses == [200, 200], statuses  # the redirect is followed to the next step's page
    # and the process still signs people in afterwards (a deadlocked pool answered 500 from then on)
    later = Client(server.url, timeout=60).post("/officer/login", {"username": ADMIN, "password": "wrong"})
    assert later.status == 200


def _raw(port: int, data: bytes, timeout: float) -> bytes:
    """Send a whole request, then read the whole answer, as a browser uploading a form does."""
    import socket

    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as sock:
        sock.sendall(data)
        chunks = []
        while chunk := sock.recv(65536):
            chunks.append(chunk)
    return b"".join(chunks)


@pytest.mark.parametrize("kind", ["flask", "gunicorn"])
def test_finding_11_oversized_upload_gets_413_promptly(serve: Any, kind: str) -> None:
    """Issue 9, finding 11: under `flask run` a body over the limit (but under the drain bound) hung."""
    import time

    server = serve(kind)
    field = b'--b\r\nContent-Disposition: form-data; name="details"\r\n\r\n'
    body = field + b"x" * (40 * 1024 * 1024) + b"\r\n--b--\r\n"
    head = (
        f"POST /report/feedback HTTP/1.1\r\nHost: 127.0.0.1:{server.port}\r\n"
        f"Content-Type: multipart/form-data; boundary=b\r\nContent-Length: {len(body)}\r\n"
        "Connection: close\r\n\r\n"
    ).encode()
    started = time.monotonic()
    try:
        answer = _raw(server.port, head + body, timeout=30)
    except TimeoutError:
        pytest.fail("no answer within 30 s to an oversized upload")
    assert answer.startswith(b"HTTP/1.1 413"), answer[:200]
    assert time.monotonic() - started < 30


@pytest.mark.parametrize("kind", ["flask", "gunicorn"])
def test_finding_11_no_server_header(serve: Any, kind: str) -> None:
    """Issue 9, finding 11: neither gunicorn nor Werkzeug names itself (nor its version) in a response."""
    server = serve(kind)
    client = Client(server.url)
    for reply in (client.get("/"), client.get("/no/such/page"), client.post("/track", {"token": "x"})):
        assert not any(name.lower() == "server" for name in reply.headers), reply.headers
