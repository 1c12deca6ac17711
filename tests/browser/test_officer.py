"""The officer's way in a real browser: sign-in with TOTP enrolment, the queue, a case shown escaped, a
reply that the citizen then reads on the tracking page."""

from __future__ import annotations

import base64
import re
from typing import Any

import pytest
from playwright.sync_api import Dialog, Page

from intake import crypto

from ..conftest import PASSWORD
from ..factories import LEGAL
from ..servers import Server
from .conftest import case_token, submit_form

pytestmark = pytest.mark.browser

HOSTILE = '<script>alert("xss")</script><b>bold</b> & <img src=x onerror=alert(1)> "quotes"'
REPLY = "ขอบคุณที่แจ้ง เทศบาลกำลังตรวจสอบเรื่องนี้"


def _sign_in_with_totp_enrolment(page: Page, base: str) -> None:
    page.goto(base + "/officer/login")
    page.fill("#username", LEGAL)
    page.fill("#password", PASSWORD)
    submit_form(page, "password")
    # The legal-unit officer holds the corruption channel: enrolment in TOTP comes first.
    assert page.url.endswith("/officer/totp"), page.url
    shown = page.locator("#totp-secret").inner_text()
    secret_text = re.sub(r"\s", "", shown)
    secret = base64.b32decode(secret_text + "=" * (-len(secret_text) % 8))
    page.fill("#code", crypto.totp_now(secret))
    submit_form(page, "code")
    assert "/officer/login" not in page.url and "/officer/totp" not in page.url, page.url


def test_sign_in_with_totp_read_escaped_case_and_reply_to_the_citizen(live: Server, contexts: Any) -> None:
    citizen = contexts(320).new_page()
    citizen.goto(live.url + "/report/corruption")
    citizen.fill("#details", HOSTILE)
    submit_form(citizen)
    token = case_token(citizen)

    officer = contexts(1280, js=True).new_page()
    dialogs: list[str] = []

    def on_dialog(dialog: Dialog) -> None:
        dialogs.append(dialog.message)
        dialog.dismiss()

    officer.on("dialog", on_dialog)
    _sign_in_with_totp_enrolment(officer, live.url)
    officer.goto(live.url + "/officer/queue")
    link = officer.locator("a[href^='/officer/cases/']").first
    with officer.expect_navigation():
        link.click()
    assert re.search(r"/officer/cases/\d+$", officer.url)
    submission = officer.locator("#submission-text")
    assert submission.inner_text() == HOSTILE  # shown literally
    assert submission.locator("b, img, script").count() == 0
    assert officer.locator("img[src=x]").count() == 0
    assert dialogs == []

    officer.fill("#reply-form textarea", REPLY)
    submit_form(officer, form="#reply-form")
    assert REPLY in (officer.locator(".case-reply").first.text_content() or "")
    assert dialogs == []

    citizen.goto(live.url + "/track")
    citizen.fill("#token", token)
    submit_form(citizen, "token")
    assert citizen.locator("#case-status").get_attribute("data-status") == "acknowledged"
    assert REPLY in citizen.locator(".case-reply").inner_text()
