"""Fixtures: app, client, runner, db session, factories; fast KDF; SQLite or PostgreSQL by environment.

Set INTAKE_TEST_DATABASE_URL=postgresql+psycopg://user@host/db to run against PostgreSQL: the suite
creates a database of its own next to it, migrates it once, and empties the tables after each test.

Storage: apps use `file:` unless a test is parametrized with `@on_both_stores` (or the module's
`pytestmark`), which runs it once on `file:` and once on `s3:` — a SeaweedFS started once per test
process (tests/seaweed.py), or the one named by INTAKE_TEST_S3_* (.ci/with-services.sh starts one for
the whole run). Each s3 test gets a prefix of its own in the shared bucket.
"""

from __future__ import annotations

import os
import re
import secrets
import shutil
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient, FlaskCliRunner
from sqlalchemy import text
from sqlalchemy.orm import Session

from intake import create_app, db, migrate
from intake.cli import run_setup
from intake.db import Base, make_engine
from intake.extensions import limiter
from intake.storage import Store

from . import factories, seaweed, servers
from .factories import ADMIN, PASSWORD, RECOVERY

MakeApp = Callable[..., Flask]  # make_app(setup=True, **config overrides) -> a new app


@contextmanager
def fresh_database(folder: Path, prefix: str) -> Iterator[str]:
    """A new, empty database (no schema) on the suite's engine: a SQLite file in `folder`, or a
    throwaway PostgreSQL database next to INTAKE_TEST_DATABASE_URL, dropped afterwards."""
    server = os.environ.get("INTAKE_TEST_DATABASE_URL")
    if not server:
        yield f"sqlite:///{folder / (prefix + '.sqlite3')}"
        return
    with servers.throwaway_database(server, prefix) as url:
        yield url


@pytest.fixture(scope="session")
def database_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The suite's database (one per test process), with the schema from the models."""
    with fresh_database(tmp_path_factory.mktemp("db"), "intake_test") as url:
        create_schema(url)
        yield url


@pytest.fixture
def empty_database(tmp_path: Path) -> Iterator[str]:
    """A second database for one test, empty (no schema), on the suite's engine."""
    with fresh_database(tmp_path, "intake_empty") as url:
        yield url


def create_schema(url: str) -> None:
    """The schema from the models, stamped at head."""
    engine = make_engine(url)
    migrate.create_from_models(engine)
    engine.dispose()


STORAGES = ("file", "s3")
on_both_stores = pytest.mark.parametrize("storage", STORAGES, indirect=True)


@pytest.fixture(scope="session")
def s3_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[seaweed.SeaweedS3]:
    """An S3 endpoint: INTAKE_TEST_S3_* if set, else a SeaweedFS of this test process (data removed)."""
    shared = seaweed.from_environment()
    if shared is not None:
        shared.store().create_bucket()
        yield shared
        return
    state = tmp_path_factory.mktemp("seaweed")
    server = seaweed.start(state)
    try:
        yield server
    finally:
        server.stop()
        shutil.rmtree(state, ignore_errors=True)


@pytest.fixture
def storage(request: pytest.FixtureRequest) -> str:
    """The storage kind of this test: `file` unless parametrized (indirectly) with `s3`."""
    return str(getattr(request, "param", "file"))


@pytest.fixture
def storage_config(storage: str, request: pytest.FixtureRequest) -> dict[str, Any]:
    """App settings for the test's storage (s3: a fresh prefix, and where the store keeps its data)."""
    if storage == "file":
        return {}
    server: seaweed.SeaweedS3 = request.getfixturevalue("s3_server")
    return {**server.config("t" + secrets.token_hex(6)), "TEST_S3_DATA_DIR": server.data_dir}


def store_of(app: Flask) -> Store:
    """The app's configured store (intake/storage.py)."""
    store: Store = app.extensions["intake.store"]
    return store


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
        "NOTIFY_AUDIT_DAILY": False,  # the worker's daily audit verification: on where a test asks for it
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
def make_app(database_url: str, tmp_path: Path, storage_config: dict[str, Any]) -> Iterator[MakeApp]:
    """Build an app with config overrides; set up (keys + admin) unless told not to."""
    made: list[Flask] = []

    def build(setup: bool = True, admin_with_corruption: bool = False, **extra: Any) -> Flask:
        """`admin_with_corruption`: set up as `setup --with-corruption` (by default the admin lacks it)."""
        app = create_app(app_config(database_url, tmp_path, **{**storage_config, **extra}))
        made.append(app)
        if setup:
            os.environ["INTAKE_ADMIN_PASSWORD"] = PASSWORD
            os.environ["INTAKE_RECOVERY_PASSPHRASE"] = RECOVERY
            try:
                with app.app_context():
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
def app(make_app: MakeApp) -> Flask:
    return make_app()


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


@pytest.fixture
def mailbox() -> Iterator[Any]:
    """A real SMTP server on 127.0.0.1 (tests/mailbox.py). Every mail it received must pass
    `assert_no_content` with the markers the test registered (`mailbox.forbid(...)`)."""
    from .mailbox import Mailbox, assert_no_content

    box = Mailbox().start()
    try:
        yield box
    finally:
        box.stop()
    assert_no_content(box.received, box.forbidden)


@pytest.fixture
def mail_app(make_app: Any, mailbox: Any) -> Flask:
    """An app whose notices go to `mailbox`."""
    return make_app(**mailbox.config())
