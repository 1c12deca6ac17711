"""Report figures against the known cases of reports_helpers.py, every count worked out by hand."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
from sqlalchemy.orm import Session

from intake import cases, keyring
from intake.models import Channel, Status
from intake.reports import figures, periods
from intake.reports.figures import Counts

from .conftest import PASSWORD
from .factories import Factory
from .reports_helpers import bkk, build_known_cases


def test_periods_are_bangkok_midnights_in_utc() -> None:
    q1 = periods.period(2569, "q1")
    # 1 Oct 2025 00:00 Bangkok is 30 Sep 2025 17:00 UTC.
    assert q1.start == datetime(2025, 9, 30, 17, 0, tzinfo=UTC)
    assert q1.end == datetime(2025, 12, 31, 17, 0, tzinfo=UTC)
    assert [m.first_day.month for m in q1.months] == [10, 11, 12]
    assert periods.period(2569, "q2").start == q1.end
    assert periods.period(2569, "q4").end == datetime(2026, 9, 30, 17, 0, tzinfo=UTC)
    h1 = periods.period("2569", "h1")
    assert (h1.first_day, h1.last_month) == (date(2025, 10, 1), date(2026, 3, 1))
    year = periods.period(2569, "year")
    assert len(year.months) == 12 and year.start == q1.start
    # The last minute of FY 2568 and the first of FY 2569, in Bangkok time and in UTC.
    assert bkk(2025, 9, 30, 23, 59) < year.start <= bkk(2025, 10, 1, 0, 0)
    assert datetime(2025, 9, 30, 16, 59, tzinfo=UTC) < year.start <= datetime(2025, 9, 30, 17, 0, tzinfo=UTC)


@pytest.mark.parametrize(("year", "code"), [("25x9", "q1"), (2569, "q5"), (1999, "q1"), (2569, "")])
def test_bad_periods_are_refused(year: object, code: str) -> None:
    with pytest.raises(periods.PeriodInvalid):
        periods.period(year, code)  # type: ignore[arg-type]


def test_quarter_one_by_hand(factory: Factory, session: Session) -> None:
    build_known_cases(factory, session)
    report = figures.compute(session, periods.period(2569, "q1"))
    # corruption: A (new) and G (in progress at 1 Oct) carried over; F was closed before: not carried.
    # D received (10 Nov) and referred. At the end: A pending, D referred, G dismissed (15 Oct).
    assert report.by_channel["corruption"] == Counts(carried_over=2, received=1, pending=1, referred=1,
                                                     dismissed=1)
    # feedback: B (1 Oct 00:00, the first minute) and E (offline, 15 Dec) received; both pending at the end
    # (E's handling began in January, after the quarter).
    assert report.by_channel["feedback"] == Counts(received=2, pending=2)
    # question: C received 20 Dec, answered 22 Dec, resolved 5 Jan: still open (pending) at the end of Q1.
    assert report.by_channel["question"] == Counts(received=1, pending=1)
    total = report.total
    assert (total.carried_over, total.received, total.closed) == (2, 4, 1)
    assert total.total == total.open + total.referred + total.resolved + total.dismissed
    # By source: web = A, G carried; B, C received; phone = D; letter = E.
    assert report.by_source["web"] == Counts(carried_over=2, received=2, pending=3, dismissed=1)
    assert report.by_source["phone"] == Counts(received=1, referred=1)
    assert report.by_source["letter"] == Counts(received=1, pending=1)
    assert report.by_source["line"] == Counts()
    # Corruption by category.
    assert report.by_category["bribery"] == Counts(carried_over=1, pending=1)
    assert report.by_category["procurement"] == Counts(received=1, referred=1)
    assert report.by_category["abuse_of_position"] == Counts(carried_over=1, dismissed=1)
    assert report.by_category["other"] == Counts()


def test_quarter_one_timeliness_and_months(factory: Factory, session: Session) -> None:
    build_known_cases(factory, session)
    report = figures.compute(session, periods.period(2569, "q1"))
    t = report.timeliness
    # Received in Q1: B, C, D, E. Acknowledged within 7 days: B (1.5 d), C (2 d), D (1 d); E was late.
    assert (t["all"].received, t["all"].ack_on_time, t["all"].answered_on_time) == (4, 3, 1)
    assert (t["feedback"].received, t["feedback"].ack_on_time, t["feedback"].answered_on_time) == (2, 1, 0)
    assert (t["question"].ack_on_time, t["question"].answered_on_time) == (1, 1)
    assert t["all"].ack_share == pytest.approx(0.75)
    # Acknowledged within Q1: D 1.0, B 1.5, C 2.0 days -> median 1.5. Closed within Q1: G in 106 days.
    assert (t["corruption"].median_ack_days, t["feedback"].median_ack_days) == (1.0, 1.5)
    assert (t["question"].median_ack_days, t["all"].median_ack_days) == (2.0, 1.5)
    assert (t["corruption"].median_close_days, t["all"].median_close_days) == (106.0, 106.0)
    assert t["feedback"].median_close_days is None
    # Months: received Oct B, Nov D, Dec C and E; closed Oct G.
    months = {m.month.month: m for m in report.months}
    assert [m.month for m in report.months] == [date(2025, 10, 1), date(2025, 11, 1), date(2025, 12, 1)]
    assert months[10].received == {"corruption": 0, "feedback": 1, "question": 0}
    assert months[11].received == {"corruption": 1, "feedback": 0, "question": 0}
    assert months[12].received == {"corruption": 0, "feedback": 1, "question": 1}
    assert months[10].closed == {"corruption": 1, "feedback": 0, "question": 0}
    assert sum(m.closed_total for m in report.months) == 1


def test_quarter_two_carries_over_and_closes(factory: Factory, session: Session) -> None:
    build_known_cases(factory, session)
    report = figures.compute(session, periods.period(2569, "q2"))
    # Nothing received in Q2; carried over: A, D (corruption), B, E (feedback), C (question).
    assert report.empty and report.total.received == 0
    assert report.by_channel["corruption"] == Counts(carried_over=2, pending=1, referred=1)
    assert report.by_channel["feedback"] == Counts(carried_over=2, pending=1, in_progress=1)
    # C, received in Q1, closed in Q2.
    assert report.by_channel["question"] == Counts(carried_over=1, resolved=1)
    t = report.timeliness
    assert t["all"].received == 0 and t["all"].ack_share is None
    # Acknowledged within Q2: E after 28 days. Closed within Q2: C after 16 days 2 hours.
    assert (t["feedback"].median_ack_days, t["all"].median_ack_days) == (28.0, 28.0)
    assert (t["question"].median_close_days, t["all"].median_close_days) == (16.1, 16.1)
    assert report.months[0].closed == {"corruption": 0, "feedback": 0, "question": 1}


def test_six_months_and_year(factory: Factory, session: Session) -> None:
    build_known_cases(factory, session)
    for code in ("h1", "year"):
        report = figures.compute(session, periods.period(2569, code))
        # Carried into FY 2569: A, G. Received: B, C, D, E. Closed within: G (Oct), C (Jan).
        assert report.by_channel["corruption"] == Counts(carried_over=2, received=1, pending=1, referred=1,
                                                         dismissed=1)
        assert report.by_channel["feedback"] == Counts(received=2, pending=1, in_progress=1)
        assert report.by_channel["question"] == Counts(received=1, resolved=1)
        assert report.total.closed == 2
        assert report.timeliness["all"].median_close_days == pytest.approx((16.1 + 106.0) / 2, abs=0.051)


def test_last_minute_of_the_fiscal_year_stays_in_it(factory: Factory, session: Session) -> None:
    build_known_cases(factory, session)
    report = figures.compute(session, periods.period(2568, "q4"))
    # Jul-Sep 2025: G (1 Jul), F (15 Aug), A (30 Sep 23:59) received; B (1 Oct 00:00) is not.
    assert report.by_channel["corruption"] == Counts(received=3, pending=1, in_progress=1, resolved=1)
    assert report.by_channel["feedback"] == Counts()
    assert report.empty_channels == ["feedback", "question"]
    assert [m.received_total for m in report.months] == [1, 1, 1]


def test_empty_period(factory: Factory, session: Session) -> None:
    build_known_cases(factory, session)
    report = figures.compute(session, periods.period(2566, "year"))
    assert report.empty and report.total == Counts()
    assert report.timeliness["all"].median_ack_days is None
    assert all(m.received_total == 0 and m.closed_total == 0 for m in report.months)


def test_reopened_case_counts_by_history(factory: Factory, session: Session) -> None:
    """A case resolved in Q1 and reopened in Q2 was closed at the end of Q1 and is open at the end of Q2."""
    admin = factory.legal()  # holds every channel, corruption included
    case = factory.case(Channel.FEEDBACK, received_at=bkk(2025, 10, 5)).case
    keys = cases.officer_keys(session, admin, keyring.unlock(admin, PASSWORD), case)
    cases.change_status(session, case, admin, keys, Status.RESOLVED, at=bkk(2025, 10, 6))
    cases.change_status(session, case, admin, keys, Status.IN_PROGRESS, at=bkk(2026, 2, 1))
    session.commit()
    assert figures.compute(session, periods.period(2569, "q1")).by_channel["feedback"] == Counts(
        received=1, resolved=1
    )
    # Closed at the start of Q2, so not carried over into it (the reopening is not a new receipt).
    assert figures.compute(session, periods.period(2569, "q2")).by_channel["feedback"] == Counts()


def test_on_time_shares_count_only_cases_already_due(factory: Factory, session: Session) -> None:
    """A running quarter, as of 20 Nov 2026 noon: of 4 corruption complaints, 2 are past their deadlines
    (1 acknowledged and answered on time, 1 never) and 2 are not yet due. On time: 1 of 2 due = 50 %,
    not 1 of 4 = 25 %; the 2 not yet due are counted beside it."""
    from intake import cases, keyring
    from intake.models import Channel, Status

    from .conftest import PASSWORD

    admin = factory.legal()  # corruption cases: the legal unit (the administrator lacks it)
    private = keyring.unlock(admin, PASSWORD)
    made = {}
    for name, received in (("on_time", bkk(2026, 10, 1)), ("late", bkk(2026, 10, 2)),
                           ("fresh", bkk(2026, 11, 18)), ("fresher", bkk(2026, 11, 19))):  # fmt: skip
        made[name] = factory.case(Channel.CORRUPTION, received_at=received).case
    keys = cases.officer_keys(session, admin, private, made["on_time"])
    cases.change_status(session, made["on_time"], admin, keys, Status.ACKNOWLEDGED, at=bkk(2026, 10, 3))
    cases.reply(session, made["on_time"], admin, keys, "คำตอบ", at=bkk(2026, 10, 10))
    session.commit()
    q1 = periods.period(2570, "q1")
    t = figures.compute(session, q1, bkk(2026, 11, 20)).timeliness["corruption"]
    assert (t.received, t.ack_due, t.ack_on_time, t.ack_not_due) == (4, 2, 1, 2)
    assert (t.answer_due, t.answered_on_time, t.answer_not_due) == (2, 1, 2)
    assert t.ack_share == pytest.approx(0.5) and t.answered_share == pytest.approx(0.5)
    assert t.ack_on_time / t.received == pytest.approx(0.25)  # what the report used to print
    # Once every deadline has passed, all four are due and the unanswered ones count as late.
    later = figures.compute(session, q1, bkk(2027, 1, 10)).timeliness["corruption"]
    assert (later.ack_due, later.ack_on_time, later.ack_not_due, later.ack_share) == (4, 1, 0, 0.25)
    # Nothing due yet (as of the second day): no share at all rather than 0 %.
    early = figures.compute(session, q1, bkk(2026, 10, 2, 13)).timeliness["corruption"]
    assert (early.ack_due, early.ack_not_due, early.ack_share) == (0, 4, None)
    assert figures.compute(session, q1, bkk(2026, 11, 20)).timeliness["all"].ack_share == pytest.approx(0.5)
