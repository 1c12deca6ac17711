"""Duplicates: an officer joins a copy with its original; the citizen sees a neutral status; every figure
counts the pair once; the report says how many were set aside (issue 11 item 4)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from intake import cases, dates, keyring
from intake.models import AuditEntry, Case, Status
from intake.reports import exports, figures, periods

from .citizen_helpers import status_of, track
from .conftest import ADMIN, PASSWORD
from .i18n_helpers import thai
from .officer_helpers import OfficerActions, audit_actions, world


def _two(app: Flask, channel: str = "feedback", other: str | None = None) -> tuple[int, int, str]:
    """An original and a copy received a minute apart (the copy's token returned)."""
    when = dates.now() - timedelta(days=2)
    with world(app) as (_s, factory):
        original = factory.case(channel, "ไฟถนนดับ", received_at=when).case.id
        copy = factory.case(other or channel, "ไฟถนนดับ (ส่งซ้ำ)", received_at=when + timedelta(minutes=1))
    return original, copy.case.id, copy.token


def _mark(client: FlaskClient, actions: OfficerActions, copy: int, original: str) -> tuple[int, str]:
    url = f"/officer/cases/{copy}"
    response = actions.post(f"{url}/duplicate", {"duplicate_of": original}, form_url=url)
    return response.status_code, response.get_data(as_text=True)


def test_a_copy_is_closed_as_a_duplicate_and_its_citizen_sees_a_neutral_status(
    app: Flask, client: FlaskClient
) -> None:
    original, copy, token = _two(app)
    actions = OfficerActions(client)
    actions.login(ADMIN, PASSWORD)
    assert _mark(client, actions, copy, f"#{original}")[0] == 303
    with world(app) as (s, _f):
        case = s.get(Case, copy)
        assert case is not None and case.duplicate_of_id == original and case.status == "dismissed"
        assert case.is_closed and case.closed_at is not None
    (entry,) = audit_actions(app, "case.duplicate")
    assert entry.target == str(copy) and entry.detail == f"of={original}; moved=0"
    page = client.get(f"/officer/cases/{copy}").get_data(as_text=True)
    assert f'href="/officer/cases/{original}"' in page and 'id="duplicate-of-note"' in page
    assert 'id="duplicate-form"' not in page  # joined already: no second form
    assert f'href="/officer/cases/{copy}"' in client.get(f"/officer/cases/{original}").get_data(as_text=True)

    citizen = track(app.test_client(), token)
    assert status_of(citizen) == ("dismissed", thai("Joined with another case"))
    text = citizen.get_data(as_text=True)
    assert 'data-outcome="duplicate"' in text and "ไฟถนนดับ (ส่งซ้ำ)" in text
    assert f"#{original}" not in text and "ไฟถนนดับ<" not in text  # nothing of the other case
    assert 'name="rating"' not in text  # a joined case is not asked for its satisfaction


@pytest.mark.parametrize(
    ("target", "why"),
    [("self", "itself"), ("other_channel", "no case"), ("missing", "no case"), ("junk", "number")],
)
def test_a_duplicate_must_be_of_another_case_of_the_same_channel(
    app: Flask, client: FlaskClient, target: str, why: str
) -> None:
    original, copy, _token = _two(app, "feedback", "feedback")
    with world(app) as (_s, factory):
        elsewhere = factory.case("question", "คำถาม").case.id
    value = {"self": str(copy), "other_channel": str(elsewhere), "missing": "999999", "junk": "สิบ"}[target]
    actions = OfficerActions(client)
    actions.login(ADMIN, PASSWORD)
    status, page = _mark(client, actions, copy, value)
    assert status == 400
    messages = {
        "itself": "A case cannot be a duplicate of itself (or of a case already joined with it).",
        "no case": "There is no case with that number in this channel.",
        "number": "Write the case number, for example 125.",
    }
    assert thai(messages[why]) in page
    with world(app) as (s, _f):
        case = s.get(Case, copy)
        assert case is not None and case.duplicate_of_id is None and case.status == "new"


def test_joining_a_case_that_has_duplicates_moves_them_and_a_status_change_undoes_it(app: Flask) -> None:
    original, copy, _token = _two(app)
    with world(app) as (s, factory):
        third = factory.case("feedback", "ครั้งที่สาม").case
        admin = factory.admin()
        private = keyring.unlock(admin, PASSWORD)
        c = s.get(Case, copy)
        o = s.get(Case, original)
        assert c is not None and o is not None
        cases.mark_duplicate(s, c, admin, cases.officer_keys(s, admin, private, c), original)
        # The original turns out to repeat a third case: the copy follows it there.
        cases.mark_duplicate(s, o, admin, cases.officer_keys(s, admin, private, o), third.id)
        s.commit()
        assert c.duplicate_of_id == third.id and o.duplicate_of_id == third.id
        with pytest.raises(cases.DuplicateRefused):  # the third is the root: it cannot join its own copies
            cases.mark_duplicate(s, third, admin, cases.officer_keys(s, admin, private, third), copy)
        cases.change_status(s, c, admin, cases.officer_keys(s, admin, private, c), Status.IN_PROGRESS)
        s.commit()
        assert c.duplicate_of_id is None and c.status == "in_progress"
        detail = s.scalars(select(AuditEntry.detail).where(AuditEntry.action == "case.status")).all()
        assert detail[-1] == f"status=in_progress; note=-; unjoined={third.id}"


def test_every_figure_counts_the_pair_once_and_the_report_says_how_many_were_set_aside(app: Flask) -> None:
    now = dates.now()
    p = periods.period(dates.fiscal_year_of(now), "year")
    original, copy, _token = _two(app)
    with world(app) as (s, _f):
        before = figures.compute(s, p, now)
        stats_before = figures.channel_counts(s, p)  # what /stats publishes per period
    assert before.by_channel["feedback"].received == 2 and before.duplicates_total == 0
    with world(app) as (s, factory):
        admin = factory.admin()
        c = s.get(Case, copy)
        assert c is not None
        keys = cases.officer_keys(s, admin, keyring.unlock(admin, PASSWORD), c)
        cases.mark_duplicate(s, c, admin, keys, original)
        s.commit()
        after = figures.compute(s, p, now + timedelta(days=30))
        stats_after = figures.channel_counts(s, p)
        csv_long = exports.render(s, p, "csv-long", as_of=now).data.decode()
        csv_doc = exports.render(s, p, "csv", as_of=now).data.decode("utf-8-sig")
    feedback = after.by_channel["feedback"]
    assert feedback.received == 1 and feedback.dismissed == 0 and feedback.closed == 0  # counted once
    assert after.timeliness["feedback"].received == 1 and after.timeliness["all"].ack_due == 1
    assert sum(m.received["feedback"] for m in after.months) == 1
    assert after.duplicates == {"corruption": 0, "feedback": 1, "question": 0}
    assert stats_before["feedback"].received == 2
    assert stats_after["feedback"].received == 1 and stats_after["feedback"].closed == 0
    assert f"{p.slug},feedback,all,duplicates_set_aside,1" in csv_long
    assert f"{p.slug},all,all,duplicates_set_aside,1" in csv_long
    assert "เรื่องซ้ำที่ไม่นับแยก: มี 1 เรื่อง" in csv_doc  # said in words in every format
