"""The demo (issue 16): from a clean instance, `flask demo` fills every page of the README's tour, in Thai."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select

from intake import dates, demo
from intake.models import Case, PublishedAnswer

from .citizen_helpers import track
from .officer_helpers import OfficerActions, world

ENV = {"INTAKE_ADMIN_PASSWORD": demo.PASSWORD, "INTAKE_RECOVERY_PASSPHRASE": demo.RECOVERY}


def _page(client: FlaskClient, path: str) -> str:
    response = client.get(path)
    assert response.status_code == 200, path
    page = response.get_data(as_text=True)
    assert 'lang="th"' in page, path
    return page


def _cases(app: Flask) -> int:
    with world(app) as (s, _f):
        return int(s.scalar(select(func.count()).select_from(Case)) or 0)


@pytest.fixture
def demo_app(make_app: Any, monkeypatch: pytest.MonkeyPatch) -> Flask:
    for name, value in ENV.items():
        monkeypatch.setenv(name, value)
    app: Flask = make_app(setup=False)
    result = app.test_cli_runner().invoke(args=["demo", "--url", "http://127.0.0.1:5000"])
    assert result.exit_code == 0, result.output
    assert "DEMO ONLY" in result.output and "ทดลองใช้เท่านั้น" in result.output
    assert demo.totp_base32() in result.output and "otpauth://totp/" in result.output
    assert "flask --app wsgi demo-code" in result.output
    return app


def test_the_demo_seeds_once_and_says_how_to_sign_in(demo_app: Flask) -> None:
    made = _cases(demo_app)
    assert made >= 40
    again = demo_app.test_cli_runner().invoke(args=["demo"])
    assert again.exit_code == 0 and "Made " not in again.output and "demo-code" in again.output
    assert _cases(demo_app) == made  # idempotent
    code = demo_app.test_cli_runner().invoke(args=["demo-code"]).output.strip()
    assert re.fullmatch(r"\d{6}", code)
    with world(demo_app) as (s, _f):
        years = {dates.fiscal_year_of(c.received_at) for c in s.scalars(select(Case))}
        assert len(years) == 2  # the previous and the current fiscal year
        assert s.scalar(select(func.count()).select_from(PublishedAnswer)) == 2


def test_every_page_of_the_tour_has_content(demo_app: Flask) -> None:
    citizen = demo_app.test_client()
    assert "เทศบาลตำบลตัวอย่าง" in _page(citizen, "/")
    assert "ภาษีป้าย" in _page(citizen, "/faq")
    previous = dates.fiscal_year_of(dates.now()) - 1
    stats = _page(citizen, f"/stats?fiscal_year={previous}")
    assert "<table" in stats
    assert "ภ.ป.1" not in stats  # counts only, never content
    assert "<li" in _page(citizen, "/ita") and "เทศบาลตำบลตัวอย่าง" in _page(citizen, "/guide")
    assert "045-000-000" in _page(citizen, "/contact")
    codes = {what: code for code, what in (line.split("  ", 1) for line in demo.saved_codes(
        Path(demo_app.config["INSTANCE_DIR"])))}
    photo = "ร้องเรียนทุจริต ผู้ร้องส่งรูปเพิ่มเติม / corruption with a follow-up and a photo"
    followed = track(citizen, codes[photo])
    page = followed.get_data(as_text=True)
    assert followed.status_code == 200 and "ส่งรูปถนนที่แตกเพิ่มเติม" in page and ".jpg" in page
    rated = track(citizen, codes["ข้อเสนอแนะ ตอบแล้วและประเมินความพึงพอใจ / feedback answered and rated"])
    assert "กองช่างได้เปลี่ยนหลอดไฟ" in rated.get_data(as_text=True)

    pr = OfficerActions(demo_app.test_client())
    pr.login("pr", demo.PASSWORD)
    queue = _page(pr.client, "/officer/queue")
    assert "ท่อระบายน้ำ" in queue or "สุนัขจรจัด" in queue
    legal = OfficerActions(demo_app.test_client())
    legal.secrets["legal"] = demo.TOTP_SECRET
    legal.login("legal", demo.PASSWORD)
    queue = _page(legal.client, "/officer/queue")
    case_ids = re.findall(r'href="/officer/cases/(\d+)"', queue)
    assert case_ids
    pages = [_page(legal.client, f"/officer/cases/{i}") for i in dict.fromkeys(case_ids)]
    assert any("ส่งรูปถนนที่แตก" in p and ".jpg" in p for p in pages)  # the follow-up with its photo
    executive = OfficerActions(demo_app.test_client())
    executive.login("executive", demo.PASSWORD)
    report = _page(executive.client, f"/officer/reports?fiscal_year={previous}&period=year")
    assert "<table" in report and "ไฟส่องสว่าง" not in report


def test_the_second_municipality_has_its_own_site_officers_and_codes(demo_app: Flask) -> None:
    from intake import demo_tenant

    from .test_tenants_walls import client_on

    first, second = client_on(demo_app, "127.0.0.1"), client_on(demo_app, demo_tenant.HOST)
    assert demo_tenant.NAME in _page(second, "/") and demo_tenant.NAME not in _page(first, "/")
    assert "045-000-111" in _page(second, "/contact")
    lines = demo.saved_codes(Path(demo_app.config["INSTANCE_DIR"]))
    song = [line.split("  ", 1)[0] for line in lines if demo_tenant.CODE_PREFIX in line]
    assert len(song) == 1
    tracked = track(second, song[0])
    assert tracked.status_code == 200 and "เปลี่ยนลำโพงหอกระจายข่าว" in tracked.get_data(as_text=True)
    refused = track(first, song[0])  # a code of one municipality is not found on the other's site
    assert "เปลี่ยนลำโพงหอกระจายข่าว" not in refused.get_data(as_text=True)
    pr = OfficerActions(second)
    pr.login("pr", demo.PASSWORD)  # the same user name and password, another tenant's account
    queue = _page(second, "/officer/queue")
    assert "หอกระจายข่าว" in queue and "ภาษีป้าย" not in queue
    again = demo_app.test_cli_runner().invoke(args=["demo"])
    assert again.exit_code == 0 and "second municipality (song) with" not in again.output
    assert "http://song.localhost:5000/" in again.output


def test_the_host_administrator_signs_in_and_sees_both_municipalities(demo_app: Flask) -> None:
    from intake import demo_tenant

    from .host_helpers import HostActions
    from .test_tenants_walls import client_on

    output = demo_app.test_cli_runner().invoke(args=["demo"]).output
    assert "http://127.0.0.1:5000/host/login" in output and demo.HOST_ADMIN in output
    host = HostActions(client_on(demo_app, "127.0.0.1"), secret=demo.TOTP_SECRET)
    signed = host.login(demo.HOST_ADMIN, demo.PASSWORD)
    assert signed.status_code == 303, signed.get_data(as_text=True)[:500]
    tenants = host.client.get("/host/").get_data(as_text=True)
    assert demo_tenant.NAME in tenants and demo_tenant.SLUG in tenants
    assert "ภาษีป้าย" not in tenants  # counts, never content
