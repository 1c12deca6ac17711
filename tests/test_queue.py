"""The triage queue: filters, counts, order, pages; deadlines across Bangkok midnight; offline intake."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select

from intake import cases, dates, keyring
from intake.models import Case, Source, Status
from intake.officer import queue

from .conftest import ADMIN, PASSWORD
from .factories import LEGAL
from .officer_helpers import OfficerActions, audit_actions, world

BKK_2359 = datetime(2026, 3, 9, 16, 59, tzinfo=UTC)  # 9 Mar 2026 23:59 Bangkok
BKK_0001 = datetime(2026, 3, 9, 17, 1, tzinfo=UTC)  # 10 Mar 2026 00:01 Bangkok


def _ids(page: str) -> list[int]:
    return [int(n) for n in re.findall(r'href="/officer/cases/(\d+)"', page)]


def test_deadlines_follow_the_bangkok_calendar_day(app: Flask) -> None:
    with world(app) as (_s, factory):
        late = factory.case("feedback", received_at=BKK_2359).case
        early = factory.case("feedback", received_at=BKK_0001).case
        # 2 minutes apart, but on two Bangkok days: deadlines one day apart, at Bangkok midnight.
        assert dates.local(late.ack_due_at).isoformat() == "2026-03-17T00:00:00+07:00"
        assert dates.local(early.ack_due_at).isoformat() == "2026-03-18T00:00:00+07:00"
        assert dates.local(late.answer_due_at).isoformat() == "2026-03-25T00:00:00+07:00"
        assert dates.local(early.answer_due_at).isoformat() == "2026-03-26T00:00:00+07:00"
        just_before = late.ack_due_at - timedelta(seconds=1)
        assert queue.overdue_kinds(late, just_before) == []
        assert queue.overdue_kinds(late, late.ack_due_at + timedelta(seconds=1)) == ["acknowledge"]
        assert queue.overdue_kinds(early, late.ack_due_at + timedelta(seconds=1)) == []
        assert queue.overdue_kinds(late, late.answer_due_at + timedelta(seconds=1)) == [
            "acknowledge",
            "answer",
        ]


def test_overdue_filter_and_clause_agree_across_midnight(app: Flask) -> None:
    with world(app) as (s, factory):
        late = factory.case("feedback", received_at=BKK_2359).case
        early = factory.case("feedback", received_at=BKK_0001).case
        at = late.ack_due_at + timedelta(minutes=1)  # 17 Mar 00:01 Bangkok
        page = queue.fetch(s, queue.QueueFilter(overdue=True), {"feedback"}, 0, at)
        assert [c.id for c in page.cases] == [late.id]
        admin = factory.admin()
        keys = cases.officer_keys(s, admin, keyring.unlock(admin, PASSWORD), late)
        cases.acknowledge(s, late, admin, keys)
        s.commit()
        assert queue.fetch(s, queue.QueueFilter(overdue=True), {"feedback"}, 0, at).cases == []
        after = early.answer_due_at + timedelta(minutes=1)
        assert {
            c.id for c in queue.fetch(s, queue.QueueFilter(overdue=True), {"feedback"}, 0, after).cases
        } == {
            late.id,
            early.id,
        }


def test_overdue_stands_out_with_text_not_colour_only(app: Flask, client: FlaskClient) -> None:
    with world(app) as (_s, factory):
        old = factory.case("feedback", received_at=dates.now() - timedelta(days=30)).case.id
        fresh = factory.case("feedback").case.id
    OfficerActions(client).login(ADMIN, PASSWORD)
    page = client.get("/officer/queue").get_data(as_text=True)
    classes = {int(i): c for c, i in re.findall(r'<tr class="case-row([^"]*)" data-case-id="(\d+)"', page)}
    assert "overdue" in classes[old] and "overdue" not in classes[fresh]
    assert page.count('class="overdue-flag"') == 2  # acknowledge and answer: in words, not colour only
    case_page = client.get(f"/officer/cases/{old}").get_data(as_text=True)
    assert 'class="overdue"' in case_page


def test_filters_counts_and_sorting(app: Flask, client: FlaskClient) -> None:
    base = dates.now() - timedelta(days=3)
    with world(app) as (s, factory):
        a = factory.case("feedback", received_at=base).case.id
        b = factory.case("question", received_at=base + timedelta(hours=1), source=Source.PHONE).case.id
        c = factory.case("corruption", received_at=base + timedelta(hours=2)).case.id
        admin = factory.legal()  # holds corruption too (the administrator does not)
        case_b = s.get(Case, b)
        assert case_b is not None
        keys = cases.officer_keys(s, admin, keyring.unlock(admin, PASSWORD), case_b)
        cases.change_status(s, case_b, admin, keys, cases.Status.RESOLVED)
        case_c = s.get(Case, c)
        assert case_c is not None
        cases.assign(s, case_c, admin, admin)
        s.commit()
    OfficerActions(client).login(LEGAL, PASSWORD)
    get = lambda q: client.get(f"/officer/queue{q}").get_data(as_text=True)  # noqa: E731
    # Newest first on request; the default order (nearest deadline) is tested in test_queue_attention.py.
    new = lambda q: get(f"{q}{'&' if '?' in q else '?'}sort=received")  # noqa: E731
    assert _ids(new("")) == [c, a]  # the default view is the open cases: triage
    assert _ids(new("?status=all")) == [c, b, a]
    assert _ids(get("?status=all&sort=received_asc")) == [a, b, c]
    assert _ids(get("?channel=question&status=all")) == [b]
    assert _ids(get("?status=resolved")) == [b]
    assert _ids(new("?status=open")) == [c, a]
    assert _ids(get("?status=all&source=phone")) == [b]
    assert _ids(get("?assignee=me")) == [c]
    assert _ids(new("?status=all&assignee=none")) == [b, a]
    # lenient: unknown values are the defaults (every status, the default order)
    assert _ids(get("?status=bogus&source=bogus&sort=bogus&page=x")) == _ids(get("?status=all"))
    page = get("?channel=feedback")
    assert re.search(r'data-status="new">[^<]*<strong>1</strong>', page)
    counts = get("")
    assert re.search(r'data-status="new">[^<]*<strong>2</strong>', counts)
    assert re.search(r'data-status="resolved">[^<]*<strong>1</strong>', counts)


def test_closed_counts_cover_this_fiscal_year_and_lists_stay_whole(app: Flask, client: FlaskClient) -> None:
    """Counts of closed cases start at this fiscal year (1 Oct); filtering by status still finds them all."""
    start = dates.fiscal_year_bounds(dates.fiscal_year_of(dates.now()))[0]
    with world(app) as (s, factory):
        old = factory.case("feedback", received_at=start - timedelta(days=40)).case.id
        new = factory.case("feedback", received_at=start + timedelta(hours=1)).case.id
        admin = factory.admin()
        private = keyring.unlock(admin, PASSWORD)
        for case_id in (old, new):
            case = s.get(Case, case_id)
            assert case is not None
            keys = cases.officer_keys(s, admin, private, case)
            cases.change_status(s, case, admin, keys, cases.Status.RESOLVED)
        s.commit()
    OfficerActions(client).login(ADMIN, PASSWORD)
    page = client.get("/officer/queue?status=resolved&sort=received").get_data(as_text=True)
    assert re.search(r'data-status="resolved">[^<]*<strong>1</strong>', page)  # this fiscal year's only
    assert _ids(page) == [new, old]  # but the list holds every resolved case
    assert _ids(client.get("/officer/queue").get_data(as_text=True)) == []


def test_pagination_is_stable_and_complete(app: Flask) -> None:
    when = dates.now() - timedelta(days=1)
    with world(app) as (s, factory):
        made = [
            factory.case("feedback", f"n{i}", received_at=when).case.id for i in range(queue.PAGE_SIZE + 7)
        ]
        first = queue.fetch(s, queue.QueueFilter(page=1), {"feedback"}, 0, dates.now())
        second = queue.fetch(s, queue.QueueFilter(page=2), {"feedback"}, 0, dates.now())
        beyond = queue.fetch(s, queue.QueueFilter(page=99), {"feedback"}, 0, dates.now())
        assert first.pages == 2 and first.total == len(made)
        assert len(first.cases) == queue.PAGE_SIZE and len(second.cases) == 7
        assert sorted(c.id for c in first.cases + second.cases) == sorted(made)
        assert [c.id for c in beyond.cases] == [c.id for c in second.cases]
        by_due = queue.fetch(s, queue.QueueFilter(sort="due", status="open"), {"feedback"}, 0, dates.now())
        assert [c.id for c in by_due.cases] == sorted(made)[: queue.PAGE_SIZE]


def test_no_channels_no_cases(app: Flask) -> None:
    with world(app) as (s, factory):
        factory.case("feedback")
        assert queue.fetch(s, queue.QueueFilter(), set(), 0, dates.now()).cases == []


def _intake(actions: OfficerActions, **data: str) -> tuple[int, str]:
    response = actions.post("/officer/intake", data, follow_redirects=True)  # 303 to the slip
    return response.status_code, response.get_data(as_text=True)


def test_offline_intake_counts_under_its_source_and_received_date(app: Flask, client: FlaskClient) -> None:
    with world(app) as (_s, factory):
        factory.legal()  # a corruption complaint by letter is recorded by the legal unit
    actions = OfficerActions(client)
    actions.login(LEGAL, PASSWORD)
    day = dates.local_date(dates.now()) - timedelta(days=4)
    status, page = _intake(
        actions,
        channel="corruption",
        source="letter",
        received_at=day.isoformat(),
        details="จดหมายร้องเรียน",
        category="procurement",
        contact="ตู้ ปณ. 1",
    )
    assert status == 200
    token = re.search(r'id="case-token">([^<]+)<', page).group(1)  # type: ignore[union-attr]
    assert "จดหมายร้องเรียน" not in page and "ตู้ ปณ. 1" not in page  # the slip carries no content
    assert "/track" in page and str(day.year + 543) in page
    with world(app) as (s, _f):
        found = cases.find_by_token(s, token)
        case = found.case
        assert case.source == "letter" and case.category == "procurement" and case.channel == "corruption"
        assert dates.local_date(case.received_at) == day
        assert dates.local_date(case.ack_due_at) == day + timedelta(days=8)
        counted = s.scalar(
            select(func.count())
            .select_from(Case)
            .where(Case.source == "letter", Case.received_at >= dates.bangkok_midnight(day))
        )
        assert counted == 1
        assert found.case.entries[0].officer_id is not None
    assert [e.target for e in audit_actions(app, "case.intake")] == [str(case.id)]
    assert _ids(client.get("/officer/queue?source=letter").get_data(as_text=True)) == [case.id]


@pytest.mark.parametrize(
    ("received_at", "ok"),
    [
        ("tomorrow", False),
        ("today", True),
        ("2001-01-01", False),
        ("not a date", False),
        ("", False),
    ],
)
def test_offline_intake_checks_the_received_date(
    app: Flask, client: FlaskClient, received_at: str, ok: bool
) -> None:
    today = dates.local_date(dates.now())
    value = {"tomorrow": (today + timedelta(days=1)).isoformat(), "today": today.isoformat()}.get(
        received_at, received_at
    )
    actions = OfficerActions(client)
    actions.login(ADMIN, PASSWORD)
    status, page = _intake(actions, channel="feedback", source="phone", received_at=value, details="โทรมา")
    assert (status == 200 and 'id="case-token"' in page) is ok
    if not ok:
        assert status == 400 and "โทรมา" in page  # what was typed stays in the form


def test_offline_intake_refuses_web_source_and_category_outside_corruption(
    app: Flask, client: FlaskClient
) -> None:
    actions = OfficerActions(client)
    actions.login(ADMIN, PASSWORD)
    today = dates.local_date(dates.now()).isoformat()
    assert _intake(actions, channel="feedback", source="web", received_at=today, details="x")[0] == 400
    bad = _intake(
        actions, channel="feedback", source="box", received_at=today, details="x", category="bribery"
    )
    assert bad[0] == 400


def test_purged_case_is_listed_and_shows_metadata_only(app: Flask, client: FlaskClient) -> None:
    with world(app) as (s, factory):
        case = factory.case("feedback", "เนื้อหาเก่า").case
        case.status, case.closed_at, case.purged_at = Status.RESOLVED, dates.now(), dates.now()
        case.sealed_for_channel = b""
        s.commit()
        case_id = case.id
    OfficerActions(client).login(ADMIN, PASSWORD)
    assert case_id in _ids(client.get("/officer/queue?status=all").get_data(as_text=True))
    page = client.get(f"/officer/cases/{case_id}")
    assert page.status_code == 200 and "เนื้อหาเก่า" not in page.get_data(as_text=True)
