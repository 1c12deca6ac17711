"""CSV, XLSX and PDF read back: the hand-worked figures of Q1 of FY 2569, Thai headings, no formulas.

The PDF's typesetting (line breaks, text layer, sign-off) is tested in test_reports_pdf.py, the long CSV
in test_reports_long.py.
"""

from __future__ import annotations

import csv
import io
import re
import subprocess
from pathlib import Path

import openpyxl
import pytest
from flask import Flask
from sqlalchemy.orm import Session

from intake import settings
from intake.reports import as_pdf, exports, periods

from .factories import Factory
from .reports_helpers import bkk, build_known_cases

Q1 = periods.period(2569, "q1")
AS_OF = bkk(2026, 1, 20, 9)
# Quarter 1 of FY 2569 (see test_reports_figures.py): carried over, received, total, pending, in progress,
# referred, resolved, dismissed, closed within the period.
TITLE_ROW = (
    "เทศบาลตำบลตัวอย่าง · ประจำปีงบประมาณ พ.ศ. 2569 ไตรมาสที่ 1 (ตุลาคม 2568 – ธันวาคม 2568)"
    " · ข้อมูล ณ วันที่ 20 มกราคม 2569"
)
Q1_BY_CHANNEL = {
    "ร้องเรียนการทุจริต": [2, 1, 3, 1, 0, 1, 0, 1, 1],
    "ความคิดเห็น/คำติชม": [0, 2, 2, 2, 0, 0, 0, 0, 0],
    "ถาม-ตอบ": [0, 1, 1, 1, 0, 0, 0, 0, 0],
    "รวม": [2, 4, 6, 4, 0, 1, 0, 1, 1],
}


def csv_rows(data: bytes) -> list[list[str]]:
    assert data.startswith(b"\xef\xbb\xbf"), "UTF-8 byte-order mark for Excel"
    return list(csv.reader(io.StringIO(data.decode("utf-8-sig"), newline="")))


def table_after(rows: list[list[str]], title: str) -> list[list[str]]:
    """The rows of the table titled `title` (its heading row first), up to the next empty row."""
    start = rows.index([title]) + 1
    end = next((i for i in range(start, len(rows)) if not rows[i]), len(rows))
    return rows[start:end]


def pdf_text(data: bytes, tmp_path: Path) -> str:
    path = tmp_path / "report.pdf"
    path.write_bytes(data)
    out = subprocess.run(["pdftotext", "-layout", str(path), "-"], capture_output=True, check=True)
    return out.stdout.decode("utf-8")


def squeeze(text: str) -> str:
    """pdftotext may split Thai words where glyphs sit apart, and line-break hints are zero-width spaces:
    compare without either."""
    return re.sub(r"[\s\u200b]+", "", text)


def test_csv_has_the_figures_quoted_with_bom(factory: Factory, session: Session) -> None:
    build_known_cases(factory, session)
    data = exports.render(session, Q1, "csv", as_of=AS_OF).data
    rows = csv_rows(data)
    text = data.decode("utf-8-sig")
    # Every cell quoted: each non-empty line starts and ends with a quote.
    assert all(line.startswith('"') and line.endswith('"') for line in text.split("\r\n") if line)
    # The first row names the municipality, the period and the as-of date; then the report's title.
    assert rows[0] == [TITLE_ROW]
    assert rows[1] == ["รายงานสถิติเรื่องร้องเรียน ความคิดเห็น และการถาม-ตอบ"]
    channels = table_after(rows, "จำนวนเรื่องจำแนกตามช่องทาง")
    assert channels[0][:4] == ["ช่องทาง", "ยกมาจากช่วงก่อน", "รับใหม่ในช่วงนี้", "รวมเรื่องที่ต้องดำเนินการ"]
    assert channels[0][4] == "สถานะ ณ สิ้นช่วง: รอดำเนินการ"  # a grouped column carries its group's name
    assert {row[0]: [int(v) for v in row[1:]] for row in channels[1:]} == Q1_BY_CHANNEL
    ack = table_after(rows, "การแจ้งรับทราบภายในกำหนดเวลา")
    assert ack[0] == ["ช่องทาง", "รับใหม่ในช่วงนี้", "ครบกำหนดแล้ว", "ภายในกำหนด", "ร้อยละภายในกำหนด",
                      "ยังไม่ครบกำหนด", "มัธยฐานจำนวนวันจนแจ้งรับทราบ"]  # fmt: skip
    # All channels: 4 received, all 4 due by 20 Jan, 3 acknowledged on time (75.0%), median 1.5 days.
    assert ack[-1] == ["ทุกช่องทาง", "4", "4", "3", "75.0", "0", "1.5"]
    assert ack[2] == ["ความคิดเห็น/คำติชม", "2", "2", "1", "50.0", "0", "1.5"]
    answer = table_after(rows, "การตอบกลับครั้งแรกภายในกำหนดเวลา")
    # 1 of 4 answered (first reply) on time; median days to close 106.0 (G), none closed for feedback.
    assert answer[-1] == ["ทุกช่องทาง", "4", "4", "1", "25.0", "0", "106.0"]
    assert answer[2] == ["ความคิดเห็น/คำติชม", "2", "2", "0", "0.0", "0", ""]
    assert "การตอบกลับ หมายถึงการตอบผู้แจ้งเรื่องครั้งแรก" in " ".join(r[0] for r in rows[:12] if r)
    months = table_after(rows, "จำนวนเรื่องรายเดือน")
    assert months[1] == ["ตุลาคม 2568", "0", "1", "0", "1", "1", "0", "0", "1"]
    assert months[-1] == ["รวม", "1", "2", "1", "4", "1", "0", "0", "1"]
    categories = table_after(rows, "เรื่องร้องเรียนการทุจริตจำแนกตามประเภท")
    assert ["การเรียกรับสินบน", "1", "0", "1", "1", "0", "0", "0", "0", "0"] in categories


def test_csv_neutralises_formulas(factory: Factory, session: Session) -> None:
    factory.case()
    for name in ('=HYPERLINK("http://evil.example","x")', "+1+1", "-2", "@SUM(A1)", "\tx", "\r=1"):
        settings.put(session, "municipality_name", name)
        rows = csv_rows(exports.render(session, Q1, "csv", as_of=AS_OF).data)
        assert rows[0][0].startswith("'" + name + " · ")
        assert not [cell for row in rows for cell in row if cell[:1] in ("=", "+", "-", "@", "\t", "\r")]


def test_empty_period_says_so_in_every_format(factory: Factory, session: Session, tmp_path: Path) -> None:
    build_known_cases(factory, session)
    empty = periods.period(2566, "year")
    rows = csv_rows(exports.render(session, empty, "csv", as_of=AS_OF).data)
    assert ["ไม่มีเรื่องร้องเรียนในช่วงเวลานี้"] in rows
    assert table_after(rows, "จำนวนเรื่องจำแนกตามช่องทาง")[-1] == ["รวม", *["0"] * 9]
    book = openpyxl.load_workbook(io.BytesIO(exports.render(session, empty, "xlsx", as_of=AS_OF).data))
    assert "ไม่มีเรื่องร้องเรียนในช่วงเวลานี้" in [c.value for c in book.worksheets[0]["A"]]
    text = pdf_text(exports.render(session, empty, "pdf", as_of=AS_OF).data, tmp_path)
    assert squeeze("ไม่มีเรื่องร้องเรียนในช่วงเวลานี้") in squeeze(text)


def test_xlsx_numbers_are_numbers(factory: Factory, session: Session) -> None:
    build_known_cases(factory, session)
    settings.put(session, "municipality_name", "=1+1")
    book = openpyxl.load_workbook(io.BytesIO(exports.render(session, Q1, "xlsx", as_of=AS_OF).data))
    assert book.sheetnames == [
        "เกี่ยวกับรายงาน",
        "ตามช่องทาง",
        "การแจ้งรับทราบ",
        "การตอบกลับครั้งแรก",
        "ความพึงพอใจ",
        "ตามวิธีที่รับเรื่อง",
        "ทุจริตตามประเภท",
        "รายเดือน",
    ]
    about = book.worksheets[0]
    assert about["A1"].value.startswith("=1+1 · ประจำปีงบประมาณ พ.ศ. 2569")
    assert about["A1"].data_type == "s"  # text, not a live formula
    assert about["A2"].value == "รายงานสถิติเรื่องร้องเรียน ความคิดเห็น และการถาม-ตอบ"
    sheet = book["ตามช่องทาง"]
    rows = list(sheet.iter_rows(values_only=True))
    # Title row, the table's title, two heading rows (the state at the end is a group), then the figures.
    assert rows[1][0] == "จำนวนเรื่องจำแนกตามช่องทาง"
    assert rows[2][:2] == ("ช่องทาง", "ยกมาจากช่วงก่อน") and rows[2][4] == "สถานะ ณ สิ้นช่วง"
    assert rows[3][4] == "รอดำเนินการ"
    got = {row[0]: list(row[1:]) for row in rows[4:]}
    assert got == Q1_BY_CHANNEL
    assert all(isinstance(v, int) for row in rows[4:] for v in row[1:])
    total = list(book["การแจ้งรับทราบ"][7])
    assert [c.value for c in total] == ["ทุกช่องทาง", 4, 4, 3, 0.75, 0, 1.5]
    assert total[4].number_format == "0.0%" and total[6].number_format == "0.0"
    assert [c.value for c in book["การตอบกลับครั้งแรก"][7]] == ["ทุกช่องทาง", 4, 4, 1, 0.25, 0, 106.0]
    assert not [c for ws in book.worksheets for row in ws.iter_rows() for c in row if c.data_type == "f"]


def test_pdf_has_thai_headings_and_be_year(factory: Factory, session: Session, tmp_path: Path) -> None:
    build_known_cases(factory, session)
    data = exports.render(session, Q1, "pdf", as_of=AS_OF).data
    assert data.startswith(b"%PDF")
    text = squeeze(pdf_text(data, tmp_path))
    for heading in (
        "เทศบาลตำบลตัวอย่าง",
        "รายงานสถิติเรื่องร้องเรียน ความคิดเห็น และการถาม-ตอบ",
        "ประจำปีงบประมาณ พ.ศ. 2569",
        "ไตรมาสที่ 1 (ตุลาคม 2568 – ธันวาคม 2568)",
        "จำนวนเรื่องจำแนกตามช่องทาง",
        "เรื่องร้องเรียนการทุจริตจำแนกตามประเภท",
        "ร้องเรียนการทุจริต",
        "ข้อมูล ณ วันที่ 20 มกราคม 2569",
    ):
        assert squeeze(heading) in text, heading
    # The corruption row of the first table: 2 carried over, 1 received, 3 in all ...
    assert squeeze("ร้องเรียนการทุจริต 2 1 3 1 0 1 0 1 1") in text
    pages = subprocess.run(["pdfinfo", "-"], input=data, capture_output=True, check=True).stdout.decode()
    assert re.search(r"Page size:\s+595\.\d+ x 841\.\d+ pts \(A4\)", pages)
    assert "Laksaman" in subprocess.run(
        ["pdffonts", "-"], input=data, capture_output=True, check=False
    ).stdout.decode() or b"Laksaman" in data


def test_pdf_thai_digits(factory: Factory, session: Session, tmp_path: Path) -> None:
    build_known_cases(factory, session)
    made = exports.render(session, Q1, "pdf", thai_digits=True, as_of=AS_OF)
    text = squeeze(pdf_text(made.data, tmp_path))
    assert squeeze("ประจำปีงบประมาณ พ.ศ. ๒๕๖๙") in text
    assert squeeze("ร้องเรียนการทุจริต ๒ ๑ ๓ ๑ ๐ ๑ ๐ ๑ ๑") in text
    assert "2569" not in text
    assert made.filename == "report-fy2569-q1-thai-digits.pdf"


def test_pdf_font_missing_is_a_clear_error(app: Flask, session: Session, tmp_path: Path) -> None:
    app.config["REPORT_FONT_DIR"] = str(tmp_path / "nowhere")
    with pytest.raises(as_pdf.FontMissing, match="fonts-tlwg-laksaman-ttf"):
        exports.render(session, Q1, "pdf")


def test_same_day_same_bytes(factory: Factory, session: Session) -> None:
    build_known_cases(factory, session)
    for fmt in ("csv", "pdf"):
        first = exports.render(session, Q1, fmt, as_of=AS_OF).data
        assert exports.render(session, Q1, fmt, as_of=bkk(2026, 1, 20, 23, 59)).data == first


def test_xlsx_sheets_open_with_the_title_row_and_print_on_a4(factory: Factory, session: Session) -> None:
    build_known_cases(factory, session)
    book = openpyxl.load_workbook(io.BytesIO(exports.render(session, Q1, "xlsx", as_of=AS_OF).data))
    for ws in book.worksheets:
        assert ws["A1"].value == TITLE_ROW, ws.title
        assert int(ws.page_setup.paperSize) == 9  # A4
        assert ws.sheet_properties.pageSetUpPr.fitToPage
        assert (ws.page_setup.fitToWidth, ws.page_setup.fitToHeight) == (1, 0)  # one page wide
        assert ws.oddFooter.center.text == "หน้า &P จาก &N"
    tables = book.worksheets[1:]
    assert all(ws.page_setup.orientation == "landscape" for ws in tables)
    # The title, the table's title and the heading rows repeat on every printed page.
    assert book["ตามช่องทาง"].print_title_rows == "$1:$4"  # two heading rows: the state is a group
    assert book["การแจ้งรับทราบ"].print_title_rows == "$1:$3"
    assert book["ตามช่องทาง"].freeze_panes == "B5"
    assert "E3:I3" in {str(r) for r in book["ตามช่องทาง"].merged_cells.ranges}  # the group's heading
