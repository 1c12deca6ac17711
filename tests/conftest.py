"""Fixtures: app, client, runner, db session, factories; fast KDF; SQLite or PostgreSQL by environment.

Set INTAKE_TEST_DATABASE_URL=postgresql+psycopg://user@host/db to run against PostgreSQL: the suite
creates a database of its own next to it, migrates it once, and empties the tables after each test.
"""

from __future__ import annotations

import os
import re
import secrets
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient, FlaskCliRunner
from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session

from intake import create_app, db, migrate
from intake.catalogs import compile_all
from intake.db import Base, make_engine
from intake.extensions import limiter

from . import factories

ADMIN = "admin"
PASSWORD = "correct horse battery"
RECOVERY = "recovery passphrase for tests"


@pytest.fixture(scope="session")
def database_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    base = os.environ.get("INTAKE_TEST_DATABASE_URL")
    if not base:
        url = f"sqlite:///{tmp_path_factory.mktemp('db') / 'test.sqlite3'}"
        create_schema(url)
        yield url
        return
    name = f"intake_test_{os.getpid()}_{secrets.token_hex(3)}"
    admin = make_engine(base, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    url = make_url(base).set(database=name).render_as_string(hide_password=False)
    create_schema(url)
    yield url
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


def create_schema(url: str) -> None:
    """The schema from the models, stamped at head."""
    engine = make_engine(url)
    migrate.create_from_models(engine)
    engine.dispose()


@pytest.fixture(scope="session", autouse=True)
def _catalogues() -> None:
    compile_all()


def app_config(database_url: str, tmp_path: Path, **extra: Any) -> dict[str, Any]:
    return {
        "TESTING": True,
        "DATABASE_URL": database_url,
        "INSTANCE_DIR": str(tmp_path / "instance"),
        "KEYS_DIR": str(tmp_path / "keys"),
        "KDF_PROFILE": "fast",
        "SECRET_KEY": "test-secret-key-" + secrets.token_hex(8),
        "RATELIMIT_STORAGE_URI": "memory://",
        "SESSION_COOKIE_SECURE": False,
        **extra,
    }


def empty_tables(app: Flask) -> None:
    engine = app.extensions["intake.engine"]
    with engine.begin() as conn:
        if engine.dialect.name == "postgresql":
            names = ", ".join(f'"{t.name}"' for t in Base.metadata.sorted_tables)
            conn.execute(text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))
        else:
            for table in reversed(Base.metadata.sorted_tables):
                conn.execute(table.delete())
            conn.execute(text("DELETE FROM sqlite_sequence")) if _has_sequence(conn) else None
    engine.dispose()


def _has_sequence(conn: Any) -> bool:
    return conn.execute(text("SELECT 1 FROM sqlite_master WHERE name='sqlite_sequence'")).first() is not None


@pytest.fixture
def make_app(database_url: str, tmp_path: Path) -> Iterator[Any]:
    """Build an app with config overrides; set up (keys + admin) unless told not to."""
    made: list[Flask] = []

    def build(setup: bool = True, admin_with_corruption: bool = False, **extra: Any) -> Flask:
        """`admin_with_corruption`: set up as `setup --with-corruption` (by default the admin lacks it)."""
        app = create_app(app_config(database_url, tmp_path, **extra))
        made.append(app)
        if setup:
            os.environ["INTAKE_ADMIN_PASSWORD"] = PASSWORD
            os.environ["INTAKE_RECOVERY_PASSPHRASE"] = RECOVERY
            try:
                with app.app_context():
                    from intake.cli import run_setup

                    # The tests keep the recovery key in keys/ (setup refuses that unless told to).
                    keys = Path(app.config["KEYS_DIR"]) / "recovery.key"
                    run_setup(ADMIN, keys, with_corruption=admin_with_corruption, allow_keys_dir=True)
            finally:
                os.environ.pop("INTAKE_ADMIN_PASSWORD", None)
                os.environ.pop("INTAKE_RECOVERY_PASSPHRASE", None)
        return app

    yield build
    for app in made:
        empty_tables(app)
    # The limiter object is shared: it holds the storage of the app built last (none when disabled).
    if made and made[-1].config["RATELIMIT_ENABLED"]:
        limiter.reset()


@pytest.fixture
def app(make_app: Any) -> Flask:
    return make_app()  # type: ignore[no-any-return]


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


@pytest.fixture
def runner(app: Flask) -> FlaskCliRunner:
    return app.test_cli_runner()


@pytest.fixture
def session(app: Flask) -> Iterator[Session]:
    """The app's database session inside an app context."""
    with app.app_context():
        yield db.session()


@pytest.fixture
def factory(app: Flask, session: Session) -> factories.Factory:
    return factories.Factory(app, session)


_CSRF = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')


def csrf_token(client: FlaskClient, url: str) -> str:
    """The CSRF token of the form on `url` (tests run with CSRF on, as in production)."""
    page = client.get(url).get_data(as_text=True)
    match = _CSRF.search(page)
    assert match, f"no csrf_token on {url}"
    return match.group(1)


def post_form(client: FlaskClient, url: str, data: dict[str, Any], **kwargs: Any) -> Any:
    """GET the form for its CSRF token, then POST `data` to it."""
    payload = {"csrf_token": csrf_token(client, kwargs.pop("form_url", url)), **data}
    return client.post(url, data=payload, **kwargs)
