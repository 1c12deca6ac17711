"""Every citizen flow in a real browser with JavaScript off, at 320 and 1280 pixels wide."""

from __future__ import annotations

from typing import Any

import pytest
from playwright.sync_api import FilePayload, Page

from ..factories import PNG_1PX
from ..servers import Server
from .conftest import WIDTHS, case_token, no_horizontal_scroll, submit_form

pytestmark = pytest.mark.browser


def _fill_channel(page: Page, channel: str, text: str) -> None:
    page.fill("#details", text)
    if channel == "corruption":
        page.select_option("#category", "procurement")
        page.fill("#when_where", "ตลาดสด เมื่อเดือนที่แล้ว")
        page.fill("#involved", "เจ้าหน้าที่กองคลัง")
    if channel == "feedback":
        page.fill("#service", "เก็บขยะ")
        page.check("input[name=rating][value='4']")
    if channel == "question":
        page.check("#publish_ok")
    else:
        page.set_input_files(
            "#attachments",
            [FilePayload(name="หลักฐาน.png", mimeType="image/png", buffer=PNG_1PX),
             FilePayload(name="notes.txt", mimeType="text/plain", buffer="บันทึก".encode())],
        )
    page.fill("#contact", "0812345678")


@pytest.mark.parametrize("width", WIDTHS)
def test_every_channel_submit_track_and_follow_up_without_javascript(
    live: Server, contexts: Any, width: int
) -> None:
    page = contexts(width).new_page()
    page.goto(live.url + "/")
    no_horizontal_scroll(page, width)
    for channel, link in (("corruption", "/report/corruption"), ("feedback", "/report/feedback"),
                          ("question", "/ask")):
        page.goto(live.url + "/")
        with page.expect_navigation():
            page.locator(f"a[href='{link}']").first.click()
        no_horizontal_scroll(page, width)
        text = f"เรื่อง {channel} ทดสอบด้วยเบราว์เซอร์ {width}"
        _fill_channel(page, channel, text)
        submit_form(page)
        assert page.url.endswith("/receipt")  # a 303 to the receipt page: no token in its URL
        token = case_token(page)
        no_horizontal_scroll(page, width)

        page.goto(live.url + "/track")
        page.fill("#token", token.lower().replace("-", " "))  # typed loosely, as people do
        submit_form(page, "token")
        assert page.locator("#case-status").get_attribute("data-status") == "new"
        assert text in (page.locator(".timeline").text_content() or "")
        assert token not in page.url
        no_horizontal_scroll(page, width)

        page.fill("#message", f"ข้อมูลเพิ่มเติม {channel}")
        more = {"name": "more.txt", "mimeType": "text/plain", "buffer": b"more"}
        page.set_input_files("#attachments", [more])
        submit_form(page, "message")
        assert f"ข้อมูลเพิ่มเติม {channel}" in page.locator(".timeline").inner_text()
        assert page.locator("p.flash[role=status]").count() == 1
        no_horizontal_scroll(page, width)


@pytest.mark.parametrize("width", WIDTHS)
def test_errors_keep_what_was_typed_and_wrong_tokens_are_told_plainly(
    live: Server, contexts: Any, width: int
) -> None:
    page = contexts(width).new_page()
    page.goto(live.url + "/report/feedback")
    page.fill("#service", "ถนนชำรุด")
    page.fill("#contact", "line: someone")
    # The browser itself refuses an empty required field; the server must too (old browsers, robots).
    page.locator("#details").evaluate("el => el.removeAttribute('required')")
    submit_form(page)
    assert page.locator(".error-summary").count() == 1
    assert page.locator("#details").get_attribute("aria-invalid") == "true"
    assert page.input_value("#service") == "ถนนชำรุด"
    assert page.input_value("#contact") == "line: someone"
    no_horizontal_scroll(page, width)

    page.goto(live.url + "/track")
    page.fill("#token", "AAAAA-BBBBB-CCCCC-DDDDD")
    submit_form(page, "token")
    wrong = page.locator("main").inner_text()
    page.fill("#token", "not a code at all")
    submit_form(page, "token")
    assert page.locator("main").inner_text() == wrong  # wrong and malformed look the same
    no_horizontal_scroll(page, width)
