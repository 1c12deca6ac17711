"""Database: declarative base, one engine per app, one session per request closed at teardown."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from flask import Flask, current_app, g
from sqlalchemy import DateTime, Dialect, Engine, MetaData, create_engine, event
from sqlalchemy import exc as sa_exc
from sqlalchemy.orm import DeclarativeBase, Session, sessionmaker
from sqlalchemy.types import TypeDecorator

log = logging.getLogger(__name__)
NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class UTCDateTime(TypeDecorator[datetime]):
    """Timezone-aware UTC datetimes on every engine (SQLite stores them naive, in UTC)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


# The database is away (restarting, failing over, unreachable, every connection busy): try again shortly.
# OperationalError covers a refused or dropped connection and a server shutting down (psycopg's
# AdminShutdown), SQLite's "database is locked"; InterfaceError a connection closed under us; TimeoutError
# the pool's wait for a free connection. Not a bug of ours and not bad input: a 503, never a 500.
UNAVAILABLE: tuple[type[Exception], ...] = (
    sa_exc.OperationalError, sa_exc.InterfaceError, sa_exc.TimeoutError, sa_exc.DisconnectionError,
)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


def make_engine(url: str, **kwargs: Any) -> Engine:
    """An engine with the settings this app relies on (SQLite: WAL, busy timeout, secure delete)."""
    if url.startswith("sqlite"):
        if url.startswith("sqlite:///") and url != "sqlite:///:memory:":
            Path(url.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
        kwargs.setdefault("connect_args", {"timeout": 30})
        engine = create_engine(url, **kwargs)
        event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    kwargs.setdefault("pool_pre_ping", True)
    return create_engine(url, **kwargs)


def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA synchronous=FULL")
    cur.execute("PRAGMA busy_timeout=30000")
    cur.execute("PRAGMA foreign_keys=ON")
    cur.execute("PRAGMA secure_delete=ON")
    cur.close()


class Database:
    """Binds an engine and a session factory to a Flask app."""

    def init_app(self, app: Flask) -> None:
        engine = make_engine(app.config["DATABASE_URL"])
        app.extensions["intake.db"] = sessionmaker(engine, expire_on_commit=False)
        app.extensions["intake.engine"] = engine
        app.teardown_appcontext(_close_session)


def engine() -> Engine:
    return current_app.extensions["intake.engine"]


def session() -> Session:
    """The session of the current request (or app context), opened on first use."""
    if "db_session" not in g:
        g.db_session = current_app.extensions["intake.db"]()
    return g.db_session


@contextmanager
def new_session() -> Iterator[Session]:
    """A session outside the request's, for work that must commit on its own (the audit of a failure)."""
    s: Session = current_app.extensions["intake.db"]()
    try:
        yield s
    finally:
        close(s)


def close(s: Session) -> None:
    """Close a session; if the database went away meanwhile (closing rolls back, which then fails), drop
    its connections instead: the page was answered already, and a teardown error would be a bare 500."""
    try:
        s.close()
    except UNAVAILABLE as exc:
        log.warning("database went away before a session was closed: %s", type(exc).__name__)
        with contextlib.suppress(Exception):
            s.invalidate()


def _close_session(_exc: BaseException | None) -> None:
    s = g.pop("db_session", None)
    if s is not None:
        close(s)
