"""Flask extensions, created unbound and bound to the app in create_app."""

from __future__ import annotations

from flask import current_app, request
from flask_limiter import Limiter
from flask_wtf.csrf import CSRFProtect
from limits.strategies import FixedWindowRateLimiter

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


def refund(scope: str) -> None:
    """Give back this request's hit on the limit `scope`: the attempt turned out not to be a failure.

    Limits that count failures only (wrong tracking codes, failed sign-ins) are hit BEFORE the view runs, so
    that the count and the check are one atomic step in the storage: 30 parallel guesses can no longer all
    pass a check made before any of them was counted (issue 9, finding 5). An attempt that was not a
    failure is refunded afterwards. The refund is a negative hit on the fixed window (Config pins the
    strategy); a limit already breached in this request is not refunded.
    """
    if not limiter.enabled or not isinstance(limiter.limiter, FixedWindowRateLimiter):
        return
    for hit in limiter.current_limits:
        if not hit.breached and hit.request_args and hit.request_args[-1] == scope:
            limiter.limiter.hit(hit.limit, *hit.request_args, cost=-1)


def select_locale() -> str:
    """Thai unless the visitor chose English with the language switch (a cookie, no JavaScript)."""
    chosen = request.cookies.get("lang")
    return chosen if chosen in ("th", "en") else "th"
