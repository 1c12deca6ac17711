"""Alembic environment: the URL from the given connection, the Alembic config, or INTAKE_* settings."""

from __future__ import annotations

import sys
from pathlib import Path

from alembic import context
from sqlalchemy.engine import Connection

_CHECKOUT = Path(__file__).resolve().parent.parent
if (_CHECKOUT / "config.py").is_file():  # plain `alembic` in the checkout; installed, config is importable
    sys.path.insert(0, str(_CHECKOUT))

from config import database_url_from_env  # noqa: E402
from intake import models, tenancy  # noqa: E402,F401 - models registers the tables
from intake.db import Base, make_engine  # noqa: E402
from intake.migrate import foreign_keys_off  # noqa: E402

target_metadata = Base.metadata
config = context.config


def _url() -> str:
    return config.get_main_option("sqlalchemy.url") or database_url_from_env()


def run_offline() -> None:
    context.configure(url=_url(), target_metadata=target_metadata, literal_binds=True, render_as_batch=True)
    with context.begin_transaction():
        context.run_migrations()


def run_online() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        _run(connection)
        return
    engine = make_engine(_url())
    with engine.connect() as conn, foreign_keys_off(conn):
        _run(conn)
    engine.dispose()


def _run(connection: Connection) -> None:
    context.configure(connection=connection, target_metadata=target_metadata, render_as_batch=True)
    with context.begin_transaction():
        # Migrations act for the host: row-level security (intake/tenancy.py) lets them see every row.
        tenancy.act_as_host(connection)
        context.run_migrations()


if context.is_offline_mode():
    run_offline()
else:
    run_online()
