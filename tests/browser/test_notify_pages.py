"""The notification pages in a real browser, JavaScript off, at 320 px: an officer's own address, the
administrator's mail page with its test mail, and the delivery log; then axe-core on each of them."""

from __future__ import annotations

import base64
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Page

from intake import crypto

from ..conftest import ADMIN, PASSWORD
from ..mailbox import Mailbox
from ..servers import Server, env_for, start_gunicorn
from .conftest import WIDTHS, no_horizontal_scroll, submit_form
from .test_accessibility import axe_problems

pytestmark = pytest.mark.browser


@pytest.fixture
def mail_live(make_app: Any, mailbox: Mailbox, tmp_path: Path) -> Iterator[Server]:
    app = make_app(**mailbox.config())
    env = env_for(app.config, **mailbox.config(), RATELIMIT_LOGIN="1000 per minute")
    server = start_gunicorn(env, tmp_path / "gunicorn.log", workers=1)
    yield server
    server.stop()


def _sign_in(page: Page, base: str) -> None:
    """The administrator signs in; enrols in two-step sign-in if the page asks for it."""
    page.goto(base + "/officer/login")
    page.fill("#username", ADMIN)
    page.fill("#password", PASSWORD)
    submit_form(page, "password")
    if page.url.endswith("/officer/totp"):
        secret_text = re.sub(r"\s", "", page.locator("#totp-secret").inner_text())
        secret = base64.b32decode(secret_text + "=" * (-len(secret_text) % 8))
        page.fill("#code", crypto.totp_now(secret))
        submit_form(page, "code")
    assert "/officer/login" not in page.url and "/officer/totp" not in page.url, page.url


PAGES = ["/officer/profile", "/officer/admin/notifications", "/officer/admin/notifications/log"]


def test_notification_pages_at_320_px(
    mail_live: Server, mailbox: Mailbox, contexts: Any, tmp_path: Path
) -> None:
    page = contexts(320).new_page()
    _sign_in(page, mail_live.url)

    page.goto(mail_live.url + "/officer/profile")
    no_horizontal_scroll(page, 320)
    page.fill("#email", "admin@example.go.th")
    page.check("input[name=mode][value=digest]")
    submit_form(page, "email")
    assert "บันทึกแล้ว" in page.content()
    assert page.input_value("#email") == "admin@example.go.th"
    page.screenshot(path=str(tmp_path / "profile-320.png"), full_page=True)

    page.goto(mail_live.url + "/officer/admin/notifications")
    no_horizontal_scroll(page, 320)
    page.fill("#address", "clerk@example.go.th")
    submit_form(page, "address")
    assert "รับอีเมลทดสอบถึง clerk@example.go.th แล้ว" in page.content()
    no_horizontal_scroll(page, 320)
    page.screenshot(path=str(tmp_path / "notifications-320.png"), full_page=True)
    assert [m.to for m in mailbox.received] == ["clerk@example.go.th"]

    page.goto(mail_live.url + "/officer/admin/notifications/log")
    no_horizontal_scroll(page, 320)
    assert page.locator("tr.delivery").count() == 1
    page.screenshot(path=str(tmp_path / "log-320.png"), full_page=True)

    # The same pages (signed in: the session cookie handed over) with axe-core, in Thai, at both widths.
    problems: list[str] = []
    for width in WIDTHS:
        checked = contexts(width, js=True, bypass_csp=True)
        checked.add_cookies(page.context.cookies())
        axe_page = checked.new_page()
        for path in PAGES:
            axe_page.goto(mail_live.url + path)
            assert axe_page.url.endswith(path), axe_page.url
            problems += axe_problems(axe_page)
    assert problems == []
