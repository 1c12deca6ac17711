"""The report PDF as typeset (WeasyPrint, Pango, libthai): Thai line breaks between words, a text layer
that copies whole words, cells clear of their rules, page numbers, the sign-off, nothing fetched."""

from __future__ import annotations

import subprocess
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path

import pytest
from flask import Flask
from jinja2 import ChoiceLoader, DictLoader
from sqlalchemy.orm import Session

from intake.reports import exports, periods, tables
from intake.reports.pdf import Letterhead, _LocalOnly, page_counter, render_pdf, thai_digits_in_text

from .factories import Factory
from .pdf_helpers import (
    ZERO_WIDTH,
    bad_breaks,
    break_is_between_words,
    cell_runs,
    ink,
    page_images,
    pdf_words,
    rule_clearance,
    runs_of,
    squash,
)
from .reports_helpers import bkk, build_known_cases

Q1 = periods.period(2569, "q1")
AS_OF = bkk(2026, 1, 20, 9)


@pytest.fixture
def q1_pdf(factory: Factory, session: Session) -> bytes:
    build_known_cases(factory, session)
    return exports.render(session, Q1, "pdf", as_of=AS_OF).data


def pdf_text(data: bytes, *args: str) -> str:
    out = subprocess.run(["pdftotext", *args, "-", "-"], input=data, capture_output=True, check=True)
    return out.stdout.decode("utf-8")


def headings(session: Session) -> tuple[list[str], list[str]]:
    """The report's column headings and row labels, in Thai, as the PDF should show them."""
    from flask_babel import force_locale

    from intake import settings

    with force_locale("th"):
        doc = tables.document(
            exports.figures.compute(session, Q1, AS_OF), settings.get(session, "municipality_name")
        )
    columns = sorted({cell.text for t in doc.tables for row in t.header_rows for cell in row})
    labels = sorted({str(row[0]) for t in doc.tables for row in t.rows})
    return columns, labels


def test_the_boundary_check_catches_breaks_inside_words() -> None:
    """The check the tests rely on (PyThaiNLP's dictionary) refuses the breaks the issue reported."""
    assert not break_is_between_words("หน่วยงาน", len("หน่วยง"))
    assert not break_is_between_words("ถาม-ตอบ", len("ถาม-ตอ"))
    assert not break_is_between_words("รับใหม่ในช่วงนี้", len("รับใ"))
    assert bad_breaks(["ส่งต่อหน่วยง", "านอื่น"]) == ["ส่งต่อหน่วยง|านอื่น"]
    assert break_is_between_words("ส่งต่อหน่วยงานอื่น", len("ส่งต่อ"))
    assert break_is_between_words("รวมเรื่องที่ต้องดำเนินการ", len("รวมเรื่องที่ต้อง"))
    assert break_is_between_words("ดำเนินการ", len("ดำเนิน"))  # a compound, between its words


def test_table_headings_break_only_between_words(q1_pdf: bytes, session: Session) -> None:
    """Each heading and row label is found whole across its rendered lines, broken only between words."""
    words = pdf_words(q1_pdf)
    columns, labels = headings(session)
    wrapped = []
    for text in [*columns, *labels]:
        found = runs_of(words, text)
        assert found, f"{text!r} not found as one cell's lines"
        for lines in found:
            assert not bad_breaks(lines), (text, lines)
            if len(lines) > 1:
                wrapped.append(lines)
    # Narrow A4 columns do wrap: the check above had work to do.
    assert len(wrapped) >= 10
    assert ["รวมเรื่องที่", "ต้อง", "ดำเนินการ"] in wrapped or ["รวม", "เรื่องที่", "ต้อง", "ดำเนิน", "การ"] in wrapped


def test_rendered_page_shows_the_lines_clear_of_the_rules(q1_pdf: bytes) -> None:
    """On the page image, every line of every cell has ink where the text layer says, and blank space
    between it and the cell's borders (no text touching or crossing a rule)."""
    words = pdf_words(q1_pdf)
    images = page_images(q1_pdf)
    checked = 0
    for word in words:
        image = images[word.page - 1]
        assert ink(image, word) > 0, word
        clearance = rule_clearance(image, word)
        if clearance is None:
            continue  # not in a table
        checked += 1
        assert min(clearance) >= 3, (word, clearance)  # 3 px at 150 dpi: half a millimetre
    assert checked > 100


def test_text_layer_copies_whole_words(q1_pdf: bytes) -> None:
    text = pdf_text(q1_pdf)
    assert not ZERO_WIDTH.search(text)
    lines = {line.strip() for line in text.splitlines()}
    for whole in (
        "เทศบาลตำบลตัวอย่าง",
        "รายงานสถิติเรื่องร้องเรียน ความคิดเห็น และการถาม-ตอบ",
        "ประจำปีงบประมาณ พ.ศ. 2569",
        "ไตรมาสที่ 1 (ตุลาคม 2568 – ธันวาคม 2568)",
        "ข้อมูล ณ วันที่ 20 มกราคม 2569",
        "ตารางที่ 1 จำนวนเรื่องจำแนกตามช่องทาง",
        "ตารางที่ 2 การแจ้งรับทราบภายในกำหนดเวลา",
        "ตารางที่ 3 การตอบกลับครั้งแรกภายในกำหนดเวลา",
    ):
        assert whole in lines, whole
    # Sara am, stacked tone marks: glyphs that are not one per character still copy as typed.
    for word in ("รับใหม่", "ตาม", "ดำเนินการ", "ที่ครบกำหนดแล้ว", "ช่วงนี้", "ปิดเรื่อง", "ตำแหน่ง"):
        assert word in text, word
    assert "ตำม" not in text and "กำร" not in text


def test_readers_without_actual_text_get_the_right_letters(q1_pdf: bytes) -> None:
    """pypdf reads the glyph map only: each glyph maps to its own letter (sara am reads as its two parts)."""
    import io

    from pypdf import PdfReader

    text = "".join(page.extract_text() or "" for page in PdfReader(io.BytesIO(q1_pdf)).pages)
    assert "ตาม" in text and "ตำม" not in text
    assert "รับใหม่" in squash(text)


def test_every_page_is_numbered_n_of_m(q1_pdf: bytes) -> None:
    pages = pdf_text(q1_pdf).split("\f")[:-1]
    assert len(pages) >= 3
    for number, page in enumerate(pages, start=1):
        assert f"หน้า {number} จาก {len(pages)}" in page


def test_letterhead_first_and_running_header_after(q1_pdf: bytes) -> None:
    pages = pdf_text(q1_pdf).split("\f")[:-1]
    assert "รายงานสถิติเรื่องร้องเรียน" in pages[0]
    assert pages[0].count("เทศบาลตำบลตัวอย่าง") == 1
    for page in pages[1:]:
        first = page.strip().splitlines()[0]
        assert "เทศบาลตำบลตัวอย่าง" in first and "ประจำปีงบประมาณ พ.ศ. 2569 ไตรมาสที่ 1" in page


def test_sign_off_block_on_one_page(q1_pdf: bytes) -> None:
    pages = pdf_text(q1_pdf).split("\f")[:-1]
    signed = [p for p in pages if "ผู้จัดทำรายงาน" in p]
    assert len(signed) == 1
    page = signed[0]
    for role in ("ผู้จัดทำรายงาน", "ผู้ตรวจสอบ", "ผู้อนุมัติ", "(นายกเทศมนตรี หรือรองปลัดเทศบาล)"):
        assert role in page
    assert page.count("(ลงชื่อ)") == 3 and page.count("ตำแหน่ง") == 3 and page.count("พ.ศ.") >= 3
    # After every table and the definitions: the executives sign what they have read.
    assert "คำอธิบายการนับ" in "".join(pages[: pages.index(page) + 1])
    assert "การตอบกลับ หมายถึงการตอบผู้แจ้งเรื่องครั้งแรก" in squash_lines(pages)


def squash_lines(pages: list[str]) -> str:
    return " ".join(" ".join(p.split()) for p in pages)


def test_a4_and_metadata(q1_pdf: bytes) -> None:
    info = subprocess.run(["pdfinfo", "-"], input=q1_pdf, capture_output=True, check=True).stdout.decode()
    assert "595.276 x 841.89 pts (A4)" in info
    assert "Author:          เทศบาลตำบลตัวอย่าง" in info
    fonts = subprocess.run(["pdffonts", "-"], input=q1_pdf, capture_output=True, check=True).stdout.decode()
    assert "Laksaman" in fonts


def test_thai_digits_reach_the_page_numbers(factory: Factory, session: Session) -> None:
    build_known_cases(factory, session)
    data = exports.render(session, Q1, "pdf", thai_digits=True, as_of=AS_OF).data
    text = pdf_text(data)
    assert "หน้า ๑ จาก" in text and "ตารางที่ ๑" in text
    assert not [c for c in text if c.isascii() and c.isdigit()]


def test_thai_digits_leave_markup_alone() -> None:
    html = '<head><style>a { width: 12mm }</style></head><body><p class="x1" data-v="42">ปี 2569 &#34;</p>'
    out = thai_digits_in_text(html)
    assert 'class="x1" data-v="42"' in out and "12mm" in out and "ปี ๒๕๖๙ &#34;" in out


def test_page_counter_css() -> None:
    assert page_counter("หน้า %(page)s จาก %(pages)s", False) == '"หน้า " counter(page) " จาก " counter(pages)'
    assert page_counter('Page "%(page)s"', True) == '"Page \\"" counter(page, thai) "\\""'


@pytest.fixture
def page_server() -> Iterator[tuple[str, list[str]]]:
    """A web server on 127.0.0.1 that records every request made to it."""
    seen: list[str] = []

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 - the http.server API
            seen.append(self.path)
            self.send_response(200)
            self.send_header("Content-Type", "image/png")
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    server = HTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}", seen
    server.shutdown()
    server.server_close()


@pytest.fixture
def extra_templates(app: Flask) -> Iterator[dict[str, str]]:
    """Templates that a test adds for the shared renderer (templates/pdf/_document.html)."""
    added: dict[str, str] = {}
    original = app.jinja_loader
    app.jinja_env.loader = ChoiceLoader([DictLoader(added), original])  # type: ignore[list-item]
    yield added
    app.jinja_env.loader = original


def test_the_renderer_fetches_nothing_from_outside(
    app: Flask, extra_templates: dict[str, str], page_server: tuple[str, list[str]], tmp_path: Path
) -> None:
    base, seen = page_server
    secret = tmp_path / "secret.css"
    secret.write_text("body { color: red }")
    extra_templates["outside.html"] = (
        '{% extends "pdf/_document.html" %}{% block style %}@import url("' + base + '/a.css");{% endblock %}'
        '{% block content %}<p>ข้อความ</p><img src="' + base + '/x.png" alt="">'
        '<img src="file://' + str(secret) + '" alt=""><link rel="stylesheet" href="file:///etc/passwd">'
        "{% endblock %}"
    )
    with app.test_request_context():
        data = render_pdf("outside.html", {}, Letterhead("เทศบาลตำบลทดสอบ"), title="ทดสอบ")
    assert data.startswith(b"%PDF") and "ข้อความ" in pdf_text(data)
    assert seen == []
    fetcher = _LocalOnly({})
    for url in (base + "/x.png", "file:///etc/passwd", "ftp://127.0.0.1/x"):
        with pytest.raises(ValueError, match="refused"):
            fetcher.fetch(url)
    assert fetcher.fetch("data:text/plain;base64,aGk=").read() == b"hi"


def test_long_tables_repeat_their_headings_on_every_page(app: Flask, extra_templates: dict[str, str]) -> None:
    extra_templates["long.html"] = (
        '{% extends "pdf/_document.html" %}{% block content %}<table class="report-grid">'
        "<thead><tr><th>ลำดับที่</th><th>รายการทดสอบ</th></tr></thead><tbody>"
        "{% for i in range(120) %}<tr><td>{{ i }}</td><td>แถว</td></tr>{% endfor %}"
        "</tbody></table>{% endblock %}"
    )
    with app.test_request_context():
        data = render_pdf("long.html", {}, Letterhead("เทศบาลตำบลทดสอบ"), title="ทดสอบ")
    pages = pdf_text(data).split("\f")[:-1]
    assert len(pages) >= 3
    assert all("ลำดับที่" in page and "รายการทดสอบ" in page for page in pages)
    assert all(f"หน้า {n} จาก {len(pages)}" in page for n, page in enumerate(pages, start=1))


def test_cells_group_into_runs(q1_pdf: bytes) -> None:
    """The helper groups a wrapped heading's lines and nothing else (guards the tests above)."""
    runs = [[w.text for w in run] for run in cell_runs(pdf_words(q1_pdf))]
    assert ["ร้องเรียนการ", "ทุจริต"] in runs or ["ร้องเรียนการทุจริต"] in runs
    assert not [run for run in runs if "ตารางที่ 1 จำนวนเรื่องจำแนกตามช่องทาง" in run and len(run) > 1]
