"""Request-level protections (intake/security.py): the headers on every kind of answer, cookies, uploads
spooled encrypted, client addresses kept out of the log."""

from __future__ import annotations

import io
import logging
import re
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from werkzeug.test import TestResponse

from intake import crypto
from intake.security import CSP, MEMORY_SPOOL, NoClientAddress, UploadRequest

from .citizen_helpers import submit, token_of, track
from .conftest import ADMIN, PASSWORD, csrf_token
from .factories import PNG_1PX
from .officer_helpers import OfficerActions, world


def test_large_uploads_spool_to_an_encrypted_file(app: Flask) -> None:
    with app.test_request_context("/", method="POST"):
        req = UploadRequest.from_values()
        small = req._get_file_stream(MEMORY_SPOOL, "text/plain")
        big = req._get_file_stream(MEMORY_SPOOL + 1, "text/plain")
        unknown = req._get_file_stream(None, "text/plain")
    assert isinstance(small, io.BytesIO)
    assert isinstance(big, io.BufferedRandom)
    assert isinstance(big.raw, crypto.EphemeralFile)
    assert isinstance(unknown.raw, crypto.EphemeralFile)  # type: ignore[attr-defined]
    big.write(b"MARKER" * 1000)
    big.flush()
    disk = big.raw._file
    disk.seek(0)
    assert b"MARKER" not in disk.read()


def test_app_uses_the_upload_request(app: Flask) -> None:
    assert app.request_class is UploadRequest


@pytest.mark.parametrize(
    "line",
    [
        '203.0.113.9 - - [26/Nov/2026 10:00:00] "GET / HTTP/1.1" 200 -',
        '::1 - - [26/Nov/2026 10:00:00] "POST /report/corruption HTTP/1.1" 200 -',
    ],
)
def test_werkzeug_request_lines_lose_the_address(line: str) -> None:
    record = logging.LogRecord("werkzeug", logging.INFO, __file__, 1, line, None, None)
    NoClientAddress().filter(record)
    assert record.getMessage().startswith("- - - ")
    assert "203.0.113.9" not in record.getMessage()
    assert "::1" not in record.getMessage()


# --- headers: on every kind of answer, not only on pages that render fine ---------------------------


def test_security_headers(client: FlaskClient) -> None:
    headers = client.get("/").headers
    csp = headers["Content-Security-Policy"]
    assert "unsafe-inline" not in csp and "frame-ancestors 'none'" in csp and "default-src 'none'" in csp
    assert headers["Referrer-Policy"] == "no-referrer"
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert headers["Cache-Control"] == "no-store"
    assert "X-Robots-Tag" not in headers  # the home page may be indexed (issue 13); forms may not
    assert "noindex" in client.get("/report/corruption").headers["X-Robots-Tag"]


def assert_headers(response: TestResponse, *, cached: bool = False) -> None:
    h = response.headers
    assert h["Content-Security-Policy"] == CSP
    assert h["Referrer-Policy"] == "no-referrer"
    assert h["X-Content-Type-Options"] == "nosniff"
    assert h["X-Frame-Options"] == "DENY"
    assert "Server" not in h
    if not cached:
        assert h["Cache-Control"] == "no-store"


def test_every_kind_of_answer_has_the_headers(make_app: Any) -> None:
    app: Flask = make_app(RATELIMIT_TRACK_FAILURES="1 per minute", MAX_CONTENT_LENGTH=30 * 1024 * 1024)

    @app.get("/review-boom")
    def boom() -> str:
        raise RuntimeError("unexpected")

    client = app.test_client()
    answers = {
        "redirect": client.get("/officer/queue"),
        "404": client.get("/no-such-page"),
        "405": client.put("/track"),
        "csrf 400": client.post("/track", data={"token": "x"}),
        "500": client.get("/review-boom"),
    }
    token = csrf_token(client, "/track")
    for _ in range(2):
        answers["429"] = client.post("/track", data={"csrf_token": token, "token": "AAAAA-BBBBB-CCCCC-DDDDD"})
    big = b"x" * (31 * 1024 * 1024)
    answers["413"] = client.post("/ask", data=big, content_type="application/octet-stream")
    expected = {"redirect": 302, "404": 404, "405": 405, "csrf 400": 400, "500": 500, "429": 429, "413": 413}
    for name, response in answers.items():
        assert response.status_code == expected[name], name
        assert_headers(response)
    assert_headers(client.get("/static/style.css"), cached=True)


def test_attachment_download_headers(app: Flask) -> None:
    with world(app) as (s, factory):
        case = factory.case("feedback", "d", files=[(PNG_1PX, "<img src=x>.png")]).case
        path = f"/officer/cases/{case.id}/attachments/{case.attachments[0].id}"
        s.commit()
    client = app.test_client()
    OfficerActions(client).login(ADMIN, PASSWORD)
    response = client.get(path)
    assert response.status_code == 200
    assert_headers(response)
    assert response.headers["Content-Type"] == "application/octet-stream"
    assert response.headers["Content-Disposition"].startswith("attachment;")
    assert "<" not in response.headers["Content-Disposition"]


# --- pages and cookies ---------------------------------------------------------------------------------


def _assert_page_is_self_contained(page: str, indexable: bool = False) -> None:
    """No script, style or outside URL; noindex, except on the public pages that may be indexed, whose
    only absolute URL is their canonical address on this site."""
    robots = "index, follow" if indexable else "noindex"
    assert f'<meta name="robots" content="{robots}' in page
    assert "<script" not in page and "<style" not in page and " style=" not in page
    for url in re.findall(r'(?:href|src|action)="([^"]*)"', page):
        own = indexable and url.startswith("http://localhost/")
        assert own or (url.startswith(("/", "#")) and not url.startswith("//")), url


@pytest.mark.parametrize("url", ["/", "/report/corruption", "/report/feedback", "/ask", "/track"])
def test_headers_and_pages_of_citizen_forms(client: FlaskClient, url: str) -> None:
    response = client.get(url)
    assert_headers(response)
    _assert_page_is_self_contained(response.get_data(as_text=True), indexable=url == "/")


def test_receipt_and_case_pages_are_never_cached(client: FlaskClient) -> None:
    receipt = submit(client, "feedback")
    case_page = track(client, token_of(receipt))
    not_found = track(client, "AAAAA-AAAAA-AAAAA-AAAAA")
    for response in (receipt, case_page, not_found):
        assert_headers(response)
        assert response.headers["Cache-Control"] == "no-store"
        _assert_page_is_self_contained(response.get_data(as_text=True))


def _cookie_attrs(response: Any, name: str) -> str:
    found = [c for c in response.headers.getlist("Set-Cookie") if c.startswith(f"{name}=")]
    assert found, f"no {name} cookie set"
    return found[0]


def test_cookies_are_httponly_and_samesite(app: Flask, client: FlaskClient) -> None:
    session_cookie = _cookie_attrs(client.get("/report/corruption"), app.config["SESSION_COOKIE_NAME"])
    lang_cookie = _cookie_attrs(client.get("/lang/en?next=/"), "lang")
    for cookie in (session_cookie, lang_cookie):
        assert "HttpOnly" in cookie and "SameSite=Lax" in cookie


def test_cookies_are_secure_over_https(make_app: Any) -> None:
    app = make_app(SESSION_COOKIE_SECURE=True)
    client = app.test_client()
    https = "https://localhost"
    session_cookie = _cookie_attrs(client.get("/report/corruption", base_url=https),
                                   app.config["SESSION_COOKIE_NAME"])
    lang_cookie = _cookie_attrs(client.get("/lang/en?next=/", base_url=https), "lang")
    for cookie in (session_cookie, lang_cookie):
        assert "Secure" in cookie and "HttpOnly" in cookie and "SameSite=Lax" in cookie
    # The whole flow works over HTTPS with secure cookies.
    page = client.get("/ask", base_url=https).get_data(as_text=True)
    csrf = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page)
    assert csrf
    response = client.post("/ask", base_url=https, data={"csrf_token": csrf.group(1), "details": "q"})
    assert response.status_code == 303  # to the receipt, with its cookie (receipts.py)
    receipt_cookie = _cookie_attrs(response, "intake_receipt")
    assert "Secure" in receipt_cookie and "HttpOnly" in receipt_cookie and "SameSite=Lax" in receipt_cookie
    assert "Path=/;" in receipt_cookie or receipt_cookie.endswith("Path=/")
    response = client.get(response.headers["Location"], base_url=https)
    assert response.status_code == 200 and token_of(response)
    assert "Strict-Transport-Security" in response.headers
