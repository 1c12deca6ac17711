"""/ita: each ITA item of a fiscal year with its code and working evidence links; codes are data (the
repository's items.toml, an administrator's years in the database over it)."""

from __future__ import annotations

import hashlib
import re
from html import unescape
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from flask import Flask
from flask.testing import FlaskClient
from markupsafe import escape
from sqlalchemy import select

from intake.ita import catalogue
from intake.models import AuditEntry, Setting
from intake.reports import periods

from .conftest import ADMIN, PASSWORD
from .officer_helpers import OfficerActions, world

LINK = re.compile(r'<a class="ita-url" href="([^"]+)"')
CURRENT = periods.current_fiscal_year()


def item_block(html: str, key: str) -> str:
    """The item's card: from its id to the next card (or the end of the list)."""
    rest = html.split(f'id="item-{key}"', 1)[1]
    return re.split(r'class="ita-item |</ol>', rest, maxsplit=1)[0]


def test_items_file_lists_every_item_for_each_year() -> None:
    years = catalogue.file_years()
    assert {2568, 2569} <= set(years)
    for items in years.values():
        assert list(items) == list(catalogue.ITEM_KEYS)
    handling = ("oit_guideline", "oit_corruption_channel", "oit_corruption_stats")
    codes = {y: [years[y][k].code for k in handling] for y in (2568, 2569)}
    assert codes == {2568: ["O17", "O18", "O19"], 2569: ["O16", "O17", "O18"]}  # the codes


def test_an_incomplete_year_is_refused(tmp_path: Path) -> None:
    broken = tmp_path / "items.toml"
    broken.write_text('[2570]\ne8 = { code = "e8", title = "x" }\n', encoding="utf-8")
    with pytest.raises(catalogue.ItemsInvalid, match="2570.*e9"):
        catalogue.file_years(broken)


@pytest.mark.parametrize("year", [2569, 2570])
def test_every_item_is_listed_with_a_working_link(app: Flask, client: FlaskClient, year: int) -> None:
    response = client.get(f"/ita?fiscal_year={year}")
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    with world(app) as (session, _factory):
        items = catalogue.for_year(session, year)
    followed = 0
    for item in items.items:
        block = item_block(html, item.key)
        assert f'data-code="{item.code}"' in html and str(escape(item.title)) in block, item.key
        links = LINK.findall(block)
        assert links, item.key
        for url in links:
            parts = urlsplit(url.replace("&amp;", "&"))
            assert parts.scheme == "http" and parts.netloc == "localhost", url  # absolute, our own site
            target = client.get(parts.path + (f"?{parts.query}" if parts.query else ""))
            assert target.status_code == 200, url
            if parts.path.endswith(".pdf"):
                assert target.mimetype == "application/pdf", url
            elif parts.path.endswith(".xlsx"):
                assert (target.mimetype or "").endswith("spreadsheetml.sheet"), url
            else:
                assert target.mimetype == "text/html", url
            if parts.fragment:
                assert f'id="{parts.fragment}"' in target.get_data(as_text=True), url
            followed += 1
    assert followed >= 2 * len(catalogue.ITEM_KEYS)
    if year == 2569:
        assert items.source == "file" and 'data-code="O16"' in html and 'id="ita-carried"' not in html
    else:  # not in the file: last year's codes, and the page says so
        assert items.source == "carried" and items.carried_from == 2569
        assert 'id="ita-carried"' in html and "ยังไม่ได้บันทึกรหัสข้อของปีงบประมาณ 2570" in html


def test_links_use_the_public_url(make_app: object) -> None:
    app = make_app(PUBLIC_URL="https://www.example.go.th/intake/")  # type: ignore[operator]
    html = app.test_client().get("/ita?fiscal_year=2569").get_data(as_text=True)
    links = LINK.findall(html)
    assert links and all(u.startswith("https://www.example.go.th/intake/") for u in links)
    assert "https://www.example.go.th/intake/report/corruption" in links


def test_english_titles(client: FlaskClient) -> None:
    client.set_cookie("lang", "en")
    html = client.get("/ita?fiscal_year=2569").get_data(as_text=True)
    assert "Guideline for handling complaints of corruption and misconduct" in html


def test_bad_year_is_400(client: FlaskClient) -> None:
    assert client.get("/ita?fiscal_year=abc").status_code == 400


def test_administrator_enters_a_new_years_codes(app: Flask, client: FlaskClient) -> None:
    shipped = hashlib.sha256(catalogue.ITEMS_FILE.read_bytes()).hexdigest()
    instance = set(Path(app.config["INSTANCE_DIR"]).rglob("*"))
    actions = OfficerActions(client)
    actions.login(ADMIN, PASSWORD)
    page = client.get("/officer/admin/settings/ita?fiscal_year=2570").get_data(as_text=True)
    assert 'data-source="carried"' in page and 'value="O16"' in page
    fields = r'<input [^>]*?name="((?:code|title|title_en)_[a-z0-9_]+)"[^>]*?value="([^"]*)"'
    form = dict(re.findall(fields, page))
    assert len(form) == 3 * len(catalogue.ITEM_KEYS)
    form = {k: unescape(v) for k, v in form.items()}
    form["code_oit_guideline"], form["code_oit_corruption_stats"] = "O15", "O17"
    url = "/officer/admin/settings/ita"
    response = actions.post(url, {**form, "fiscal_year": "2570"}, form_url=f"{url}?fiscal_year=2570")
    assert response.status_code == 303
    html = client.get("/ita?fiscal_year=2570").get_data(as_text=True)
    assert 'data-source="database"' in html and 'id="ita-carried"' not in html
    assert 'data-item="oit_guideline" data-code="O15"' in html
    assert 'data-item="oit_corruption_stats" data-code="O17"' in html
    last_year = client.get("/ita?fiscal_year=2569").get_data(as_text=True)
    assert 'data-item="oit_guideline" data-code="O16"' in last_year
    with world(app) as (session, _f):
        assert session.scalar(select(Setting).where(Setting.name == "ita.items.2570")) is not None  # stored
        entry = session.scalars(select(AuditEntry).where(AuditEntry.action == "ita.items")).one()
        assert entry.target == "2570" and "oit_guideline=O15" in entry.detail
    assert hashlib.sha256(catalogue.ITEMS_FILE.read_bytes()).hexdigest() == shipped  # ... not in a file
    assert set(Path(app.config["INSTANCE_DIR"]).rglob("*")) == instance
    # The same form again changes nothing; a blank code is refused and keeps what was typed.
    again = actions.post(url, {**form, "fiscal_year": "2570"}, form_url=f"{url}?fiscal_year=2570")
    assert again.status_code == 303
    blank = {**form, "code_e8": "", "fiscal_year": "2570"}
    bad = actions.post(url, blank, form_url=f"{url}?fiscal_year=2570")
    assert bad.status_code == 400 and 'value="O15"' in bad.get_data(as_text=True)
    # Removing the entry brings back last year's codes.
    reset = actions.post(f"{url}/reset", {"fiscal_year": "2570"}, form_url=f"{url}?fiscal_year=2570")
    assert reset.status_code == 303
    assert 'id="ita-carried"' in client.get("/ita?fiscal_year=2570").get_data(as_text=True)


def test_an_administrators_year_overrides_the_file(app: Flask) -> None:
    with world(app) as (session, factory):
        items = {i.key: i for i in catalogue.for_year(session, 2569).items}
        items["e8"] = catalogue.Item("e8", "e8.1", "ช่องทางรับฟังความคิดเห็น")
        assert catalogue.save_year(session, factory.admin(), 2569, items)
        session.commit()
        year = catalogue.for_year(session, 2569)
        assert year.source == "database" and year.items[0].code == "e8.1"
        assert catalogue.for_year(session, 2571).carried_from == 2569
        assert not catalogue.save_year(session, factory.admin(), 2569, items)  # unchanged: nothing recorded
