"""Who is told what: the right officers only, written with the event, assignees, digests, no mail server."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import select

from intake import bodies, cases, dates, db, keyring, notices
from intake.models import Case, Channel, Notice, NoticeState, NotifyMode, Source

from .citizen_helpers import followup, submit_ok, valid_data
from .conftest import ADMIN, PASSWORD
from .notify_helpers import admin_with_mail, officer_with_mail, outbox, recipients, run
from .officer_helpers import OfficerActions, world


def test_new_case_tells_the_holders_of_its_channel_only(mail_app: Flask, mailbox: Any) -> None:
    """A feedback officer hears nothing of a corruption case, nor does the administrator (who holds
    feedback and question, not corruption, after setup); the corruption officer does; an officer without
    an address gets nothing."""
    with world(mail_app) as (_s, factory):
        officer_with_mail(factory, "legal", ("corruption",))
        officer_with_mail(factory, "pr", ("feedback",))
        factory.officer("nomail", channels=("corruption",))
        admin_with_mail(factory)
    client = mail_app.test_client()
    token = submit_ok(client, "corruption", data=valid_data("corruption", "MARKER-CORR"))
    mailbox.forbid("MARKER-CORR", token)
    assert [n.kind for n in outbox(mail_app)] == ["case_new"]
    run(mail_app)
    assert recipients(mailbox.received) == ["legal@example.go.th"]
    mailbox.clear()

    token = submit_ok(client, "feedback", data=valid_data("feedback", "MARKER-FEED"))
    mailbox.forbid("MARKER-FEED", token)
    run(mail_app)
    assert recipients(mailbox.received) == ["admin@example.go.th", "pr@example.go.th"]
    assert all(n.state == NoticeState.SENT for n in outbox(mail_app))


def test_the_mail_is_thai_with_counts_and_the_sign_in_link(mail_app: Flask, mailbox: Any) -> None:
    with world(mail_app) as (_s, factory):
        officer_with_mail(factory, "pr", ("feedback",))
        for n in range(3):
            mailbox.forbid(factory.case("feedback", f"เรื่องที่ {n} MARKER{n}").token, f"MARKER{n}")
    run(mail_app)
    (mail,) = mailbox.received  # three notices, one mail
    parts = mail.parts()
    assert mail.message["Subject"] == "มีเรื่องรอท่านดำเนินการในช่องทางรับเรื่องจากประชาชน"
    assert "เรื่องใหม่: 3" in parts["text/plain"]
    assert "ยังไม่ตอบรับ 3 เรื่อง" in parts["text/plain"]
    assert "https://report.example.go.th/officer/login" in parts["text/plain"]
    assert '<a href="https://report.example.go.th/officer/login">' in parts["text/html"]
    assert '<html lang="th">' in parts["text/html"]


def test_once_assigned_only_the_assignee_hears(mail_app: Flask, mailbox: Any) -> None:
    with world(mail_app) as (session, factory):
        somchai = officer_with_mail(factory, "somchai", ("feedback",))
        officer_with_mail(factory, "somsri", ("feedback",))
        submitted = factory.case("feedback", "MARKER-A")
        mailbox.forbid("MARKER-A", submitted.token)
        somchai_id = submitted.case.id, somchai.id
    run(mail_app)
    assert recipients(mailbox.received) == ["somchai@example.go.th", "somsri@example.go.th"]
    mailbox.clear()

    admin = OfficerActions(mail_app.test_client())
    admin.login(ADMIN, PASSWORD)
    case_id, officer_id = somchai_id
    response = admin.post(
        f"/officer/cases/{case_id}/assign", {"officer": str(officer_id)}, form_url=f"/officer/cases/{case_id}"
    )
    assert response.status_code == 303
    run(mail_app)
    assert recipients(mailbox.received) == ["somchai@example.go.th"]
    assert mailbox.received[0].parts()["text/plain"].count("เรื่องที่มอบหมายให้ท่าน: 1") == 1
    mailbox.clear()

    response = followup(mail_app.test_client(), submitted.token, "ข้อความเพิ่ม MARKER-FOLLOW")
    assert response.status_code in (200, 303)
    mailbox.forbid("MARKER-FOLLOW")
    run(mail_app)
    assert recipients(mailbox.received) == ["somchai@example.go.th"]
    assert "ข้อความใหม่จากประชาชนในเรื่องที่แจ้งไว้: 1" in mailbox.received[0].parts()["text/plain"]


def test_a_case_an_officer_records_tells_nobody(mail_app: Flask, mailbox: Any) -> None:
    """A phone call written down by an officer has been seen: it sets no "needs attention" mark (the case
    loop) and sends no mail; the citizen's own follow-up on it later does."""
    with world(mail_app) as (session, factory):
        somchai = officer_with_mail(factory, "somchai", ("question",))
        officer_with_mail(factory, "somsri", ("question",))
        recorded = cases.submit(
            session,
            channel=Channel.QUESTION,
            body=bodies.QuestionBody(details="ถามทางโทรศัพท์"),
            contact=None,
            files=[],
            store=mail_app.extensions["intake.store"],
            source=Source.PHONE,
            officer=somchai,
        )
        assert not recorded.case.needs_attention
    assert run(mail_app).mails == 0 and outbox(mail_app) == []
    assert followup(mail_app.test_client(), recorded.token, "ขอถามเพิ่ม").status_code in (200, 303)
    run(mail_app)
    assert recipients(mailbox.received) == ["somchai@example.go.th", "somsri@example.go.th"]


def test_the_notice_is_written_in_the_events_transaction(
    mail_app: Flask, mailbox: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The notice is flushed with the case and rolled back with it when the case's commit fails (as when
    its files cannot be stored); committed with it otherwise."""
    with world(mail_app) as (session, factory):
        officer_with_mail(factory, "pr", ("feedback",))
        seen: list[int] = []

        def broken_commit(*_args: Any, **_kwargs: Any) -> None:
            session.flush()
            seen.append(len(session.scalars(select(Notice)).all()))
            raise RuntimeError("the store went away")

        with monkeypatch.context() as patch:
            patch.setattr(cases, "_commit_with_files", broken_commit)
            with pytest.raises(RuntimeError):
                factory.case("feedback", "x")
        session.rollback()
        assert seen == [1]
        assert session.scalars(select(Case)).all() == []
        assert session.scalars(select(Notice)).all() == []
        submitted = factory.case("feedback", "ok")
        notice = session.scalars(select(Notice)).one()
        assert notice.case_id == submitted.case.id and notice.created_at == notice.due_at


def test_no_mail_server_writes_no_notices(app: Flask) -> None:
    with world(app) as (session, factory):
        officer_with_mail(factory, "pr", ("feedback",))
        factory.case("feedback", "x")
        assert session.scalars(select(Notice)).all() == []


def test_a_digest_officer_gets_one_mail_at_the_digest_hour(mail_app: Flask, mailbox: Any) -> None:
    with world(mail_app) as (session, factory):
        officer_with_mail(factory, "daily", ("feedback",), mode=NotifyMode.DIGEST)
        officer_with_mail(factory, "now", ("feedback",))
        for n in range(2):
            factory.case("feedback", f"x{n}")
        hour = notices.digest_hour(session)
    due = {n.officer_id: n.due_at for n in outbox(mail_app)}
    digest_at = max(due.values())
    assert dates.local(digest_at).hour == hour and dates.local(digest_at).minute == 0
    assert timedelta(0) < digest_at - dates.now() <= timedelta(days=1)
    run(mail_app)
    assert recipients(mailbox.received) == ["now@example.go.th"]
    run(mail_app, digest_at - timedelta(seconds=1))
    assert len(mailbox.received) == 1
    run(mail_app, digest_at)
    daily = mailbox.to("daily@example.go.th")
    assert len(daily) == 1
    assert daily[0].message["Subject"] == "สรุปประจำวัน: มี 2 รายการรอดำเนินการ"
    assert "เรื่องใหม่: 2" in daily[0].parts()["text/plain"]


def test_changing_to_immediate_sends_what_waits_for_the_digest(mail_app: Flask, mailbox: Any) -> None:
    with world(mail_app) as (session, factory):
        officer = officer_with_mail(factory, "daily", ("feedback",), mode=NotifyMode.DIGEST)
        factory.case("feedback", "x")
        run(mail_app)
        assert mailbox.received == []
        notices.set_preferences(session, officer, officer.email, NotifyMode.IMMEDIATE, by=factory.admin())
        session.commit()
    run(mail_app)
    assert recipients(mailbox.received) == ["daily@example.go.th"]


def test_a_notice_for_someone_who_lost_the_channel_is_dropped(mail_app: Flask, mailbox: Any) -> None:
    with world(mail_app) as (session, factory):
        officer = officer_with_mail(factory, "pr", ("feedback",))
        factory.case("feedback", "x")
        officer.email = None
        session.commit()
    summary = run(mail_app)
    assert summary.dropped == 1 and mailbox.received == []
    (notice,) = outbox(mail_app)
    assert notice.state == NoticeState.DROPPED and notice.last_error == "no address"


def test_administrators_topics_carry_facts_that_cannot_hold_text(mail_app: Flask, mailbox: Any) -> None:
    with world(mail_app) as (session, factory):
        admin_with_mail(factory)
        with pytest.raises(ValueError):
            notices.tell_administrators(session, "storage.low", {"free_mb": "ถนน พัง"})
        with pytest.raises(ValueError):
            notices.tell_administrators(session, "no.such.topic", {})
        assert notices.tell_administrators(session, "storage.low", {"free_mb": 120, "floor_mb": 500}) == 1
        session.commit()
    run(mail_app)
    (mail,) = mailbox.received
    assert mail.message["Subject"] == "พื้นที่จัดเก็บใกล้เต็ม"
    assert "พื้นที่ว่าง (MB): 120" in mail.parts()["text/plain"]


def test_queue_counts_in_a_mail_are_the_officers_own(mail_app: Flask) -> None:
    with world(mail_app) as (session, factory):
        pr = officer_with_mail(factory, "pr", ("feedback",))
        factory.case("feedback", "x")
        factory.case("corruption", "y")
        assert notices.queue_counts(session, pr, dates.now()) == {"unacknowledged": 1, "overdue": 0}
        db.session().rollback()


def test_notices_for_a_revoked_channel_or_a_deactivated_officer_are_dropped(
    mail_app: Flask, mailbox: Any
) -> None:
    """Checked again at sending time: what was true when the notice was written may not be any more."""
    with world(mail_app) as (session, factory):
        revoked = officer_with_mail(factory, "revoked", ("feedback",))
        gone = officer_with_mail(factory, "gone", ("feedback",))
        officer_with_mail(factory, "stays", ("feedback",))
        factory.case("feedback", "x")
        keyring.revoke(session, revoked, "feedback")
        gone.active = False
        session.commit()
    summary = run(mail_app)
    assert (summary.mails, summary.dropped) == (1, 2)
    assert recipients(mailbox.received) == ["stays@example.go.th"]
    reasons = sorted(n.last_error or "" for n in outbox(mail_app) if n.state == NoticeState.DROPPED)
    assert reasons == ["account deactivated", "channel no longer held"]


def test_administrators_hear_once_a_day_that_storage_is_low(make_app: Any, mailbox: Any) -> None:
    """Below INTAKE_STORAGE_MIN_FREE_MB new files are refused: every administrator with an address is
    told by the worker's scan, once a Bangkok day while it lasts."""
    app = make_app(**mailbox.config(), STORAGE_MIN_FREE_MB=10**9)
    with world(app) as (_s, factory):
        admin_with_mail(factory)
        officer_with_mail(factory, "pr", ("feedback",))
    run(app)
    run(app)
    (mail,) = mailbox.received
    assert mail.to == "admin@example.go.th" and mail.message["Subject"] == "พื้นที่จัดเก็บใกล้เต็ม"
    assert "ขั้นต่ำ (MB): 1000000000" in mail.parts()["text/plain"]
    run(app, dates.now() + timedelta(days=1))
    assert len(mailbox.received) == 2


def test_a_digest_does_not_count_what_an_officer_has_opened_since(mail_app: Flask, mailbox: Any) -> None:
    """The queue's "needs attention" mark is what a notice points to: once an officer of the channel has
    opened the case, a notice still waiting for the digest is dropped."""
    with world(mail_app) as (session, factory):
        officer_with_mail(factory, "daily", ("feedback",), mode=NotifyMode.DIGEST)
        opened = factory.case("feedback", "opened").case
        factory.case("feedback", "not opened")
        opened.needs_attention = False  # what cases.open_for_officer does
        session.commit()
    digest_at = max(n.due_at for n in outbox(mail_app))
    summary = run(mail_app, digest_at)
    assert (summary.mails, summary.dropped) == (1, 1)
    assert "เรื่องใหม่: 1" in mailbox.received[0].parts()["text/plain"]
