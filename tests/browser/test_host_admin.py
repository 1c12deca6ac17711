"""The host administrator's tenant list in a real browser at 360 px, in Thai, JavaScript off."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask

from intake import crypto

from ..host_helpers import ROOT, ROOT_PASSWORD, add_admin, enrol
from ..servers import Server, env_for, start_gunicorn
from ..test_tenants_walls import add_tenant_b
from .conftest import no_horizontal_scroll, submit_form

pytestmark = pytest.mark.browser
SHOT = Path(os.environ.get("INTAKE_HOST_SHOT", "/work/coord/shots/host-list.png"))


@pytest.fixture
def served(make_app: Any, tmp_path: Path) -> Iterator[tuple[Flask, Server]]:
    app = make_app()
    add_tenant_b(app)
    add_admin(app)
    env = env_for(app.config, RATELIMIT_LOGIN="1000 per minute", RATELIMIT_SUBMIT="1000 per minute")
    server = start_gunicorn(env, tmp_path / "gunicorn.log", workers=2)
    yield app, server
    server.stop()


def test_the_tenant_list_reads_in_thai_at_360_px(served: tuple[Flask, Server], contexts: Any) -> None:
    app, live = served
    secret = enrol(app)
    citizen = contexts(360).new_page()
    citizen.goto(live.url + "/report/feedback")
    citizen.fill("#service", "ไฟถนน")
    citizen.fill("#details", "ไฟถนนหน้าวัดดับ")
    submit_form(citizen)
    page = contexts(360).new_page()
    page.goto(live.url + "/host/login")
    page.fill("#username", ROOT)
    page.fill("#password", ROOT_PASSWORD)
    page.fill("#code", crypto.totp_now(secret))
    submit_form(page, "code")
    assert page.url.endswith("/host/"), page.url
    text = page.locator("main").inner_text()
    assert "หน่วยงาน" in text and "เทศบาลตำบลบี" in text and "จำนวนเรื่องแยกตามช่องทาง" in text
    no_horizontal_scroll(page, 360)
    SHOT.parent.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOT), full_page=True)
    page.goto(live.url + "/host/national")
    no_horizontal_scroll(page, 360)
    page.set_viewport_size({"width": 320, "height": 900})  # the narrowest phone, every page
    for path in ("/host/", "/host/national", "/host/tenants/new", "/host/tenants/b/remove"):
        page.goto(live.url + path)
        no_horizontal_scroll(page, 320)


def test_a_tenant_made_in_the_browser_shows_its_recovery_key_once(
    served: tuple[Flask, Server], contexts: Any, tmp_path: Path
) -> None:
    app, live = served
    secret = enrol(app)
    page = contexts(360).new_page()
    page.goto(live.url + "/host/login")
    page.fill("#username", ROOT)
    page.fill("#password", ROOT_PASSWORD)
    page.fill("#code", crypto.totp_now(secret))
    submit_form(page, "code")
    page.goto(live.url + "/host/tenants/new")
    no_horizontal_scroll(page, 360)
    page.screenshot(path=str(tmp_path / "host-new-360.png"), full_page=True)
    for field, value in {
        "slug": "ban-na",
        "name": "เทศบาลตำบลบ้านนา",
        "host": "intake.banna.go.th",
        "province": "ลำปาง",
        "admin": "chief",
        "password": "initial password 1",
        "passphrase": "lantern orbit velvet quarry marble",
        "passphrase_again": "lantern orbit velvet quarry marble",
    }.items():
        page.fill(f"#{field}", value)
    submit_form(page, "slug")
    assert "intake-recovery-key-v1" in page.locator("#recovery-text").input_value()
    assert page.locator("#recovery-download").get_attribute("download") == "recovery-ban-na.key"
    no_horizontal_scroll(page, 360)
    page.screenshot(path=str(tmp_path / "host-made-360.png"), full_page=True)
    page.reload()  # the POST again: the tenant exists, no second key is shown
    assert page.locator("#recovery-text").count() == 0
