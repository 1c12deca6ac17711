"""Nothing waits unseen: "needs attention" marks and filter, nearest deadline first, decrypted subjects
for the channel's officers, the queue view on the record (issue 11 item 5)."""

from __future__ import annotations

import re
from datetime import timedelta

from flask import Flask
from flask.testing import FlaskClient

from intake import bodies, cases, dates, keyring, storage
from intake.models import Case
from intake.officer import queue

from .citizen_helpers import followup, submit_ok
from .conftest import ADMIN, PASSWORD
from .factories import PNG_1PX
from .officer_helpers import OfficerActions, audit_actions, world

PR = ("pr", "officer password 1")


def _rows(page: str) -> list[tuple[int, str]]:
    return [(int(i), c) for c, i in re.findall(r'<tr class="case-row([^"]*)" data-case-id="(\d+)"', page)]


def _ids(page: str) -> list[int]:
    return [i for i, _c in _rows(page)]


def _marked(page: str) -> set[int]:
    return {i for i, classes in _rows(page) if "attention" in classes}


def test_new_cases_and_followups_are_marked_until_an_officer_of_the_channel_opens_them(
    app: Flask, client: FlaskClient
) -> None:
    citizen = app.test_client()
    token = submit_ok(citizen, "feedback")
    with world(app) as (s, factory):
        case_id = s.query(Case).one().id
        factory.officer(PR[0], PR[1], channels=("feedback", "question"))
    actions = OfficerActions(client)
    actions.login(*PR)
    page = client.get("/officer/queue").get_data(as_text=True)
    assert _marked(page) == {case_id} and 'id="attention-count"' in page
    assert _ids(client.get("/officer/queue?attention=1").get_data(as_text=True)) == [case_id]
    client.get(f"/officer/cases/{case_id}")  # opened: seen
    page = client.get("/officer/queue").get_data(as_text=True)
    assert _marked(page) == set() and 'id="attention-count"' not in page
    assert _ids(client.get("/officer/queue?attention=1").get_data(as_text=True)) == []
    followup(citizen, token, "มีหลักฐานใหม่", files=[(PNG_1PX, "ใหม่.png")])  # new evidence: marked again
    assert _marked(client.get("/officer/queue").get_data(as_text=True)) == {case_id}
    admin = app.test_client()
    OfficerActions(admin).login(ADMIN, PASSWORD)  # any officer of the channel opening it clears the mark
    admin.get(f"/officer/cases/{case_id}")
    assert _marked(client.get("/officer/queue").get_data(as_text=True)) == set()


def test_an_offline_case_is_seen_by_the_officer_who_recorded_it(app: Flask) -> None:
    with world(app) as (s, factory):
        admin = factory.admin()
        made = cases.submit(
            s, channel=cases.Channel.QUESTION, body=bodies.QuestionBody("โทรมาถาม"), contact=None, files=[],
            store=storage.current(), source=cases.Source.PHONE, officer=admin,
        )
        assert not made.case.needs_attention


def test_the_queue_opens_on_the_nearest_deadline_with_overdue_cases_first(app: Flask) -> None:
    now = dates.now()
    with world(app) as (s, factory):
        fresh = factory.case("feedback", "ใหม่", received_at=now - timedelta(hours=1)).case
        late = factory.case("feedback", "เกินกำหนด", received_at=now - timedelta(days=20)).case
        acked = factory.case("feedback", "ตอบรับแล้ว", received_at=now - timedelta(days=5)).case
        answered = factory.case("feedback", "ตอบแล้ว", received_at=now - timedelta(days=3)).case
        admin = factory.admin()
        private = keyring.unlock(admin, PASSWORD)
        cases.acknowledge(s, acked, admin, cases.officer_keys(s, admin, private, acked))
        cases.reply(s, answered, admin, cases.officer_keys(s, admin, private, answered), "ตอบ")
        s.commit()
        page = queue.fetch(s, queue.QueueFilter.from_args({}), {"feedback"}, admin.id, now)
        # late: acknowledgement overdue; fresh: acknowledge within 7 days; acked: answer within 15 days
        # of 5 days ago; answered: both deadlines met, nothing due: last.
        assert [c.id for c in page.cases] == [late.id, fresh.id, acked.id, answered.id]
        assert queue.QueueFilter.from_args({}).sort == "due"


def test_rows_carry_a_decrypted_subject_for_the_channel_and_the_view_is_on_the_record(
    app: Flask, client: FlaskClient
) -> None:
    long = "ถนนหน้าโรงเรียนมีหลุมลึกมาก รถจักรยานยนต์ล้มไปแล้วสองคัน ขอให้ซ่อมด่วน " * 4
    with world(app) as (_s, factory):
        first = factory.case("feedback", long).case.id
        second = factory.case("corruption", "เรียกรับเงินค่าใบอนุญาต").case.id
        factory.officer(PR[0], PR[1], channels=("feedback", "question"))
    OfficerActions(client).login(*PR)
    page = client.get("/officer/queue").get_data(as_text=True)
    subjects = dict(re.findall(r'data-case-id="(\d+)">.*?<td class="subject">([^<]*)</td>', page, re.S))
    shown = subjects[str(first)]
    assert shown.startswith("ถนนหน้าโรงเรียนมีหลุมลึกมาก") and shown.endswith("…") and len(shown) <= 61
    assert "เรียกรับเงิน" not in page and str(second) not in subjects  # another channel: not even listed
    (view,) = audit_actions(app, "queue.view")
    assert view.actor == "pr" and view.detail.endswith(f"subjects={first}")
    client.get("/officer/queue?attention=1&sort=received")
    details = [e.detail for e in audit_actions(app, "queue.view")]
    assert "attention=1" in details[-1] and "sort=received" in details[-1]
