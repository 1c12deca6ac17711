"""Security review: officer sessions and sign-in steps read as an attacker would.

- An abandoned session's server half (the private key under the cookie's key) must not outlive its expiry:
  with a copy of the database and the old cookie it would open the officer's private key.
- Signing in again from the same browser drops the previous session row.
- A password change ends the officer's other sessions; guessing the current password there is throttled
  and counted like a failed sign-in.
- A TOTP code accepted once is refused even to a request that read the officer before the first committed.
- `next` after sign-in never carries control characters into a Location header.
"""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select

from intake import crypto, dates, db, keyring
from intake.models import AuditEntry, OfficerSession
from intake.officer import signin

from .conftest import ADMIN, PASSWORD, csrf_token
from .officer_helpers import OfficerActions, officer_named, world

PR_PASSWORD = "officer password 1"


def _sessions(app: Flask) -> int:
    with world(app) as (s, _f):
        return int(s.scalar(select(func.count()).select_from(OfficerSession)) or 0)


def _with_pr(app: Flask) -> None:
    with world(app) as (_s, factory):
        factory.officer("pr", PR_PASSWORD, channels=("feedback",))


@pytest.mark.parametrize("old", ["idle", "absolute"])
def test_abandoned_sessions_are_deleted_once_expired(app: Flask, old: str) -> None:
    _with_pr(app)
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
    assert _sessions(app) == 1


def test_password_change_ends_the_other_sessions(app: Flask) -> None:
    _with_pr(app)
    mine, other = app.test_client(), app.test_client()
    me = OfficerActions(mine)
    me.login("pr", PR_PASSWORD)
    OfficerActions(other).login("pr", PR_PASSWORD)
    new = "a brand new password"
    changed = me.post("/officer/password", {"current": PR_PASSWORD, "new": new, "confirm": new})
    assert changed.status_code == 303
    assert mine.get("/officer/queue").status_code == 200
    assert other.get("/officer/queue").status_code == 302
    assert _sessions(app) == 1


def test_guessing_the_current_password_counts_as_failed_sign_ins(app: Flask, client: FlaskClient) -> None:
    _with_pr(app)
    actions = OfficerActions(client)
    actions.login("pr", PR_PASSWORD)
    for n in range(signin.MAX_FAILURES):
        guess = f"guess number {n}"
        actions.post("/officer/password", {"current": guess, "new": "x" * 12, "confirm": "x" * 12})
    with world(app) as (s, _f):
        pr = officer_named(s, "pr")
        assert pr.locked_until is not None and pr.locked_until > dates.now()
        failures = s.scalars(select(AuditEntry).where(AuditEntry.action == "login.failure")).all()
        assert len(failures) == signin.MAX_FAILURES


def test_guessing_the_current_password_is_throttled_per_client(make_app: Any) -> None:
    app = make_app(RATELIMIT_LOGIN="3 per minute")
    _with_pr(app)
    actions = OfficerActions(app.test_client())
    actions.login("pr", PR_PASSWORD)
    codes = [
        actions.post("/officer/password", {"current": f"guess {n}", "new": "x" * 12, "confirm": "x" * 12})
        for n in range(4)
    ]
    assert [r.status_code for r in codes] == [200, 200, 200, 429]


def test_a_code_is_refused_to_a_request_that_read_the_officer_before_it_was_used(app: Flask) -> None:
    """Two sign-ins racing with one code: both load the officer, then both check the code."""
    at = 1_700_000_000.0
    secret = crypto.new_totp_secret()
    with world(app) as (s, factory):
        admin = factory.admin()
        private = keyring.unlock(admin, PASSWORD)
        admin.totp_secret = crypto.encrypt(
            crypto.derive_subkey(private, b"totp"), secret, f"intake totp:{admin.id}".encode()
        )
        s.commit()
        admin_id = admin.id
    code = crypto.totp_now(secret, at)
    with app.app_context():
        first = db.session()
        with db.new_session() as second:
            stale = second.get(type(admin), admin_id)
            assert stale is not None and stale.totp_last_counter is None
            mine = first.get(type(admin), admin_id)
            assert mine is not None
            signin.code_step(first, mine, private, code, at=at)
            first.commit()
            with pytest.raises(signin.SignInFailed):
                signin.code_step(second, stale, private, code, at=at + 1)


@pytest.mark.parametrize("target", ["/officer/queue\r\nSet-Cookie: x=1", "/officer/\t", "/officer/\x7f"])
def test_next_with_control_characters_goes_home(app: Flask, client: FlaskClient, target: str) -> None:
    _with_pr(app)
    token = csrf_token(client, "/officer/login")
    response = client.post(
        "/officer/login",
        query_string={"next": target},
        data={"csrf_token": token, "username": "pr", "password": PR_PASSWORD},
    )
    assert response.status_code == 303
    assert response.headers["Location"] == "/officer/queue"


def test_finding_06_password_change_does_not_check_the_current_password_while_locked(
    app: Flask, client: FlaskClient
) -> None:
    """Issue 9, finding 6: a stolen session is no password oracle: while locked, the right and a wrong
    current password get the same refusal, and nothing changes."""
    _with_pr(app)
    actions = OfficerActions(client)
    actions.login("pr", PR_PASSWORD)
    for n in range(signin.MAX_FAILURES):  # the thief's guesses lock the account
        actions.post("/officer/password", {"current": f"guess {n}", "new": "x" * 12, "confirm": "x" * 12})
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
