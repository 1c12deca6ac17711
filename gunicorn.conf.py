"""gunicorn settings for serving `wsgi:app`: loopback by default, no access log, production checks at start.

    gunicorn -c gunicorn.conf.py wsgi:app                  (from the checkout)
    gunicorn -c python:intake.gunicorn_conf wsgi:app       (installed from the wheel, which ships it so)

Environment: INTAKE_BIND (default 127.0.0.1:8000; several addresses separated by commas),
INTAKE_WORKERS (default 2 x cores + 1, at most 8), INTAKE_WORKER_TIMEOUT (seconds, default 60),
INTAKE_CONTROL_SOCKET (a path enables gunicorn's control socket; off by default), INTAKE_LOG_LEVEL.
A reverse proxy (nginx, docs/deployment.md) terminates TLS and buffers request bodies in front of it.
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import re
import sys
from pathlib import Path
from typing import Any

from config import (  # gunicorn puts the working directory on sys.path first
    Config,
    ConfigError,
    ratelimit_storage_problem,
    session_store_problem,
    session_store_uri,
)


def _workers() -> int:
    configured = os.environ.get("INTAKE_WORKERS", "").strip()
    if configured:
        return max(1, int(configured))
    return min(2 * multiprocessing.cpu_count() + 1, 8)


bind = [b.strip() for b in os.environ.get("INTAKE_BIND", "127.0.0.1:8000").split(",") if b.strip()]
workers = _workers()
worker_class = "sync"  # the proxy buffers slow clients; each request is short
timeout = int(os.environ.get("INTAKE_WORKER_TIMEOUT", "60"))
graceful_timeout = 30
keepalive = 2
preload_app = False  # each worker opens its own database engine after the fork
_SHM = Path("/dev/shm")  # noqa: S108 - gunicorn's heartbeat files, on tmpfs (its documented advice)
worker_tmp_dir = str(_SHM) if _SHM.is_dir() else None
# gunicorn's control socket (gunicornc) defaults to one path per user, shared by every instance:
# off unless INTAKE_CONTROL_SOCKET names a path of this instance's own.
if os.environ.get("INTAKE_CONTROL_SOCKET"):
    control_socket = os.environ["INTAKE_CONTROL_SOCKET"]
else:
    control_socket_disable = True
max_requests = 2000
max_requests_jitter = 200

# Citizens' addresses are never logged: no access log at all; errors (no request lines) to stderr.
accesslog = None
errorlog = "-"
loglevel = os.environ.get("INTAKE_LOG_LEVEL", "info")
capture_output = False

# Request limits. Bodies are bounded by the app (MAX_CONTENT_LENGTH -> 413) and by the proxy.
limit_request_line = 4094
limit_request_fields = 60
limit_request_field_size = 8190

# Trust X-Forwarded-Proto only from the proxies the app trusts for X-Forwarded-For (default: this machine).
_proxies = os.environ.get("INTAKE_TRUSTED_PROXIES", "").strip() or "127.0.0.1,::1"
forwarded_allow_ips = _proxies
proxy_allow_ips = _proxies


class _NoClientAddress(logging.Filter):
    """gunicorn's 'Invalid request from ip=…' warning would write a client's address: blank it."""

    _ip = re.compile(r"\bip=\S+?(?=:|\s|$)")

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.msg, str) and "ip=" in record.msg:
            record.msg = self._ip.sub("ip=-", record.msg)
        return True


_error_log = logging.getLogger("gunicorn.error")
if not any(isinstance(f, _NoClientAddress) for f in _error_log.filters):
    _error_log.addFilter(_NoClientAddress())


def _without_server_header() -> None:
    """gunicorn writes `Server: gunicorn` itself, after the app (which sends none): leave it out."""
    from gunicorn.http import wsgi as gunicorn_wsgi

    response = gunicorn_wsgi.Response
    if getattr(response, "_intake_no_server", False):
        return
    defaults = response.default_headers

    def default_headers(self: Any) -> list[str]:
        return [h for h in defaults(self) if not h.lower().startswith("server:")]

    response.default_headers = default_headers
    response._intake_no_server = True


_without_server_header()


class StartRefused(SystemExit):
    """Production configuration is incomplete: gunicorn must not start."""


def _enabled(value: str | None) -> bool:
    return (value or "true").strip().lower() not in ("false", "0", "no", "off")


def sessions_problem(env: dict[str, str], workers: int) -> str | None:
    """Why officer sessions would not hold across these workers (memory:// is per process; issue 9, 2)."""
    try:
        uri = session_store_uri(
            env.get("INTAKE_SESSION_STORE_URI", ""), env.get("INTAKE_RATELIMIT_STORAGE_URI", "memory://")
        )
    except ConfigError as exc:
        return str(exc)
    return session_store_problem(uri, workers > 1, f"{workers} worker processes")


def production_problems(env: dict[str, str], workers: int = 1, threads: int = 1) -> list[str]:
    """What is missing or unsafe for INTAKE_ENV=production (an empty list when nothing is)."""
    if env.get("INTAKE_ENV", "development") != "production":
        return []
    problems = []
    storage = ratelimit_storage_problem(
        env.get("INTAKE_RATELIMIT_STORAGE_URI", "memory://"),
        _enabled(env.get("INTAKE_RATELIMIT_ENABLED")),
        workers > 1 or threads > 1,
        f"{workers} worker(s) x {threads} thread(s)",
    )
    if storage:
        problems.append(storage)
    sessions = sessions_problem(env, workers)
    if sessions:
        problems.append(sessions)
    if not env.get("INTAKE_SECRET_KEY", "").strip():
        problems.append("INTAKE_SECRET_KEY is not set")
    if not env.get("INTAKE_PUBLIC_URL", "").strip():
        problems.append("INTAKE_PUBLIC_URL is not set (the address citizens use, for links in receipts)")
    keys = Path(env.get("INTAKE_KEYS_DIR") or Config.KEYS_DIR)
    for name in ("token.secret", "recovery.pub"):
        if not (keys / name).is_file():
            problems.append(f"{keys / name} is missing (run `flask --app wsgi setup` first)")
    for private in sorted(keys.glob("recovery*.key")):  # the first tenant's, and recovery-SLUG.key of others
        print(f"WARNING: {private} is on the server: move it offline (docs/deployment.md)", file=sys.stderr)
    return problems


def on_starting(server: Any) -> None:
    # The server's own settings: GUNICORN_CMD_ARGS and the command line may have changed what this file set.
    problems = production_problems(dict(os.environ), int(server.cfg.workers), int(server.cfg.threads))
    if problems:
        for problem in problems:
            print(f"intake: refusing to start: {problem}", file=sys.stderr)
        raise StartRefused(1)
    if os.environ.get("INTAKE_ENV", "development") != "production":
        sessions = sessions_problem(dict(os.environ), int(server.cfg.workers))
        if sessions:  # development starts, but officers would be signed out between workers
            print(f"WARNING: {sessions}", file=sys.stderr)
