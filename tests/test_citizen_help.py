"""What a frightened citizen needs to read: the agencies outside the municipality, device advice, the
privacy notice and the contact page, linked from every citizen page (issue 11 item 10)."""

from __future__ import annotations

import pytest
from flask import Flask
from flask.testing import FlaskClient

from intake import db, outside_help, settings

from .citizen_helpers import submit, token_of, track
from .conftest import ADMIN, PASSWORD
from .i18n_helpers import thai
from .officer_helpers import OfficerActions

CITIZEN_PAGES = ("/", "/report/corruption", "/report/feedback", "/ask", "/track", "/stats", "/faq",
                 "/privacy", "/contact")


@pytest.mark.parametrize("path", CITIZEN_PAGES)
def test_every_citizen_page_links_the_privacy_notice_and_the_contact_page(
    client: FlaskClient, path: str
) -> None:
    page = client.get(path).get_data(as_text=True)
    assert 'href="/privacy"' in page and 'href="/contact"' in page


@pytest.mark.parametrize("path", ["/", "/report/corruption", "/report/feedback", "/ask"])
def test_home_and_channel_pages_name_the_agencies_outside_and_give_device_advice(
    client: FlaskClient, path: str
) -> None:
    page = client.get(path).get_data(as_text=True)
    for hotline in ("1205", "1206", "1567"):
        assert f'<strong class="hotline">{hotline}</strong>' in page
    assert "สำนักงาน ป.ป.ช." in page and "สำนักงาน ป.ป.ท." in page and "ศูนย์ดำรงธรรม" in page
    assert thai("Is it about the mayor, the executives or the legal-affairs unit itself?") in page
    assert "Tor Browser" in page and "Wi-Fi" in page and thai("Keep your report to yourself: advice for your "
                                                              "phone or computer") in page
    assert [a.hotline for a in outside_help.AGENCIES] == ["1205", "1206", "1567"]


def test_the_corruption_page_says_it_before_the_form(client: FlaskClient) -> None:
    page = client.get("/report/corruption").get_data(as_text=True)
    assert page.index('id="outside-help"') < page.index('<form method="post"')


def test_privacy_notice_names_the_controller_the_purpose_the_retention_and_who_sees(
    app: Flask, client: FlaskClient
) -> None:
    with app.app_context():
        settings.put(db.session(), "retention_years", "7")
        settings.put(db.session(), "contact_email", "saraban@example.go.th")
        db.session().commit()
    page = client.get("/privacy").get_data(as_text=True)
    assert "พ.ศ. 2562" in page and "เทศบาลตำบลตัวอย่าง" in page and "saraban@example.go.th" in page
    assert "ครบ 7 ปีหลังเรื่องยุติ" in page  # how long, from the settings
    assert "งานนิติการ" in page and "มาตรา 24 (4)" in page and "www.pdpc.or.th" in page


def test_the_administrator_sets_the_contact_page(app: Flask, client: FlaskClient) -> None:
    assert thai("The municipality has not entered its contact details here yet.") in client.get(
        "/contact").get_data(as_text=True)
    actions = OfficerActions(client)
    actions.login(ADMIN, PASSWORD)
    form = {
        "municipality_name": "เทศบาลตำบลเขมราฐ",
        "contact_address": "99 ถนนเทศบาล\nอำเภอเขมราฐ จังหวัดอุบลราชธานี",
        "contact_phone": "045-491-000",
        "contact_email": "saraban@khemarat.go.th",
        "contact_hours": "จันทร์–ศุกร์ 08.30–16.30 น.",
        **{f"{k}_days_{c}": "7" for k in ("ack", "answer") for c in ("corruption", "feedback", "question")},
        "attachment_max_file_mb": "10",
        "attachment_max_total_mb": "25",
        "retention_years": "5",
    }
    assert actions.post("/officer/admin/settings", form).status_code == 303
    citizen = app.test_client()
    page = citizen.get("/contact").get_data(as_text=True)
    for value in ("อำเภอเขมราฐ", "045-491-000", "saraban@khemarat.go.th", "08.30–16.30"):
        assert value in page
    token = token_of(submit(citizen, "feedback"))
    assert "045-491-000" in track(citizen, token).get_data(as_text=True)  # whom to call if nothing comes


def test_a_favicon_is_served_from_our_own_origin(client: FlaskClient) -> None:
    page = client.get("/").get_data(as_text=True)
    assert 'rel="icon" href="/static/favicon.svg"' in page and 'href="/favicon.ico"' in page
    icon = client.get("/favicon.ico")
    assert icon.status_code == 200 and icon.data[:4] == b"\x00\x00\x01\x00"
    assert client.get("/static/favicon.svg").status_code == 200
