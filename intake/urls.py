"""Our own URLs: where a redirect may go (only this site), and the site's public address for absolute links.

Every redirect target that comes from a request (`next`, the language switch) goes through `own_path`.
Every absolute URL shown, printed or linked for outsiders (receipts, the officer's slip, mails, the ITA
page, the guideline, robots.txt) is built by `public_url` on `public_base()`, the one reader of the
public address: `INTAKE_PUBLIC_URL` (e.g. `https://www.example.go.th/intake`), checked at start-up and
required in production, so that no such link there is built from the request's `Host` header, which any
client sets (issue 9, finding 11). Without it (tests, a development server) the root of the request being
answered. With tenants, `public_base()` becomes the tenant's own address.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote, urlsplit

from flask import Flask, current_app, has_request_context, request, url_for

from . import tenancy


class PublicUrlUnknown(RuntimeError):
    """No INTAKE_PUBLIC_URL and no request to take the address from (a command run outside a request)."""


def own_path(target: str | None, under: str = "/") -> str | None:
    """`target` when it is a path of this site starting with `under`, else None (never another host).

    Refused: a scheme or host, `//` or a backslash (browsers read "/\\" as "//"), and any control
    character (it would split the Location header; it is never a 500 either).
    """
    if not target or any(ord(ch) < 0x20 or ch in "\\\x7f" for ch in target):
        return None
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or target.startswith("//") or not target.startswith(under):
        return None
    return target


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
    """The public address of the site, without a trailing slash.

    A tenant that claims host names (intake/tenancy.py) is reached on its own: the name this request came
    by when it is one of them (only a claimed name reaches the tenant, so the client cannot choose it),
    else its first name; with the scheme, port and path of INTAKE_PUBLIC_URL (or of the request, in
    development). A tenant that claims none (a single-municipality deployment) uses INTAKE_PUBLIC_URL as
    it is.
    """
    configured = str(current_app.config.get("PUBLIC_URL") or "").rstrip("/")
    try:
        hosts = tenancy.current().hosts
    except tenancy.TenantNotFound:
        hosts = ()
    if hosts:
        name = hosts[0]
        if has_request_context() and tenancy.normalise_host(request.host) in hosts:
            name = tenancy.normalise_host(request.host)
        if configured:
            parts = urlsplit(configured)
            port = f":{parts.port}" if parts.port else ""
            return f"{parts.scheme}://{name}{port}{parts.path.rstrip('/')}"
        if has_request_context():
            return f"{request.scheme}://{request.host}{request.script_root}".rstrip("/")
        return f"https://{name}"
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
