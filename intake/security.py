"""Security headers set by the app itself, and logging that never records a client's address."""

from __future__ import annotations

import io
import logging
import re
from typing import IO, Any

from flask import Flask, Request, Response, request
from werkzeug.middleware.proxy_fix import ProxyFix
from werkzeug.routing import IntegerConverter

from . import crypto

MEMORY_SPOOL = 500 * 1024

CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "font-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
)


def set_headers(response: Response) -> Response:
    response.headers["Content-Security-Policy"] = CSP
    response.headers["Referrer-Policy"] = "no-referrer"
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["X-Frame-Options"] = "DENY"
    response.headers["X-Robots-Tag"] = "noindex, nofollow"
    response.headers["Permissions-Policy"] = "camera=(), microphone=(), geolocation=(), interest-cohort=()"
    response.headers["Cross-Origin-Opener-Policy"] = "same-origin"
    response.headers["Cross-Origin-Resource-Policy"] = "same-origin"
    if request.is_secure:
        response.headers["Strict-Transport-Security"] = "max-age=31536000"
    if not request.path.startswith("/static/"):
        response.headers["Cache-Control"] = "no-store"
        response.headers["Pragma"] = "no-cache"
    response.headers.pop("Server", None)
    return response


class DatabaseId(IntegerConverter):
    """`<int:...>` in routes: ASCII digits within the database's integer range (else 404, never a 500)."""

    regex = r"[0-9]{1,10}"

    def __init__(self, map: Any, *args: Any, **kwargs: Any) -> None:  # noqa: A002 - werkzeug's name
        kwargs.setdefault("max", 2**31 - 1)
        super().__init__(map, *args, **kwargs)


class UploadRequest(Request):
    """Uploads larger than MEMORY_SPOOL are spooled to disk encrypted under a key held in memory only."""

    def _get_file_stream(
        self,
        total_content_length: int | None,
        content_type: str | None,
        filename: str | None = None,
        content_length: int | None = None,
    ) -> IO[bytes]:
        if total_content_length is not None and total_content_length <= MEMORY_SPOOL:
            return io.BytesIO()
        return crypto.ephemeral_file()


class NoClientAddress(logging.Filter):
    """Werkzeug's development server starts each request line with the client's address: blank it."""

    _address = re.compile(r"^\S+ - - \[[^\]]*\] ")

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.msg, str):
            record.msg = self._address.sub("- - - ", record.msg)
        return True


def register(app: Flask) -> None:
    app.request_class = UploadRequest
    app.after_request(set_headers)
    logging.getLogger("werkzeug").addFilter(NoClientAddress())
    x_for, x_host = int(app.config["PROXY_FIX_X_FOR"]), int(app.config.get("PROXY_FIX_X_HOST", 0))
    if x_for or x_host:
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=x_for, x_host=x_host)  # type: ignore[method-assign]
