"""Signing officers in through the real pages (password, TOTP enrolment or code), as a browser would."""

from __future__ import annotations

import base64
import re
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session
from werkzeug.test import TestResponse

from intake import crypto, dates, db, key_contexts, keyring
from intake.models import AuditEntry, Officer, OfficerSession

from .conftest import csrf_token
from .factories import Factory

_SECRET = re.compile(r'id="totp-secret">([A-Z2-7 ]+)<')


def secret_from_page(page: str) -> bytes:
    match = _SECRET.search(page)
    assert match, "no TOTP secret on the enrolment page"
    text = match.group(1).replace(" ", "")
    return base64.b32decode(text + "=" * (-len(text) % 8))


@dataclass
class OfficerActions:
    """Sign-in helper; remembers each officer's TOTP secret and the last time step used."""

    client: FlaskClient
    secrets: dict[str, bytes] = field(default_factory=dict)
    last_step: dict[str, int] = field(default_factory=dict)

    def code_for(self, username: str) -> str:
        """A fresh code: the current time step, or the next one if the current was used already."""
        now = time.time()
        step = int(now // crypto.TOTP_STEP)
        used = self.last_step.get(username)
        if used is not None and step <= used:
            step = used + 1
        assert step <= int(now // crypto.TOTP_STEP) + 1, "too many sign-ins of one officer in 30 s"
        self.last_step[username] = step
        return crypto.totp_now(self.secrets[username], step * crypto.TOTP_STEP)

    def post(self, url: str, data: dict[str, Any], form_url: str | None = None, **kw: Any) -> TestResponse:
        token = csrf_token(self.client, form_url or url)
        return self.client.post(url, data={"csrf_token": token, **data}, **kw)

    def login(self, username: str, password: str, *, new_password: str | None = None) -> TestResponse:
        """Sign in completely (enrolling TOTP or typing the code when asked); returns the last response."""
        response = self.post("/officer/login", {"username": username, "password": password})
        assert response.status_code == 303, response.get_data(as_text=True)[:2000]
        for _ in range(4):
            location = response.headers.get("Location", "")
            if location.startswith("/officer/totp"):
                page = self.client.get("/officer/totp").get_data(as_text=True)
                self.secrets[username] = secret_from_page(page)
                response = self.post("/officer/totp", {"code": self.code_for(username)})
            elif location.startswith("/officer/login/code"):
                response = self.post("/officer/login/code", {"code": self.code_for(username)})
            elif location.startswith("/officer/password"):
                assert new_password, "a password change is forced: give new_password"
                response = self.post(
                    "/officer/password",
                    {"current": password, "new": new_password, "confirm": new_password},
                )
            else:
                return response
            assert response.status_code == 303, response.get_data(as_text=True)[:2000]
        return response

    def logout(self) -> TestResponse:
        return self.post("/officer/logout", {}, form_url="/officer/password")


@contextmanager
def world(app: Flask) -> Iterator[tuple[Session, Factory]]:
    """A database session and factory in an app context of their own, closed before the client is used.

    (A test that keeps an app context pushed while using the client shares `g` across requests,
    and with it Flask-WTF's cached CSRF token: sign-in, which clears the session, would then fail.)
    """
    with app.app_context():
        session = db.session()
        yield session, Factory(app, session)


RECENT = (dates.local_date(dates.now()) - timedelta(days=3)).isoformat()  # a date for officers' forms
PR_PASSWORD = "officer password 1"  # noqa: S105 - the factory's default officer password


def with_pr(app: Flask) -> None:
    """A feedback officer "pr" (no second factor needed for that channel)."""
    with world(app) as (_s, factory):
        factory.officer("pr", PR_PASSWORD, channels=("feedback",))


def session_count(app: Flask) -> int:
    """How many officer sessions the database holds."""
    with world(app) as (s, _f):
        return int(s.scalar(select(func.count()).select_from(OfficerSession)) or 0)


def admin_with_totp(app: Flask, password: str) -> tuple[int, bytes, bytes]:
    """The administrator with a new TOTP secret, stored as enrolment does: (id, private key, secret)."""
    secret = crypto.new_totp_secret()
    with world(app) as (s, factory):
        admin = factory.admin()
        private = keyring.unlock(admin, password)
        key = crypto.derive_subkey(private, key_contexts.TOTP)
        admin.totp_secret = crypto.encrypt(key, secret, key_contexts.totp_secret(admin.id))
        keyring.stamp_officer(admin)
        s.commit()
        return admin.id, private, secret


def audit_actions(app: Flask, action: str) -> list[AuditEntry]:
    with app.app_context():
        return list(db.session().scalars(select(AuditEntry).where(AuditEntry.action == action)))


def officer_named(session: Session, name: str) -> Officer:
    officer = session.scalar(select(Officer).where(Officer.username == name))
    assert officer is not None
    return officer
