"""A store that is away: a clear 503 for the request that needed it, and nothing accepted is lost.

`file:` goes away as a folder that cannot be used (a plain file where the folder was); `s3:` as an endpoint
where nothing listens (what a stopped SeaweedFS looks like to the client: connection refused), one attempt.
"""

from __future__ import annotations

import dataclasses
import io
import secrets
import shutil
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select

from intake import dates, db
from intake.models import Attachment, Case, Entry
from intake.storage import FileStore, S3Store

from .citizen_helpers import (
    case_count,
    field_values,
    followup,
    submit,
    submit_ok,
    token_of,
    track,
    valid_data,
)
from .conftest import ADMIN, PASSWORD, on_both_stores, store_of
from .officer_helpers import OfficerActions, world
from .seaweed import free_port

pytestmark = on_both_stores
RECENT = (dates.local_date(dates.now()) - timedelta(days=3)).isoformat()
AWAY_EN = "could not store your files just now"
AWAY_TH = "ไม่สามารถจัดเก็บไฟล์"


@pytest.fixture
def app(make_app: Any) -> Flask:
    return make_app(RATELIMIT_ENABLED=False)


def take_the_store_away(app: Flask) -> None:
    store = store_of(app)
    if isinstance(store, FileStore):
        shutil.rmtree(store.folder, ignore_errors=True)
        store.folder.parent.mkdir(parents=True, exist_ok=True)
        store.folder.write_bytes(b"")  # the folder cannot be created, read or written
        return
    assert isinstance(store, S3Store)
    dead = f"http://127.0.0.1:{free_port()}"  # nothing listens there
    settings = dataclasses.replace(store.settings, endpoint_url=dead, attempts=1, connect_timeout=1)
    app.extensions["intake.store"] = S3Store(store.bucket, store.prefix.rstrip("/"), settings)


def bring_it_back(app: Flask, original: Any) -> None:
    if isinstance(original, FileStore):
        original.folder.unlink()
    app.extensions["intake.store"] = original


def test_a_submission_whose_files_cannot_be_stored_gets_no_token_and_keeps_the_text(
    app: Flask, client: FlaskClient
) -> None:
    original = store_of(app)
    take_the_store_away(app)
    marker = "KEEP" + secrets.token_hex(4)
    data = valid_data("corruption", marker)
    response = submit(client, "corruption", data=data, files=[(b"evidence", "e.txt")])
    assert response.status_code == 503
    assert response.headers["Retry-After"].isdigit()
    page = response.get_data(as_text=True)
    assert 'id="case-token"' not in page
    assert AWAY_TH in page
    values = field_values(page)
    for name in ("details", "when_where", "involved", "contact"):
        assert marker in values[name], name
    assert case_count(app) == 0
    with app.app_context():
        assert db.session().scalar(select(func.count()).select_from(Attachment)) == 0
    # In English too, and once the store is back the same form goes through.
    client.set_cookie("lang", "en")
    english = submit(client, "feedback", files=[(b"x", "x.txt")]).get_data(as_text=True)
    assert AWAY_EN in english and "attach your files again" in english
    bring_it_back(app, original)
    token = submit_ok(client, "corruption", data=data, files=[(b"evidence", "e.txt")])
    assert marker in track(client, token).get_data(as_text=True)


def test_a_submission_without_files_does_not_need_the_store(app: Flask, client: FlaskClient) -> None:
    take_the_store_away(app)
    response = submit(client, "question", data={"details": "a question, no files"})
    assert response.status_code == 200 and token_of(response)


def test_a_followup_whose_files_cannot_be_stored_is_not_added(app: Flask, client: FlaskClient) -> None:
    token = submit_ok(client, "feedback")
    take_the_store_away(app)
    response = followup(client, token, "MORE-KEPT", files=[(b"more", "more.txt")])
    assert response.status_code == 503
    page = response.get_data(as_text=True)
    assert AWAY_TH in page and field_values(page)["message"] == "MORE-KEPT"
    with app.app_context():
        entries = db.session().scalar(select(func.count()).select_from(Entry).where(Entry.kind == "followup"))
    assert entries == 0


def test_officer_download_and_intake_get_503_when_the_store_is_away(
    app: Flask, client: FlaskClient, tmp_path: Path
) -> None:
    with world(app) as (session, factory):
        case = factory.case("feedback", "with a file", files=[(b"file body", "f.txt")]).case
        case_id, attachment_id = case.id, case.attachments[0].id
        session.commit()
    actions = OfficerActions(client)
    actions.login(ADMIN, PASSWORD)
    url = f"/officer/cases/{case_id}/attachments/{attachment_id}"
    assert client.get(url).get_data() == b"file body"
    take_the_store_away(app)
    away = client.get(url)
    assert away.status_code == 503 and away.headers["Retry-After"].isdigit()
    assert "Traceback" not in away.get_data(as_text=True)
    intake = actions.post(
        "/officer/intake",
        {"channel": "feedback", "source": "letter", "received_at": RECENT, "details": "LETTER-TEXT",
         "attachments": [(io.BytesIO(b"scan"), "scan.txt")]},
        content_type="multipart/form-data",
    )
    assert intake.status_code == 503
    assert field_values(intake.get_data(as_text=True))["details"] == "LETTER-TEXT"
    with app.app_context():
        assert db.session().scalar(select(func.count()).select_from(Case)) == 1


def test_maintenance_commands_say_why_and_lose_nothing(app: Flask, tmp_path: Path) -> None:
    with world(app) as (session, factory):
        factory.case("feedback", "with a file", files=[(b"file body", "f.txt")])
        session.commit()
    take_the_store_away(app)
    runner = app.test_cli_runner()
    out = tmp_path / "backup.tar"
    for args in (["backup", "--output", str(out)], ["sweep-orphans"], ["purge"]):
        result = runner.invoke(args=args)
        assert result.exit_code == 1, (args, result.output)
        assert len(result.output.strip().splitlines()) == 1 and "store" in result.output, result.output
    assert not out.exists() and not Path(f"{out}.part").exists()


