"""An engine that is away (the database, Redis for the limiter): a clear 503 or an unlimited-by-outage
answer, never a 500; and the load balancer's own 503 page (intake/proxy_page.py).

The database goes away as a PostgreSQL URL where nothing listens (what a restarting server looks like to
the app: connection refused), on either suite engine; Redis likewise. tests/test_faults.py does the same
with real engines stopped and started under load.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import event
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session, sessionmaker

from intake import cases
from intake.db import make_engine
from intake.officer import queue

from .citizen_helpers import domain, field_values, image_bytes, submit, token_of, track, valid_data
from .conftest import ADMIN, PASSWORD, MakeApp
from .officer_helpers import RECENT, OfficerActions
from .seaweed import free_port

AWAY_TH = "ขณะนี้ระบบไม่สามารถบันทึกเรื่องของท่านได้"
TRY_AGAIN_TH = "กรุณาลองใหม่อีกครั้งในอีกสักครู่"


@pytest.fixture
def database_away(app: Flask) -> Iterator[Callable[[], None]]:
    """Call it to point the app's engine at a PostgreSQL port where nothing listens; put back afterwards."""
    saved = app.extensions["intake.engine"], app.extensions["intake.db"]

    def away() -> None:
        engine = make_engine(f"postgresql+psycopg://intake@127.0.0.1:{free_port()}/gone",
                             connect_args={"connect_timeout": 2})
        app.extensions["intake.engine"] = engine
        app.extensions["intake.db"] = sessionmaker(engine, expire_on_commit=False)

    yield away
    app.extensions["intake.engine"].dispose()
    app.extensions["intake.engine"], app.extensions["intake.db"] = saved


def test_pages_get_a_503_try_again_page_while_the_database_is_away(
    client: FlaskClient, database_away: Callable[[], None]
) -> None:
    token = token_of(submit(client, "question", data=valid_data("question")))
    database_away()
    response = track(client, token)
    page = response.get_data(as_text=True)
    assert response.status_code == 503, page[:500]
    assert response.headers["Retry-After"].isdigit()
    assert TRY_AGAIN_TH in page and "Traceback" not in page
    login = client.get("/officer/login")
    assert login.status_code in (200, 503)


def test_a_submission_while_the_database_is_away_keeps_the_text(
    client: FlaskClient, database_away: Callable[[], None]
) -> None:
    marker = "KEEP" + secrets.token_hex(4)
    data = valid_data("feedback", marker)
    database_away()
    response = submit(client, "feedback", data=data, files=[(b"evidence", "e.txt")])
    page = response.get_data(as_text=True)
    assert response.status_code == 503, page[:500]
    assert AWAY_TH in page and 'id="case-token"' not in page
    values = field_values(page)
    assert marker in values["details"] and marker in values["contact"]


def test_a_database_lost_after_the_page_was_made_costs_no_500(
    client: FlaskClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Closing the request's session rolls back; when the database died meanwhile that fails: the page
    already made is still the answer (a teardown error would be a bare 500 from gunicorn)."""

    def closing_fails(self: Session) -> None:
        raise OperationalError("ROLLBACK", {}, Exception("server closed the connection unexpectedly"))

    monkeypatch.setattr(Session, "close", closing_fails)
    response = client.get("/ask")
    assert response.status_code == 200


def test_the_database_lost_in_the_middle_of_an_officer_page_is_a_503_not_a_bare_500(
    app: Flask, client: FlaskClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The queue dies halfway (PostgreSQL crashed after the session loaded the officer): rolling back
    expires the officer, and the error page's menu must not load it again from a database that is gone
    (it did: the second failure escaped Flask and gunicorn answered its own bare 500; found by
    tests/test_faults.py)."""
    actions = OfficerActions(client)
    actions.login(ADMIN, PASSWORD)
    gone = {"now": False}

    def refuse(*_args: Any) -> None:
        if gone["now"]:
            raise OperationalError("SELECT", {}, Exception("the database system is shutting down"))

    def fetch_dies(*_args: Any, **_kwargs: Any) -> None:
        gone["now"] = True
        raise OperationalError("SELECT", {}, Exception("server closed the connection unexpectedly"))

    engine = app.extensions["intake.engine"]
    event.listen(engine, "before_cursor_execute", refuse)
    monkeypatch.setattr(queue, "fetch", fetch_dies)
    try:
        response = client.get("/officer/queue")
    finally:
        event.remove(engine, "before_cursor_execute", refuse)
    page = response.get_data(as_text=True)
    assert response.status_code == 503, page[:500]
    assert TRY_AGAIN_TH in page and "Traceback" not in page


def test_an_officer_intake_whose_commit_fails_keeps_the_letter(
    client: FlaskClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    actions = OfficerActions(client)
    actions.login(ADMIN, PASSWORD)

    def database_gone(*_args: Any, **_kwargs: Any) -> None:
        raise OperationalError("COMMIT", {}, Exception("server closed the connection unexpectedly"))

    monkeypatch.setattr(cases, "submit", database_gone)
    response = actions.post(
        "/officer/intake",
        {"channel": "feedback", "source": "letter", "received_at": RECENT, "details": "LETTER-KEPT"},
    )
    page = response.get_data(as_text=True)
    assert response.status_code == 503, page[:500]
    assert field_values(page)["details"] == "LETTER-KEPT"
    assert "ยังไม่ได้บันทึกเรื่อง" in page and "Traceback" not in page


def test_redis_away_does_not_stop_citizens_and_limits_still_count(make_app: MakeApp, tmp_path: Path) -> None:
    dead = f"redis://127.0.0.1:{free_port()}/0"
    app = make_app(RATELIMIT_STORAGE_URI=dead, RATELIMIT_SUBMIT="3 per minute")
    client = app.test_client()
    picture = image_bytes("PNG", (64, 48))  # charges the megapixel budget too (intake/budgets.py)
    statuses = []
    for _ in range(4):
        response = submit(client, "feedback", files=[(picture, "p.png")])
        statuses.append(response.status_code)
        if response.status_code == 200:
            assert token_of(response)
    # Counted in the process's memory while Redis is away: three go through, the fourth is limited.
    assert statuses == [200, 200, 200, 429], statuses
    make_app(setup=False)  # the shared limiter then holds memory:// again, which the fixture resets


def test_redis_away_does_not_stop_tracking(make_app: MakeApp) -> None:
    """The tracking limits (citizen/guessing.py) count in memory too while Redis is away."""
    app = make_app(RATELIMIT_STORAGE_URI=f"redis://127.0.0.1:{free_port()}/0")
    with domain(app) as factory:
        token = factory.case("feedback", "tracked while Redis is away").token
    client = app.test_client()
    right = track(client, token)
    assert right.status_code == 200 and 'id="case-status"' in right.get_data(as_text=True)
    wrong = track(client, "A" * len(token))
    assert wrong.status_code in (400, 404), wrong.status_code
    make_app(setup=False)  # memory:// again for the fixture's reset


def test_the_load_balancer_page_is_a_self_contained_bilingual_503(runner: Any, tmp_path: Path) -> None:
    out = tmp_path / "intake-503.http"
    result = runner.invoke(args=["proxy-error-page", "--output", str(out)])
    assert result.exit_code == 0, result.output
    data = out.read_bytes()
    head, _, body = data.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.0 503 ")
    assert b"Retry-After: " in head and b"Content-Security-Policy: " in head
    assert int(head.split(b"Content-Length: ")[1].split(b"\r\n")[0]) == len(body)
    text = body.decode()
    assert TRY_AGAIN_TH in text and "Please try again shortly" in text
    assert "<script" not in text and "<img" not in text and "style=" not in text
    assert re.findall(r'(?:href|src)="([^"]*)"', text) == ["/static/style.css"]  # same origin only
    assert len(data) < 15 * 1024
