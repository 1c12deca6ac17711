"""Administration: add officers (temporary password once), grant/revoke through the admin's keys, 2FA reset,
deactivation, settings; all on the audit trail."""

from __future__ import annotations

import re

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select

from intake import cases, keyring, settings
from intake.models import Case, Grant, OfficerSession, Role

from .conftest import ADMIN, PASSWORD
from .officer_helpers import OfficerActions, audit_actions, officer_named, world

OTHER = "officer password 1"


def _admin(client: FlaskClient) -> OfficerActions:
    actions = OfficerActions(client)
    actions.login(ADMIN, PASSWORD)
    return actions


def test_add_officer_shows_temporary_password_once_and_forces_change(app: Flask, client: FlaskClient) -> None:
    actions = _admin(client)
    created = actions.post(
        "/officer/admin/officers/new", {"username": "somchai", "role": "officer", "channels": ["feedback"]}
    )
    assert created.status_code == 200
    password = re.search(r'id="temporary-password">([^<]+)<', created.get_data(as_text=True)).group(1)  # type: ignore[union-attr]
    assert len(password.replace("-", "")) == 16
    listing = client.get("/officer/admin/officers").get_data(as_text=True)
    assert "somchai" in listing and password not in listing
    with world(app) as (s, _f):
        officer = officer_named(s, "somchai")
        assert officer.must_change_password and officer.channels == {"feedback"}
        assert password.encode() not in officer.wrapped_private_key
    assert [e.target for e in audit_actions(app, "officer.create") if e.actor == ADMIN] == ["somchai"]
    duplicate = actions.post("/officer/admin/officers/new", {"username": "somchai", "role": "officer"})
    assert duplicate.status_code == 400
    newcomer = OfficerActions(app.test_client())
    first = newcomer.post("/officer/login", {"username": "somchai", "password": password})
    assert first.headers["Location"] == "/officer/password"
    newcomer.login("somchai", password, new_password="somchai's own password")


def test_executive_gets_no_channel(app: Flask, client: FlaskClient) -> None:
    actions = _admin(client)
    bad = actions.post(
        "/officer/admin/officers/new", {"username": "boss", "role": "executive", "channels": ["feedback"]}
    )
    assert bad.status_code == 400
    ok = actions.post("/officer/admin/officers/new", {"username": "boss", "role": "executive"})
    assert ok.status_code == 200


def test_grant_from_the_web_opens_the_channel_and_revoke_closes_it(app: Flask, client: FlaskClient) -> None:
    with world(app) as (_s, factory):
        pr_id = factory.officer("pr", OTHER, channels=("question",)).id
        case_id = factory.case("feedback", "ข้อความ").case.id
    actions = _admin(client)
    page = f"/officer/admin/officers/{pr_id}"
    assert actions.post(f"{page}/grant", {"channel": "feedback"}, form_url=page).status_code == 303
    with world(app) as (s, _f):
        pr = officer_named(s, "pr")
        case = s.get(Case, case_id)
        assert case is not None
        keys = cases.officer_keys(s, pr, keyring.unlock(pr, OTHER), case)
        assert cases.officer_view(s, case, keys).submission["details"] == "ข้อความ"
        grant = s.scalar(select(Grant).where(Grant.officer_id == pr.id, Grant.channel == "feedback"))
        assert grant is not None and grant.granted_by_id == officer_named(s, ADMIN).id
    assert actions.post(f"{page}/revoke", {"channel": "feedback"}, form_url=page).status_code == 303
    with world(app) as (s, _f):
        pr = officer_named(s, "pr")
        assert pr.channels == {"question"}
    details = [
        (e.action, e.target, e.detail)
        for e in audit_actions(app, "grant.add") + audit_actions(app, "grant.revoke")
    ]
    assert details == [("grant.add", "pr", "channel=feedback"), ("grant.revoke", "pr", "channel=feedback")]


def test_admin_cannot_grant_a_channel_they_do_not_hold(app: Flask, client: FlaskClient) -> None:
    with world(app) as (s, factory):
        target = factory.officer("target", OTHER).id
        sub_admin = factory.officer("subadmin", OTHER, channels=("feedback",), role=Role.ADMIN)
        assert sub_admin.channels == {"feedback"}
    actions = OfficerActions(client)
    actions.login("subadmin", OTHER)
    page = f"/officer/admin/officers/{target}"
    response = actions.post(f"{page}/grant", {"channel": "corruption"}, form_url=page)
    assert response.status_code == 303
    with world(app) as (s, _f):
        assert officer_named(s, "target").channels == set()


def test_deactivate_removes_wrapped_keys_and_sessions(app: Flask, client: FlaskClient) -> None:
    with world(app) as (_s, factory):
        pr_id = factory.officer("pr", OTHER, channels=("feedback", "question")).id
    pr_client = app.test_client()
    OfficerActions(pr_client).login("pr", OTHER)
    assert pr_client.get("/officer/queue").status_code == 200
    actions = _admin(client)
    page = f"/officer/admin/officers/{pr_id}"
    assert actions.post(f"{page}/deactivate", {}, form_url=page).status_code == 303
    with world(app) as (s, _f):
        assert s.scalar(select(func.count()).select_from(Grant).where(Grant.officer_id == pr_id)) == 0
        assert (
            s.scalar(
                select(func.count()).select_from(OfficerSession).where(OfficerSession.officer_id == pr_id)
            )
            == 0
        )
        assert not officer_named(s, "pr").active
    assert pr_client.get("/officer/queue").status_code == 302
    assert (
        OfficerActions(app.test_client())
        .post("/officer/login", {"username": "pr", "password": OTHER})
        .status_code
        == 200
    )
    with world(app) as (s, _f):
        admin_id = officer_named(s, ADMIN).id
    own = f"/officer/admin/officers/{admin_id}"
    actions.post(f"{own}/deactivate", {}, form_url=own)
    with world(app) as (s, _f):
        assert officer_named(s, ADMIN).active  # never oneself
    assert [e.target for e in audit_actions(app, "officer.deactivate")] == ["pr"]


def test_reset_2fa_makes_the_officer_enrol_again(app: Flask, client: FlaskClient) -> None:
    with world(app) as (_s, factory):
        legal_id = factory.officer("legal", OTHER, channels=("corruption",)).id
    legal = OfficerActions(app.test_client())
    legal.login("legal", OTHER)
    actions = _admin(client)
    page = f"/officer/admin/officers/{legal_id}"
    assert actions.post(f"{page}/reset-2fa", {}, form_url=page).status_code == 303
    with world(app) as (s, _f):
        assert officer_named(s, "legal").totp_secret is None
    assert legal.client.get("/officer/queue").status_code == 302  # sessions ended
    first = legal.post("/officer/login", {"username": "legal", "password": OTHER})
    assert first.headers["Location"] == "/officer/totp"
    assert len(audit_actions(app, "totp.reset")) == 1


def test_settings_change_deadlines_and_limits(app: Flask, client: FlaskClient) -> None:
    actions = _admin(client)
    form = client.get("/officer/admin/settings").get_data(as_text=True)
    assert 'value="15"' in form and 'value="7"' in form
    data = {
        "municipality_name": "เทศบาลเมืองทดสอบ",
        "ack_days_corruption": "3",
        "answer_days_corruption": "10",
        "ack_days_feedback": "7",
        "answer_days_feedback": "15",
        "ack_days_question": "7",
        "answer_days_question": "15",
        "attachment_max_file_mb": "5",
        "attachment_max_total_mb": "20",
        "retention_years": "7",
    }
    assert actions.post("/officer/admin/settings", data).status_code == 303
    with world(app) as (s, factory):
        assert settings.deadlines(s, "corruption") == settings.Deadlines(3, 10)
        assert settings.attachment_limits(s) == (5 * 1024 * 1024, 20 * 1024 * 1024)
        assert settings.retention_years(s) == 7
        case = factory.case("corruption").case
        assert (case.ack_due_at - case.received_at).days in (3, 4)
    assert "เทศบาลเมืองทดสอบ" in client.get("/").get_data(as_text=True)
    changes = audit_actions(app, "settings.change")
    assert len(changes) == 1 and "ack_days.corruption=3" in changes[0].detail
    assert "ack_days.feedback" not in changes[0].detail  # unchanged values are not listed
    bad = actions.post("/officer/admin/settings", {**data, "attachment_max_total_mb": "1"})
    assert bad.status_code == 400
    huge = actions.post("/officer/admin/settings", {**data, "ack_days_feedback": "0"})
    assert huge.status_code == 400
