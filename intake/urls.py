"""The site's public address: every absolute URL shown, printed or linked for outsiders is built here.

`public_base()` is the one reader of the public address (`INTAKE_PUBLIC_URL`, e.g.
`https://www.example.go.th/intake`); without it, the root of the request being answered. With tenants it
will become the tenant's own address (docs: TENANCY), so nothing else reads `request.host` or the setting
to build a link. `public_url(endpoint, ...)` is an absolute link to one of our pages under that address.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote, urlsplit

from flask import Flask, current_app, has_request_context, request, url_for


class PublicUrlUnknown(RuntimeError):
    """No INTAKE_PUBLIC_URL and no request to take the address from (a command run outside a request)."""


def check(value: str) -> str:
    """The configured public URL without its trailing slash; raises ValueError for anything but an
    http(s) address with a host (a query, a fragment or credentials have no place in it)."""
    value = (value or "").strip()
    if not value:
        return ""
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(f"INTAKE_PUBLIC_URL must be an http(s) address (https://host/...), not {value!r}")
    if parts.query or parts.fragment or parts.username or parts.password:
        raise ValueError("INTAKE_PUBLIC_URL takes no query, fragment or user name")
    return value.rstrip("/")


def public_base() -> str:
    """The public address of the site, without a trailing slash."""
    configured = str(current_app.config.get("PUBLIC_URL") or "").rstrip("/")
    if configured:
        return configured
    if has_request_context():
        return request.url_root.rstrip("/")
    raise PublicUrlUnknown("set INTAKE_PUBLIC_URL to the site's public address")


def public_url(endpoint: str, **values: Any) -> str:
    """The absolute URL of one of our pages, as an outsider types it."""
    if has_request_context():
        path = url_for(endpoint, **values)
        if request.script_root and path.startswith(request.script_root):
            path = path[len(request.script_root) :]  # the public address already ends with the mount point
    else:  # a command: the path from the URL map alone (url_for would want SERVER_NAME)
        anchor = values.pop("_anchor", None)
        path = current_app.url_map.bind("localhost").build(endpoint, values)
        if anchor:
            path += "#" + quote(str(anchor))
    return public_base() + path


def register(app: Flask) -> None:
    app.add_template_global(public_url)
    app.add_template_global(public_base)
