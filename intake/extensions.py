"""Flask extensions, created unbound and bound to the app in create_app."""

from __future__ import annotations

from flask import request
from flask_babel import Babel
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_wtf.csrf import CSRFProtect

csrf = CSRFProtect()
babel = Babel()
# Keys by client address in memory (or Redis) only, with short windows; never written anywhere else.
limiter = Limiter(key_func=get_remote_address, default_limits=[], headers_enabled=False)


def select_locale() -> str:
    """Thai unless the visitor chose English with the language switch (a cookie, no JavaScript)."""
    chosen = request.cookies.get("lang")
    return chosen if chosen in ("th", "en") else "th"
