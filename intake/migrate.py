"""Run Alembic migrations against the app's engine."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from alembic import command
from alembic.config import Config as AlembicConfig
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, Engine

from config import ASSETS

from . import models, tenancy  # noqa: F401 - models registers the tables
from .db import Base


def alembic_config() -> AlembicConfig:
    cfg = AlembicConfig(str(ASSETS / "alembic.ini"))
    cfg.set_main_option("script_location", str(ASSETS / "migrations"))
    return cfg


def upgrade(engine: Engine) -> None:
    """Apply every migration not applied yet, in one transaction."""
    cfg = alembic_config()
    with engine.connect() as conn, foreign_keys_off(conn), conn.begin():
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "head")


@contextmanager
def foreign_keys_off(conn: Connection) -> Iterator[None]:
    """SQLite: foreign keys not enforced while migrations run, checked whole afterwards.

    Alembic's batch mode changes a SQLite table by copying it and dropping the old one; with enforcement
    on, that drop would cascade (deleting, say, every entry of every case). SQLite ignores the pragma
    inside a transaction, so it is set before the migration's transaction begins and after it ends.
    """
    if conn.dialect.name != "sqlite":
        yield
        return
    conn.exec_driver_sql("PRAGMA foreign_keys=OFF")
    conn.commit()
    try:
        yield
    finally:
        conn.rollback()
        conn.exec_driver_sql("PRAGMA foreign_keys=ON")
        conn.commit()
    broken = conn.exec_driver_sql("PRAGMA foreign_key_check").fetchall()
    conn.commit()
    if broken:
        raise RuntimeError(f"foreign keys broken after the migration: {broken[:5]}")


def create_from_models(engine: Engine) -> None:
    """Build the schema straight from the models and stamp it at head (test suite and benchmarks; tests/
    test_migrations.py checks that the migrations' head matches the models)."""
    Base.metadata.create_all(engine)
    cfg = alembic_config()
    with engine.begin() as conn:
        tenancy.apply_rls(conn)
        cfg.attributes["connection"] = conn
        command.stamp(cfg, "head")


def current_revision(engine: Engine) -> str | None:
    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def head_revision() -> str | None:
    return ScriptDirectory.from_config(alembic_config()).get_current_head()


OFFICER_TAG_V2 = "3f6b2a9d8c41"  # from this revision on officer tags are version 2 (keyring.restamp_legacy)


def crossed(before: str | None, revision: str) -> bool:
    """Whether upgrading from `before` applied `revision` (False from an empty database: no rows)."""
    if before is None:
        return False
    script = ScriptDirectory.from_config(alembic_config())
    parent = script.get_revision(revision)
    if parent is None or not isinstance(parent.down_revision, str):
        return False
    return before in {r.revision for r in script.walk_revisions("base", parent.down_revision)}


def is_current(engine: Engine) -> bool:
    return current_revision(engine) == head_revision()
