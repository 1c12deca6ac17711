"""Every field of every citizen form reaches the officer's case page, under the label the citizen saw,
and the citizen finds their answers again on the tracking page (issue 11 item 2)."""

from __future__ import annotations

import html
import re
import secrets
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from intake import bodies
from intake.models import Case

from .citizen_helpers import URLS, field_values, files_field, followup, token_of, track
from .conftest import PASSWORD, csrf_token
from .factories import LEGAL, PNG_1PX
from .i18n_helpers import thai
from .officer_helpers import OfficerActions, world

# What the form offers beside free text: a value other than the default for each.
CHOICES = {"category": "embezzlement", "rating": "2", "publish_ok": "y"}
HIDDEN = {"csrf_token", "form_id", "website"}  # the form's own machinery and the honeypot


def _answer_of(page: str, name: str) -> tuple[str, str]:
    """(label, answer) of the `data-field=name` entry in a list of answers on a page."""
    match = re.search(
        r"<dt>([^<]*)</dt>\s*<dd data-field=\"" + name + r"\"[^>]*>(.*?)</dd>", page, re.S
    )
    assert match, f"no answer {name!r} on the page"
    return html.unescape(match.group(1)).strip(), html.unescape(re.sub(r"<[^>]+>", " ", match.group(2)))


def _fill(client: FlaskClient, channel: str) -> tuple[dict[str, Any], dict[str, str]]:
    """Every field the rendered form has, filled: text with a marker each, choices off their default."""
    page = client.get(URLS[channel]).get_data(as_text=True)
    names = [n for n in field_values(page) if n not in HIDDEN] + ["attachments"] * (channel != "question")
    assert names, channel
    data: dict[str, Any] = dict(field_values(page))
    markers: dict[str, str] = {}
    for name in names:
        if name in CHOICES:
            data[name] = CHOICES[name]
        elif name == "attachments":
            markers[name] = f"หลักฐาน-{secrets.token_hex(3)}.png"
            data[name] = files_field([(PNG_1PX, markers[name])])
        else:
            markers[name] = f"{name}-ตอบ-{secrets.token_hex(4)}"
            data[name] = markers[name]
    data["csrf_token"] = csrf_token(client, URLS[channel])
    return data, markers


@pytest.mark.parametrize("channel", sorted(URLS))
def test_every_answer_reaches_the_officer_and_comes_back_to_the_citizen(
    app: Flask, client: FlaskClient, channel: str
) -> None:
    data, markers = _fill(client, channel)
    response = client.post(
        URLS[channel], data=data, content_type="multipart/form-data", follow_redirects=True
    )
    token = token_of(response)
    more = f"เพิ่มเติม-{secrets.token_hex(4)}"
    more_file = f"ไฟล์เพิ่ม-{secrets.token_hex(3)}.txt"
    kept = {"keep_filename": "y"}  # the citizen ticks "keep the names of my files" (else a neutral name)
    assert followup(client, token, more, files=[(b"more", more_file)], extra=kept).status_code == 200
    citizen = track(client, token).get_data(as_text=True)

    officer = app.test_client()
    with world(app) as (_s, factory):
        factory.legal()  # every channel, corruption included (setup's administrator lacks corruption)
    OfficerActions(officer).login(LEGAL, PASSWORD)
    with world(app) as (s, _f):
        case_id = s.query(Case).one().id
    page = officer.get(f"/officer/cases/{case_id}").get_data(as_text=True)

    form_page = client.get(URLS[channel]).get_data(as_text=True)
    # Outside an app context a lazy label is its msgid: its Thai is what the form showed.
    expected = {name: thai(str(text)) for name, text in bodies.LABELS[channel].items()}
    for name, question in expected.items():
        assert html.escape(question, quote=False) in form_page, name  # the form's own question
        label, answer = _answer_of(page, name)
        assert label == question, (name, label)  # the officer reads it under the same words
        shown, citizen_answer = _answer_of(citizen, name)
        assert shown == question
        if name in markers:
            assert markers[name] in answer and markers[name] in citizen_answer, name
        else:  # a choice: the same words on both pages
            assert answer.strip() and answer.split() == citizen_answer.split(), name
    if channel == "corruption":
        assert thai("Embezzlement") in _answer_of(page, "category")[1]
    if channel == "feedback":
        assert thai("2 – poor") in _answer_of(page, "rating")[1]
    if channel == "question":
        assert thai("Yes") in _answer_of(page, "publish_ok")[1]
    # The contact details: on the officer's page under the form's label; never back on the citizen's
    # (they are under the internal key, which the citizen's code does not open).
    assert thai("Contact details (optional)") in page and markers["contact"] in page
    assert markers["contact"] not in citizen
    if "attachments" in markers:
        assert markers["attachments"] in page and markers["attachments"] in citizen
    assert more in page and more_file in page and more in citizen and more_file in citizen


def test_offline_answers_show_what_the_officer_recorded(app: Flask, client: FlaskClient) -> None:
    with world(app) as (_s, factory):
        case_id = factory.case("corruption", "ทางโทรศัพท์", category="bribery").case.id
        factory.legal()
    OfficerActions(client).login(LEGAL, PASSWORD)
    page = client.get(f"/officer/cases/{case_id}").get_data(as_text=True)
    assert "ทางโทรศัพท์" in _answer_of(page, "details")[1]
    assert thai("Bribery") in _answer_of(page, "category")[1]
    assert thai("(left empty)") in _answer_of(page, "when_where")[1]  # asked, not answered: said so
