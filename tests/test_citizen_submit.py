"""Citizen pages: the home page, submitting each channel through its form, the receipt, tracking it back."""

from __future__ import annotations

import logging
import re

import pytest
from flask import Flask
from flask.testing import FlaskClient

from intake import cases, dates, db, tokens
from intake.models import Case

from .citizen_helpers import URLS, status_of, submit, submit_ok, token_of, track, valid_data


def test_home_explains_the_three_channels_and_tracking(client: FlaskClient) -> None:
    page = client.get("/").get_data(as_text=True)
    for url in ("/report/corruption", "/report/feedback", "/ask", "/track", "/stats", "/faq"):
        assert f'href="{url}"' in page
    assert "ร้องเรียนการทุจริต" in page and "ติดตามเรื่อง" in page


@pytest.mark.parametrize("url", ["/report/corruption", "/report/feedback", "/ask", "/track"])
def test_forms_are_thai_by_default_and_carry_csrf(client: FlaskClient, url: str) -> None:
    response = client.get(url)
    page = response.get_data(as_text=True)
    assert response.status_code == 200 and '<html lang="th">' in page
    assert 'name="csrf_token"' in page


def test_corruption_form_says_what_anonymity_and_files_mean(client: FlaskClient) -> None:
    page = client.get("/report/corruption").get_data(as_text=True)
    assert "หลักฐาน" in page  # investigated only with enough detail and evidence
    assert "งานนิติการ" in page  # contact seen only by the legal-affairs unit
    assert "EXIF" in page and "PDF" in page  # photos cleaned; PDF metadata not removed
    for category in ("bribery", "procurement", "abuse_of_position", "embezzlement", "favouritism", "other"):
        assert f'value="{category}"' in page


@pytest.mark.parametrize("channel", ["corruption", "feedback", "question"])
def test_submit_each_channel_and_track_it_back(app: Flask, client: FlaskClient, channel: str) -> None:
    response = submit(client, channel, valid_data(channel, "ติดตาม"))
    assert response.status_code == 200
    assert "Location" not in response.headers
    token = token_of(response)
    assert re.fullmatch(r"[0-9A-HJKMNP-TV-Z]{5}(-[0-9A-HJKMNP-TV-Z]{5}){3}", token)
    page = response.get_data(as_text=True)
    # On to tracking only once the citizen says the code is written down (issue 11 item 3).
    assert 'action="/receipt/continue"' in page and 'name="written"' in page
    tracked = track(client, token)
    assert tracked.status_code == 200
    assert status_of(tracked) == ("new", "รับเรื่องแล้ว")
    assert "ติดตาม" in tracked.get_data(as_text=True)  # what they wrote, shown back to them
    with app.app_context():
        case = db.session().query(Case).one()
        assert case.channel == channel and case.source == "web"
        assert dates.format_datetime(case.received_at, "th") in page  # Buddhist Era, Bangkok time
        body = cases.citizen_timeline(db.session(), cases.find_by_token(db.session(), token))[0].data
    expected: dict[str, dict[str, object]] = {
        "corruption": {"category": "bribery"},
        "feedback": {"rating": 4},
        "question": {"publish_ok": True},
    }
    assert expected[channel].items() <= body.items()


def test_receipt_shows_a_buddhist_era_date_and_print_rules(client: FlaskClient) -> None:
    page = submit(client, "feedback").get_data(as_text=True)
    receipt = page.split('id="main"')[1]
    assert re.search(r"\d{1,2} [ก-๙.]+ 25\d\d", receipt), "date in Thai with a Buddhist Era year"
    assert "จดรหัส" in receipt or "พิมพ์" in receipt  # write it down or print the page
    # The printout shows the code and the date; the text the citizen wrote is not on the receipt at all.
    assert "รายละเอียด" not in receipt
    # The receipt is a page of its own now (a 303 after the POST), so the language switch may stay on it:
    # following it comes back to the same code (tests/test_receipts.py).
    assert "/lang/en?next=/receipt" in page


def test_case_category_is_plaintext_for_statistics_but_optional(app: Flask, client: FlaskClient) -> None:
    data = valid_data("corruption")
    data["category"] = ""
    submit_ok(client, "corruption", data=data)
    submit_ok(client, "corruption", data={"details": "เท่านี้"})  # only what the contract requires
    with app.app_context():
        assert [c.category for c in db.session().query(Case).order_by(Case.id)] == [None, None]


def test_tracking_forgives_case_spaces_and_dashes(client: FlaskClient) -> None:
    token = submit_ok(client, "question")
    plain = tokens.normalise(token)
    for typed in (token.lower(), " ".join(plain[i:i + 4] for i in range(0, 20, 4)), plain, f"  {token}  "):
        assert track(client, typed).status_code == 200


def test_token_never_in_a_url_location_cookie_or_log(
    app: Flask, client: FlaskClient, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    seen: list[str] = []
    response = submit(client, "corruption")
    token = token_of(response)
    forms = {tokens.normalise(token), token, token.lower(), tokens.normalise(token).lower()}
    for r in (response, track(client, token), client.post("/track/followup", data={})):
        seen.append(r.headers.get("Location", ""))
        seen.extend(r.headers.getlist("Set-Cookie"))
        page = r.get_data(as_text=True)
        seen.extend(re.findall(r'(?:href|action|src)="([^"]*)"', page))
    cookie = client.get_cookie(app.config["SESSION_COOKIE_NAME"])
    assert cookie is not None
    seen.append(cookie.value)
    session_data = app.session_interface.get_signing_serializer(app).loads(cookie.value)  # type: ignore[attr-defined]
    seen.append(repr(session_data))
    seen.extend(rec.getMessage() for rec in caplog.records)
    for text in seen:
        assert not any(f in text or f in text.upper() for f in forms), text


@pytest.mark.parametrize("channel", sorted(URLS))
def test_english_pages_when_chosen(client: FlaskClient, channel: str) -> None:
    client.set_cookie("lang", "en")
    page = client.get(URLS[channel]).get_data(as_text=True)
    assert '<html lang="en">' in page
    response = submit(client, channel)
    assert "Keep this code" in response.get_data(as_text=True)
