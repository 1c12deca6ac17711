"""Flask extensions, created unbound and bound to the app in create_app."""

from __future__ import annotations

from flask import current_app, request
from flask_limiter import Limiter
from flask_wtf.csrf import CSRFProtect

from . import crypto, key_contexts
from .catalogs import CatalogueBabel

csrf = CSRFProtect()
babel = CatalogueBabel()  # the .po catalogues, read into memory (intake/catalogs.py)


def client_key() -> str:
    """The rate-limit key: a keyed hash of the client's address, so neither the limiter's store (memory or
    Redis) nor its log line on a breach holds the address itself."""
    secret = str(current_app.config["SECRET_KEY"]).encode()
    limiter_input = key_contexts.RATE_LIMIT + (request.remote_addr or "").encode()
    return crypto.keyed_hash(secret, limiter_input).hex()[:32]


# Short windows only; the address itself is never kept (see client_key).
limiter = Limiter(key_func=client_key, default_limits=[], headers_enabled=False)


def select_locale() -> str:
    """Thai unless the visitor chose English with the language switch (a cookie, no JavaScript)."""
    chosen = request.cookies.get("lang")
    return chosen if chosen in ("th", "en") else "th"
