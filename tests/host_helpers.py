"""Helpers for the host administrator's tests: an account, a fresh TOTP code, sign-in through /host."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

from flask import Flask
from flask.testing import FlaskClient
from werkzeug.test import TestResponse

from intake import crypto, db, key_contexts, keyring
from intake.host import accounts
from intake.models import HostAdmin

from .conftest import csrf_token

ROOT = "root"
ROOT_PASSWORD = "host admin password 1"  # noqa: S105 - a test password


def add_admin(app: Flask, username: str = ROOT, password: str = ROOT_PASSWORD) -> None:
    result = app.test_cli_runner().invoke(
        args=["host-admin", "add", username], env={"INTAKE_HOST_ADMIN_PASSWORD": password}
    )
    assert result.exit_code == 0, result.output


def enrol(app: Flask, username: str = ROOT) -> bytes:
    """Enrol a TOTP secret straight in the database (the page's enrolment has its own test)."""
    secret = crypto.new_totp_secret()
    with app.app_context():
        session = db.session()
        admin = accounts.get(session, username)
        admin.totp_secret = crypto.encrypt(
            keyring.host_key(key_contexts.HOST_ADMIN_TOTP), secret, key_contexts.host_totp(admin.id)
        )
        accounts.stamp(admin)
        session.commit()
    return secret


def admin_row(app: Flask, username: str = ROOT) -> HostAdmin:
    with app.app_context():
        row = accounts.get(db.session(), username)
        db.session().expunge(row)
        return row


@dataclass
class HostActions:
    client: FlaskClient
    secret: bytes = b""
    last_step: int | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    def code(self) -> str:
        """A code of a time step not used yet (the current one, else the next)."""
        step = int(time.time() // crypto.TOTP_STEP)
        if self.last_step is not None and step <= self.last_step:
            step = self.last_step + 1
        self.last_step = step
        return crypto.totp_now(self.secret, step * crypto.TOTP_STEP)

    def post(self, url: str, data: dict[str, Any], form_url: str | None = None, **kw: Any) -> TestResponse:
        token = csrf_token(self.client, form_url or url)
        return self.client.post(url, data={"csrf_token": token, **data}, **kw)

    def login(
        self, username: str = ROOT, password: str = ROOT_PASSWORD, code: str | None = None
    ) -> TestResponse:
        return self.post(
            "/host/login",
            {"username": username, "password": password, "code": self.code() if code is None else code},
        )

    def signed_in(self) -> HostActions:
        response = self.login()
        assert response.status_code == 303 and response.headers["Location"] == "/host/", response.get_data(
            True
        )
        return self


def signed_in(app: Flask, client: FlaskClient | None = None) -> HostActions:
    """A client on localhost with root signed in (root made and enrolled)."""
    add_admin(app)
    return HostActions(client or app.test_client(), enrol(app)).signed_in()
