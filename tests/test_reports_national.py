"""National figures: every tenant's report counts, summed by province and country, small counts hidden."""

from __future__ import annotations

import csv
import io
from datetime import timedelta
from pathlib import Path

from flask import Flask
from openpyxl import load_workbook

from intake import dates, db, key_contexts, keyring
from intake.reports import figures, national
from intake.reports.periods import current_fiscal_year, period

from .test_tenants_walls import add_tenant, add_tenant_b, tenant_world


def add(app: Flask, slug: str, province: str) -> None:
    add_tenant(app, slug, f"{slug}.example.go.th", f"เทศบาล {slug}", "--province", province)


def cases_in(app: Flask, slug: str | None, channel: str, n: int) -> None:
    received = dates.now() - timedelta(days=1)
    with tenant_world(app, slug) as (_s, factory):
        for i in range(n):
            factory.case(channel, f"{slug} {i}", received_at=received)


def test_tenant_counts_are_their_own_reports_and_sums_hold(app: Flask) -> None:
    add_tenant_b(app)
    add(app, "c", "อุดรธานี")
    cases_in(app, None, "feedback", 3)
    cases_in(app, "b", "feedback", 4)
    cases_in(app, "c", "feedback", 5)
    cases_in(app, "c", "corruption", 6)
    p = period(current_fiscal_year(dates.now()), "year")
    with app.app_context():
        result = national.compute(db.session(), p)
        rows = {(r.level, r.slug or r.province, r.channel): r for r in result.rows}
        for slug in ("b", "c"):
            with tenant_world(app, slug) as (s, _f):
                own = figures.channel_counts(s, p)
            assert rows[("tenant", slug, "feedback")].counts == own["feedback"]
    assert rows[("tenant", "c", "corruption")].values()[1] == 6
    assert rows[("province", "อุดรธานี", "feedback")].counts.received == 5
    assert rows[("country", "", "feedback")].counts.received == 12
    assert rows[("country", "", "corruption")].counts.received == 6


def test_small_counts_are_hidden_with_one_more_at_every_level(app: Flask) -> None:
    for slug, n in (("d", 2), ("e", 7), ("f", 9)):
        add(app, slug, "ขอนแก่น")
        cases_in(app, slug, "corruption", n)
    add(app, "g", "เลย")
    cases_in(app, "g", "corruption", 1)
    add(app, "h", "เลย")
    cases_in(app, "h", "corruption", 5)
    p = period(current_fiscal_year(dates.now()), "year")
    with app.app_context():
        result = national.compute(db.session(), p)
        key = keyring.host_key(key_contexts.NATIONAL_SHUFFLE)
    tenants = {r.slug: r for r in result.rows if r.level == "tenant" and r.channel == "corruption"}
    assert tenants["d"].hidden and tenants["g"].hidden  # primary: 1 and 2
    khon_kaen = [tenants[s] for s in ("d", "e", "f")]
    assert sum(r.hidden for r in khon_kaen) == 2  # secondary: one of e, f too
    assert tenants["h"].hidden  # the only sibling left in Loei
    assert all(v is None for v in tenants["d"].values())
    provinces = {r.province: r for r in result.rows if r.level == "province" and r.channel == "corruption"}
    assert not provinces["ขอนแก่น"].hidden and provinces["ขอนแก่น"].counts.received == 18
    # Each province shows its total; the default tenant's province ("") has no corruption case: 0 shows.
    assert provinces[""].values()[1] == 0
    # The secondary choice depends on the key and the names, not on the counts.
    again = [national.Row(r.level, r.province, r.slug, r.name, r.channel, r.counts) for r in khon_kaen]
    national.suppress(again, p, key)
    assert [r.hidden for r in again] == [r.hidden for r in khon_kaen]


def test_the_command_writes_csv_and_xlsx_in_thai(app: Flask, tmp_path: Path) -> None:
    add(app, "c", "อุดรธานี")
    cases_in(app, "c", "corruption", 1)
    year = str(current_fiscal_year(dates.now()))
    runner = app.test_cli_runner()
    for fmt in ("csv", "xlsx"):
        out = tmp_path / f"national.{fmt}"
        args = ["tenant", "figures", "--fiscal-year", year, "--period", "year", "--format", fmt,
                "--output", str(out)]
        result = runner.invoke(args=args)
        assert result.exit_code == 0, result.output
        if fmt == "csv":
            lines = list(csv.reader(io.StringIO(out.read_bytes().decode("utf-8-sig"))))
        else:
            sheet = load_workbook(out).active
            assert sheet is not None
            rows = sheet.iter_rows(values_only=True)
            lines = [[str(v) if v is not None else "" for v in row] for row in rows]
        assert lines[0][0].startswith("สถิติระดับประเทศ ปีงบประมาณ")
        assert lines[1][:3] == ["ระดับ", "จังหวัด", "หน่วยงาน (รหัส)"]
        assert "ช่วง รอบ 12 เดือน" in lines[0][0]  # the period by its name, not its code
        c_corruption = next(line for line in lines[2:] if line[2] == "c" and line[4] == "ร้องเรียนการทุจริต")
        assert c_corruption[6] == "ไม่แสดง (จำนวนน้อย)"
    bad = runner.invoke(args=["tenant", "figures", "--fiscal-year", "1999", "--period", "q1", "--format",
                              "csv", "--output", str(tmp_path / "x.csv")])
    assert bad.exit_code == 1


def last_year_cases(app: Flask, slug: str | None, channel: str, n: int, marker: str) -> int:
    """Cases received in the last fiscal year that has ended; returns that year."""
    year = current_fiscal_year(dates.now()) - 1
    received = period(year, "year").start + timedelta(days=40)
    with tenant_world(app, slug) as (_s, factory):
        for i in range(n):
            factory.case(channel, f"{marker} {slug} {i}", received_at=received)
    return year


def test_the_national_page_is_not_there_unless_the_host_publishes_it(app: Flask) -> None:
    client = app.test_client()
    for url in ("/national", "/national.xlsx", "/national.csv"):
        assert client.get(url).status_code == 404


def test_the_published_page_and_files_show_ended_years_without_content(app: Flask) -> None:
    app.config["PUBLISH_NATIONAL"] = True
    marker = "NATIONALMARK"
    add(app, "c", "อุดรธานี")
    add(app, "d", "อุดรธานี")
    year = last_year_cases(app, "c", "feedback", 4, marker)
    last_year_cases(app, "c", "corruption", 2, marker)
    last_year_cases(app, "d", "corruption", 8, marker)
    client = app.test_client()
    page = client.get("/national")
    text = page.get_data(as_text=True)
    assert page.status_code == 200
    assert f'data-fiscal-year="{year}"' in text and "สถิติระดับประเทศ" in text and "อุดรธานี" in text
    assert marker not in text
    row = text.split('data-level="tenant" data-slug="c" data-channel="feedback"')[1].split("</tr>")[0]
    assert 'data-figure="received" data-value="4"' in row
    hidden = text.split('data-level="tenant" data-slug="c" data-channel="corruption"')[1].split("</tr>")[0]
    assert 'data-suppressed="1"' in hidden and 'data-value="2"' not in hidden
    # One sibling more is hidden: d's 8 cannot be worked out from the province's 10.
    other = text.split('data-level="tenant" data-slug="d" data-channel="corruption"')[1].split("</tr>")[0]
    assert 'data-suppressed="1"' in other
    for fmt in ("xlsx", "csv"):
        got = client.get(f"/national.{fmt}?fiscal_year={year}")
        assert got.status_code == 200 and marker.encode() not in got.data
        assert f"national-fy{year}.{fmt}" in got.headers["Content-Disposition"]
    sheet = load_workbook(io.BytesIO(client.get(f"/national.xlsx?fiscal_year={year}").data)).active
    assert sheet is not None and str(sheet["A1"].value).startswith("สถิติระดับประเทศ ปีงบประมาณ")
    # The running year is not published (quarters and halves neither: only whole ended years).
    running = client.get(f"/national?fiscal_year={year + 1}")
    assert running.status_code == 400 and "ปีงบประมาณที่สิ้นสุดแล้ว" in running.get_data(as_text=True)
    assert client.get("/national?fiscal_year=abc").status_code == 400
    assert client.get(f"/national?fiscal_year={year - 3}").status_code == 200
