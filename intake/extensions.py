"""Flask extensions, created unbound and bound to the app in create_app."""

from __future__ import annotations

import logging

from flask import current_app, request
from flask_limiter import Limiter
from flask_wtf.csrf import CSRFProtect
from limits import RateLimitItem
from limits.errors import StorageError
from limits.storage import MemoryStorage
from limits.strategies import FixedWindowRateLimiter, RateLimiter

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

log = logging.getLogger(__name__)


class Counts:
    """Our own counts (budgets, tracking limits, refunds) where the limiter counts: its strategy on Redis
    (or memory), and this process's memory while that storage is away, as flask-limiter's in-memory fallback
    does for the route limits (RATELIMIT_IN_MEMORY_FALLBACK_ENABLED). Each call falls back on its own, so a
    Redis outage is never an error for the request and the limits stay on, counted per process meanwhile."""

    def __init__(self) -> None:
        self.fallback: RateLimiter = FixedWindowRateLimiter(MemoryStorage())

    def _away(self, exc: StorageError) -> RateLimiter:
        log.warning("rate limit storage unreachable: counting in this process's memory (%s)",
                    type(exc.storage_error).__name__)
        return self.fallback

    def hit(self, item: RateLimitItem, *identifiers: str, cost: int = 1) -> bool:
        try:
            return limiter.limiter.hit(item, *identifiers, cost=cost)
        except StorageError as exc:
            return self._away(exc).hit(item, *identifiers, cost=cost)

    def test(self, item: RateLimitItem, *identifiers: str) -> bool:
        try:
            return limiter.limiter.test(item, *identifiers)
        except StorageError as exc:
            return self._away(exc).test(item, *identifiers)

    def clear(self, item: RateLimitItem, *identifiers: str) -> None:
        try:
            limiter.limiter.clear(item, *identifiers)
        except StorageError as exc:
            self._away(exc).clear(item, *identifiers)

    def reset_time(self, item: RateLimitItem, *identifiers: str) -> float:
        """When the window of `item` turns (epoch seconds); at most its length from now if nobody knows."""
        try:
            return float(limiter.limiter.get_window_stats(item, *identifiers).reset_time)
        except StorageError as exc:
            return float(self._away(exc).get_window_stats(item, *identifiers).reset_time)


counts = Counts()


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
    for counted in limiter.current_limits:
        if not counted.breached and counted.request_args and counted.request_args[-1] == scope:
            counts.hit(counted.limit, *counted.request_args, cost=-1)


def select_locale() -> str:
    """Thai unless the visitor chose English with the language switch (a cookie, no JavaScript)."""
    chosen = request.cookies.get("lang")
    return chosen if chosen in ("th", "en") else "th"
