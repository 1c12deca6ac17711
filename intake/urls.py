"""The site's public address, for every absolute link (receipts now, mails later): read through one door.

Absolute links are never built from the request's `Host` header, which any client sets (a receipt that
sends a whistleblower to someone else's site; issue 9, finding 11). They come from INTAKE_PUBLIC_URL,
checked at start (config.py). When tenants come, `public_base()` is the one place that becomes per tenant.
"""

from __future__ import annotations

from typing import Any

from flask import current_app, url_for


def public_base() -> str:
    """The configured origin citizens use, e.g. https://intake.example.go.th (no trailing slash)."""
    return str(current_app.config["PUBLIC_URL"]).rstrip("/")


def public_url(endpoint: str, **values: Any) -> str:
    """The absolute public address of one of our pages."""
    return public_base() + url_for(endpoint, **values)
