"""Every officer route against every role and channel grant: channels are walls (404), roles are doors (403).

Roles: admin (feedback + question: setup grants no corruption), legal (officer, corruption only),
pr (officer, feedback + question), executive (reports only), anonymous. Each role gets a fresh world with
one case per channel.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy.orm import Session

from intake import cases, keyring
from intake.answers import publishing
from intake.models import Case, Role

from .conftest import ADMIN, PASSWORD, csrf_token
from .factories import PNG_1PX, Factory
from .officer_helpers import RECENT, OfficerActions, officer_named, world

WorldContext = AbstractContextManager[tuple[Session, Factory]]
OTHER_PASSWORD = "officer password 1"
ROLES = ("admin", "legal", "pr", "executive", "anonymous")
CHANNEL_HOLDERS = {"corruption": {"legal"}, "feedback": {"admin", "pr"}, "question": {"admin", "pr"}}
CASE_ROLES = {"admin", "legal", "pr"}


@dataclass
class World:
    ids: dict[str, Any]


def build(app: Flask, open_world: Callable[[Flask], WorldContext] = world) -> World:
    """One case per channel and mutating route, officers of every role (in `open_world`'s tenant)."""
    ids: dict[str, Any] = {}
    with open_world(app) as (s, factory):
        legal = factory.officer("legal", OTHER_PASSWORD, channels=("corruption",))
        factory.officer("pr", OTHER_PASSWORD, channels=("feedback", "question"))
        factory.officer("executive", OTHER_PASSWORD, role=Role.EXECUTIVE)
        ids["spare"] = factory.officer("spare", OTHER_PASSWORD, channels=("question",)).id
        for channel in ("corruption", "feedback", "question"):
            for n in range(9):  # one case per mutating route, so that the routes do not interfere
                sub = factory.case(
                    channel, f"{channel} {n}", files=[(PNG_1PX, "p.png")], publish_ok=True, contact="c"
                )
                ids[f"{channel}{n}"] = sub.case.id
                ids[f"{channel}{n}_att"] = sub.case.attachments[0].id
            case = s.get(Case, ids[f"{channel}0"])
            assert case is not None
            publisher = legal if channel == "corruption" else factory.admin()
            ids[f"{channel}_answer"] = publishing.publish(s, case, publisher, "q", "a").id
        s.commit()
    return World(ids)


def sign_in(client: FlaskClient, role: str) -> None:
    if role == "anonymous":
        return
    actions = OfficerActions(client)
    actions.login(ADMIN if role == "admin" else role, PASSWORD if role == "admin" else OTHER_PASSWORD)


def case_expect(channel: str, ok: int) -> dict[str, int]:
    return {role: ok if role in CHANNEL_HOLDERS[channel] else 404 for role in ROLES}


def role_expect(allowed: set[str], ok: int, other: int = 403) -> dict[str, int]:
    return {role: ok if role in allowed else other for role in ROLES}


def routes(ids: dict[str, Any]) -> list[tuple[str, str, dict[str, str], dict[str, int]]]:
    """(method, path, form data, expected status per role); anonymous always goes to sign-in (302)."""
    table: list[tuple[str, str, dict[str, str], dict[str, int]]] = [
        ("GET", "/officer/queue", {}, role_expect(CASE_ROLES, 200)),
        ("GET", "/officer/intake", {}, role_expect(CASE_ROLES, 200)),
        ("GET", "/officer/password", {}, role_expect(set(ROLES), 200)),
        ("GET", "/officer/admin/", {}, role_expect({"admin"}, 302)),
        ("GET", "/officer/admin/officers", {}, role_expect({"admin"}, 200)),
        ("GET", "/officer/admin/officers/new", {}, role_expect({"admin"}, 200)),
        ("GET", f"/officer/admin/officers/{ids['spare']}", {}, role_expect({"admin"}, 200)),
        ("GET", "/officer/admin/settings", {}, role_expect({"admin"}, 200)),
        ("GET", "/officer/admin/audit", {}, role_expect({"admin"}, 200)),
        ("GET", "/officer/import", {}, role_expect({"admin"}, 200)),
        ("POST", "/officer/import", {}, role_expect({"admin"}, 400)),  # no file chosen
        # No intake form sent from this browser yet: no slip to show.
        ("GET", "/officer/intake/receipt", {}, role_expect(CASE_ROLES, 404)),
        ("GET", "/officer/admin/settings/guide", {}, role_expect({"admin"}, 200)),
        ("GET", "/officer/admin/settings/ita?fiscal_year=2570", {}, role_expect({"admin"}, 200)),
    ]
    for channel in ("corruption", "feedback", "question"):
        c = lambda n, ch=channel: f"/officer/cases/{ids[f'{ch}{n}']}"  # noqa: E731
        table += [
            ("GET", c(0), {}, case_expect(channel, 200)),
            ("GET", f"{c(0)}/attachments/{ids[f'{channel}0_att']}", {}, case_expect(channel, 200)),
            # another case's attachment id through this case: never
            ("GET", f"{c(0)}/attachments/{ids[f'{channel}1_att']}", {}, case_expect(channel, 404)),
            ("POST", f"{c(1)}/acknowledge", {}, case_expect(channel, 303)),
            ("POST", f"{c(2)}/status", {"status": "in_progress", "note": "n"}, case_expect(channel, 303)),
            ("POST", f"{c(3)}/reply", {"message": "m"}, case_expect(channel, 303)),
            ("POST", f"{c(4)}/note", {"note": "n"}, case_expect(channel, 303)),
            ("POST", f"{c(5)}/assign", {"officer": ""}, case_expect(channel, 303)),
            (
                "POST",
                f"{c(6)}/refer",
                {"agency": "nacc", "reference": "r", "referred_on": RECENT},
                case_expect(channel, 303),
            ),
            ("POST", f"/officer/answers/{ids[f'{channel}_answer']}/unpublish", {}, case_expect(channel, 303)),
        ]
        duplicate = {"duplicate_of": str(ids[f"{channel}0"])}
        table.append(("POST", f"{c(8)}/duplicate", duplicate, case_expect(channel, 303)))
        publish = case_expect(channel, 303) if channel == "question" else case_expect(channel, 400)
        table.append(("POST", f"{c(7)}/publish", {"question": "q", "answer": "a", "confirm": "y"}, publish))
    table += [
        (
            "POST",
            "/officer/intake",
            {"channel": "question", "source": "phone", "received_at": RECENT, "details": "d"},
            {"admin": 303, "legal": 400, "pr": 303, "executive": 403, "anonymous": 302},  # 303: the slip
        ),
        (
            "POST",
            "/officer/admin/officers/new",
            {"username": "fresh", "role": "officer", "channels": "question"},
            role_expect({"admin"}, 200),
        ),
        (
            "POST",
            f"/officer/admin/officers/{ids['spare']}/grant",
            {"channel": "feedback"},
            role_expect({"admin"}, 303),
        ),
        (
            "POST",
            f"/officer/admin/officers/{ids['spare']}/revoke",
            {"channel": "feedback"},
            role_expect({"admin"}, 303),
        ),
        ("POST", f"/officer/admin/officers/{ids['spare']}/reset-2fa", {}, role_expect({"admin"}, 303)),
        ("POST", f"/officer/admin/officers/{ids['spare']}/deactivate", {}, role_expect({"admin"}, 303)),
        ("POST", "/officer/admin/settings", SETTINGS, role_expect({"admin"}, 303)),
        ("GET", "/officer/admin/settings/crest.png", {}, role_expect({"admin"}, 404)),
        ("POST", "/officer/admin/settings/crest", {}, role_expect({"admin"}, 400)),  # no file chosen
        ("POST", "/officer/admin/settings/crest/remove", {}, role_expect({"admin"}, 303)),
        ("POST", "/officer/admin/settings/guide", GUIDE, role_expect({"admin"}, 303)),
        # no codes given: the form again with its errors
        ("POST", "/officer/admin/settings/ita", {"fiscal_year": "2570"}, role_expect({"admin"}, 400)),
        ("POST", "/officer/admin/settings/ita/reset", {"fiscal_year": "2570"}, role_expect({"admin"}, 303)),
    ]
    return table


GUIDE = {"unit_corruption": "งานนิติการ", "unit_feedback": "งานประชาสัมพันธ์", "unit_question": "สำนักปลัด"}
SETTINGS = {
    "municipality_name": "เทศบาลทดสอบ",
    **{
        f"{kind}_days_{c}": "10" for kind in ("ack", "answer") for c in ("corruption", "feedback", "question")
    },
    "attachment_max_file_mb": "5",
    "attachment_max_total_mb": "20",
    "retention_years": "5",
}


@pytest.mark.parametrize("role", ROLES)
def test_access_matrix(app: Flask, client: FlaskClient, role: str) -> None:
    ids = build(app).ids
    sign_in(client, role)
    token = csrf_token(client, "/officer/login" if role == "anonymous" else "/officer/password")
    wrong: list[str] = []
    for method, path, data, expected in routes(ids):
        if method == "GET":
            response = client.get(path)
        else:
            response = client.post(path, data={"csrf_token": token, **data})
        want = 302 if role == "anonymous" else expected[role]
        if response.status_code != want:
            wrong.append(f"{method} {path}: {response.status_code}, expected {want}")
        if role == "anonymous":
            assert response.headers["Location"].startswith("/officer/login"), path
    assert wrong == []


@pytest.mark.parametrize("role", ["admin", "legal", "pr"])
def test_queue_lists_only_granted_channels(app: Flask, client: FlaskClient, role: str) -> None:
    ids = build(app).ids
    sign_in(client, role)
    page = client.get("/officer/queue").get_data(as_text=True)
    listed = {int(n) for n in re.findall(r'href="/officer/cases/(\d+)"', page)}
    for channel, holders in CHANNEL_HOLDERS.items():
        mine = {ids[f"{channel}{n}"] for n in range(8)}
        assert (mine <= listed) if role in holders else not (mine & listed), channel
    # Asking for another channel by filter shows nothing either.
    for channel, holders in CHANNEL_HOLDERS.items():
        if role not in holders:
            filtered = client.get(f"/officer/queue?channel={channel}").get_data(as_text=True)
            assert "/officer/cases/" not in filtered


def test_executive_never_sees_case_content(app: Flask, client: FlaskClient) -> None:
    ids = build(app).ids
    sign_in(client, "executive")
    assert client.get("/officer/queue").status_code == 403
    for channel in CHANNEL_HOLDERS:
        response = client.get(f"/officer/cases/{ids[f'{channel}0']}")
        assert response.status_code == 404 and f"{channel} 0" not in response.get_data(as_text=True)
    assert client.get("/officer/").headers["Location"] == "/officer/reports"


def test_revoked_grant_cannot_decrypt_even_in_an_open_session(app: Flask, client: FlaskClient) -> None:
    ids = build(app).ids
    sign_in(client, "pr")
    url = f"/officer/cases/{ids['feedback0']}"
    assert client.get(url).status_code == 200
    admin_client = app.test_client()
    actions = OfficerActions(admin_client)
    actions.login(ADMIN, PASSWORD)
    with world(app) as (s, _f):
        pr_id = officer_named(s, "pr").id
    admin_page = f"/officer/admin/officers/{pr_id}"
    revoked = actions.post(f"{admin_page}/revoke", {"channel": "feedback"}, form_url=admin_page)
    assert revoked.status_code == 303
    assert client.get(url).status_code == 404
    with world(app) as (s, _f):
        pr = officer_named(s, "pr")
        private = keyring.unlock(pr, OTHER_PASSWORD)
        case = s.get(Case, ids["feedback0"])
        assert case is not None
        with pytest.raises(cases.ChannelForbidden):
            cases.officer_keys(s, pr, private, case)
        assert cases.officer_keys(s, pr, private, s.get(Case, ids["question0"]))  # type: ignore[arg-type]
