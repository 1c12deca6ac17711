"""Deadline reminders: on the right Bangkok day, once whichever run finds them, escalated after N days."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

from flask import Flask

from intake import cases, dates, notices, settings
from intake.models import Case, NoticeState

from .notify_helpers import officer_with_mail, outbox, recipients, run
from .officer_helpers import world


def bangkok(day: date, hour: int, minute: int = 0) -> datetime:
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=dates.BANGKOK).astimezone(UTC)


def _kinds(mails: list[Any]) -> list[str]:
    return [m.parts()["text/plain"] for m in mails]


def test_a_seven_day_deadline_across_bangkok_midnight_reminds_on_the_right_day(
    mail_app: Flask, mailbox: Any
) -> None:
    """Two cases, received 23:30 and 00:30 Bangkok time, an hour apart but on two Bangkok days (and on the
    same UTC day): their acknowledgement reminders come a day apart, on the day before each last day,
    from 00:00 Bangkok (17:00 UTC), and each is overdue from the midnight that ends its last day."""
    day = dates.local_date(dates.now()) - timedelta(days=30)
    late, early = bangkok(day, 23, 30), bangkok(day + timedelta(days=1), 0, 30)
    assert late.date() == early.date()  # one UTC day
    with world(mail_app) as (_s, factory):
        a = factory.case("feedback", "late", received_at=late).case
        b = factory.case("feedback", "early", received_at=early).case
        assert dates.local_date(a.ack_due_at) == day + timedelta(days=8)  # 7 days, then the midnight
        officer_with_mail(factory, "pr", ("feedback",))  # after the cases: no "new case" mail
        ids = a.id, b.id

    def remind_at(moment: datetime) -> set[tuple[str, int | None]]:
        run(mail_app, moment)
        return {(n.kind, n.case_id) for n in outbox(mail_app)}

    last_a = day + timedelta(days=7)  # the last day to acknowledge case a
    assert remind_at(bangkok(last_a - timedelta(days=1), 0) - timedelta(seconds=1)) == set()
    assert remind_at(bangkok(last_a - timedelta(days=1), 0)) == {("ack_due", ids[0])}
    assert len(mailbox.received) == 1
    assert "เรื่องที่ต้องตอบรับภายในสิ้นวันพรุ่งนี้: 1" in mailbox.received[0].parts()["text/plain"]
    assert remind_at(bangkok(last_a, 0)) == {("ack_due", ids[0]), ("ack_due", ids[1])}
    assert remind_at(bangkok(last_a, 23, 59)) == {("ack_due", ids[0]), ("ack_due", ids[1])}
    assert remind_at(bangkok(last_a + timedelta(days=1), 0)) == {
        ("ack_due", ids[0]),
        ("ack_due", ids[1]),
        ("ack_overdue", ids[0]),
    }
    assert len(mailbox.received) == 3
    assert "เรื่องที่เลยกำหนดตอบรับแล้ว: 1" in mailbox.received[-1].parts()["text/plain"]


def test_reminders_are_found_once_by_any_number_of_runs(mail_app: Flask, mailbox: Any) -> None:
    received = dates.now() - timedelta(days=20)
    with world(mail_app) as (session, factory):
        factory.case("question", "x", received_at=received)
        officer_with_mail(factory, "q1", ("question",))
        officer_with_mail(factory, "q2", ("question",))
        now = dates.now()
        first = notices.find_reminders(session, now)
        session.commit()
        assert first == 4  # ack overdue and answer overdue, to each of the two
        assert notices.find_reminders(session, now) == 0
        assert notices.find_reminders(session, now + timedelta(hours=5)) == 0
        session.commit()
    run(mail_app)
    run(mail_app)
    assert recipients(mailbox.received) == ["q1@example.go.th", "q2@example.go.th"]
    text = mailbox.received[0].parts()["text/plain"]
    assert "เรื่องที่เลยกำหนดตอบรับแล้ว: 1" in text and "เรื่องที่เลยกำหนดแจ้งผลแล้ว: 1" in text


def test_an_acknowledged_case_is_not_reminded(mail_app: Flask, mailbox: Any) -> None:
    received = dates.now() - timedelta(days=10)
    with world(mail_app) as (session, factory):
        submitted = factory.case("feedback", "x", received_at=received)
        officer_with_mail(factory, "pr", ("feedback",))
        notices.find_reminders(session)
        session.commit()
        case = session.get(Case, submitted.case.id)
        assert case is not None
        case.acknowledged_at = dates.now()  # acknowledged after the reminder was written, before it went
        session.commit()
    summary = run(mail_app, reminders=False)
    assert summary.dropped == 1 and mailbox.received == []
    assert [n.last_error for n in outbox(mail_app)] == ["no longer due"]


def test_escalation_goes_to_the_channels_address_after_n_days(mail_app: Flask, mailbox: Any) -> None:
    """Overdue by more than N days (setting): the channel's escalation address hears, once; other
    channels' addresses do not; a channel without an address escalates nowhere."""
    with world(mail_app) as (session, factory):
        settings.put(session, "escalation_days", "3")
        settings.put(session, "escalation_email.corruption", "palad@example.go.th")
        settings.put(session, "escalation_email.feedback", "deputy@example.go.th")
        session.commit()
        corruption = factory.case("corruption", "MARKER-ESC", received_at=dates.now() - timedelta(days=9))
        factory.case("question", "q", received_at=dates.now() - timedelta(days=30))
        mailbox.forbid("MARKER-ESC", corruption.token)
        due = corruption.case.ack_due_at
    assert run(mail_app, due + timedelta(days=3) - timedelta(seconds=1)).mails == 0
    run(mail_app, due + timedelta(days=3))
    run(mail_app, due + timedelta(days=3, hours=2))
    assert recipients(mailbox.received) == ["palad@example.go.th"]
    mail = mailbox.received[0]
    assert mail.message["Subject"] == "มีเรื่องเลยกำหนดที่ต้องติดตาม"
    assert "เรื่องที่เลยกำหนดเกิน 3 วัน: 1" in mail.parts()["text/plain"]
    assert all(n.state == NoticeState.SENT for n in outbox(mail_app))


def test_reminders_follow_the_assignee(mail_app: Flask, mailbox: Any) -> None:
    with world(mail_app) as (session, factory):
        submitted = factory.case("feedback", "x", received_at=dates.now() - timedelta(days=10))
        a = officer_with_mail(factory, "a", ("feedback",))
        officer_with_mail(factory, "b", ("feedback",))
        case = session.get(Case, submitted.case.id)
        assert case is not None
        cases.assign(session, case, factory.admin(), a)
        session.commit()
    run(mail_app)
    assert recipients(mailbox.received) == ["a@example.go.th"]
