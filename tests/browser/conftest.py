"""Browser tests: Debian's Chromium driven by Playwright against the app served by gunicorn on 127.0.0.1."""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, sync_playwright

from intake import db

from ..factories import Factory
from ..servers import ROOT, Server, env_for, start_gunicorn

CHROMIUM = os.environ.get("INTAKE_TEST_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
AXE = ROOT / "node_modules" / "axe-core" / "axe.min.js"
WIDTHS = (320, 1280)


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture
def live(make_app: Any, tmp_path: Path) -> Iterator[Server]:
    """A fresh, set-up instance served by gunicorn (2 workers) on a free loopback port."""
    app = make_app()
    with app.app_context():
        Factory(app, db.session()).legal()  # the legal-affairs unit's officer: the corruption channel
    env = env_for(
        app.config,
        RATELIMIT_SUBMIT="1000 per minute",
        RATELIMIT_TRACK_FAILURES="1000 per minute",
        RATELIMIT_LOGIN="1000 per minute",
    )
    server = start_gunicorn(env, tmp_path / "gunicorn.log", workers=2)
    yield server
    server.stop()


@pytest.fixture
def contexts(browser: Browser) -> Iterator[Any]:
    """Make browser contexts (closed at the end): new(width, js=False, **options)."""
    made: list[BrowserContext] = []

    def new(width: int = 1280, js: bool = False, **options: Any) -> BrowserContext:
        context = browser.new_context(
            viewport={"width": width, "height": 900}, java_script_enabled=js, **options
        )
        context.set_default_timeout(30_000)
        made.append(context)
        return context

    yield new
    for context in made:
        context.close()


def no_horizontal_scroll(page: Page, width: int) -> None:
    scroll = page.evaluate("document.documentElement.scrollWidth")
    assert scroll <= width, f"{page.url} scrolls sideways at {width} px (scrollWidth {scroll})"


def case_token(page: Page) -> str:
    token = page.locator("#case-token").inner_text().strip()
    assert re.fullmatch(r"[0-9A-Z]{5}(-[0-9A-Z]{5}){3}", token), token
    return token


def submit_form(page: Page, field_id: str = "details", form: str | None = None) -> None:
    """Press the send button of the form that holds `field_id` (or matches `form`); wait for the answer."""
    with page.expect_navigation():
        page.locator(f"{form or f'form:has(#{field_id})'} button[type=submit]").click()
