"""The published national figures page on a phone: Thai, no sideways scroll outside its tables, no JS."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ..servers import env_for, start_gunicorn
from ..test_reports_national import add, last_year_cases
from .conftest import no_horizontal_scroll


def test_the_national_page_reads_on_a_320_pixel_phone(make_app: Any, contexts: Any, tmp_path: Path) -> None:
    app = make_app()
    add(app, "c", "อุดรธานี")
    add(app, "d", "ขอนแก่น")
    year = last_year_cases(app, "c", "feedback", 3, "PHONE")
    last_year_cases(app, "d", "corruption", 6, "PHONE")
    server = start_gunicorn(env_for(app.config, PUBLISH_NATIONAL=True), tmp_path / "gunicorn.log", workers=1)
    try:
        page = contexts(320).new_page()
        page.goto(f"{server.url}/national")
        assert page.locator("h1").inner_text() == "สถิติระดับประเทศ"
        assert page.locator("#national").get_attribute("data-fiscal-year") == str(year)
        assert page.locator("#national-country tbody tr").count() == 3
        no_horizontal_scroll(page, 320)
        page.screenshot(path=str(tmp_path / "national-320.png"), full_page=True)
        with page.expect_download() as download:
            page.get_by_role("link", name="ดาวน์โหลด Excel (XLSX)").click()
        assert download.value.suggested_filename == f"national-fy{year}.xlsx"
    finally:
        server.stop()
