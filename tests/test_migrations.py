"""Alembic: migrations apply to an empty database of the engine under test; head matches the models."""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import text
from sqlalchemy.engine import make_url

from intake import migrate
from intake.db import Base, make_engine


@pytest.fixture
def empty_database(tmp_path: Path) -> Iterator[str]:
    """An empty database on the engine the suite runs against (SQLite, or PostgreSQL when configured)."""
    base = os.environ.get("INTAKE_TEST_DATABASE_URL")
    if not base:
        yield f"sqlite:///{tmp_path / 'm.sqlite3'}"
        return
    name = f"intake_mig_{secrets.token_hex(4)}"
    admin = make_engine(base, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    yield make_url(base).set(database=name).render_as_string(hide_password=False)
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


def test_head_matches_models(empty_database: str) -> None:
    engine = make_engine(empty_database)
    migrate.upgrade(engine)
    assert migrate.is_current(engine)
    with engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), Base.metadata)
    engine.dispose()
    assert diff == [], diff
