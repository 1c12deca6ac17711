"""The README's guided tour on the demo, in Chromium at phone width, in Thai: every stop has content.

With INTAKE_TOUR_SCREENSHOTS=DIR each stop is saved as DIR/NN-name.png (scripts/tour_screenshots.sh keeps
docs/tour/ current that way); otherwise the screenshots go to the test's temporary folder.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from playwright.sync_api import Page

from intake import dates, demo

from ..servers import Server, env_for, start_gunicorn
from .conftest import no_horizontal_scroll

WIDTH = 360
ENV = {"INTAKE_ADMIN_PASSWORD": demo.PASSWORD, "INTAKE_RECOVERY_PASSPHRASE": demo.RECOVERY}


@pytest.fixture
def demo_live(
    make_app: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[tuple[Flask, Server]]:
    for name, value in ENV.items():
        monkeypatch.setenv(name, value)
    app: Flask = make_app(setup=False)
    result = app.test_cli_runner().invoke(args=["demo"])
    assert result.exit_code == 0, result.output
    env = env_for(app.config, RATELIMIT_LOGIN="1000 per minute", RATELIMIT_TRACK_FAILURES="1000 per minute")
    server = start_gunicorn(env, tmp_path / "gunicorn.log", workers=2)
    yield app, server
    server.stop()


class Tour:
    def __init__(self, page: Page, base: str, folder: Path) -> None:
        self.page, self.base, self.folder, self.n = page, base, folder, 0

    def stop(self, name: str, path: str | None = None, *, expect: str) -> None:
        """Go to `path` (or stay), check its Thai content, no sideways scroll, and take its picture."""
        if path is not None:
            self.page.goto(self.base + path)
        assert self.page.locator("html").get_attribute("lang") == "th"
        assert expect in self.page.content(), (name, expect)
        no_horizontal_scroll(self.page, WIDTH)
        self.n += 1
        self.page.screenshot(path=str(self.folder / f"{self.n:02d}-{name}.png"), full_page=True)

    def sign_in(self, name: str, code: str | None = None) -> None:
        self.page.goto(self.base + "/officer/login")
        self.page.fill("#username", name)
        self.page.fill("#password", demo.PASSWORD)
        with self.page.expect_navigation():
            self.page.locator("form:has(#password) button[type=submit]").click()
        if code is not None:
            self.page.fill("#code", code)
            with self.page.expect_navigation():
                self.page.locator("form:has(#code) button[type=submit]").click()


def test_the_tour_in_thai_at_phone_width(
    demo_live: tuple[Flask, Server], contexts: Any, tmp_path: Path
) -> None:
    app, live = demo_live
    last_year = dates.fiscal_year_of(dates.now()) - 1  # its quarters have all ended: every table is there
    folder = Path(os.environ.get("INTAKE_TOUR_SCREENSHOTS") or tmp_path / "tour")
    folder.mkdir(parents=True, exist_ok=True)
    codes = {what: code for code, what in (line.split("  ", 1) for line in demo.saved_codes(
        Path(app.config["INSTANCE_DIR"])))}
    citizen = Tour(contexts(WIDTH).new_page(), live.url, folder)
    # The citizen's path: the channels, a form, following a case, the public pages.
    citizen.stop("home", "/", expect="ร้องเรียนการทุจริต")
    citizen.stop("report-corruption", "/report/corruption", expect="งานนิติการ")
    citizen.page.goto(live.url + "/track")
    photo = codes["ร้องเรียนทุจริต ผู้ร้องส่งรูปเพิ่มเติม / corruption with a follow-up and a photo"]
    citizen.page.fill("#token", photo)
    with citizen.page.expect_navigation():
        citizen.page.locator("form:has(#token) button[type=submit]").click()
    citizen.stop("track-case", expect="ส่งรูปถนนที่แตกเพิ่มเติม")
    citizen.stop("faq", "/faq", expect="ภาษีป้าย")
    citizen.stop("stats", f"/stats?fiscal_year={last_year}", expect="<table")
    citizen.stop("ita", "/ita", expect="ITA")
    citizen.stop("guide", "/guide", expect="เทศบาลตำบลตัวอย่าง")
    # The legal officer's path: a second factor, the corruption queue, a case with the citizen's photo.
    legal = Tour(contexts(WIDTH).new_page(), live.url, folder)
    legal.n = citizen.n
    legal.sign_in("legal", demo.current_code())
    legal.stop("legal-queue", "/officer/queue", expect="ทุจริต")
    ids = re.findall(r'href="/officer/cases/(\d+)"', legal.page.content())
    for case_id in dict.fromkeys(ids):
        legal.page.goto(f"{live.url}/officer/cases/{case_id}")
        if "ส่งรูปถนนที่แตก" in legal.page.content():
            break
    legal.stop("legal-case", expect="ส่งรูปถนนที่แตก")
    # The executive's report and the administrator's pages.
    executive = Tour(contexts(WIDTH).new_page(), live.url, folder)
    executive.n = legal.n
    executive.sign_in("executive")
    report = f"/officer/reports?fiscal_year={last_year}&period=year"
    executive.stop("executive-report", report, expect="<table")
    admin = Tour(contexts(WIDTH).new_page(), live.url, folder)
    admin.n = executive.n
    admin.sign_in("admin")
    admin.stop("admin-officers", "/officer/admin/officers", expect="legal")
