"""Dates the way a Thai clerk types them: BE or CE years in every officer date field, read back in words;
offline intake takes any past date, asking to confirm one before the previous fiscal year (items 8, 9)."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from flask import Flask
from flask.testing import FlaskClient

from intake import dates
from intake.models import Case

from .conftest import ADMIN, PASSWORD
from .factories import LEGAL
from .i18n_helpers import thai
from .officer_helpers import OfficerActions, world


@pytest.mark.parametrize(
    ("typed", "day", "era"),
    [
        ("2569-03-15", date(2026, 3, 15), "be"),
        ("2026-03-15", date(2026, 3, 15), "ce"),
        ("15/3/2569", date(2026, 3, 15), "be"),
        ("15/03/2026", date(2026, 3, 15), "ce"),
        (" ๒๕๖๙-๐๓-๑๕ ", date(2026, 3, 15), "be"),
        ("2400-01-01", date(1857, 1, 1), "be"),
        ("2399-01-01", date(2399, 1, 1), "ce"),
    ],
)
def test_a_typed_date_is_read_with_its_era(typed: str, day: date, era: str) -> None:
    read = dates.parse_typed_date(typed)
    assert (read.day, read.era) == (day, era)


@pytest.mark.parametrize("typed", ["2569-02-30", "15-03-2569", "2569/03/15", "yesterday", "", "2569-3"])
def test_what_is_not_a_date_is_refused(typed: str) -> None:
    with pytest.raises(ValueError):  # noqa: PT011 - the one error the parser raises
        dates.parse_typed_date(typed)


def _intake(client: FlaskClient, actions: OfficerActions, day: str, **extra: str) -> tuple[int, str]:
    data = {"channel": "feedback", "source": "letter", "received_at": day, "details": "จดหมายถึงเทศบาล",
            **extra}
    response = actions.post("/officer/intake", data, follow_redirects=True)
    return response.status_code, response.get_data(as_text=True)


def test_intake_takes_a_buddhist_era_date_says_so_and_shows_it_back(app: Flask, client: FlaskClient) -> None:
    actions = OfficerActions(client)
    actions.login(ADMIN, PASSWORD)
    form = client.get("/officer/intake").get_data(as_text=True)
    assert "2569-03-15" in form and 'type="date"' not in form  # a BE example; a text field, not a picker
    day = dates.local_date(dates.now()) - timedelta(days=3)
    status, slip = _intake(client, actions, f"{day.year + 543}-{day.month:02d}-{day.day:02d}")
    assert status == 200 and 'id="case-token"' in slip
    shown = dates.format_date(day, "th")
    assert thai("Read as %(date)s (the year was taken as Buddhist Era).") % {"date": shown} in slip
    with world(app) as (s, _f):
        assert dates.local_date(s.query(Case).one().received_at) == day


def test_intake_accepts_an_old_date_once_confirmed(app: Flask, client: FlaskClient) -> None:
    actions = OfficerActions(client)
    actions.login(ADMIN, PASSWORD)
    current = dates.fiscal_year_of(dates.now())
    start_previous = dates.local_date(dates.fiscal_year_bounds(current - 1)[0])
    inside = start_previous + timedelta(days=10)  # last fiscal year: no question asked
    assert _intake(client, actions, inside.isoformat())[0] == 200
    old = start_previous - timedelta(days=1)
    status, page = _intake(client, actions, old.isoformat())
    assert status == 400 and 'name="confirm_old_date"' in page and "จดหมายถึงเทศบาล" in page
    assert dates.format_date(start_previous, "th") in page
    status, slip = _intake(client, actions, old.isoformat(), confirm_old_date="y")
    assert status == 200 and 'id="case-token"' in slip
    ancient = "2500-01-01"  # any past date, with the confirmation
    assert _intake(client, actions, ancient, confirm_old_date="y")[0] == 200
    with world(app) as (s, _f):
        assert sorted(dates.local_date(c.received_at) for c in s.query(Case)) == [
            date(1957, 1, 1), old, inside]


def test_referral_date_takes_a_buddhist_era_year(app: Flask, client: FlaskClient) -> None:
    with world(app) as (_s, factory):
        case_id = factory.case("corruption", "เรื่องส่งต่อ").case.id
        factory.legal()  # the corruption channel is the legal unit's
    actions = OfficerActions(client)
    actions.login(LEGAL, PASSWORD)
    url = f"/officer/cases/{case_id}"
    day = dates.local_date(dates.now()) - timedelta(days=1)
    typed = f"{day.day}/{day.month}/{day.year + 543}"
    response = actions.post(f"{url}/refer", {"agency": "nacc", "referred_on": typed}, form_url=url)
    assert response.status_code == 303
    page = client.get(url).get_data(as_text=True)
    assert dates.format_date(day, "th") in page  # shown back in the Buddhist Era
    assert "ถือว่าปีเป็นพุทธศักราช" in page  # and which year it read
    future = actions.post(f"{url}/refer", {"agency": "nacc", "referred_on": "2600-01-01"}, form_url=url)
    assert future.status_code == 400
