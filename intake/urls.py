"""Our own URLs: where a redirect may go (only this site), and the public address printed for citizens.

Every redirect target that comes from a request (`next`, the language switch) goes through `own_path`;
every URL shown or mailed to a citizen (the tracking page on a receipt) through `public_url`, so that
the public address of a site is decided in one place.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from flask import Flask, url_for


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


def public_url(endpoint: str, **values: Any) -> str:
    """The absolute URL of a public page, as a citizen types it (receipts, notices)."""
    return url_for(endpoint, _external=True, **values)


def register(app: Flask) -> None:
    app.add_template_global(public_url)
