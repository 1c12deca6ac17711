"""CSRF on every officer POST: without the token, the CSRF page (400) and nothing changes."""

from __future__ import annotations

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select

from intake.models import AuditEntry

from .conftest import ADMIN, PASSWORD
from .officer_helpers import OfficerActions, world

POSTS = [
    "/officer/login",
    "/officer/login/code",
    "/officer/totp",
    "/officer/password",
    "/officer/logout",
    "/officer/intake",
    "/officer/cases/{case}/acknowledge",
    "/officer/cases/{case}/status",
    "/officer/cases/{case}/reply",
    "/officer/cases/{case}/note",
    "/officer/cases/{case}/assign",
    "/officer/cases/{case}/refer",
    "/officer/cases/{case}/publish",
    "/officer/cases/{case}/duplicate",
    "/officer/import",
    "/officer/answers/1/unpublish",
    "/officer/admin/officers/new",
    "/officer/admin/officers/{admin}/grant",
    "/officer/admin/officers/{admin}/revoke",
    "/officer/admin/officers/{admin}/reset-2fa",
    "/officer/admin/officers/{admin}/deactivate",
    "/officer/admin/settings",
    "/officer/admin/settings/crest",
    "/officer/admin/settings/crest/remove",
    "/officer/admin/settings/guide",
    "/officer/admin/settings/ita",
    "/officer/admin/settings/ita/reset",
]


@pytest.mark.parametrize("path", POSTS)
def test_post_without_csrf_token_is_refused(app: Flask, client: FlaskClient, path: str) -> None:
    with world(app) as (_s, factory):
        case_id = factory.case("question", "x", publish_ok=True).case.id
        admin_id = factory.admin().id
    OfficerActions(client).login(ADMIN, PASSWORD)
    with world(app) as (s, _f):
        before = s.scalar(select(func.count()).select_from(AuditEntry))
    data = {"status": "resolved", "message": "m", "note": "n", "channel": "feedback", "username": ADMIN}
    response = client.post(path.format(case=case_id, admin=admin_id), data=data)
    assert response.status_code == 400
    assert "แบบฟอร์มหมดอายุ" in response.get_data(as_text=True)  # the CSRF error page ("form expired")
    with world(app) as (s, _f):
        assert s.scalar(select(func.count()).select_from(AuditEntry)) == before
    assert client.get("/officer/queue").status_code == 200  # still signed in: nothing happened


def test_post_with_a_wrong_token_is_refused(app: Flask, client: FlaskClient) -> None:
    OfficerActions(client).login(ADMIN, PASSWORD)
    response = client.post("/officer/logout", data={"csrf_token": "forged"})
    assert response.status_code == 400 and client.get("/officer/queue").status_code == 200
