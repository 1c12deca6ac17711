"""Officer sign-in (intake/officer/signin.py and its pages): password, TOTP enrolment and code (replay and
races refused), throttling per account and per client, forced and voluntary password change, logout."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select

from intake import crypto, dates, db, keyring
from intake.models import AuditEntry, Officer, OfficerSession
from intake.officer import signin

from .conftest import ADMIN, PASSWORD, csrf_token
from .factories import LEGAL
from .i18n_helpers import thai
from .officer_helpers import (
    PR_PASSWORD,
    OfficerActions,
    admin_with_totp,
    audit_actions,
    officer_named,
    secret_from_page,
    with_pr,
    world,
)


def _legal(app: Flask) -> None:
    with world(app) as (_s, factory):
        factory.legal()


def _sessions(app: Flask) -> int:
    with world(app) as (s, _f):
        return int(s.scalar(select(func.count()).select_from(OfficerSession)) or 0)


def test_login_page_has_the_contract_fields(client: FlaskClient) -> None:
    page = client.get("/officer/login").get_data(as_text=True)
    assert 'name="username"' in page and 'name="password"' in page and 'name="csrf_token"' in page


def test_anonymous_is_sent_to_sign_in(client: FlaskClient) -> None:
    response = client.get("/officer/queue")
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/officer/login")


def test_corruption_officer_enrols_totp_at_first_sign_in_and_then_needs_code(
    app: Flask, client: FlaskClient
) -> None:
    _legal(app)  # the corruption channel requires a second factor (setup's admin no longer holds it)
    actions = OfficerActions(client)
    first = actions.post("/officer/login", {"username": LEGAL, "password": PASSWORD})
    assert first.headers["Location"] == "/officer/totp"
    # Before enrolling, nothing else opens: the queue sends back to enrolment.
    assert client.get("/officer/queue").headers["Location"] == "/officer/totp"
    page = client.get("/officer/totp").get_data(as_text=True)
    assert "<svg" in page and 'id="totp-secret"' in page and "<script" not in page
    secret = secret_from_page(page)
    assert secret_from_page(client.get("/officer/totp").get_data(as_text=True)) == secret  # stable on reload
    wrong_code = "000000" if crypto.totp_now(secret) != "000000" else "111111"
    wrong = actions.post("/officer/totp", {"code": wrong_code})
    assert wrong.status_code == 200 and client.get("/officer/queue").status_code == 302
    actions.secrets[LEGAL] = secret
    done = actions.post("/officer/totp", {"code": actions.code_for(LEGAL)})
    assert done.status_code == 303 and done.headers["Location"] == "/officer/queue"
    assert client.get("/officer/queue").status_code == 200
    with world(app) as (s, _f):
        admin = officer_named(s, LEGAL)
        assert admin.totp_secret is not None and secret not in admin.totp_secret  # encrypted at rest
        assert signin.totp_secret_of(admin, keyring.unlock(admin, PASSWORD)) == secret
    actions.logout()
    again = actions.post("/officer/login", {"username": LEGAL, "password": PASSWORD})
    assert again.headers["Location"] == "/officer/login/code"
    assert client.get("/officer/queue").headers["Location"] == "/officer/login/code"
    # An enrolled officer cannot skip the code by enrolling again.
    assert client.get("/officer/totp").headers["Location"] == "/officer/login/code"
    ok = actions.post("/officer/login/code", {"code": actions.code_for(LEGAL)})
    assert ok.status_code == 303 and client.get("/officer/queue").status_code == 200
    assert len(audit_actions(app, "login.success")) == 2 and len(audit_actions(app, "totp.enrol")) == 1


def test_replayed_code_is_refused(app: Flask, client: FlaskClient) -> None:
    _legal(app)
    actions = OfficerActions(client)
    actions.login(LEGAL, PASSWORD)
    used = crypto.totp_now(actions.secrets[LEGAL], actions.last_step[LEGAL] * crypto.TOTP_STEP)
    actions.logout()
    actions.post("/officer/login", {"username": LEGAL, "password": PASSWORD})
    replay = actions.post("/officer/login/code", {"code": used})
    assert replay.status_code == 200
    assert client.get("/officer/queue").headers["Location"] == "/officer/login/code"
    assert any("reason=code" in e.detail for e in audit_actions(app, "login.failure"))


def test_code_check_in_domain_refuses_replay(app: Flask) -> None:
    at = 1_700_000_000.0
    admin_id, private, secret = admin_with_totp(app, PASSWORD)
    with world(app) as (s, _f):
        admin = s.get(Officer, admin_id)
        assert admin is not None
        code = crypto.totp_now(secret, at)
        signin.code_step(s, admin, private, code, at=at)
        s.commit()
        with pytest.raises(signin.SignInFailed):
            signin.code_step(s, admin, private, code, at=at + 5)
        # The next time step's code is fine.
        signin.code_step(s, admin, private, crypto.totp_now(secret, at + 30), at=at + 30)


def test_wrong_password_and_unknown_user_read_the_same_and_are_audited(
    app: Flask, client: FlaskClient
) -> None:
    actions = OfficerActions(client)
    client.set_cookie("lang", "en")
    wrong = actions.post("/officer/login", {"username": ADMIN, "password": "not it at all"})
    unknown = actions.post("/officer/login", {"username": "nobody", "password": "not it at all"})
    assert wrong.status_code == unknown.status_code == 200
    message = "Wrong username, password or code"
    assert message in wrong.get_data(as_text=True) and message in unknown.get_data(as_text=True)
    failures = audit_actions(app, "login.failure")
    assert sorted(e.actor for e in failures) == [ADMIN, "unknown"]
    assert all("nobody" not in (e.detail + (e.target or "")) for e in failures)


def test_account_locks_after_five_failures_even_for_the_right_password(
    app: Flask, client: FlaskClient
) -> None:
    actions = OfficerActions(client)
    for _ in range(signin.MAX_FAILURES):
        actions.post("/officer/login", {"username": ADMIN, "password": "wrong password"})
    with world(app) as (s, _f):
        admin = officer_named(s, ADMIN)
        assert admin.locked_until is not None and admin.locked_until > dates.now()
    right = actions.post("/officer/login", {"username": ADMIN, "password": PASSWORD})
    assert right.status_code == 200  # the same page as a wrong password
    assert any("reason=locked" in e.detail for e in audit_actions(app, "login.failure"))


def test_lock_ends_after_fifteen_minutes(client: FlaskClient, monkeypatch: pytest.MonkeyPatch) -> None:
    actions = OfficerActions(client)
    for _ in range(signin.MAX_FAILURES):
        actions.post("/officer/login", {"username": ADMIN, "password": "wrong password"})
    later = dates.now() + timedelta(minutes=16)
    monkeypatch.setattr(dates, "now", lambda: later)
    assert actions.post("/officer/login", {"username": ADMIN, "password": PASSWORD}).status_code == 303


def test_per_client_throttling(make_app: Any) -> None:
    client = make_app(RATELIMIT_LOGIN="3 per minute").test_client()
    actions = OfficerActions(client)
    codes = [
        actions.post("/officer/login", {"username": f"user{i}", "password": "whatever pw"}).status_code
        for i in range(4)
    ]
    assert codes == [200, 200, 200, 429]


def test_successful_sign_ins_do_not_use_up_the_client_allowance(make_app: Any) -> None:
    client = make_app(RATELIMIT_LOGIN="1 per minute").test_client()
    actions = OfficerActions(client)
    for _ in range(2):
        actions.login(ADMIN, PASSWORD)
        actions.logout()


def test_temporary_password_forces_a_change(app: Flask, client: FlaskClient) -> None:
    with world(app) as (s, _f):
        keyring.create_officer(s, "newbie", "temporary pw 1", must_change_password=True)
        s.commit()
    actions = OfficerActions(client)
    first = actions.post("/officer/login", {"username": "newbie", "password": "temporary pw 1"})
    assert first.headers["Location"] == "/officer/password"
    assert client.get("/officer/queue").headers["Location"] == "/officer/password"
    bad = actions.post("/officer/password", {"current": "temporary pw 1", "new": "short", "confirm": "short"})
    assert bad.status_code == 200 and client.get("/officer/queue").status_code == 302
    for guessable in ("0000000000", "1234567890", "password1234"):  # long enough, and every list's first
        refused = actions.post("/officer/password",
                               {"current": "temporary pw 1", "new": guessable, "confirm": guessable})
        assert refused.status_code == 200 and thai(
            "This password is too easy to guess (a common password, a run of digits or a keyboard row). "
            "Use a few words, or more characters."
        ) in refused.get_data(as_text=True)
    assert client.get("/officer/queue").status_code == 302
    new = "my own password 2"
    ok = actions.post("/officer/password", {"current": "temporary pw 1", "new": new, "confirm": new})
    assert ok.status_code == 303
    assert client.get("/officer/queue").status_code == 200
    with world(app) as (s, _f):
        officer = officer_named(s, "newbie")
        assert not officer.must_change_password
        keyring.unlock(officer, new)
        with pytest.raises(keyring.WrongPassword):
            keyring.unlock(officer, "temporary pw 1")


def test_inactive_officer_cannot_sign_in(app: Flask, client: FlaskClient) -> None:
    with world(app) as (s, factory):
        factory.officer("gone", channels=("feedback",)).active = False
        s.commit()
    response = OfficerActions(client).post(
        "/officer/login", {"username": "gone", "password": "officer password 1"}
    )
    assert response.status_code == 200
    assert any(e.actor == "gone" and "inactive" in e.detail for e in audit_actions(app, "login.failure"))


def test_totp_optional_for_feedback_officer(app: Flask, client: FlaskClient) -> None:
    with world(app) as (_s, factory):
        factory.officer("pr", channels=("feedback", "question"))
    actions = OfficerActions(client)
    assert actions.login("pr", "officer password 1").headers["Location"] == "/officer/queue"
    assert client.get("/officer/totp").status_code == 200  # may enrol if they wish


NEW_PW = "a new password 12"  # long enough and not guessable: the current password is what is checked


def test_guessing_the_current_password_counts_as_failed_sign_ins(app: Flask, client: FlaskClient) -> None:
    with_pr(app)
    actions = OfficerActions(client)
    actions.login("pr", PR_PASSWORD)
    for n in range(signin.MAX_FAILURES):
        guess = f"guess number {n}"
        actions.post("/officer/password", {"current": guess, "new": NEW_PW, "confirm": NEW_PW})
    with world(app) as (s, _f):
        pr = officer_named(s, "pr")
        assert pr.locked_until is not None and pr.locked_until > dates.now()
        failures = s.scalars(select(AuditEntry).where(AuditEntry.action == "login.failure")).all()
        assert len(failures) == signin.MAX_FAILURES


def test_guessing_the_current_password_is_throttled_per_client(make_app: Any) -> None:
    app = make_app(RATELIMIT_LOGIN="3 per minute")
    with_pr(app)
    actions = OfficerActions(app.test_client())
    actions.login("pr", PR_PASSWORD)
    codes = [
        actions.post("/officer/password", {"current": f"guess {n}", "new": NEW_PW, "confirm": NEW_PW})
        for n in range(4)
    ]
    assert [r.status_code for r in codes] == [200, 200, 200, 429]


def test_a_code_is_refused_to_a_request_that_read_the_officer_before_it_was_used(app: Flask) -> None:
    """Two sign-ins racing with one code: both load the officer, then both check the code."""
    at = 1_700_000_000.0
    admin_id, private, secret = admin_with_totp(app, PASSWORD)
    code = crypto.totp_now(secret, at)
    with app.app_context():
        first = db.session()
        with db.new_session() as second:
            stale = second.get(Officer, admin_id)
            assert stale is not None and stale.totp_last_counter is None
            mine = first.get(Officer, admin_id)
            assert mine is not None
            signin.code_step(first, mine, private, code, at=at)
            first.commit()
            with pytest.raises(signin.SignInFailed):
                signin.code_step(second, stale, private, code, at=at + 1)
def test_finding_01_a_long_kdf_queue_gets_503_not_a_hang(
    client: FlaskClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Issue 9, finding 1: derivations wait for each other, boundedly; past the bound a clear 503."""
    monkeypatch.setattr(crypto, "KDF_WAIT_SECONDS", 0.05)
    token = csrf_token(client, "/officer/login")
    with crypto._KDF_LOCK:  # another sign-in is deriving in this process
        busy = client.post("/officer/login", data={"csrf_token": token, "username": ADMIN, "password": "x"})
    assert busy.status_code == 503 and busy.headers["Retry-After"] == "30"
    assert "ลองใหม่" in busy.get_data(as_text=True)
    again = client.post("/officer/login", data={"csrf_token": token, "username": ADMIN, "password": PASSWORD})
    assert again.status_code == 303

