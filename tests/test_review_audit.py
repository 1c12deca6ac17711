"""Security review, property 7: every officer action of the issue's list leaves its entry, chained.

One administrator works through everything the web offers; afterwards each action name is on the record
(with the right target), the chain verifies, and no entry's detail holds what anyone wrote.
"""

from __future__ import annotations

from datetime import timedelta

from flask import Flask
from sqlalchemy import select

from intake import audit, dates
from intake.answers import publishing
from intake.models import AuditEntry, Case

from .conftest import ADMIN, PASSWORD
from .factories import PNG_1PX
from .officer_helpers import OfficerActions, world

RECENT = (dates.local_date(dates.now()) - timedelta(days=3)).isoformat()
SECRET = "WRITTEN-BY-SOMEONE"


def test_every_officer_action_is_on_the_record(app: Flask) -> None:
    with world(app) as (s, factory):
        spare = factory.officer("spare", channels=("question",)).id
        sub = factory.case("corruption", "c", files=[(PNG_1PX, "p.png")])
        case, attachment = sub.case.id, sub.case.attachments[0].id
        question = factory.case("question", "q", publish_ok=True).case.id
        q = s.get(Case, question)
        assert q is not None
        old_answer = publishing.publish(s, q, factory.admin(), "q", "a").id
        s.commit()
    client = app.test_client()
    actions = OfficerActions(client)
    assert actions.post("/officer/login", {"username": ADMIN, "password": "wrong"}).status_code == 200
    actions.login(ADMIN, PASSWORD)
    c = f"/officer/cases/{case}"
    steps = [
        (f"{c}/acknowledge", {}),
        (f"{c}/status", {"status": "in_progress", "note": SECRET}),
        (f"{c}/reply", {"message": SECRET}),
        (f"{c}/note", {"note": SECRET}),
        (f"{c}/assign", {"officer": ""}),
        (f"{c}/refer", {"agency": "nacc", "reference": SECRET, "referred_on": RECENT, "note": SECRET}),
        (f"/officer/cases/{question}/publish", {"question": SECRET, "answer": SECRET, "confirm": "y"}),
        (f"/officer/answers/{old_answer}/unpublish", {}),
        (f"/officer/admin/officers/{spare}/grant", {"channel": "feedback"}),
        (f"/officer/admin/officers/{spare}/revoke", {"channel": "feedback"}),
        (f"/officer/admin/officers/{spare}/reset-2fa", {}),
        (f"/officer/admin/officers/{spare}/deactivate", {}),
    ]
    assert client.get(c).status_code == 200
    assert client.get(f"{c}/attachments/{attachment}").status_code == 200
    for path, data in steps:
        assert actions.post(path, data, form_url=c).status_code == 303, path
    intake = {"channel": "feedback", "source": "phone", "received_at": RECENT, "details": SECRET}
    assert actions.post("/officer/intake", intake).status_code == 303  # to the slip (receipts.py)
    created = actions.post("/officer/admin/officers/new", {"username": "fresh", "role": "officer"})
    assert created.status_code == 200
    settings_page = "/officer/admin/settings"
    form = {
        "municipality_name": "เทศบาลตำบลทดสอบ",
        **{f"{k}_days_{ch}": "9" for k in ("ack", "answer") for ch in ("corruption", "feedback", "question")},
        "attachment_max_file_mb": "5",
        "attachment_max_total_mb": "20",
        "retention_years": "5",
    }
    assert actions.post(settings_page, form).status_code == 303
    new = "another good password"
    assert (
        actions.post("/officer/password", {"current": PASSWORD, "new": new, "confirm": new}).status_code
        == 303
    )
    assert actions.logout().status_code == 303
    with world(app) as (s, _f):
        entries = list(s.scalars(select(AuditEntry).order_by(AuditEntry.id)))
        assert audit.verify(s) is None
    by_action = {(e.action, e.target) for e in entries}
    wanted = {
        ("login.failure", ADMIN),
        ("login.success", ADMIN),
        ("totp.enrol", ADMIN),
        ("case.view", str(case)),
        ("attachment.download", str(case)),
        ("case.acknowledge", str(case)),
        ("case.status", str(case)),
        ("case.reply", str(case)),
        ("case.note", str(case)),
        ("case.assign", str(case)),
        ("case.refer", str(case)),
        ("answer.publish", str(question)),
        ("answer.unpublish", str(question)),
        ("grant.add", "spare"),
        ("grant.revoke", "spare"),
        ("totp.reset", "spare"),
        ("officer.deactivate", "spare"),
        ("officer.create", "fresh"),
        ("settings.change", None),
        ("password.change", ADMIN),
        ("logout", ADMIN),
    }
    assert wanted <= by_action, wanted - by_action
    assert any(e.action == "case.intake" for e in entries)
    assert all(SECRET not in (e.detail + (e.target or "")) for e in entries)
