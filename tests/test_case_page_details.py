"""Small things seen on the way: unique element ids, valid `datetime` attributes, the least privileged role
by default, audit actions in Thai (issue 11 item 11)."""

from __future__ import annotations

import re
from collections import Counter

from flask import Flask
from flask.testing import FlaskClient

from intake.models import Case

from .citizen_helpers import submit, token_of, track
from .conftest import ADMIN, PASSWORD
from .i18n_helpers import thai
from .officer_helpers import OfficerActions, world

HTML_DATETIME = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,3})?)?(Z|[+-]\d{2}:\d{2})")


def _ids(page: str) -> Counter[str]:
    return Counter(re.findall(r'\sid="([^"]+)"', page))


def test_every_element_id_on_the_case_page_is_unique_and_labels_point_at_them(
    app: Flask, client: FlaskClient
) -> None:
    with world(app) as (_s, factory):
        case_id = factory.case("question", "ถาม", publish_ok=True).case.id
    OfficerActions(client).login(ADMIN, PASSWORD)
    page = client.get(f"/officer/cases/{case_id}").get_data(as_text=True)
    ids = _ids(page)
    assert [i for i, n in ids.items() if n > 1] == []
    for target in re.findall(r'<label for="([^"]+)"', page):
        assert ids[target] == 1, target
    assert 'id="status-note"' in page and 'id="internal-note"' in page and 'id="refer-note"' in page
    assert 'name="note"' in page and 'name="duplicate_of"' in page  # CONTRACT names kept


def test_time_elements_carry_valid_datetime_attributes(app: Flask, client: FlaskClient) -> None:
    token = token_of(submit(client, "feedback"))
    citizen = track(client, token).get_data(as_text=True)
    officer = app.test_client()
    OfficerActions(officer).login(ADMIN, PASSWORD)
    with world(app) as (s, _f):
        case_id = s.query(Case).one().id
    pages = [citizen, officer.get(f"/officer/cases/{case_id}").get_data(as_text=True),
             officer.get("/officer/admin/audit").get_data(as_text=True)]
    for page in pages:
        stamps = re.findall(r"<time([^>]*)>", page)
        assert stamps
        for attrs in stamps:
            value = re.search(r'datetime="([^"]+)"', attrs)
            assert value and HTML_DATETIME.fullmatch(value.group(1)), attrs


def test_add_officer_starts_on_the_least_privileged_role(client: FlaskClient) -> None:
    OfficerActions(client).login(ADMIN, PASSWORD)
    page = client.get("/officer/admin/officers/new").get_data(as_text=True)
    options = re.findall(r'<option( selected)? value="([a-z]+)"', page)
    assert [value for _s, value in options] == ["executive", "officer", "admin"]
    assert [value for selected, value in options if selected] == ["executive"]


def test_audit_actions_read_in_thai(client: FlaskClient) -> None:
    OfficerActions(client).login(ADMIN, PASSWORD)
    page = client.get("/officer/admin/audit").get_data(as_text=True)
    assert thai("Signed in") in page and "<code>login.success</code>" in page
