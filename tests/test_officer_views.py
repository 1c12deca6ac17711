"""Officer views under hostile input (forms, query strings, ids on every route): a clean 4xx, never a 500.

Hypothesis sends NUL bytes, huge text, invalid dates, non-integer and out-of-range ids and unknown enum
values to every officer POST route (signed in as the administrator, who holds every channel) and to the
filters of the queue and the audit page. Bounded: a few hundred requests, well under a minute.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote, quote_from_bytes

import pytest
from flask import Flask
from flask.testing import FlaskClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from intake.answers import publishing
from intake.models import Case

from .conftest import ADMIN, PASSWORD, csrf_token
from .factories import PNG_1PX
from .officer_helpers import RECENT, OfficerActions, world

HYPO = settings(
    max_examples=120,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
SPECIAL = [
    "",
    "\x00",
    "a\x00b",
    "x" * 25_000,
    "-1",
    "0",
    "9" * 25,
    "2147483648",
    "\u00b2",  # a digit to str.isdigit(), not to int()
    "\u0e51\u0e52",  # Thai digits
    "2569-13-45",
    "0000-00-00",
    "9999-12-31",
    RECENT,
    "corruption",
    "question",
    "admin",
    "executive",
    "resolved",
    "new",
    "nacc",
    "phone",
    "web",
    "y",
    "<script>alert(1)</script>",
    "\r\nX-Evil: 1",
    "\ud800",  # a lone surrogate: not UTF-8 at all
]
values = st.one_of(st.sampled_from(SPECIAL), st.text(max_size=40))
HOSTILE_IDS = ["0", "-1", "abc", "9" * 25, "2147483648", "\u0e51", "%00", "1.5"]

SETTINGS_FIELDS = [
    "municipality_name",
    *(f"{k}_days_{c}" for k in ("ack", "answer") for c in ("corruption", "feedback", "question")),
    "attachment_max_file_mb",
    "attachment_max_total_mb",
    "retention_years",
]


FORM = "application/x-www-form-urlencoded"


def urlencoded(fields: dict[str, str]) -> bytes:
    """A form body as a browser (or a robot) might send it: lone surrogates go out as raw bytes."""
    return "&".join(
        f"{quote(k)}={quote_from_bytes(v.encode('utf-8', 'surrogatepass'))}" for k, v in fields.items()
    ).encode()


def routes(ids: dict[str, int]) -> list[tuple[str, list[str]]]:
    case, question, answer, spare = ids["case"], ids["question"], ids["answer"], ids["spare"]
    return [
        (f"/officer/cases/{case}/acknowledge", []),
        (f"/officer/cases/{case}/status", ["status", "note", "public"]),
        (f"/officer/cases/{case}/reply", ["message"]),
        (f"/officer/cases/{case}/note", ["note"]),
        (f"/officer/cases/{case}/assign", ["officer"]),
        (f"/officer/cases/{case}/refer", ["agency", "reference", "referred_on", "note", "public"]),
        (f"/officer/cases/{question}/publish", ["question", "answer", "confirm"]),
        (f"/officer/answers/{answer}/unpublish", []),
        ("/officer/intake", ["channel", "source", "received_at", "category", "details", "contact"]),
        ("/officer/admin/officers/new", ["username", "role", "channels"]),
        (f"/officer/admin/officers/{spare}/grant", ["channel"]),
        (f"/officer/admin/officers/{spare}/revoke", ["channel"]),
        ("/officer/admin/settings", SETTINGS_FIELDS),
        ("/officer/password", ["current", "new", "confirm"]),
        ("/officer/login/code", ["code"]),
        ("/officer/totp", ["code"]),
    ]


@pytest.fixture
def signed_in(make_app: Any) -> tuple[Flask, FlaskClient, dict[str, int]]:
    app = make_app(RATELIMIT_LOGIN="100000 per minute")
    ids: dict[str, int] = {}
    with world(app) as (s, factory):
        ids["spare"] = factory.officer("spare", channels=("question",)).id
        ids["case"] = factory.case("corruption", "c", files=[(PNG_1PX, "p.png")], contact="x").case.id
        ids["question"] = factory.case("question", "q", publish_ok=True).case.id
        case = s.get(Case, ids["question"])
        assert case is not None
        ids["answer"] = publishing.publish(s, case, factory.admin(), "q", "a").id
        s.commit()
    client = app.test_client()
    OfficerActions(client).login(ADMIN, PASSWORD)
    return app, client, ids


@HYPO
@given(data=st.data())
def test_officer_posts_with_hostile_values_never_give_a_500(
    signed_in: tuple[Flask, FlaskClient, dict[str, int]], data: st.DataObject
) -> None:
    _app, client, ids = signed_in
    path, fields = data.draw(st.sampled_from(routes(ids)))
    form = {name: data.draw(values) for name in fields}
    token = csrf_token(client, "/officer/password")
    response = client.post(path, data=urlencoded({"csrf_token": token, **form}), content_type=FORM)
    response.close()
    assert response.status_code < 500, (path, form)


@HYPO
@given(data=st.data())
def test_hostile_query_strings_and_ids_never_give_a_500(
    signed_in: tuple[Flask, FlaskClient, dict[str, int]], data: st.DataObject
) -> None:
    _app, client, ids = signed_in
    bad_id = data.draw(st.sampled_from(HOSTILE_IDS))
    path, names = data.draw(
        st.sampled_from(
            [
                ("/officer/queue", ["channel", "status", "source", "assignee", "overdue", "sort", "page"]),
                ("/officer/admin/audit", ["actor", "action", "target", "before"]),
                (f"/officer/cases/{bad_id}", []),
                (f"/officer/cases/{ids['case']}/attachments/{bad_id}", []),
                (f"/officer/cases/{bad_id}/attachments/1", []),
                (f"/officer/admin/officers/{bad_id}", []),
            ]
        )
    )
    query = {name: data.draw(values) for name in names}
    response = client.get(path, query_string=urlencoded(query).decode())
    assert response.status_code < 500, (path, query)


@pytest.mark.parametrize("bad_id", HOSTILE_IDS)
def test_hostile_ids_in_post_routes_are_404(
    signed_in: tuple[Flask, FlaskClient, dict[str, int]], bad_id: str
) -> None:
    _app, client, _ids = signed_in
    token = csrf_token(client, "/officer/password")
    for path in (
        f"/officer/cases/{bad_id}/reply",
        f"/officer/answers/{bad_id}/unpublish",
        f"/officer/admin/officers/{bad_id}/deactivate",
    ):
        response = client.post(path, data={"csrf_token": token, "message": "m"})
        assert response.status_code == 404, path


def test_sign_in_with_hostile_username_is_a_clean_failure(make_app: Any) -> None:
    app = make_app(RATELIMIT_LOGIN="100000 per minute")
    client = app.test_client()
    for username in ("a\x00b", "\x00", "x" * 5000, "admin\x00"):
        token = csrf_token(client, "/officer/login")
        response = client.post(
            "/officer/login", data={"csrf_token": token, "username": username, "password": "p"}
        )
        assert response.status_code in (200, 400), username


VALID = {
    "status": "in_progress",
    "note": "n",
    "message": "m",
    "officer": "",
    "agency": "nacc",
    "reference": "r",
    "referred_on": RECENT,
    "question": "q",
    "answer": "a",
    "confirm": "y",
    "channel": "question",
    "source": "phone",
    "received_at": RECENT,
    "category": "",
    "details": "d",
    "contact": "c",
    "username": "fresh",
    "role": "officer",
    "channels": "question",
    "municipality_name": "m",
    "attachment_max_file_mb": "5",
    "attachment_max_total_mb": "20",
    "retention_years": "5",
    "current": "x",
    "new": "y" * 12,
    "public": "y",
    "code": "123456",
    **{f"{k}_days_{c}": "10" for k in ("ack", "answer") for c in ("corruption", "feedback", "question")},
}


def test_nul_in_any_officer_field_or_filter_is_refused_cleanly(
    signed_in: tuple[Flask, FlaskClient, dict[str, int]],
) -> None:
    """PostgreSQL text cannot hold NUL: every field, one at a time, carrying one (the rest valid)."""
    _app, client, ids = signed_in
    token = csrf_token(client, "/officer/password")
    for path, fields in routes(ids):
        for name in fields:
            form = {f: VALID[f] for f in fields} | {name: "a\x00b"}
            response = client.post(path, data={"csrf_token": token, **form})
            assert response.status_code < 500, (path, name)
    filters = {
        "/officer/queue": ["channel", "status", "assignee"],
        "/officer/admin/audit": ["actor", "target"],
    }
    for path, names in filters.items():
        for name in names:
            response = client.get(path, query_string={name: "a\x00b"})
            assert response.status_code < 500, (path, name)
