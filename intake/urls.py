"""Absolute links to our own site (mails, printed slips): the one place that knows the public address."""

from __future__ import annotations

from flask import current_app


def public_base() -> str:
    """The site's public address without a trailing slash (INTAKE_PUBLIC_URL), or "" when it is not set.

    Never taken from the request's Host header (a forged Host would put another site in our mails); per
    tenant later (TENANCY.md), which is why every absolute link goes through this function."""
    return str(current_app.config.get("PUBLIC_URL") or "").strip().rstrip("/")


def absolute(path: str) -> str:
    """`path` (starting with /) on the public address; the bare path when none is configured."""
    return public_base() + path
