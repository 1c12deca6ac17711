"""Security review: the security headers are on every kind of answer, not only on pages that render fine.

Redirects, 400 (CSRF), 404, 405, 413, 429, 500, attachment downloads and static files all carry the CSP,
Referrer-Policy, nosniff and frame denial; everything but static files is no-store.
"""

from __future__ import annotations

from typing import Any

from flask import Flask
from werkzeug.test import TestResponse

from intake.security import CSP

from .conftest import ADMIN, PASSWORD, csrf_token
from .factories import PNG_1PX
from .officer_helpers import OfficerActions, world


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
