"""The paper register comes in: XLSX or CSV, Thai labels or machine values, BE or CE dates, all rows or
none with each bad line named, the same rows never twice; the web page and the command (issue 11 item 9)."""

from __future__ import annotations

import io
from datetime import timedelta
from pathlib import Path

import openpyxl
import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select

from intake import cases, dates, keyring, register_import
from intake.models import Case, ImportedRow
from intake.reports import figures, periods

from .conftest import ADMIN, PASSWORD
from .i18n_helpers import thai
from .officer_helpers import OfficerActions, audit_actions, world
from .test_security_properties import database_dump

HEADER = "received_at,channel,source,category,details,status,closed_at"
# Last fiscal year's register (FY 2568 = 1 Oct 2024 - 30 Sep 2025), as a clerk would type it.
ROWS = [
    "2567-10-05,ร้องเรียนการทุจริต,หนังสือ/จดหมาย,การจัดซื้อจัดจ้าง,จัดซื้อวัสดุราคาสูงเกินจริง LINE2,"
    "ดำเนินการแล้วเสร็จ,2567-11-20",
    "15/1/2568,ความคิดเห็น/คำติชม,โทรศัพท์,,ไฟถนนดับหน้าวัด LINE3,ยุติเรื่อง,20/1/2568",
    "2025-03-01,question,walk_in,,ถามเรื่องภาษีป้าย LINE4,in_progress,",
    "2568-06-30,feedback,ตู้รับเรื่องร้องเรียน,,ขอบคุณที่เก็บขยะตรงเวลา LINE5,,",
]


def _csv(*rows: str) -> bytes:
    return ("\ufeff" + "\n".join([HEADER, *rows]) + "\n").encode("utf-8")


def _import(app: Flask, data: bytes, name: str = "register.csv") -> register_import.ImportResult:
    with world(app) as (s, _f):
        result = register_import.import_file(s, data, name, "tester")
        s.commit()
        return result


def test_rows_become_encrypted_cases_with_their_history_and_the_year_report_is_whole(app: Flask) -> None:
    result = _import(app, _csv(*ROWS))
    assert (result.rows, result.imported, result.skipped) == (4, 4, 0)
    with world(app) as (s, factory):
        by_line = {}
        admin = factory.legal()  # every channel, corruption included
        private = keyring.unlock(admin, PASSWORD)
        for case in s.scalars(select(Case).order_by(Case.id)):
            body = cases.submission_of(case, cases.officer_keys(s, admin, private, case))
            by_line[body.details.rsplit(" ", 1)[-1]] = case
        first = by_line["LINE2"]
        assert (first.channel, first.source, first.category, first.status) == (
            "corruption", "letter", "procurement", "resolved")
        assert dates.local_date(first.received_at).isoformat() == "2024-10-05"
        assert first.closed_at is not None and dates.local_date(first.closed_at).isoformat() == "2024-11-20"
        assert first.answered_at == first.closed_at and not first.needs_attention
        second = by_line["LINE3"]
        assert (second.channel, second.source, second.status) == ("feedback", "phone", "dismissed")
        assert dates.local_date(second.received_at).isoformat() == "2025-01-15"
        third = by_line["LINE4"]
        assert third.status == "in_progress" and third.acknowledged_at == third.received_at
        assert by_line["LINE5"].status == "new" and by_line["LINE5"].source == "box"
        report = figures.compute(s, periods.period(2568, "year"))
    assert report.total.received == 4 and report.by_channel["corruption"].resolved == 1
    assert report.by_source["letter"].received == 1
    (entry,) = audit_actions(app, "register.import")
    assert entry.detail.startswith("rows=4; imported=4; skipped=0; cases=")
    dump = database_dump(app)
    assert b"LINE2" not in dump and "ไฟถนนดับ".encode() not in dump  # encrypted, hashes only


def test_the_same_rows_twice_import_nothing_and_a_grown_register_brings_only_its_new_rows(app: Flask) -> None:
    assert _import(app, _csv(*ROWS)).imported == 4
    again = _import(app, _csv(*ROWS))
    assert (again.imported, again.skipped) == (0, 4)
    grown = _import(app, _csv(*ROWS, "2568-07-01,feedback,web,,เรื่องใหม่ LINE6,,"))
    assert (grown.imported, grown.skipped) == (1, 4)
    twins = "2568-07-02,feedback,web,,สองเรื่องเหมือนกัน,,"
    assert _import(app, _csv(twins, twins)).imported == 2  # two identical rows are two cases
    assert _import(app, _csv(twins, twins)).imported == 0
    with world(app) as (s, _f):
        assert s.scalar(select(func.count()).select_from(Case)) == 7
        assert s.scalar(select(func.count()).select_from(ImportedRow)) == 7


def test_xlsx_with_date_cells_imports_like_csv(app: Flask) -> None:
    book = openpyxl.Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.append(HEADER.split(","))
    sheet.append([dates.local_date(dates.now()) - timedelta(days=400), "corruption", "phone", "bribery",
                  "เรียกรับเงิน XLSX1", "resolved", dates.local_date(dates.now()) - timedelta(days=390)])
    sheet.append(["2568-02-01", "ถาม-ตอบ", "อีเมล", None, "ถามทาง XLSX2", "ใหม่", None])
    buffer = io.BytesIO()
    book.save(buffer)
    result = _import(app, buffer.getvalue(), "ทะเบียน.xlsx")
    assert result.imported == 2
    with world(app) as (s, _f):
        assert sorted(s.scalars(select(Case.source))) == ["email", "phone"]


@pytest.mark.parametrize(
    ("row", "reason"),
    [
        ("2599-01-01,feedback,web,,อนาคต,,", "future"),
        ("31/2/2568,feedback,web,,ไม่มีวันนี้,,", "date"),
        ("2568-01-01,ร้องทุกข์,web,,ช่องทางผิด,,", "unknown"),
        ("2568-01-01,feedback,carrier pigeon,,ที่มาผิด,,", "unknown"),
        ("2568-01-01,feedback,web,bribery,ประเภทกับความคิดเห็น,,", "category"),
        ("2568-01-01,feedback,web,,,,", "required"),
        ("2568-01-01,feedback,web,,ปิดไม่มีวัน,resolved,", "closed_needed"),
        ("2568-01-01,feedback,web,,เปิดแต่มีวันปิด,in_progress,2568-02-01", "closed_open"),
        ("2568-03-01,feedback,web,,ปิดก่อนรับ,resolved,2568-02-01", "closed_before"),
    ],
)
def test_a_bad_row_is_named_with_its_line_and_nothing_is_imported(app: Flask, row: str, reason: str) -> None:
    with pytest.raises(register_import.RegisterInvalid) as caught:
        _import(app, _csv(ROWS[0], row, ROWS[1]))
    assert [(e.line, e.reason) for e in caught.value.errors][:1] == [(3, reason)]
    with world(app) as (s, _f):
        assert s.scalar(select(func.count()).select_from(Case)) == 0


def test_a_file_that_is_not_a_register_says_why(app: Flask) -> None:
    for data, reason in ((b"", "empty"), (b"PK\x03\x04garbage", "unreadable"),
                         (b"a,b\n1,2\n", "header"), (_csv(), "no_rows")):
        with pytest.raises(register_import.RegisterInvalid) as caught:
            _import(app, data)
        assert caught.value.errors[0].reason == reason


def test_thai_windows_csv_is_read(app: Flask) -> None:
    data = "\n".join([HEADER, "2568-01-01,feedback,letter,,จดหมายภาษาไทย,,"]).encode("cp874")
    assert _import(app, data).imported == 1


def test_the_import_page_names_every_bad_line_in_thai_and_imports_a_good_file(
    app: Flask, client: FlaskClient
) -> None:
    actions = OfficerActions(client)
    actions.login(ADMIN, PASSWORD)
    bad = _csv(ROWS[0], "2599-01-01,feedback,web,,อนาคต,,", "2568-01-01,x,web,,ผิด,,")
    response = actions.post("/officer/import", {"register": (io.BytesIO(bad), "ทะเบียน.csv")},
                            content_type="multipart/form-data")
    page = response.get_data(as_text=True)
    assert response.status_code == 400 and 'id="import-errors"' in page
    assert "บรรทัด 3" in page and "บรรทัด 4" in page and "2599-01-01" in page
    good = actions.post("/officer/import", {"register": (io.BytesIO(_csv(*ROWS)), "ทะเบียน.csv")},
                        content_type="multipart/form-data")
    assert good.status_code == 200 and thai("Imported %(n)d cases.") % {"n": 4} in good.get_data(as_text=True)
    again = actions.post("/officer/import", {"register": (io.BytesIO(_csv(*ROWS)), "ทะเบียน.csv")},
                         content_type="multipart/form-data")
    assert "มี 4 แถวที่เคยนำเข้าแล้ว" in again.get_data(as_text=True)


def test_the_command_imports_and_fails_with_line_numbers(app: Flask, tmp_path: Path) -> None:
    good = tmp_path / "register.csv"
    good.write_bytes(_csv(*ROWS))
    runner = app.test_cli_runner()
    result = runner.invoke(args=["import-register", str(good)])
    assert result.exit_code == 0, result.output
    assert "Imported 4 cases from register.csv; 0 rows were imported before." in result.output
    assert "Imported 0 cases" in runner.invoke(args=["import-register", str(good)]).output
    bad = tmp_path / "bad.csv"
    bad.write_bytes(_csv("2568-01-01,feedback,web,,,,"))
    failed = runner.invoke(args=["import-register", str(bad)])
    assert failed.exit_code == 1
    assert "Line 2: details is empty." in failed.output and "nothing imported" in failed.output
