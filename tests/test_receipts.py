"""One submission, one case: the 303 to the receipt, the same code again, no second case (receipts.py)."""

from __future__ import annotations

import re
import threading
from datetime import timedelta
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select

from intake import dates, db, receipts, tokens
from intake.models import Case, Entry, Receipt

from .citizen_helpers import URLS, case_count, files_field, token_of, track, valid_data
from .conftest import ADMIN, PASSWORD, csrf_token
from .officer_helpers import OfficerActions
from .test_security_properties import database_dump, token_forms

FORM_ID = re.compile(r'name="form_id" type="hidden" value="([^"]+)"')


def rendered(client: FlaskClient, url: str) -> dict[str, str]:
    """What one rendering of a form carries: its CSRF token and its one-time value."""
    page = client.get(url).get_data(as_text=True)
    match = FORM_ID.search(page)
    assert match, f"no form_id on {url}"
    return {"csrf_token": csrf_token(client, url), "form_id": match.group(1)}


def same_browser(app: Flask, client: FlaskClient) -> FlaskClient:
    """Another connection of the same browser (its cookies): a retry, a second tap."""
    other = app.test_client()
    name = app.config["SESSION_COOKIE_NAME"]
    cookie = client.get_cookie(name)
    assert cookie is not None
    other.set_cookie(name, cookie.value)
    return other


def send(client: FlaskClient, channel: str, form: dict[str, str], **extra: Any) -> Any:
    return client.post(URLS[channel], data={**form, **valid_data(channel), **extra},
                       content_type="multipart/form-data")


@pytest.mark.parametrize("channel", sorted(URLS))
def test_a_filed_form_answers_303_to_the_receipt_without_the_code(
    app: Flask, client: FlaskClient, channel: str
) -> None:
    form = rendered(client, URLS[channel])
    response = send(client, channel, form)
    assert response.status_code == 303 and response.headers["Location"] == "/receipt"
    cookie = next(c for c in response.headers.getlist("Set-Cookie") if c.startswith("intake_receipt="))
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie and "Path=/" in cookie
    assert "Max-Age=14400" in cookie  # receipts.SHOW_FOR: four hours
    page = client.get("/receipt")
    token = token_of(page)
    for text in (response.headers["Location"], cookie):
        assert not any(f in text for f in token_forms(token))
    assert client.get("/receipt").get_data(as_text=True).count(token) == 1  # a reload: the same code
    assert case_count(app) == 1


@pytest.mark.parametrize("channel", sorted(URLS))
def test_the_same_rendered_form_sent_again_files_nothing_and_shows_the_same_code(
    app: Flask, client: FlaskClient, channel: str
) -> None:
    form = rendered(client, URLS[channel])
    first = token_of(client.get(send(client, channel, form).headers["Location"]))
    other = same_browser(app, client)  # the answer was lost, the browser sends the form again
    again = send(other, channel, form)
    assert again.status_code == 303
    assert token_of(other.get("/receipt")) == first
    assert token_of(client.get("/receipt")) == first
    assert case_count(app) == 1
    fresh = rendered(client, URLS[channel])  # a new rendering of the form, saying something new: a new case
    second = token_of(client.get(send(client, channel, fresh, details="เรื่องใหม่").headers["Location"]))
    assert second != first and case_count(app) == 2
    assert token_of(client.get("/receipt")) == second


def test_a_double_tap_files_one_case(make_app: Any) -> None:
    """Two copies of one form at the same moment: the receipt's unique key lets one of them file."""
    app: Flask = make_app(RATELIMIT_SUBMIT="1000 per minute")
    client = app.test_client()
    form = rendered(client, "/report/feedback")
    answers: list[tuple[int, str]] = []
    start = threading.Barrier(4)

    def tap() -> None:
        c = same_browser(app, client)
        start.wait()
        response = send(c, "feedback", form, attachments=files_field([(b"evidence", "e.txt")]))
        answers.append((response.status_code, token_of(c.get("/receipt"))))

    threads = [threading.Thread(target=tap) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert [status for status, _token in answers] == [303] * 4
    assert len({token for _status, token in answers}) == 1
    assert case_count(app) == 1
    with app.app_context():
        assert db.session().scalar(select(func.count()).select_from(Receipt)) == 1


def test_an_invalid_form_keeps_its_value_and_files_once_it_is_right(app: Flask, client: FlaskClient) -> None:
    form = rendered(client, "/ask")
    bad = client.post("/ask", data={**form, "details": ""})
    assert bad.status_code == 400 and form["form_id"] in bad.get_data(as_text=True)
    assert send(client, "question", form).status_code == 303
    assert case_count(app) == 1


def test_a_form_without_its_value_still_files_one_case(app: Flask, client: FlaskClient) -> None:
    """CONTRACT fields only (an outside script, an old page): a value is made on the server."""
    response = client.post("/ask", data={"csrf_token": csrf_token(client, "/ask"), "details": "q"})
    assert response.status_code == 303 and token_of(client.get("/receipt"))
    assert case_count(app) == 1


def test_the_code_is_shown_for_hours_then_no_more_and_the_form_still_files_nothing(
    app: Flask, client: FlaskClient
) -> None:
    form = rendered(client, "/ask")
    token = token_of(client.get(send(client, "question", form).headers["Location"]))
    with app.app_context():
        session = db.session()
        later = dates.now() + receipts.SHOW_FOR + timedelta(minutes=1)
        shown = receipts.find(session, form["form_id"], later)
        assert shown is not None and shown.token is None  # remembered, but the code is no longer shown
        receipts.sweep(session, later)
        session.commit()
        row = session.scalar(select(Receipt))
        assert row is not None and row.sealed is None  # the code's ciphertext is gone
    gone = client.get("/receipt")
    assert gone.status_code == 404 and token not in gone.get_data(as_text=True)
    assert send(client, "question", form).status_code == 303 and case_count(app) == 1
    with app.app_context():
        session = db.session()
        receipts.sweep(session, dates.now() + receipts.REMEMBER_FOR + timedelta(minutes=1))
        session.commit()
        assert session.scalar(select(func.count()).select_from(Receipt)) == 0


def test_without_the_cookie_there_is_no_code(app: Flask, client: FlaskClient) -> None:
    form = rendered(client, "/ask")
    token = token_of(client.get(send(client, "question", form).headers["Location"]))
    stranger = app.test_client()
    page = stranger.get("/receipt")
    assert page.status_code == 404 and token not in page.get_data(as_text=True)
    stranger.set_cookie("intake_receipt", "A" * 22, path="/receipt")  # a guessed value opens nothing
    assert stranger.get("/receipt").status_code == 404


def test_the_database_holds_neither_the_code_nor_the_form_value(app: Flask, client: FlaskClient) -> None:
    form = rendered(client, "/ask")
    token = token_of(client.get(send(client, "question", form).headers["Location"]))
    dump = database_dump(app)
    for needle in [*token_forms(token), form["form_id"]]:
        assert needle.encode() not in dump, needle


def test_going_on_to_tracking_asks_that_the_code_is_written_down(app: Flask, client: FlaskClient) -> None:
    form = rendered(client, "/report/feedback")
    token = token_of(client.get(send(client, "feedback", form).headers["Location"]))
    refused = client.get("/receipt/continue")
    assert refused.status_code == 400 and token_of(refused) == token
    assert 'id="written-error"' in refused.get_data(as_text=True)
    onward = client.get("/receipt/continue?written=y")
    assert onward.status_code == 303 and onward.headers["Location"] == "/track"
    assert token_of(client.get("/receipt")) == token  # Back from tracking: the receipt again


def test_the_receipt_in_english_after_the_language_switch(app: Flask, client: FlaskClient) -> None:
    form = rendered(client, "/ask")
    token = token_of(client.get(send(client, "question", form).headers["Location"]))
    switched = client.get("/lang/en?next=/receipt", follow_redirects=True)
    assert "Keep this code" in switched.get_data(as_text=True) and token_of(switched) == token


def test_a_followup_sent_twice_is_added_once(app: Flask, client: FlaskClient) -> None:
    form = rendered(client, "/ask")
    token = token_of(client.get(send(client, "question", form).headers["Location"]))
    page = track(client, token).get_data(as_text=True)
    one_time = FORM_ID.search(page)
    assert one_time
    data = {"csrf_token": csrf_token(client, "/track"), "token": token, "form_id": one_time.group(1),
            "message": "ข้อมูลเพิ่ม ONCE-1"}
    for _ in range(3):
        response = client.post("/track/followup", data=data)
        assert response.status_code == 200 and "ONCE-1" in response.get_data(as_text=True)
    with app.app_context():
        kinds = db.session().scalars(select(Entry.kind).where(Entry.kind == "followup")).all()
        assert len(kinds) == 1


def test_offline_intake_answers_303_to_a_slip_and_a_double_click_records_one_case(
    app: Flask, client: FlaskClient
) -> None:
    actions = OfficerActions(client)
    actions.login(ADMIN, PASSWORD)
    form = rendered(client, "/officer/intake")
    data = {**form, "channel": "feedback", "source": "phone",
            "received_at": dates.local_date(dates.now()).isoformat(), "details": "โทรมาแจ้ง"}
    first = client.post("/officer/intake", data=data)
    assert first.status_code == 303 and first.headers["Location"] == "/officer/intake/receipt"
    slip = client.get("/officer/intake/receipt")
    token = token_of(slip)
    assert "อ่านได้เป็น" in slip.get_data(as_text=True)  # which date was read, in words
    again = client.post("/officer/intake", data=data)
    assert again.status_code == 303 and token_of(client.get("/officer/intake/receipt")) == token
    with app.app_context():
        assert db.session().scalar(select(func.count()).select_from(Case)) == 1
    assert tokens.normalise(token)


def test_a_form_restored_by_back_and_sent_again_files_nothing(app: Flask, client: FlaskClient) -> None:
    """Back fetches the form anew (a new one-time value) and the browser restores what was typed."""
    sent = send(client, "feedback", rendered(client, "/report/feedback"))
    first = token_of(client.get(sent.headers["Location"]))
    restored = rendered(client, "/report/feedback")
    again = send(client, "feedback", restored)  # the same words, no files (browsers never restore them)
    assert again.status_code == 303 and token_of(client.get("/receipt")) == first
    assert case_count(app) == 1
    changed = send(client, "feedback", restored, details="อีกเรื่องหนึ่ง")  # new words: a new case
    assert token_of(client.get(changed.headers["Location"])) != first and case_count(app) == 2
    elsewhere = app.test_client()  # another browser saying the same: its own case
    send(elsewhere, "feedback", rendered(elsewhere, "/report/feedback"))
    assert case_count(app) == 3


def test_a_followup_restored_and_sent_again_is_added_once(app: Flask, client: FlaskClient) -> None:
    token = token_of(client.get(send(client, "question", rendered(client, "/ask")).headers["Location"]))
    for _ in range(2):  # each time a new rendering of the follow-up form, the same message
        page = track(client, token).get_data(as_text=True)
        one_time = FORM_ID.search(page)
        assert one_time
        data = {"csrf_token": csrf_token(client, "/track"), "token": token, "form_id": one_time.group(1),
                "message": "ข้อความเดิม  TWICE-1"}
        assert client.post("/track/followup", data=data).status_code == 200
    with app.app_context():
        assert len(db.session().scalars(select(Entry).where(Entry.kind == "followup")).all()) == 1


def test_the_same_words_with_a_file_chosen_again_are_a_new_case(app: Flask, client: FlaskClient) -> None:
    """Forgot the photo and sent it all again with it: files are never restored, so this is on purpose."""
    sent = send(client, "feedback", rendered(client, "/report/feedback"))
    first = token_of(client.get(sent.headers["Location"]))
    again = send(client, "feedback", rendered(client, "/report/feedback"),
                 attachments=files_field([(b"the photo", "photo.txt")]))
    assert token_of(client.get(again.headers["Location"])) != first and case_count(app) == 2
