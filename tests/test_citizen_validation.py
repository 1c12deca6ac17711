"""Bad input on the citizen forms: errors beside their fields, input kept, never a 500."""

from __future__ import annotations

import pytest
from flask import Flask
from flask.testing import FlaskClient
from werkzeug.test import TestResponse

from intake import cases, db

from .citizen_helpers import (
    FILE_CHANNELS,
    TEXT_FIELDS,
    URLS,
    case_count,
    field_values,
    submit,
    token_of,
    track,
    valid_data,
)
from .conftest import csrf_token, post_form

TRICKY = 'ทดสอบ <b>&amp; "quoted" \'single\' KEEP'

# (channel, field): every field of every channel, including the select, the radio and the checkbox.
EVERY_FIELD = [(ch, f) for ch, fields in TEXT_FIELDS.items() for f in fields] + [
    ("corruption", "category"),
    ("feedback", "rating"),
    ("question", "publish_ok"),
]


def _filled(channel: str) -> dict[str, str]:
    data = valid_data(channel)
    for name in TEXT_FIELDS[channel]:
        data[name] = f"{TRICKY} {name}\nบรรทัดที่สอง"
    return data


@pytest.mark.parametrize(("channel", "field"), EVERY_FIELD)
def test_every_field_is_kept_when_another_is_wrong(
    app: Flask, client: FlaskClient, channel: str, field: str
) -> None:
    data = _filled(channel)
    # Break a field other than the one under test: the empty required text, or an over-long contact.
    broken = "contact" if field == "details" else "details"
    data[broken] = "x" * 501 if broken == "contact" else "   "
    response = submit(client, channel, data=data)
    assert response.status_code == 400
    page = response.get_data(as_text=True)
    assert f'id="{broken}-error"' in page and 'class="error-summary"' in page
    values = field_values(page)
    expected = {"category": "bribery", "rating": "4", "publish_ok": "y"}.get(field, data[field])
    assert values[field] == expected
    assert case_count(app) == 0


@pytest.mark.parametrize("channel", sorted(URLS))
def test_missing_required_text_in_thai_and_english(client: FlaskClient, channel: str) -> None:
    data = _filled(channel)
    data["details"] = ""
    page = submit(client, channel, data=data).get_data(as_text=True)
    error = page.split('id="details-error">')[1].split("</p>")[0]
    assert error.startswith("กรุณา")
    client.set_cookie("lang", "en")
    page = submit(client, channel, data=data).get_data(as_text=True)
    assert page.split('id="details-error">')[1].startswith("Please")


@pytest.mark.parametrize("channel", FILE_CHANNELS)
def test_file_forms_ask_to_attach_files_again(client: FlaskClient, channel: str) -> None:
    data = _filled(channel)
    data["details"] = ""
    page = submit(client, channel, data=data, files=[(b"evidence", "a.txt")]).get_data(as_text=True)
    assert "กรุณาแนบไฟล์อีกครั้ง" in page


@pytest.mark.parametrize(
    ("field", "value"),
    [("category", "arson"), ("rating", "9"), ("rating", "-1")],
)
def test_values_outside_the_lists_are_refused(client: FlaskClient, field: str, value: str) -> None:
    channel = "corruption" if field == "category" else "feedback"
    data = valid_data(channel)
    data[field] = value
    response = submit(client, channel, data=data)
    assert response.status_code == 400 and f'id="{field}-error"' in response.get_data(as_text=True)


@pytest.mark.parametrize("channel", sorted(URLS))
def test_honeypot_stores_nothing(app: Flask, client: FlaskClient, channel: str) -> None:
    data = valid_data(channel)
    data["website"] = "http://spam.example/"
    response = submit(client, channel, data=data)
    page = response.get_data(as_text=True)
    assert response.status_code == 400 and 'id="case-token"' not in page
    assert 'class="error-summary"' in page and "เว้นว่างไว้" in page
    assert case_count(app) == 0


def test_honeypot_field_is_hidden_from_people(client: FlaskClient) -> None:
    page = client.get("/report/corruption").get_data(as_text=True)
    hp = page.split('<div class="hp"')[1].split("</div>")[0]
    assert 'name="website"' in hp and 'autocomplete="off"' in hp and 'tabindex="-1"' in hp


def test_text_at_the_limit_is_accepted_and_over_it_refused(make_app: object) -> None:
    app = make_app(TEXT_MAX_CHARS=50)  # type: ignore[operator]
    client = app.test_client()
    response = submit(client, "question", data={"details": "ก" * 50})
    assert response.status_code == 200
    response = submit(client, "question", data={"details": "ก" * 51})
    page = response.get_data(as_text=True)
    assert response.status_code == 400 and "ไม่เกิน 50 ตัวอักษร" in page
    assert field_values(page)["details"] == "ก" * 51  # kept, so the citizen can shorten it
    assert case_count(app) == 1


def test_default_text_limit(client: FlaskClient, app: Flask) -> None:
    limit = app.config["TEXT_MAX_CHARS"]
    response = submit(client, "corruption", data={"details": "x" * (limit + 1)})
    assert response.status_code == 400 and 'id="details-error"' in response.get_data(as_text=True)


def test_nul_and_control_characters_are_removed(app: Flask, client: FlaskClient) -> None:
    data = {"details": "ab\x00cd\x07ef\r\nline\ttab\x1b[31m", "contact": "08\x001"}
    response = submit(client, "question", data=data)
    assert response.status_code == 200
    token = token_of(response)
    with app.app_context():
        found = cases.find_by_token(db.session(), token)
        body = cases.citizen_timeline(db.session(), found)[0].data
    assert body["details"] == "abcdef\nline\ttab[31m"
    assert "abcdef" in track(client, token).get_data(as_text=True)


def test_a_form_of_nothing_but_control_characters_is_empty(client: FlaskClient) -> None:
    response = submit(client, "feedback", data={"details": "\x00\x01\x02"})
    assert response.status_code == 400 and 'id="details-error"' in response.get_data(as_text=True)


def _multipart(parts: list[tuple[bytes, bytes]], boundary: bytes = b"----intake-test") -> bytes:
    return b"".join(
        b"--" + boundary + b"\r\nContent-Disposition: form-data; " + head
        + (b"\r\nContent-Type: text/plain" if b"filename" in head else b"")
        + b"\r\n\r\n" + value + b"\r\n"
        for head, value in parts
    ) + b"--" + boundary + b"--\r\n"


def _post_parts(client: FlaskClient, parts: list[tuple[bytes, bytes]]) -> TestResponse:
    """POST the corruption form as raw multipart `parts`, after its CSRF token."""
    token = csrf_token(client, "/report/corruption")
    body = _multipart([(b'name="csrf_token"', token.encode()), *parts])
    return client.post(
        "/report/corruption", data=body, content_type="multipart/form-data; boundary=----intake-test"
    )


def test_invalid_utf8_in_multipart_values_is_no_500(app: Flask, client: FlaskClient) -> None:
    response = _post_parts(client, [
        (b'name="details"', b"bad \xff\xfe bytes \xc3 here"),
        (b'name="involved"', b"\xed\xa0\x80 surrogate"),
        (b'name="attachments"; filename="evidence.txt"', b"file text \xff"),
    ])
    assert response.status_code == 400  # the file is not UTF-8 text, nor any other accepted type
    page = response.get_data(as_text=True)
    assert 'id="attachments-error"' in page and "evidence.txt" in page
    assert field_values(page)["details"] == "bad \ufffd\ufffd bytes \ufffd here"


def test_invalid_utf8_in_a_multipart_header_is_no_500(app: Flask, client: FlaskClient) -> None:
    response = _post_parts(client, [
        (b'name="details"', b"text"),
        (b'name="attachments"; filename="\xff\xfename.txt"', b"file text"),
    ])
    # Werkzeug cannot parse such a body at all: the form arrives without its security code.
    assert response.status_code == 400 and "แบบฟอร์มหมดอายุ" in response.get_data(as_text=True)
    assert case_count(app) == 0


def test_invalid_utf8_in_an_urlencoded_body_is_no_500(client: FlaskClient) -> None:
    token = csrf_token(client, "/ask")
    body = b"csrf_token=" + token.encode() + b"&details=%FF%FEquestion%C3&contact=%00"
    response = client.post(
        "/ask", data=body, content_type="application/x-www-form-urlencoded", follow_redirects=True
    )
    assert response.status_code == 200 and 'id="case-token"' in response.get_data(as_text=True)


ALL_POSTS = ["/report/corruption", "/report/feedback", "/ask", "/track", "/track/followup"]


@pytest.mark.parametrize("url", ALL_POSTS)
def test_missing_csrf_token_gets_the_expired_form_page(client: FlaskClient, url: str) -> None:
    client.get(url if url != "/track/followup" else "/track")
    response = client.post(url, data={"details": "x", "token": "x", "message": "x"})
    assert response.status_code == 400 and "แบบฟอร์มหมดอายุ" in response.get_data(as_text=True)


def test_wrong_csrf_token_gets_the_expired_form_page(app: Flask, client: FlaskClient) -> None:
    client.get("/ask")
    response = client.post("/ask", data={"csrf_token": "forged", "details": "x"})
    assert response.status_code == 400 and "แบบฟอร์มหมดอายุ" in response.get_data(as_text=True)
    assert case_count(app) == 0


def test_a_body_over_the_limit_gets_a_clear_413_page(make_app: object) -> None:
    app = make_app(ATTACHMENT_MAX_TOTAL=10_000, MAX_CONTENT_LENGTH=10_000)  # type: ignore[operator]
    client = app.test_client()
    limit = app.config["MAX_CONTENT_LENGTH"]
    response = submit(client, "corruption", files=[(b"x" * (limit + 1000), "huge.txt")])
    assert response.status_code == 413
    page = response.get_data(as_text=True)
    assert "ข้อมูลมีขนาดใหญ่เกินไป" in page and '<html lang="th">' in page
    assert case_count(app) == 0


def test_a_text_field_over_the_form_memory_limit_gets_413(client: FlaskClient, app: Flask) -> None:
    data = {"details": "x" * (app.config["MAX_FORM_MEMORY_SIZE"] + 10)}
    response = submit(client, "feedback", data=data)
    assert response.status_code == 413 and "ข้อมูลมีขนาดใหญ่เกินไป" in response.get_data(as_text=True)


def test_an_empty_token_is_a_form_error_not_a_guess(client: FlaskClient) -> None:
    response = track(client, "   ")
    assert response.status_code == 400 and 'id="token-error"' in response.get_data(as_text=True)


def test_post_without_fields_is_no_500(client: FlaskClient) -> None:
    for url in ALL_POSTS:
        response = post_form(client, url, {}, form_url="/track" if url == "/track/followup" else url)
        assert response.status_code in (400, 404), url
