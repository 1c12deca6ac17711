"""Our own URLs: where a redirect may go (only this site), and the site's public address for absolute links.

Every redirect target that comes from a request (`next`, the language switch) goes through `own_path`.
Absolute links (receipts, the officer's slip, mails) are never built from the request's `Host` header,
which any client sets (a receipt that sends a whistleblower to someone else's site; issue 9, finding 11):
they come from INTAKE_PUBLIC_URL, checked at start (config.py), through `public_base()`, the one place
that becomes per tenant.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from flask import Flask, current_app, has_request_context, request, url_for

from . import tenancy


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


def public_base() -> str:
    """The origin citizens use, e.g. https://intake.example.go.th (no trailing slash).

    A tenant that claims host names (intake/tenancy.py) is reached on its own: the name this request came
    by when it is one of them (only a claimed name reaches the tenant, so the client cannot choose it),
    else its first name; with the scheme and port of INTAKE_PUBLIC_URL. A tenant that claims none (a
    single-municipality deployment) uses INTAKE_PUBLIC_URL as it is.
    """
    configured = str(current_app.config["PUBLIC_URL"]).rstrip("/")
    try:
        hosts = tenancy.current().hosts
    except tenancy.TenantNotFound:
        return configured
    if not hosts:
        return configured
    name = hosts[0]
    if has_request_context() and tenancy.normalise_host(request.host) in hosts:
        name = tenancy.normalise_host(request.host)
    parts = urlsplit(configured)
    port = f":{parts.port}" if parts.port else ""
    return f"{parts.scheme or 'https'}://{name}{port}"


def public_url(endpoint: str, **values: Any) -> str:
    """The absolute public address of one of our pages (receipts, notices)."""
    return public_base() + url_for(endpoint, **values)


def register(app: Flask) -> None:
    app.add_template_global(public_url)
