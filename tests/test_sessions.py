"""Officer sessions (intake/sessions.py), read as an attacker would.

- A new session id at sign-in; the server half (the private key under the cookie's key) is the only copy,
  and signing out deletes it.
- Sessions expire when idle and after an absolute lifetime; an abandoned session's server half must not
  outlive its expiry (with a copy of the database and the old cookie it would open the private key).
- Signing in again from the same browser drops the previous session row; a password change ends the
  officer's other sessions.
- `next` after sign-in goes only to our officer pages and never carries control characters into a
  Location header.
"""

from __future__ import annotations

import os
import re
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import make_url, select

from intake import dates, keyring
from intake.models import AuditEntry, OfficerSession
from intake.officer import signin

from .conftest import ADMIN, PASSWORD, csrf_token
from .i18n_helpers import thai
from .officer_helpers import (
    PR_PASSWORD,
    OfficerActions,
    audit_actions,
    officer_named,
    session_count,
    with_pr,
    world,
)


@pytest.mark.parametrize("old", ["idle", "absolute"])
def test_abandoned_sessions_are_deleted_once_expired(app: Flask, old: str) -> None:
    with_pr(app)
    OfficerActions(app.test_client()).login("pr", PR_PASSWORD)  # never signs out, never comes back
    with world(app) as (s, _f):
        row = s.scalars(select(OfficerSession)).one()
        if old == "idle":
            row.last_seen_at = dates.now() - timedelta(minutes=31)
        else:  # active until a moment ago, but signed in longer ago than the absolute lifetime
            row.created_at = dates.now() - timedelta(hours=9)
        s.commit()
    OfficerActions(app.test_client()).login(ADMIN, PASSWORD)
    with world(app) as (s, _f):
        assert [r.officer_id for r in s.scalars(select(OfficerSession))] == [officer_named(s, ADMIN).id]


def test_signing_in_again_drops_the_previous_session_of_this_browser(make_app: Any) -> None:
    app: Flask = make_app(admin_with_corruption=True)  # so that a second factor is due
    client = app.test_client()
    actions = OfficerActions(client)
    first = actions.post("/officer/login", {"username": ADMIN, "password": PASSWORD})
    assert first.headers["Location"] == "/officer/totp"  # half signed in
    again = actions.post("/officer/login", {"username": ADMIN, "password": PASSWORD})
    assert again.status_code == 303
    assert session_count(app) == 1


def test_password_change_ends_the_other_sessions(app: Flask) -> None:
    with_pr(app)
    mine, other = app.test_client(), app.test_client()
    me = OfficerActions(mine)
    me.login("pr", PR_PASSWORD)
    OfficerActions(other).login("pr", PR_PASSWORD)
    new = "a brand new password"
    changed = me.post("/officer/password", {"current": PR_PASSWORD, "new": new, "confirm": new})
    assert changed.status_code == 303
    assert mine.get("/officer/queue").status_code == 200
    assert other.get("/officer/queue").status_code == 302
    assert session_count(app) == 1
    told = other.get("/officer/login").get_data(as_text=True)  # the other browser is told why (the walk)
    assert thai("Your session has ended: it expired, or you signed out elsewhere, your password was "
                "changed, or an administrator ended your sessions. Please sign in again.") in told


@pytest.mark.parametrize("target", ["/officer/queue\r\nSet-Cookie: x=1", "/officer/\t", "/officer/\x7f"])
def test_next_with_control_characters_goes_home(app: Flask, client: FlaskClient, target: str) -> None:
    with_pr(app)
    token = csrf_token(client, "/officer/login")
    response = client.post(
        "/officer/login",
        query_string={"next": target},
        data={"csrf_token": token, "username": "pr", "password": PR_PASSWORD},
    )
    assert response.status_code == 303
    assert response.headers["Location"] == "/officer/queue"


def test_new_session_id_at_sign_in_and_logout_deletes_key_material(app: Flask, client: FlaskClient) -> None:
    client.get("/officer/login")
    with client.session_transaction() as cookie:
        cookie["officer_sid"] = "planted-by-attacker"
        cookie["officer_key"] = "AAAA"
    actions = OfficerActions(client)
    actions.login(ADMIN, PASSWORD)
    with client.session_transaction() as cookie:
        assert cookie["officer_sid"] != "planted-by-attacker"
    assert session_count(app) == 1
    with world(app) as (s, _f):
        row = s.scalars(select(OfficerSession)).one()
        admin_private = keyring.unlock(officer_named(s, ADMIN), PASSWORD)
        assert admin_private not in row.wrapped_private_key
        assert len(row.id) == 64  # a hash of the cookie's id, not the id itself
    actions.logout()
    assert session_count(app) == 0
    assert client.get("/officer/queue").status_code == 302
    assert len(audit_actions(app, "logout")) == 1


def test_idle_expiry(app: Flask, client: FlaskClient, monkeypatch: pytest.MonkeyPatch) -> None:
    OfficerActions(client).login(ADMIN, PASSWORD)
    start = dates.now()
    monkeypatch.setattr(dates, "now", lambda: start + timedelta(minutes=29))
    assert client.get("/officer/queue").status_code == 200
    monkeypatch.setattr(dates, "now", lambda: start + timedelta(minutes=29 + 31))
    expired = client.get("/officer/queue")
    assert expired.status_code == 302 and expired.headers["Location"].startswith("/officer/login")
    assert session_count(app) == 0


def test_absolute_expiry_even_when_active(make_app: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    app = make_app(PERMANENT_SESSION_LIFETIME=3600, OFFICER_IDLE_TIMEOUT=1800)
    client = app.test_client()
    OfficerActions(client).login(ADMIN, PASSWORD)
    start = dates.now()
    for minutes in (20, 40, 59):
        monkeypatch.setattr(dates, "now", lambda m=minutes: start + timedelta(minutes=m))
        assert client.get("/officer/queue").status_code == 200
    monkeypatch.setattr(dates, "now", lambda: start + timedelta(minutes=61))
    assert client.get("/officer/queue").status_code == 302


def test_next_goes_only_to_our_officer_pages(client: FlaskClient) -> None:
    token = csrf_token(client, "/officer/login")
    response = client.post(
        "/officer/login?next=https://evil.example/",
        data={"csrf_token": token, "username": ADMIN, "password": PASSWORD},
    )
    assert "evil" not in response.headers["Location"]


def test_next_returns_to_the_page_asked_for(app: Flask, client: FlaskClient) -> None:
    with world(app) as (_s, factory):
        factory.officer("pr", channels=("feedback",))
    asked = client.get("/officer/queue?status=new")
    assert asked.headers["Location"].startswith("/officer/login?next=")
    token = csrf_token(client, asked.headers["Location"])
    response = client.post(
        asked.headers["Location"],
        data={"csrf_token": token, "username": "pr", "password": "officer password 1"},
    )
    assert response.headers["Location"] == "/officer/queue?status=new"


def test_finding_06_password_change_does_not_check_the_current_password_while_locked(
    app: Flask, client: FlaskClient
) -> None:
    """Issue 9, finding 6: a stolen session is no password oracle: while locked, the right and a wrong
    current password get the same refusal, and nothing changes."""
    with_pr(app)
    actions = OfficerActions(client)
    actions.login("pr", PR_PASSWORD)
    for n in range(signin.MAX_FAILURES):  # the thief's guesses lock the account
        new_pw = "a new password 12"
        actions.post("/officer/password", {"current": f"guess {n}", "new": new_pw, "confirm": new_pw})
    new = "a brand new password"
    pages = []
    for current in (PR_PASSWORD, "yet another guess"):
        answer = actions.post("/officer/password", {"current": current, "new": new, "confirm": new})
        assert answer.status_code == 200
        pages.append(re.sub(r'name="csrf_token"[^>]*>', "", answer.get_data(as_text=True)))
    assert pages[0] == pages[1]
    assert "ระงับ" in pages[0]
    with world(app) as (s, _f):
        pr = officer_named(s, "pr")
        keyring.unlock(pr, PR_PASSWORD)  # unchanged
        failures = s.scalars(select(AuditEntry).where(AuditEntry.action == "login.failure"))
        details = [e.detail for e in failures]
        assert details[-2:] == ["reason=locked", "reason=locked"]


def _database_files(app: Flask) -> bytes:
    """Every byte of the SQLite database as it lies on disk: the main file, its WAL and shared memory."""
    main = Path(make_url(app.config["DATABASE_URL"]).database or "")
    return b"".join(
        p.read_bytes()
        for p in (main, main.with_name(main.name + "-wal"), main.with_name(main.name + "-shm"))
        if p.exists()
    )


@pytest.mark.skipif(
    bool(os.environ.get("INTAKE_TEST_DATABASE_URL")), reason="SQLite's files (docs/security.md: PostgreSQL)"
)
def test_finding_02_no_wrapped_key_stays_on_disk_after_logout_or_password_change(app: Flask) -> None:
    with world(app) as (s, factory):
        factory.officer("pr", password=PR_PASSWORD, channels=("feedback",))
    client = app.test_client()
    actions = OfficerActions(client)
    actions.login("pr", PR_PASSWORD)
    with world(app) as (s, _f):
        session_wrap = s.scalars(select(OfficerSession.wrapped_private_key)).one()
        password_wrap = officer_named(s, "pr").wrapped_private_key
    assert session_wrap in _database_files(app) and password_wrap in _database_files(app)
    new = "a brand new password 2"
    changed = actions.post("/officer/password", {"current": PR_PASSWORD, "new": new, "confirm": new})
    assert changed.status_code == 303
    assert password_wrap not in _database_files(app)  # the old password no longer opens anything on disk
    actions.logout()
    assert session_wrap not in _database_files(app)  # nor does the old cookie
