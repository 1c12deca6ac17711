"""/guide and /guide.pdf: the complaint-handling guideline made from the settings, and its admin page."""

from __future__ import annotations

import re
import subprocess
from typing import Any

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from intake import settings
from intake.models import AuditEntry

from .conftest import ADMIN, PASSWORD
from .officer_helpers import OfficerActions, world
from .pdf_helpers import ZERO_WIDTH


def pdf_text(data: bytes) -> str:
    out = subprocess.run(["pdftotext", "-", "-"], input=data, capture_output=True, check=True)
    return out.stdout.decode("utf-8")

GUIDE_SETTINGS = {
    "unit_corruption": "งานนิติการ กองกฎหมาย",
    "unit_feedback": "งานประชาสัมพันธ์",
    "unit_question": "ฝ่ายบริการประชาชน",
    "offline_sources": ["phone", "line"],
    "offline_contact": "สำนักงานเทศบาล ถนนสายหลัก\nโทร 045-000000 (วันจันทร์-ศุกร์)",
    "own_text": "ย่อหน้าแรกของเทศบาล\n\nย่อหน้าที่สองของเทศบาล",
}


def section(html: str, name: str) -> str:
    return html.split(f'id="{name}"', 1)[1].split("</section>", 1)[0]


def test_guide_is_made_from_the_settings(app: Flask, client: FlaskClient) -> None:
    with world(app) as (session, _factory):
        settings.put(session, "ack_days.corruption", "3")
        settings.put(session, "answer_days.corruption", "30")
        settings.put(session, "guide.unit.corruption", "งานนิติการ กองกฎหมาย")
        settings.put(session, "guide.offline_sources", "letter,box")
        session.commit()
    response = client.get("/guide")
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert "แนวปฏิบัติการจัดการเรื่องร้องเรียนของเทศบาลตำบลตัวอย่าง" in html
    channels = section(html, "channels")
    for url in ("http://localhost/report/corruption", "http://localhost/report/feedback", "http://localhost/ask",
                "http://localhost/track"):  # fmt: skip
        assert f'href="{url}"' in channels  # absolute: the guideline is also a printed document
    assert "ทาง: หนังสือ/จดหมาย, ตู้รับเรื่องร้องเรียน" in channels
    assert "โทรศัพท์" not in channels  # not accepted offline here
    units = section(html, "units")
    assert "งานนิติการ กองกฎหมาย" in units and "งานประชาสัมพันธ์ สำนักปลัดเทศบาล" in units  # the default
    limits = section(html, "limits")
    row = limits.split('data-channel="corruption"', 1)[1].split("</tr>", 1)[0]
    assert re.findall(r'data-days="(\d+)"', row) == ["3", "30"]  # the deadline settings
    assert "3 วัน" in row and "30 วัน" in row
    assert "งานนิติการ กองกฎหมาย" in section(html, "protection")
    outside = section(html, "outside")
    for hotline in ("1205", "1206", "1567"):
        assert f"สายด่วน {hotline}" in outside
    assert 'id="own"' not in html  # no text of the administrator's own yet
    for step in ("รับเรื่อง:", "แจ้งรับทราบ:", "ตรวจสอบข้อเท็จจริง:", "ตอบกลับ:", "ปิดเรื่อง:"):
        assert step in section(html, "steps")
    assert '<meta name="robots" content="index, follow">' in html and 'name="description"' in html


def test_guide_pdf_says_the_same(app: Flask, client: FlaskClient) -> None:
    client.set_cookie("lang", "en")  # the page may be English; the document is Thai
    response = client.get("/guide.pdf")
    assert response.status_code == 200 and response.mimetype == "application/pdf"
    assert "X-Robots-Tag" not in response.headers
    text = pdf_text(response.data)
    assert not ZERO_WIDTH.search(text)
    lines = {line.strip() for line in text.splitlines()}
    assert "แนวปฏิบัติการจัดการเรื่องร้องเรียนของเทศบาลตำบลตัวอย่าง" in lines
    for whole in ("1. ช่องทางการร้องเรียน", "4. ระยะเวลาดำเนินการ", "5. การคุ้มครองผู้ร้องเรียน",
                  "6. หน่วยงานภายนอกเทศบาล"):  # fmt: skip
        assert whole in lines, whole
    assert "งานนิติการ สำนักปลัดเทศบาล" in text and "1205" in text
    assert "http://localhost/report/corruption" in text
    assert "ผู้อนุมัติ" in text  # the sign-off block


def _post_guide(actions: OfficerActions, values: dict[str, Any]) -> Any:
    url = "/officer/admin/settings/guide"
    return actions.post(url, values)


def test_administrator_sets_the_guideline(app: Flask, client: FlaskClient) -> None:
    actions = OfficerActions(client)
    actions.login(ADMIN, PASSWORD)
    page = client.get("/officer/admin/settings/guide").get_data(as_text=True)
    assert 'value="งานนิติการ สำนักปลัดเทศบาล"' in page
    checked = set(re.findall(r'<input checked[^>]*value="(\w+)"|<input[^>]*value="(\w+)"[^>]*checked', page))
    assert {a or b for a, b in checked} == {"phone", "letter", "walk_in", "box"}  # the defaults
    response = _post_guide(actions, GUIDE_SETTINGS)
    assert response.status_code == 303
    html = client.get("/guide").get_data(as_text=True)
    assert "งานนิติการ กองกฎหมาย" in section(html, "units") and "ฝ่ายบริการประชาชน" in section(html, "units")
    channels = section(html, "channels")
    assert "ทาง: โทรศัพท์, ไลน์ (LINE)" in channels and "โทร 045-000000" in channels and "<br>" in channels
    own = section(html, "own")
    assert own.count("<p>") == 2 and "ย่อหน้าที่สองของเทศบาล" in own
    with world(app) as (session, _f):
        entry = session.scalars(select(AuditEntry).where(AuditEntry.action == "settings.guide")).one()
        assert "guide.unit.corruption=งานนิติการ กองกฎหมาย" in entry.detail
        assert "guide.text: " in entry.detail and "ย่อหน้า" not in entry.detail  # long text by its length
    # Unchanged: nothing recorded; a blank unit is refused with what was typed kept.
    assert _post_guide(actions, GUIDE_SETTINGS).status_code == 303
    bad = _post_guide(actions, {**GUIDE_SETTINGS, "unit_feedback": "", "unit_question": "หน่วยใหม่"})
    assert bad.status_code == 400 and 'value="หน่วยใหม่"' in bad.get_data(as_text=True)
    with world(app) as (session, _f):
        assert settings.get(session, "guide.unit.question") == "ฝ่ายบริการประชาชน"
        entries = session.scalars(select(AuditEntry).where(AuditEntry.action == "settings.guide")).all()
        assert len(entries) == 1


def test_no_offline_channel(app: Flask, client: FlaskClient) -> None:
    actions = OfficerActions(client)
    actions.login(ADMIN, PASSWORD)
    values = {k: v for k, v in GUIDE_SETTINGS.items() if k != "offline_sources"}
    assert _post_guide(actions, values).status_code == 303
    assert "เทศบาลรับเรื่องทางเว็บไซต์เท่านั้น" in section(client.get("/guide").get_data(as_text=True), "channels")


def test_guide_links_follow_the_public_url(make_app: Any) -> None:
    app = make_app(PUBLIC_URL="https://www.example.go.th")
    html = app.test_client().get("/guide").get_data(as_text=True)
    assert 'href="https://www.example.go.th/report/corruption"' in html
    assert 'href="https://www.example.go.th/stats"' in html
