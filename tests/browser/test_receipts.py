"""One submission, one case, in a real browser with JavaScript off: the receipt survives a reload, Back from
tracking, going back to the form and sending it again, and a double tap on the send button."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from playwright.sync_api import Error as PlaywrightError
from playwright.sync_api import Page
from sqlalchemy import func, select

from intake import db
from intake.models import Case

from ..servers import Server, env_for, start_gunicorn
from .conftest import case_token, no_horizontal_scroll, submit_form

pytestmark = pytest.mark.browser


@pytest.fixture
def served(make_app: Any, tmp_path: Path) -> Iterator[tuple[Flask, Server]]:
    """The app (to count its cases) and the same instance served by gunicorn (2 workers)."""
    app = make_app()
    env = env_for(app.config, RATELIMIT_SUBMIT="1000 per minute", RATELIMIT_TRACK_FAILURES="1000 per minute")
    server = start_gunicorn(env, tmp_path / "gunicorn.log", workers=2)
    yield app, server
    server.stop()


def _cases(app: Flask) -> int:
    with app.app_context():
        return int(db.session().scalar(select(func.count()).select_from(Case)) or 0)


def _fill(page: Page, text: str) -> None:
    page.fill("#service", "ไฟถนน")
    page.fill("#details", text)


def test_reload_back_and_resend_keep_one_case_and_one_code(
    served: tuple[Flask, Server], contexts: Any
) -> None:
    app, live = served
    page = contexts(360).new_page()
    page.goto(live.url + "/report/feedback")
    _fill(page, "ไฟถนนหน้าวัดดับมาสามคืนแล้ว")
    submit_form(page)
    assert page.url.endswith("/receipt")
    token = case_token(page)
    no_horizontal_scroll(page, 360)
    page.screenshot(path=str(Path(app.config["INSTANCE_DIR"]).parent / "receipt-360.png"), full_page=True)

    page.reload()  # a reload of the receipt: the same code, no second case
    assert case_token(page) == token and _cases(app) == 1

    # On to tracking: only once the code is said to be written down.
    with page.expect_navigation():
        page.locator("form.receipt-continue button[type=submit]").click()
    assert "/receipt/continue" in page.url and page.locator("#written-error").count() == 1
    assert case_token(page) == token
    page.check("#written")
    with page.expect_navigation():
        page.locator("form.receipt-continue button[type=submit]").click()
    assert page.url.endswith("/track")
    page.fill("#token", token)
    submit_form(page, "token")
    assert page.locator("#case-status").get_attribute("data-status") == "new"

    # Back, Back: the receipt page again, with the same code (it is a GET page, nothing is resent).
    page.go_back()
    page.go_back()
    page.wait_for_load_state()
    if "/receipt" in page.url:
        assert case_token(page) == token
    assert _cases(app) == 1

    # Back to the form and send it again, as it comes back: the same rendered form files nothing new.
    page.goto(live.url + "/report/feedback")
    _fill(page, "ส่งสองครั้ง")
    form_id = page.locator("input[name=form_id]").get_attribute("value")
    submit_form(page)
    second = case_token(page)
    assert second != token and _cases(app) == 2
    page.go_back()
    page.wait_for_load_state()
    # Chromium fetches the page anew (no-store: a new one-time value) and restores what was typed.
    assert page.locator("#details").input_value() == "ส่งสองครั้ง"
    assert page.locator("input[name=form_id]").get_attribute("value") != form_id
    submit_form(page)  # sent again: the same words from the same browser are the same submission
    assert case_token(page) == second
    assert _cases(app) == 2


def test_a_double_tap_on_send_files_one_case(served: tuple[Flask, Server], contexts: Any) -> None:
    app, live = served
    page = contexts(360).new_page()
    posts: list[str] = []
    page.on("request", lambda r: posts.append(r.url) if r.method == "POST" else None)
    page.goto(live.url + "/ask")
    page.fill("#details", "ถามเรื่องภาษีป้าย แตะสองครั้ง")
    # The second tap cancels the first navigation in the browser (not the request the server got).
    page.locator("form:has(#details) button[type=submit]").click(click_count=2, delay=20, no_wait_after=True)
    try:
        page.wait_for_url("**/receipt")
    except PlaywrightError:  # the wait caught the first navigation, the one the second tap cancelled
        page.wait_for_url("**/receipt")
    token = case_token(page)
    page.reload()
    assert case_token(page) == token
    assert posts and _cases(app) == 1


def test_a_retry_after_a_lost_answer_shows_the_same_code(served: tuple[Flask, Server], contexts: Any) -> None:
    """The first answer never arrives (a bad mobile connection) and the same request goes again."""
    app, live = served
    page = contexts(360).new_page()
    page.goto(live.url + "/report/feedback")
    _fill(page, "สัญญาณหาย ส่งซ้ำ")
    first: dict[str, int] = {}

    def lose_the_first_answer(route: Any) -> None:
        if route.request.method == "POST" and not first:
            answer = route.fetch(max_redirects=0)  # the server files the case; this answer is lost
            first["status"] = answer.status
            route.continue_()  # ... and the very same request is sent again
            return
        route.continue_()

    page.route("**/report/feedback", lose_the_first_answer)
    submit_form(page)
    assert first == {"status": 303}
    assert page.url.endswith("/receipt") and case_token(page)
    assert _cases(app) == 1
