"""Per-session secrets kept outside the database, in Redis or this process's memory (issue 9, finding 2).

Each officer session has a 32-byte random secret stored here under its row id, with a time to live, and
nowhere else: the key that wraps the officer's private key between requests is derived from the cookie's
key *and* this secret (sessions.py). Signing out, expiry and ending an officer's sessions delete it, so a
copy of the database's files, its WAL, a backup or PostgreSQL's dead tuples, together with an old cookie,
opens nothing. Redis for the secrets keeps nothing on disk (`save ""`, `appendonly no`): losing Redis signs
everyone out, nothing else.

`INTAKE_SESSION_STORE_URI`: `redis://…` (or `rediss://…`, `unix://…`), or `memory://` (one process only:
production refuses it with several worker processes). Empty: the rate limiter's Redis when it has one,
else memory (config.session_store_uri).
"""

from __future__ import annotations

import threading
import time
from typing import Protocol

from flask import current_app

from . import crypto

KEY_PREFIX = "intake:officer-session:"
REDIS_SCHEMES = ("redis://", "rediss://", "unix://")
MEMORY = "memory://"
TIMEOUT = 1.0  # seconds: a hung Redis costs a request little, then the sessions-away page


class SessionsAway(Exception):
    """The session store does not answer: no session can be checked (a 503 page; nothing is lost)."""


class Store(Protocol):
    def put(self, row_id: str, secret: bytes, ttl: int) -> None: ...

    def get(self, row_id: str) -> bytes | None: ...

    def extend(self, row_id: str, ttl: int) -> None: ...

    def delete(self, row_ids: list[str]) -> None: ...


class MemoryStore:
    """Secrets in this process's memory, each with an expiry (monotonic clock)."""

    def __init__(self) -> None:
        self._items: dict[str, tuple[bytes, float]] = {}
        self._lock = threading.Lock()

    def _purge(self, now: float) -> None:
        for row_id in [k for k, (_s, until) in self._items.items() if until <= now]:
            del self._items[row_id]

    def put(self, row_id: str, secret: bytes, ttl: int) -> None:
        with self._lock:
            now = time.monotonic()
            self._purge(now)
            self._items[row_id] = (secret, now + ttl)

    def get(self, row_id: str) -> bytes | None:
        with self._lock:
            item = self._items.get(row_id)
            if item is None or item[1] <= time.monotonic():
                self._items.pop(row_id, None)
                return None
            return item[0]

    def extend(self, row_id: str, ttl: int) -> None:
        with self._lock:
            item = self._items.get(row_id)
            if item is not None:
                self._items[row_id] = (item[0], time.monotonic() + ttl)

    def delete(self, row_ids: list[str]) -> None:
        with self._lock:
            for row_id in row_ids:
                self._items.pop(row_id, None)


class RedisStore:
    """Secrets in Redis under `intake:officer-session:<row id>`, each with its TTL."""

    def __init__(self, uri: str) -> None:
        import redis

        self._errors = (redis.RedisError, OSError)
        self._redis = redis.Redis.from_url(uri, socket_connect_timeout=TIMEOUT, socket_timeout=TIMEOUT)

    def _call(self, name: str, *args: object) -> object:
        try:
            return getattr(self._redis, name)(*args)
        except self._errors as exc:
            raise SessionsAway(type(exc).__name__) from exc

    def put(self, row_id: str, secret: bytes, ttl: int) -> None:
        self._call("set", KEY_PREFIX + row_id, secret, max(1, ttl))

    def get(self, row_id: str) -> bytes | None:
        value = self._call("get", KEY_PREFIX + row_id)
        return value if isinstance(value, bytes) and len(value) == crypto.KEY_BYTES else None

    def extend(self, row_id: str, ttl: int) -> None:
        self._call("expire", KEY_PREFIX + row_id, max(1, ttl))

    def delete(self, row_ids: list[str]) -> None:
        if row_ids:
            self._call("delete", *[KEY_PREFIX + r for r in row_ids])


def for_uri(uri: str) -> Store:
    """The store an INTAKE_SESSION_STORE_URI names (already resolved by config.session_store_uri)."""
    if uri.strip().lower().startswith(REDIS_SCHEMES):
        return RedisStore(uri.strip())
    return MemoryStore()


def store() -> Store:
    """This app's store (made once per app)."""
    made: Store | None = current_app.extensions.get("intake.session_store")
    if made is None:
        made = for_uri(current_app.config["SESSION_STORE_URI"])
        current_app.extensions["intake.session_store"] = made
    return made


def new_secret(row_id: str, ttl: int) -> bytes:
    """A fresh secret for a new session, stored for `ttl` seconds; raises SessionsAway."""
    secret = crypto.random_key()
    store().put(row_id, secret, ttl)
    return secret


def secret_of(row_id: str) -> bytes | None:
    """The session's secret, or None once it is gone (signed out, expired, ended); raises SessionsAway."""
    return store().get(row_id)


def extend(row_id: str, ttl: int) -> None:
    store().extend(row_id, ttl)


def forget(row_ids: list[str]) -> None:
    """Delete these sessions' secrets (their wrapped keys can then never be opened again)."""
    store().delete(row_ids)
