"""Security headers set by the app itself, and logging that never records a client's address."""

from __future__ import annotations

import io
import ipaddress
import logging
import re
from collections.abc import Iterable
from typing import IO, TYPE_CHECKING, Any

from flask import Flask, Request, Response, current_app, render_template, request
from werkzeug.middleware.proxy_fix import ProxyFix
from werkzeug.routing import IntegerConverter

from . import crypto, findable

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIApplication, WSGIEnvironment

MEMORY_SPOOL = 500 * 1024
log = logging.getLogger(__name__)

CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "font-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
)


def set_headers(response: Response) -> Response:
    response.headers["Content-Security-Policy"] = CSP
    response.headers["Referrer-Policy"] = "no-referrer"
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["X-Frame-Options"] = "DENY"
    if not findable.may_index(response.status_code):  # public pages may be indexed (intake/findable.py)
        response.headers["X-Robots-Tag"] = findable.NOINDEX
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


def refuse_unshared_limits() -> Response | None:
    """Production: a server with several processes or threads and `memory://` limits serves nothing, nor
    one with several processes and `memory://` sessions.

    gunicorn.conf.py refuses to start in that shape; this catches every other server (a threaded `flask
    run`, uWSGI, mod_wsgi ...) from what it tells the app in the WSGI environment (issue 9, findings 4, 2).
    """
    from config import ratelimit_storage_problem, session_store_problem

    config = current_app.config
    processes = bool(request.environ.get("wsgi.multiprocess"))
    multi = processes or bool(request.environ.get("wsgi.multithread"))
    problem = ratelimit_storage_problem(
        str(config.get("RATELIMIT_STORAGE_URI", "memory://")),
        bool(config.get("RATELIMIT_ENABLED", True)),
        multi,
        "several worker processes or threads (wsgi.multiprocess or wsgi.multithread)",
    ) or session_store_problem(
        str(config.get("SESSION_STORE_URI", "memory://")),
        processes,
        "several worker processes (wsgi.multiprocess)",
    )
    if problem is None:
        return None
    if not current_app.extensions.get("intake.refusal_logged"):
        current_app.extensions["intake.refusal_logged"] = True
        log.error("refusing to serve: %s", problem)
    return Response(render_template("errors/generic.html", code=503), status=503)


class TrustedProxyFix:
    """Werkzeug's ProxyFix, applied only to requests whose peer is a configured proxy (issue 9, finding 11).

    With INTAKE_PROXY_FIX_X_FOR=1 alone, any client that reaches the app directly could name its own address
    in X-Forwarded-For and so get a fresh rate-limit allowance with every request.
    """

    def __init__(self, app: WSGIApplication, x_for: int, trusted: list[str], x_host: int = 0) -> None:
        self.app = app
        self.fixed = ProxyFix(app, x_for=x_for, x_host=x_host)
        self.trusted = [ipaddress.ip_network(n) for n in trusted]

    def _from_proxy(self, peer: str) -> bool:
        try:
            address = ipaddress.ip_address(peer.split("%", 1)[0])
        except ValueError:
            return False
        if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
            address = address.ipv4_mapped
        return any(address in network for network in self.trusted)

    def __call__(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        if self._from_proxy(str(environ.get("REMOTE_ADDR") or "")):
            return self.fixed(environ, start_response)
        return self.app(environ, start_response)


def _no_server_header_from_the_development_server() -> None:
    """`flask run` (Werkzeug) adds `Server: Werkzeug/… Python/…` after the app: the same without it."""
    from werkzeug.serving import WSGIRequestHandler

    if getattr(WSGIRequestHandler, "_intake_no_server", False):
        return

    def send_response(self: WSGIRequestHandler, code: int, message: str | None = None) -> None:
        self.log_request(code)
        self.send_response_only(code, message)
        self.send_header("Date", self.date_time_string())

    WSGIRequestHandler.send_response = send_response  # type: ignore[method-assign,assignment]
    WSGIRequestHandler._intake_no_server = True  # type: ignore[attr-defined]


def register(app: Flask) -> None:
    from . import urls

    _no_server_header_from_the_development_server()

    app.request_class = UploadRequest
    app.jinja_env.globals["public_url"] = urls.public_url  # absolute links: never from the Host header
    if app.config["ENV"] == "production":
        app.before_request(refuse_unshared_limits)
    app.after_request(set_headers)
    logging.getLogger("werkzeug").addFilter(NoClientAddress())
    x_for, x_host = int(app.config["PROXY_FIX_X_FOR"]), int(app.config.get("PROXY_FIX_X_HOST", 0))
    if x_for or x_host:
        app.wsgi_app = TrustedProxyFix(  # type: ignore[method-assign]
            app.wsgi_app, x_for, app.config["TRUSTED_PROXIES"], x_host=x_host
        )
