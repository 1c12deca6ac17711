"""Error pages in the visitor's language: never a trace, never a 500 for bad input."""

from __future__ import annotations

import contextlib
import logging
import math
import time
from typing import IO

from flask import Flask, g, render_template, request
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException, RequestEntityTooLarge
from werkzeug.wsgi import LimitedStream

from . import crypto, sessions
from .db import UNAVAILABLE as DATABASE_UNAVAILABLE
from .extensions import limiter
from .i18n import human_wait
from .session_store import SessionsAway
from .storage import StoreUnavailable

log = logging.getLogger(__name__)
DRAIN_LIMIT = 64 * 1024 * 1024


def _drain() -> None:
    """Read what is left of an oversized body (bounded) so the client gets our page, not a reset.

    Never past the end of the body: under `flask run` the WSGI input is the raw socket, so one read beyond
    Content-Length waits for bytes the client will never send while the client waits for our answer (the
    hang of issue 9, finding 11). `request.stream` knows the length and what the form parser already read.
    """
    stream: IO[bytes] | LimitedStream
    try:
        stream = request.stream
    except RequestEntityTooLarge:  # the declared length alone was too much: nothing has been read yet
        length = request.content_length
        if length is None:
            if not request.environ.get("wsgi.input_terminated"):
                return
            stream = request.environ["wsgi.input"]  # the server ends a chunked body itself
        else:
            stream = LimitedStream(request.environ["wsgi.input"], length)
    left = DRAIN_LIMIT
    try:
        while left > 0 and (chunk := stream.read(min(65536, left))):
            left -= len(chunk)
    except Exception:  # noqa: BLE001, S110 - a broken client connection is not our error to report
        pass


def retry_after() -> int | None:
    """Seconds until the limit this request ran into lets it through again (Flask-Limiter's window)."""
    current = limiter.current_limit if limiter.enabled else None
    if current is None:
        return None
    return max(1, min(current.limit.get_expiry(), math.ceil(current.reset_at - time.time())))


def handle_http(exc: HTTPException) -> tuple[str, int] | tuple[str, int, dict[str, str]]:
    code = exc.code or 500
    if isinstance(exc, RequestEntityTooLarge):
        _drain()
    template = f"errors/{code}.html" if code in (400, 403, 404, 405, 413, 429, 503) else "errors/generic.html"
    if code == 429 and (wait := retry_after()) is not None:
        page = render_template(template, code=code, wait=human_wait(wait))
        return page, code, {"Retry-After": str(wait)}
    if code == 503 and g.get("tenant_suspended"):
        template = "errors/suspended.html"  # the host suspended this tenant (intake/tenancy.py)
    return render_template(template, code=code), code


def handle_csrf(exc: CSRFError) -> tuple[str, int]:
    return render_template("errors/csrf.html", code=400), 400


RETRY_AFTER = 30  # seconds: a store that is away is usually back within a minute (a restart)


def unavailable_headers() -> dict[str, str]:
    return {"Retry-After": str(RETRY_AFTER)}


def handle_store_unavailable(exc: StoreUnavailable) -> tuple[str, int, dict[str, str]]:
    """An engine is away: a clear "try again shortly" page with 503, never a trace (path only in the log)."""
    log.warning("storage unavailable on %s %s: %s", request.method, request.path, exc)
    return render_template("errors/503.html", code=503), 503, unavailable_headers()


def _rolled_back() -> None:
    """Roll back the request's session, if it has one, so that the error page itself can read the database
    (a failed flush leaves the session unusable until then: the page would fail in turn). The rollback
    expires what the request loaded, so the page forgets the signed-in officer rather than reload them
    (with the database away that second failure escaped Flask as gunicorn's bare 500)."""
    sessions.forget_loaded()
    s = g.get("db_session")
    if s is not None:
        with contextlib.suppress(Exception):
            s.rollback()


def handle_database_unavailable(exc: Exception) -> tuple[str, int, dict[str, str]]:
    """The database is away (a restart, a failover): the same 503 page; the class name only in the log."""
    log.warning("database unavailable on %s %s: %s", request.method, request.path, type(exc).__name__)
    _rolled_back()
    return render_template("errors/503.html", code=503), 503, unavailable_headers()


def handle_sessions_away(exc: SessionsAway) -> tuple[str, int, dict[str, str]]:
    """The session store (Redis) is away: no officer session can be checked; 503, nothing written."""
    log.warning("session store unavailable on %s %s: %s", request.method, request.path, exc)
    _rolled_back()
    return render_template("errors/sessions_away.html", code=503), 503, unavailable_headers()


def handle_kdf_busy(exc: crypto.KdfBusy) -> tuple[str, int, dict[str, str]]:
    """Password derivations are serialised per process (crypto.py); a long queue gets 503, not a wait."""
    return render_template("errors/busy.html", code=503), 503, unavailable_headers()


def handle_unexpected(exc: Exception) -> tuple[str, int]:
    # The trace goes to the log with the path only: no form data, no address, no headers.
    log.exception("unhandled error on %s %s", request.method, request.path)
    _rolled_back()
    return render_template("errors/generic.html", code=500), 500


def register(app: Flask) -> None:
    app.register_error_handler(CSRFError, handle_csrf)
    app.register_error_handler(HTTPException, handle_http)
    app.register_error_handler(StoreUnavailable, handle_store_unavailable)
    for kind in DATABASE_UNAVAILABLE:
        app.register_error_handler(kind, handle_database_unavailable)
    app.register_error_handler(SessionsAway, handle_sessions_away)
    app.register_error_handler(crypto.KdfBusy, handle_kdf_busy)
    app.register_error_handler(Exception, handle_unexpected)
