"""Accessibility of every citizen page with axe-core (from npm, injected): no serious or critical
violation, in Thai and English, at 320 and 1280 pixels; and no sideways scrolling at 320."""

from __future__ import annotations

from typing import Any

import pytest
from playwright.sync_api import Page

from ..servers import Server
from .conftest import AXE, WIDTHS, case_token, no_horizontal_scroll, submit_form

pytestmark = pytest.mark.browser

STATIC_PAGES = [
    "/", "/report/corruption", "/report/feedback", "/ask", "/track", "/stats", "/faq", "/guide", "/ita",
]  # fmt: skip


def axe_problems(page: Page) -> list[str]:
    """Serious and critical violations on the page as it is, one line each."""
    page.add_script_tag(path=str(AXE))
    result = page.evaluate("async () => await axe.run(document, {resultTypes: ['violations']})")
    problems = []
    for violation in result["violations"]:
        if violation["impact"] in ("serious", "critical"):
            targets = [" ".join(map(str, node["target"])) for node in violation["nodes"]][:5]
            problems.append(f"{page.url} {violation['id']} ({violation['impact']}): {targets}")
    return problems


def _dynamic_pages(page: Page, base: str) -> list[str]:
    """Walk through the pages that only a POST reaches, checking each on the way."""
    problems: list[str] = []
    page.goto(base + "/report/feedback")
    page.locator("#details").evaluate("el => el.removeAttribute('required')")
    page.fill("#service", "ไฟถนน")
    submit_form(page)  # form with errors
    problems += axe_problems(page)
    page.fill("#details", "ไฟถนนดับหลายจุด")
    submit_form(page)  # receipt
    token = case_token(page)
    problems += axe_problems(page)
    page.goto(base + "/track")
    page.fill("#token", token)
    submit_form(page, "token")  # the case page with its follow-up form
    problems += axe_problems(page)
    page.goto(base + "/track")
    page.fill("#token", "AAAAA-BBBBB-CCCCC-DDDDD")
    submit_form(page, "token")  # a wrong code
    problems += axe_problems(page)
    return problems


@pytest.mark.parametrize("width", WIDTHS)
def test_no_serious_or_critical_violation_on_any_citizen_page(
    live: Server, contexts: Any, width: int
) -> None:
    problems: list[str] = []
    for lang in ("th", "en"):
        context = contexts(width, js=True, bypass_csp=True)
        page = context.new_page()
        if lang == "en":
            page.goto(live.url + "/lang/en?next=/")
        for path in STATIC_PAGES:
            page.goto(live.url + path)
            assert page.locator("html").get_attribute("lang") == lang
            problems += axe_problems(page)
            if width == 320:
                no_horizontal_scroll(page, width)
        problems += _dynamic_pages(page, live.url)
        if width == 320:
            no_horizontal_scroll(page, width)
    assert problems == []
