"""The notification pages from both ends: an officer's own address, the administrator's officer page, the
mail page (test mail, escalation, digest hour), the delivery log; `officer add --email`; access and CSRF;
and a sweep in which citizens type markers everywhere and no mail carries any of them."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import select

from intake import dates, db, notices, settings
from intake.models import AuditEntry, NotifyMode, Officer

from .citizen_helpers import followup, submit_ok, valid_data
from .conftest import ADMIN, PASSWORD, RECOVERY
from .mailbox import Mailbox
from .notify_helpers import deliveries, officer_with_mail, recipients, run
from .officer_helpers import OfficerActions, world

OFFICER_PASSWORD = "officer password 1"
POSTS = [
    "/officer/profile",
    "/officer/admin/officers/{officer}/notifications",
    "/officer/admin/notifications",
    "/officer/admin/notifications/test",
    "/officer/admin/notifications/retry",
    "/officer/admin/notifications/dismiss",
]
ADMIN_GETS = ["/officer/admin/notifications", "/officer/admin/notifications/log"]


def _officer(app: Flask, name: str = "pr") -> int:
    with world(app) as (_s, factory):
        return factory.officer(name, channels=("feedback",)).id


def _get(session: Any, officer_id: int) -> Officer:
    officer = session.get(Officer, officer_id)
    assert officer is not None
    return officer


def test_an_officer_sets_their_own_address_and_digest(mail_app: Flask) -> None:
    officer_id = _officer(mail_app)
    me = OfficerActions(mail_app.test_client())
    me.login("pr", OFFICER_PASSWORD)
    page = me.client.get("/officer/profile").get_data(as_text=True)
    assert "การแจ้งเตือนของฉัน" in page and 'type="email"' in page
    bad = me.post("/officer/profile", {"email": "สมชาย@อบต", "mode": "digest"})
    assert bad.status_code == 400
    text = bad.get_data(as_text=True)
    assert "ที่อยู่อีเมลนี้ใช้ส่งไม่ได้" in text and 'value="สมชาย@อบต"' in text  # kept as typed
    ok = me.post("/officer/profile", {"email": " PR@Example.go.th ", "mode": "digest"})
    assert ok.status_code == 303
    assert "บันทึกแล้ว" in me.client.get(ok.headers["Location"]).get_data(as_text=True)
    with world(mail_app) as (session, _f):
        officer = _get(session, officer_id)
        assert (officer.email, officer.notify_mode) == ("PR@example.go.th", "digest")
        entry = session.scalars(select(AuditEntry).where(AuditEntry.action == "officer.notify")).one()
        assert entry.actor == "pr" and "example" not in (entry.detail or "")  # no address in the trail
    cleared = me.post("/officer/profile", {"email": "", "mode": "immediate"})
    assert cleared.status_code == 303
    with world(mail_app) as (session, _f):
        assert _get(session, officer_id).email is None


def test_an_administrator_sets_an_officers_address(mail_app: Flask) -> None:
    officer_id = _officer(mail_app)
    admin = OfficerActions(mail_app.test_client())
    admin.login(ADMIN, PASSWORD)
    page_url = f"/officer/admin/officers/{officer_id}"
    assert 'id="notify-form"' in admin.client.get(page_url).get_data(as_text=True)
    url = f"{page_url}/notifications"
    response = admin.post(url, {"email": "not an address", "mode": "immediate"}, form_url=page_url)
    assert response.status_code == 303
    assert "ที่อยู่อีเมลนี้ใช้ส่งไม่ได้" in admin.client.get(page_url).get_data(as_text=True)
    response = admin.post(url, {"email": "pr@example.go.th", "mode": "immediate"}, form_url=page_url)
    assert response.status_code == 303
    with world(mail_app) as (session, _f):
        assert _get(session, officer_id).email == "pr@example.go.th"


def test_officer_add_with_email(app: Flask) -> None:
    runner = app.test_cli_runner()
    env = {"INTAKE_OFFICER_PASSWORD": "new officer pw", "INTAKE_RECOVERY_PASSPHRASE": RECOVERY}
    args = ["officer", "add", "legal", "--channel", "corruption", "--email", "legal@example.go.th"]
    result = runner.invoke(args=args, env=env)
    assert result.exit_code == 0, result.output
    assert "notices to legal@example.go.th" in result.output
    bad = runner.invoke(args=["officer", "add", "x", "--email", "x@"], env=env)
    assert bad.exit_code != 0 and "--email" in bad.output
    with app.app_context():
        session = db.session()
        legal = session.scalar(select(Officer).where(Officer.username == "legal"))
        assert legal is not None and legal.email == "legal@example.go.th"
        assert legal.notify_mode == NotifyMode.IMMEDIATE
        assert session.scalar(select(Officer).where(Officer.username == "x")) is None


def test_the_test_mail_button_and_the_delivery_log(mail_app: Flask, mailbox: Mailbox) -> None:
    admin = OfficerActions(mail_app.test_client())
    admin.login(ADMIN, PASSWORD)
    page = admin.client.get("/officer/admin/notifications").get_data(as_text=True)
    assert f"127.0.0.1:{mailbox.port} (none)" in page and "ส่งอีเมลทดสอบ" in page
    url = "/officer/admin/notifications/test"
    response = admin.post(url, {"address": "clerk@example.go.th"}, form_url="/officer/admin/notifications")
    assert response.status_code == 303
    assert "รับอีเมลทดสอบถึง clerk@example.go.th แล้ว" in admin.client.get(response.headers["Location"]).get_data(
        as_text=True
    )
    (mail,) = mailbox.received
    assert (
        mail.to == "clerk@example.go.th" and mail.message["Subject"] == "อีเมลทดสอบจากช่องทางรับเรื่องจากประชาชน"
    )

    mailbox.set_mode("refuse5")
    response = admin.post(url, {"address": "clerk@example.go.th"}, form_url="/officer/admin/notifications")
    shown = admin.client.get(response.headers["Location"]).get_data(as_text=True)
    assert "ส่งอีเมลทดสอบไม่สำเร็จ: 554 5.7.1 Relay access denied" in shown
    bad = admin.post(url, {"address": "nobody"}, form_url="/officer/admin/notifications")
    assert bad.status_code == 400 and "ที่อยู่อีเมลนี้ใช้ส่งไม่ได้" in bad.get_data(as_text=True)

    log = admin.client.get("/officer/admin/notifications/log").get_data(as_text=True)
    assert log.count('class="delivery"') == 2 and "อีเมลทดสอบ" in log
    failed = admin.client.get("/officer/admin/notifications/log?result=failed").get_data(as_text=True)
    assert failed.count('class="delivery"') == 1 and "554 5.7.1" in failed
    assert [d.result for d in deliveries(mail_app)] == ["sent", "failed"]
    with world(mail_app) as (session, _f):
        actions = session.scalars(select(AuditEntry.detail).where(AuditEntry.action == "mail.test")).all()
        assert actions == ["result=sent", "result=failed"]


def test_without_a_mail_server_the_page_says_so(app: Flask) -> None:
    admin = OfficerActions(app.test_client())
    admin.login(ADMIN, PASSWORD)
    assert 'id="mail-off"' in admin.client.get("/officer/admin/notifications").get_data(as_text=True)
    url = "/officer/admin/notifications/test"
    response = admin.post(url, {"address": "clerk@example.go.th"}, form_url="/officer/admin/notifications")
    assert response.status_code == 400 and "INTAKE_MAIL_SERVER" in response.get_data(as_text=True)


def test_escalation_and_digest_settings(mail_app: Flask) -> None:
    admin = OfficerActions(mail_app.test_client())
    admin.login(ADMIN, PASSWORD)
    url = "/officer/admin/notifications"
    form = {
        "escalation_days": "5",
        "escalation_email_corruption": "palad@example.go.th",
        "escalation_email_feedback": "",
        "escalation_email_question": "",
        "digest_hour": "7",
    }
    bad = admin.post(url, {**form, "escalation_days": "0", "escalation_email_feedback": "x@"})
    assert bad.status_code == 400
    assert 'value="palad@example.go.th"' in bad.get_data(as_text=True)  # what was typed is kept
    assert admin.post(url, form).status_code == 303
    with world(mail_app) as (session, _f):
        assert notices.escalation_days(session) == 5 and notices.digest_hour(session) == 7
        assert notices.escalation_address(session, "corruption") == "palad@example.go.th"
        assert notices.escalation_address(session, "feedback") == ""
        detail = session.scalars(
            select(AuditEntry.detail).where(AuditEntry.action == "settings.change")
        ).all()
        assert detail and "palad" not in detail[-1] and "escalation_days=5" in detail[-1]
    assert 'value="palad@example.go.th"' in admin.client.get(url).get_data(as_text=True)


def test_only_administrators_reach_the_mail_pages(mail_app: Flask) -> None:
    officer_id = _officer(mail_app)
    anonymous = mail_app.test_client()
    for path in ADMIN_GETS + ["/officer/profile"]:
        assert anonymous.get(path).status_code == 302
    me = OfficerActions(mail_app.test_client())
    me.login("pr", OFFICER_PASSWORD)
    assert me.client.get("/officer/profile").status_code == 200
    for path in ADMIN_GETS:
        assert me.client.get(path).status_code == 403
    for path in POSTS[1:]:
        form_url = "/officer/profile"
        response = me.post(path.format(officer=officer_id), {"email": "x@example.go.th"}, form_url=form_url)
        assert response.status_code == 403, path
    with world(mail_app) as (session, _f):
        assert _get(session, officer_id).email is None


@pytest.mark.parametrize("path", POSTS)
def test_post_without_csrf_token_is_refused(mail_app: Flask, path: str) -> None:
    officer_id = _officer(mail_app)
    admin = OfficerActions(mail_app.test_client())
    admin.login(ADMIN, PASSWORD)
    data = {"email": "x@example.go.th", "mode": "immediate", "address": "x@example.go.th"}
    response = admin.client.post(path.format(officer=officer_id), data=data)
    assert response.status_code == 400
    assert "แบบฟอร์มหมดอายุ" in response.get_data(as_text=True)
    with world(mail_app) as (session, _f):
        assert _get(session, officer_id).email is None
    assert deliveries(mail_app) == []


def test_no_mail_carries_anything_a_citizen_typed(make_app: Any, mailbox: Mailbox) -> None:
    """Markers in every field of all three channels, in a file name, in follow-ups; then new-case mails,
    follow-up mails, reminders, overdue notices, escalation and a digest: none carries a marker, a
    token, a case link or an image (the mailbox fixture checks every mail it received)."""
    app = make_app(**mailbox.config(), ATTACHMENT_MAX_FILE=256 * 1024)
    with world(app) as (session, factory):
        officer_with_mail(factory, "legal", ("corruption",))
        officer_with_mail(factory, "pr", ("feedback",), mode=NotifyMode.DIGEST)
        officer_with_mail(factory, "answers", ("question",))
        factory.admin().email = "admin@example.go.th"
        for channel in ("corruption", "feedback", "question"):
            settings.put(session, f"escalation_email.{channel}", f"deputy-{channel}@example.go.th")
        session.commit()
    client = app.test_client()
    for channel in ("corruption", "feedback", "question"):
        marker = f"MARK{channel.upper()}"
        token = submit_ok(
            client,
            channel,
            data=valid_data(channel, marker),
            files=[(b"evidence " + marker.encode(), f"{marker}.txt")],
        )
        mailbox.forbid(marker, token, token.replace("-", ""), token.lower())
        response = followup(client, token, f"ติดตาม FOLLOW{marker}")
        assert response.status_code in (200, 303)
        mailbox.forbid(f"FOLLOW{marker}")
    run(app)
    later = dates.now() + timedelta(days=30)
    run(app, later)
    run(app, later + timedelta(days=1))
    assert {"legal@example.go.th", "answers@example.go.th", "admin@example.go.th", "pr@example.go.th"} <= set(
        recipients(mailbox.received)
    )
    assert {f"deputy-{c}@example.go.th" for c in ("corruption", "feedback", "question")} <= set(
        recipients(mailbox.received)
    )
    assert len(mailbox.received) >= 9
