"""Security properties (docs/security.md) seen from outside: stolen storage reveals nothing; no trace of
the citizen.

(The wall between channels, property 2, is tested in test_cases.py; what a browser is told, headers and
cookies, in test_security.py.)
"""

from __future__ import annotations

import base64
import glob
import logging
import os
import re
import secrets
import shutil
import sqlite3
import subprocess
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select
from sqlalchemy.engine import make_url

from intake import db, keyring, tenancy, tokens
from intake.models import Attachment
from intake.officer import signin
from intake.storage import S3Store

from .citizen_helpers import (
    URLS,
    followup,
    jpeg_with_gps,
    submit,
    submit_ok,
    track,
    valid_data,
)
from .conftest import ADMIN, PASSWORD, on_both_stores, store_of
from .officer_helpers import RECENT, OfficerActions, officer_named, world

CLIENT_ADDRESS = "203.0.113.77"
USER_AGENT = "MarkerAgent/1.0"


# --- what a thief would take: the database dump, the instance folder, the keys folder, the store ----


def _pg_dump() -> str:
    found = shutil.which("pg_dump") or max(glob.glob("/usr/lib/postgresql/*/bin/pg_dump"), default=None)
    assert found, "pg_dump is needed to check a PostgreSQL database dump"
    return found


def database_dump(app: Flask) -> bytes:
    """SQLite: the database files' bytes and `iterdump()`; PostgreSQL: `pg_dump` of the test database."""
    app.extensions["intake.engine"].dispose()
    url = make_url(app.config["DATABASE_URL"])
    if url.get_backend_name() == "sqlite":
        assert url.database
        path = Path(url.database)
        raw = b"".join(
            p.read_bytes() for p in (path, Path(f"{path}-wal"), Path(f"{path}-journal")) if p.exists()
        )
        conn = sqlite3.connect(path)
        try:
            dump = "\n".join(conn.iterdump()).encode("utf-8")
        finally:
            conn.close()
        assert b"CREATE TABLE" in dump and raw
        return raw + b"\n" + dump
    # Every tenant's rows, as whoever stole the database would see them (past row-level security).
    env = {**os.environ, "PGPASSWORD": url.password or "", "PGOPTIONS": tenancy.HOST_PGOPTIONS}
    args = [_pg_dump(), "--no-owner", "--no-privileges", "--enable-row-security",
            "-h", url.host or "127.0.0.1", "-p", str(url.port or 5432),
            "-U", url.username or "postgres", url.database or ""]
    out = subprocess.run(args, capture_output=True, check=True, env=env, timeout=120)  # noqa: S603
    assert b"CREATE TABLE" in out.stdout
    return out.stdout


def stored_files(app: Flask) -> dict[str, bytes]:
    """Every file under the instance and keys folders, and (s3:) the object store's own data folder."""
    out = {}
    folders = [app.config["INSTANCE_DIR"], app.config["KEYS_DIR"]]
    if app.config["STORAGE_URL"].startswith("s3:"):
        store_data = app.config.get("TEST_S3_DATA_DIR")
        assert store_data, "set INTAKE_TEST_S3_DATA_DIR to the store's data folder: it is searched too"
        folders.append(store_data)
    for folder in folders:
        for path in Path(folder).rglob("*"):
            if path.is_file():
                out[str(path)] = path.read_bytes()
    return out


def assert_object_names_reveal_nothing(app: Flask, issued: list[str], words: list[str]) -> None:
    """Object keys are the prefix and 128 random bits: no case id, channel, file name or token in them."""
    store = store_of(app)
    with app.app_context():
        rows = db.session().execute(select(Attachment.stored_name, Attachment.case_id)).all()
    names = [info.name for info in store.list_objects()]
    assert rows and sorted(names) == sorted(name for name, _case in rows)
    for name, case_id in rows:
        assert re.fullmatch(r"[0-9a-f]{32}", name), name
        key = store.key(name) if isinstance(store, S3Store) else name
        assert key == (store.prefix if isinstance(store, S3Store) else "") + name
        assert f"/{case_id}/" not in key and not key.startswith(f"{case_id}/")
        for word in [*words, *issued, *URLS]:
            assert word.lower() not in key.lower()


def encodings(text: str) -> list[bytes]:
    """The ways a string could sit in storage: UTF-8, and hex as dumps show binary columns."""
    raw = text.encode("utf-8")
    return [raw, raw.hex().encode(), raw.hex().upper().encode()]


def assert_nowhere(app: Flask, needles: list[str]) -> None:
    dump = database_dump(app)
    files = stored_files(app)
    assert files, "the instance folder should hold at least the encrypted attachments"
    for needle in needles:
        for form in encodings(needle):
            assert form not in dump, f"{needle!r} found in the database dump"
            for name, data in files.items():
                assert form not in data, f"{needle!r} found in {name}"


def token_forms(token: str) -> list[str]:
    plain = tokens.normalise(token)
    return [token, plain, token.lower(), plain.lower(), " ".join(token.split("-"))]


@on_both_stores
def test_stolen_storage_reveals_no_submitted_text_file_or_token(app: Flask, client: FlaskClient) -> None:
    marker = "MRK" + secrets.token_hex(6)
    thai = "ทุจริตลับ" + marker[-4:]
    issued = []
    for channel in URLS:
        data = valid_data(channel, f"{marker} {thai}")
        files = None
        if channel != "question":
            data["keep_filename"] = "y"  # the names are kept (encrypted): they must not show either
            files = [
                (f"file bytes {marker}".encode(), f"name-{marker}.txt"),
                (jpeg_with_gps(f"Cam{marker}"), f"photo-{marker}.jpg"),
            ]
        token = submit_ok(client, channel, data=data, files=files)
        issued.append(token)
    extra = [(marker.encode(), f"f-{marker}.txt")]
    response = followup(client, issued[0], f"more {marker} {thai}", files=extra)
    assert response.status_code == 200
    # The citizen sees it all again with the token...
    page = track(client, issued[0]).get_data(as_text=True)
    assert marker in page and f"name-{marker}.txt" in page
    # ...and a thief with the database, the instance folder, the keys folder and the store's own data
    # folder sees none of it; the object names say nothing either.
    needles = [marker, thai, f"Cam{marker}"] + [form for token in issued for form in token_forms(token)]
    assert_nowhere(app, needles)
    assert_object_names_reveal_nothing(app, issued, [marker, "name-", "photo-", ".txt", ".jpg"])


@pytest.mark.parametrize("proxies", [0, 1])
def test_no_client_address_or_user_agent_anywhere(
    make_app: Any, caplog: pytest.LogCaptureFixture, proxies: int
) -> None:
    caplog.set_level(logging.DEBUG)
    app = make_app(PROXY_FIX_X_FOR=proxies, RATELIMIT_TRACK_FAILURES="1 per minute",
                   RATELIMIT_SUBMIT="2 per minute")
    client = app.test_client()
    # Every request of this client, the form GETs included, carries the proxy header and the agent.
    client.environ_base.update({"HTTP_USER_AGENT": USER_AGENT, "HTTP_X_FORWARDED_FOR": CLIENT_ADDRESS})
    token = submit_ok(client, "corruption", files=[(b"evidence", "e.txt")])
    assert followup(client, token, "more").status_code == 200
    assert track(client, "AAAAA-AAAAA-AAAAA-AAAAA").status_code == 404
    assert track(client, "BBBBB-AAAAA-AAAAA-AAAAA").status_code == 429  # too many wrong codes
    assert track(client, token).status_code == 200  # a right code opens all the same (issue 11)
    assert submit(client, "question", {"details": "สาม"}).status_code == 429  # the limiter logs its breach
    assert client.get("/no/such/page").status_code == 404
    records = caplog.records
    assert any(r.name == "flask-limiter" for r in records), "the limiter's breach line was captured"
    for record in records:
        text = record.getMessage() + repr(record.args) + (record.exc_text or "")
        assert CLIENT_ADDRESS not in text and USER_AGENT not in text, text
    assert_nowhere(app, [CLIENT_ADDRESS, USER_AGENT])


def test_stolen_storage_reveals_nothing_officers_wrote_nor_their_secrets(make_app: Any) -> None:
    app: Flask = make_app(admin_with_corruption=True)  # an administrator who also handles corruption
    client = app.test_client()
    marker = "OFF" + secrets.token_hex(6)
    with world(app) as (s, factory):
        case_id = factory.case("corruption", "citizen text").case.id
        s.commit()
    actions = OfficerActions(client)
    actions.login(ADMIN, PASSWORD)
    base = form = f"/officer/cases/{case_id}"
    assert actions.post(f"{base}/reply", {"message": f"reply {marker}"}, form).status_code == 303
    assert actions.post(f"{base}/note", {"note": f"note {marker}"}, form).status_code == 303
    for public in ("", "y"):
        data = {"status": "in_progress", "note": f"status {public} {marker}", "public": public}
        assert actions.post(f"{base}/status", data, form).status_code == 303
    refer = {"agency": "nacc", "reference": f"REF{marker}", "referred_on": RECENT, "note": f"why {marker}"}
    assert actions.post(f"{base}/refer", refer, form).status_code == 303
    intake = {
        "channel": "corruption",
        "source": "letter",
        "received_at": RECENT,
        "details": f"letter {marker}",
        "contact": f"phone {marker}",
    }
    receipt = actions.post("/officer/intake", intake, follow_redirects=True)  # 303 to the slip
    assert receipt.status_code == 200
    token = receipt.get_data(as_text=True).split('id="case-token"', 1)[1].split(">", 1)[1].split("<", 1)[0]
    with client.session_transaction() as cookie:
        session_key = base64.urlsafe_b64decode(cookie["officer_key"])
    with world(app) as (s, _f):
        admin = officer_named(s, ADMIN)
        private = keyring.unlock(admin, PASSWORD)
        totp = signin.totp_secret_of(admin, private)
    secrets_bytes = [private, session_key, totp]
    needles = [marker, base64.b32encode(totp).decode().rstrip("="), *token_forms(token.strip())]
    assert_nowhere(app, needles)
    dump = database_dump(app)
    for secret in secrets_bytes:
        assert secret not in dump and secret.hex().encode() not in dump


def test_finding_11_forwarded_for_is_trusted_only_from_configured_proxies(make_app: Any) -> None:
    """Issue 9, finding 11: with PROXY_FIX_X_FOR=1, a client that reaches the app directly cannot name its
    own address in X-Forwarded-For (and so get a fresh rate-limit allowance with each request)."""
    app = make_app(
        PROXY_FIX_X_FOR=1, TRUSTED_PROXIES="127.0.0.1, 10.9.0.0/16", RATELIMIT_TRACK_FAILURES="1 per minute"
    )

    def wrong_code_from(peer: str, claimed: str) -> int:
        client = app.test_client()
        client.environ_base.update({"REMOTE_ADDR": peer, "HTTP_X_FORWARDED_FOR": claimed})
        return int(track(client, "AAAAA-AAAAA-AAAAA-AAAAA").status_code)

    # A direct client: every claimed address is ignored, so all its requests share one allowance.
    assert wrong_code_from("203.0.113.9", "198.51.100.1") == 404
    assert wrong_code_from("203.0.113.9", "198.51.100.2") == 429
    # Through the proxy on loopback or in the proxies' network, each client address counts apart.
    assert wrong_code_from("127.0.0.1", "198.51.100.3") == 404
    assert wrong_code_from("10.9.3.4", "198.51.100.4") == 404
    assert wrong_code_from("::ffff:127.0.0.1", "198.51.100.5") == 404


def test_trusted_proxies_must_be_addresses(make_app: Any) -> None:
    from config import ConfigError

    with pytest.raises(ConfigError, match="INTAKE_TRUSTED_PROXIES"):
        make_app(setup=False, PROXY_FIX_X_FOR=1, TRUSTED_PROXIES="127.0.0.1,nginx.local")
