"""Alembic: migrations apply to an empty database of the engine under test; head matches the models."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from intake import migrate
from intake.db import Base, make_engine


def test_head_matches_models(empty_database: str) -> None:
    engine = make_engine(empty_database)
    migrate.upgrade(engine)
    assert migrate.is_current(engine)
    with engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), Base.metadata)
    engine.dispose()
    assert diff == [], diff
