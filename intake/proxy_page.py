"""The "try again shortly" page a load balancer serves when no app server can answer (HAProxy's errorfile).

    flask --app wsgi proxy-error-page --output /etc/haproxy/errors/intake-503.http

HAProxy (or nginx) answers by itself when every app server is away, or when one dies under a request: it
must not show its own English "502 Bad Gateway". The command writes the app's own 503 page, Thai first and
English below (the proxy cannot know the visitor's language), as a complete HTTP response with the app's
security headers and `Retry-After`. Its one link is the app's own stylesheet (same origin): styled when
another app server answers, plainly readable when none does (no script, no picture, nothing inline).
docs/deployment.md shows where it goes; tests/test_faults.py serves it from HAProxy.
"""

from __future__ import annotations

from pathlib import Path

import click
from flask import Flask, current_app, render_template
from flask.cli import with_appcontext
from flask_babel import force_locale, gettext
from markupsafe import Markup

from . import errors, security

MAX_BYTES = 15 * 1024  # HAProxy's errorfile must fit in one buffer (16 KB by default)


def render_page(app: Flask) -> str:
    """The page: the 503 heading and message in Thai, then in English."""
    with app.test_request_context("/"):
        parts = []
        for code in ("th", "en"):
            with force_locale(code):
                html = Markup(render_template("errors/proxy_part.html"))  # noqa: S704 - our own template
                parts.append({"lang": code, "html": html})
        with force_locale("th"):
            title = gettext("Please try again shortly")
        return render_template("errors/proxy.html", parts=parts, title=title)


def http_response(app: Flask) -> bytes:
    """The page as HAProxy's errorfile wants it: status line, headers, blank line, body."""
    body = render_page(app).encode("utf-8")
    headers = [
        "HTTP/1.0 503 Service Unavailable",
        "Content-Type: text/html; charset=utf-8",
        f"Content-Length: {len(body)}",
        f"Retry-After: {errors.RETRY_AFTER}",
        "Cache-Control: no-store",
        "Connection: close",
        f"Content-Security-Policy: {security.CSP}",
        "Referrer-Policy: no-referrer",
        "X-Content-Type-Options: nosniff",
        "X-Frame-Options: DENY",
        "X-Robots-Tag: noindex, nofollow",
    ]
    out = ("\r\n".join(headers) + "\r\n\r\n").encode("ascii") + body
    if len(out) > MAX_BYTES:
        raise click.ClickException(f"the page is {len(out)} bytes; HAProxy takes at most {MAX_BYTES}")
    return out


@click.command("proxy-error-page")
@with_appcontext
@click.option("--output", "output", required=True, type=click.Path(dir_okay=False, path_type=Path),
              help="Where to write the HTTP response (HAProxy: errorfile 502/503/504 FILE).")
def proxy_error_page_command(output: Path) -> None:
    """Write the load balancer's "try again shortly" page (HTTP 503, Thai and English)."""
    data = http_response(current_app._get_current_object())  # type: ignore[attr-defined]
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_bytes(data)
    click.echo(f"Wrote {output} ({len(data)} bytes): use it for the load balancer's 502, 503 and 504.")


def register(app: Flask) -> None:
    app.cli.add_command(proxy_error_page_command)
