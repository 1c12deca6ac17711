"""Every citizen and officer page of a Thai request is Thai: no catalogue msgid is left in English on it.

Pages are visited as the people who see them (a citizen; an officer, the administrator, an executive), with
their flashes, form errors, receipts and error pages; each GET page of the app must be visited (a new page
is checked as soon as it exists). English is detected with the catalogues' own msgids and WTForms' built-in
messages (tests/i18n_helpers.py); proper names and acronyms are allowed.
"""

from __future__ import annotations

import io
from datetime import timedelta
from typing import Any

from flask import Flask, request_finished
from flask.testing import FlaskClient

from intake import cases, dates, keyring, retention
from intake.models import Role, Status

from .citizen_helpers import TOKEN_RE, files_field
from .conftest import ADMIN, PASSWORD, csrf_token, store_of
from .factories import PNG_1PX
from .host_helpers import ROOT, ROOT_PASSWORD, HostActions, add_admin
from .i18n_helpers import english_left, thai
from .officer_helpers import OfficerActions, secret_from_page, world

OFFICER = ("somchai", "officer password 1")
EXECUTIVE = ("malee", "officer password 1")
BAD = (200, 400)  # an invalid form: the form again with its errors (CONTRACT)
RECENT = (dates.local_date(dates.now()) - timedelta(days=3)).isoformat()
# GET endpoints that answer no HTML page of their own: files, redirects, the language switch.
NOT_PAGES = {
    "static", "citizen.set_language", "citizen.followup_form", "officer.attachment", "officer.index",
    "officer.admin_home", "citizen.favicon", "reports.public_stats_pdf", "reports.public_stats_xlsx",
    "guide.pdf", "findable.robots_txt", "findable.sitemap", "officer.admin_crest_image", "national.xlsx",
    "national.csv", "host.set_language",
}
CITIZEN_FORMS = {
    "/report/corruption": {
        "details": "มีการเรียกรับเงินใต้โต๊ะ", "category": "bribery", "when_where": "เมื่อวานที่สำนักงาน",
        "involved": "เจ้าหน้าที่กองช่าง", "contact": "ไม่ประสงค์ให้ติดต่อ",
    },
    "/report/feedback": {"service": "เก็บขยะ", "details": "รถขยะมาตรงเวลา", "rating": "5", "contact": ""},
    "/ask": {"details": "ภาษีป้ายคิดอย่างไร", "publish_ok": "y", "contact": ""},
}


class Pages:
    """Fetches pages, remembers which endpoints answered, and collects the English found on each."""

    def __init__(self, app: Flask, client: FlaskClient) -> None:
        self.client = client
        self.actions = OfficerActions(client)  # remembers each officer's TOTP secret across sign-ins
        self.english: dict[str, list[str]] = {}
        self.endpoints: set[str] = set()
        self.checked = 0
        request_finished.connect(self._seen, app)
        self._app = app

    def _seen(self, sender: Flask, response: Any, **extra: Any) -> None:
        from flask import request

        if request.endpoint and request.method == "GET":
            self.endpoints.add(request.endpoint)

    def check(self, label: str, response: Any) -> str:
        assert response.mimetype == "text/html", (label, response.status_code, response.mimetype)
        page = response.get_data(as_text=True)
        assert 'lang="th"' in page, label
        self.checked += 1
        if found := english_left(page):
            self.english[label] = found
        return str(page)

    def get(self, path: str, status: int | tuple[int, ...] = 200) -> str:
        response = self.client.get(path, follow_redirects=True)
        expected = status if isinstance(status, tuple) else (status,)
        assert response.status_code in expected, (path, response.status_code)
        return self.check(f"GET {path}", response)

    def post(self, path: str, data: dict[str, Any], status: int | tuple[int, ...] = 200,
             form_url: str | None = None, **kw: Any) -> str:
        payload = {"csrf_token": csrf_token(self.client, form_url or path), **data}
        response = self.client.post(path, data=payload, follow_redirects=True, **kw)
        expected = status if isinstance(status, tuple) else (status,)
        assert response.status_code in expected, (path, response.status_code, response.get_data(as_text=True))
        return self.check(f"POST {path} {sorted(data)}", response)

    def close(self) -> None:
        request_finished.disconnect(self._seen, self._app)


def _world(app: Flask) -> dict[str, Any]:
    """One case per channel with a file, an officer for every channel, an executive, a purged case."""
    ids: dict[str, Any] = {}
    with world(app) as (s, factory):
        ids["officer"] = factory.officer(OFFICER[0], OFFICER[1], ("corruption", "feedback", "question")).id
        factory.officer(EXECUTIVE[0], EXECUTIVE[1], role=Role.EXECUTIVE)
        for channel in ("corruption", "feedback", "question"):
            sub = factory.case(channel, "ถนนหน้าบ้านมีหลุมลึก", files=[(PNG_1PX, "รูปถนน.png")], contact="๐๘๑",
                               publish_ok=channel == "question")
            ids[channel] = sub.case.id
        ids["duplicate"] = factory.case("feedback", "ถนนหน้าบ้านมีหลุมลึก (ซ้ำ)").case.id
        old = factory.case("feedback", "เรื่องเก่า", received_at=dates.now() - timedelta(days=40))
        admin = factory.admin()
        keys = cases.officer_keys(s, admin, keyring.unlock(admin, PASSWORD), old.case)
        cases.change_status(s, old.case, admin, keys, Status.RESOLVED, "ดำเนินการแล้ว")
        s.commit()
        retention.purge(s, store_of(app), now=dates.now() + timedelta(days=366 * 6))
        s.commit()
        ids["purged"] = old.case.id
    return ids


def _citizen(pages: Pages) -> dict[str, str]:
    for path in ("/", "/track", "/stats", "/stats?view=halves", "/faq", "/privacy", "/contact", "/guide",
                 "/ita", "/ita?fiscal_year=2569"):  # fmt: skip
        pages.get(path)
    pages.get("/receipt", status=404)  # nothing sent from this browser yet
    pages.get("/no-such-page", status=404)
    tokens = {}
    for path, data in CITIZEN_FORMS.items():
        pages.get(path)
        pages.post(path, {"details": ""}, status=BAD, content_type="multipart/form-data")
        page = pages.post(path, {**data, "attachments": files_field([(PNG_1PX, "หลักฐาน.png")])}
                          if path != "/ask" else data, content_type="multipart/form-data")
        match = TOKEN_RE.search(page)
        assert match, path
        tokens[path] = match.group(1).strip()
    pages.get("/receipt/continue", status=400)  # the receipt again: "write your code down first"
    pages.get("/receipt/continue?written=y")  # on to the tracking page
    big = files_field([(b"x" * 300 * 1024, "ใหญ่.txt")])
    pages.post("/report/feedback", {**CITIZEN_FORMS["/report/feedback"], "attachments": big}, status=BAD,
               content_type="multipart/form-data")
    huge = files_field([(b"x" * 2 * 1024 * 1024, "ใหญ่มาก.txt")])
    pages.post("/report/feedback", {**CITIZEN_FORMS["/report/feedback"], "attachments": huge}, status=413,
               content_type="multipart/form-data")
    pages.get("/stats?fiscal_year=abc", status=BAD)
    pages.get("/stats?view=monthly", status=BAD)
    pages.get("/ita?fiscal_year=abc", status=BAD)
    pages.get("/national?fiscal_year=abc", status=BAD)
    pages.get("/national")
    pages.get("/officer/logout", status=405)
    pages.post("/track", {"token": "ABCD-EFGH-JKMN-PQRS-TVWX"}, status=404)
    pages.post("/track", {"token": "ไม่ใช่รหัส"}, status=404)
    response = pages.client.post("/ask", data={"details": "ไม่มีโทเค็น"})  # no CSRF token: the CSRF page
    pages.check("POST /ask without CSRF", response)
    return tokens


def _track(pages: Pages, token: str) -> None:
    page = pages.post("/track", {"token": token})
    assert 'id="case-status"' in page
    pages.post("/track/followup", {"token": token, "message": ""}, status=BAD, form_url="/track")
    pages.post("/track/followup", {"token": token, "message": "ขอทราบความคืบหน้า"}, form_url="/track",
               content_type="multipart/form-data")


def _rate(pages: Pages, app: Flask, token: str) -> None:
    """A closed case asks once how satisfied the citizen is; a form without a score says so."""
    with world(app) as (s, _f):
        found = cases.find_by_token(s, token)
        admin = _f.admin()
        keys = cases.officer_keys(s, admin, keyring.unlock(admin, PASSWORD), found.case)
        cases.change_status(s, found.case, admin, keys, Status.RESOLVED, "เสร็จแล้ว", public=True)
        s.commit()
    page = pages.post("/track", {"token": token})
    assert 'name="rating"' in page
    pages.post("/track/satisfaction", {"token": token}, status=BAD, form_url="/track")
    pages.post("/track/satisfaction", {"token": token, "rating": "4", "comment": "ดีมาก"}, form_url="/track")


def _sign_in(pages: Pages, username: str, password: str) -> OfficerActions:
    """Through the real pages: the form, a wrong password, then TOTP enrolment or the code, each with a
    wrong code first."""
    pages.get("/officer/login")
    pages.post("/officer/login", {"username": username, "password": "wrong password"}, status=BAD)
    actions = pages.actions
    response = actions.post("/officer/login", {"username": username, "password": password})
    for _ in range(3):
        step = response.headers.get("Location", "")
        if not step.startswith(("/officer/totp", "/officer/login/code")):
            return actions
        pages.get(step)
        pages.post(step, {"code": "000000"}, status=BAD)
        if step.startswith("/officer/totp"):
            actions.secrets[username] = secret_from_page(pages.client.get(step).get_data(as_text=True))
        response = actions.post(step, {"code": actions.code_for(username)})
        assert response.status_code == 303, step
    raise AssertionError(f"{username} not signed in")


def _case_actions(pages: Pages, ids: dict[str, Any], officer_id: int) -> None:
    for channel in ("corruption", "feedback", "question"):
        url = f"/officer/cases/{ids[channel]}"
        pages.get(url)
        pages.post(f"{url}/acknowledge", {}, form_url=url)
        status = {"status": "in_progress", "note": "กำลังตรวจสอบ", "public": "y"}
        pages.post(f"{url}/status", status, form_url=url)
        pages.post(f"{url}/status", {"status": "new"}, status=BAD, form_url=url)
        pages.post(f"{url}/reply", {"message": "ได้รับเรื่องแล้ว จะแจ้งผลภายในสองสัปดาห์"}, form_url=url)
        pages.post(f"{url}/reply", {"message": ""}, status=BAD, form_url=url)
        pages.post(f"{url}/note", {"note": "ส่งกองช่างตรวจพื้นที่"}, form_url=url)
        pages.post(f"{url}/assign", {"officer": str(officer_id)}, form_url=url)
        referral = {"agency": "nacc", "reference": "ปช. 123", "referred_on": RECENT}
        pages.post(f"{url}/refer", referral, form_url=url)
        pages.post(f"{url}/refer", {"agency": "nacc", "referred_on": "ไม่ใช่วันที่"}, status=BAD, form_url=url)
    url = f"/officer/cases/{ids['question']}"
    pages.post(f"{url}/publish", {"question": "ภาษีป้าย", "answer": "ตามขนาดป้าย", "confirm": "y"}, form_url=url)
    pages.post(f"{url}/publish", {"question": "", "answer": ""}, status=BAD, form_url=url)
    first = f"/officer/cases/{ids['feedback']}"
    pages.post(f"{first}/duplicate", {"duplicate_of": "999999"}, status=BAD, form_url=first)
    pages.post(f"{first}/duplicate", {"duplicate_of": str(ids["feedback"])}, status=BAD, form_url=first)
    pages.post(f"{first}/duplicate", {"duplicate_of": "ไม่ใช่เลข"}, status=BAD, form_url=first)
    pages.post(f"{first}/duplicate", {"duplicate_of": str(ids["duplicate"])}, form_url=first)
    pages.get(f"/officer/cases/{ids['purged']}")
    pages.get("/officer/cases/999999", status=404)


def _officer_pages(pages: Pages, ids: dict[str, Any]) -> None:
    pages.get("/officer/queue")
    for query in ("channel=corruption", "status=all", "status=resolved", "overdue=1", "assignee=me",
                  "attention=1", "sort=received"):
        pages.get(f"/officer/queue?{query}")
    pages.get("/officer/intake")
    pages.post("/officer/intake", {"channel": "question", "source": "phone", "received_at": "2500-13-45",
                                   "details": ""}, status=BAD)
    pages.post("/officer/intake", {"channel": "feedback", "source": "letter", "received_at": "2400-01-01",
                                   "details": "จดหมายร้องเรียน"}, status=BAD)
    pages.post("/officer/intake", {"channel": "question", "source": "phone", "received_at": RECENT,
                                   "details": "โทรมาถามเรื่องภาษี"})
    old = "2560-01-15"  # a Buddhist Era date before the previous fiscal year: asks for confirmation
    pages.post("/officer/intake", {"channel": "feedback", "source": "letter", "received_at": old,
                                   "details": "จดหมายเก่า"}, status=BAD)
    pages.post("/officer/intake", {"channel": "feedback", "source": "letter", "received_at": old,
                                   "details": "จดหมายเก่า", "confirm_old_date": "y"})
    pages.get("/officer/intake/receipt")
    pages.get("/officer/password")
    pages.post("/officer/password", {"current": "ผิด", "new": "สั้น", "confirm": "ไม่ตรง"}, status=BAD)
    pages.get("/officer/reports")
    pages.get(f"/officer/reports?fiscal_year={dates.fiscal_year_of(dates.now())}&period=year")
    pages.get("/officer/reports?fiscal_year=abc&period=q9", status=BAD)


def _admin_pages(pages: Pages, officer_id: int) -> None:
    pages.get("/officer/admin/officers")
    pages.get(f"/officer/admin/officers/{officer_id}")
    pages.get("/officer/admin/officers/new")
    pages.post("/officer/admin/officers/new", {"username": "", "role": "officer"}, status=BAD)
    new = {"username": "wichai", "role": "officer", "channels": "question"}
    pages.post("/officer/admin/officers/new", new)
    pages.post(f"/officer/admin/officers/{officer_id}/revoke", {"channel": "feedback"},
               form_url=f"/officer/admin/officers/{officer_id}")
    pages.post(f"/officer/admin/officers/{officer_id}/grant", {"channel": "feedback"},
               form_url=f"/officer/admin/officers/{officer_id}")
    pages.get("/officer/admin/settings")
    pages.post("/officer/admin/settings", {"municipality_name": "", "retention_years": "0"}, status=BAD)
    pages.get("/officer/admin/settings/guide")
    guide = {"unit_corruption": "", "unit_feedback": "งานประชาสัมพันธ์", "unit_question": "สำนักปลัด"}
    pages.post("/officer/admin/settings/guide", guide, status=BAD)
    pages.post("/officer/admin/settings/guide", {**guide, "unit_corruption": "งานนิติการ",
                                                 "offline_sources": "phone"})  # fmt: skip
    ita = "/officer/admin/settings/ita"
    pages.get(ita)
    pages.get(f"{ita}?fiscal_year=2570")
    pages.post(ita, {"fiscal_year": "2570", "code_e8": ""}, status=BAD, form_url=f"{ita}?fiscal_year=2570")
    pages.post(f"{ita}/reset", {"fiscal_year": "2570"}, form_url=f"{ita}?fiscal_year=2570")
    pages.get("/officer/admin/audit")
    pages.get("/officer/admin/audit?actor=admin&action=case.view")
    pages.get("/officer/import")
    bad = "received_at,channel,source,category,details,status,closed_at\n2599-01-01,ทุจริต,อะไร,,,,\n"
    pages.post("/officer/import", {"register": (io.BytesIO(bad.encode()), "ทะเบียน.csv")}, status=BAD,
               content_type="multipart/form-data")
    good = ("received_at,channel,source,category,details,status,closed_at\n"
            "5/11/2567,ร้องเรียนการทุจริต,หนังสือ/จดหมาย,การจัดซื้อจัดจ้าง,ร้องเรียนการจัดซื้อ,ดำเนินการแล้วเสร็จ,"
            "2567-12-01\n")
    pages.post("/officer/import", {"register": (io.BytesIO(good.encode()), "ทะเบียน.csv")},
               content_type="multipart/form-data")
    pages.get("/officer/admin/notifications")
    pages.post("/officer/admin/notifications", {"escalation_days": "0", "digest_hour": "99"}, status=BAD)
    pages.get("/officer/admin/notifications/log")
    pages.get("/officer/profile")
    pages.post("/officer/profile", {"email": "ไม่ใช่อีเมล", "mode": "digest"}, status=BAD)


def _host_pages(pages: Pages, app: Flask) -> None:
    """The host administrator's pages: first sign-in and enrolment, tenants, a new one, national figures."""
    add_admin(app)
    pages.post("/host/login", {"username": ROOT, "password": "wrong password", "code": ""})  # refused
    pages.post("/host/login", {"username": ROOT, "password": ROOT_PASSWORD, "code": ""})  # -> enrolment
    secret = secret_from_page(pages.get("/host/totp"))
    pages.post("/host/totp", {"code": "12"})  # the form's error
    pages.post("/host/totp", {"code": HostActions(pages.client, secret).code()})  # -> the tenant list
    pages.post("/host/tenants/new", {"slug": "Not A Slug", "name": "x", "host": "h.example", "admin": "a",
                                     "password": "short", "passphrase": "short", "passphrase_again": "other"})
    made = {"slug": "c", "name": "เทศบาลตำบลซี", "host": "c.example", "province": "ลำปาง", "admin": "chief",
            "password": "initial password 1", "passphrase": "lantern orbit velvet quarry marble",
            "passphrase_again": "lantern orbit velvet quarry marble"}
    pages.post("/host/tenants/new", made)
    pages.post("/host/tenants/new", made)  # exists already
    pages.post("/host/tenants/c/suspend", {}, form_url="/host/")
    pages.post("/host/tenants/c/hosts", {"host": "c.example"}, form_url="/host/")
    pages.post("/host/tenants/default/hosts", {"host": "c.example"}, form_url="/host/")  # another's
    pages.post("/host/tenants/c/remove", {"typed": "wrong"})
    pages.get("/host/national")
    pages.get("/host/national?fiscal_year=abc", status=400)
    pages.post("/host/logout", {}, form_url="/host/")


def test_every_citizen_and_officer_page_is_thai(make_app: Any) -> None:
    app: Flask = make_app(
        RATELIMIT_SUBMIT="1000 per minute", ATTACHMENT_MAX_FILE=256 * 1024, ATTACHMENT_MAX_TOTAL=512 * 1024,
        MAX_CONTENT_LENGTH=1024 * 1024, PUBLISH_NATIONAL=True,
    )
    client = app.test_client()
    ids = _world(app)
    pages = Pages(app, client)
    try:
        tokens = _citizen(pages)
        officer = _sign_in(pages, *OFFICER)
        _case_actions(pages, ids, ids["officer"])
        _officer_pages(pages, ids)
        pages.get("/officer/admin/officers", status=403)
        officer.logout()
        for token in tokens.values():  # the reply, public notes and referral, as the citizen sees them
            _track(pages, token)
        _rate(pages, app, tokens["/report/feedback"])
        pages.get("/faq")
        pages.get("/stats")
        admin = _sign_in(pages, ADMIN, PASSWORD)
        _admin_pages(pages, ids["officer"])
        admin.logout()
        _sign_in(pages, *OFFICER).logout()  # enrolled: the code page this time
        _sign_in(pages, *EXECUTIVE)
        pages.get("/officer/reports")
        pages.get("/officer/queue", status=403)
        pages.get("/officer/login")  # signed in: the sign-in page as such
        for _ in range(6):  # wrong tokens until the limit: the 429 page
            response = client.post("/track", data={"csrf_token": csrf_token(client, "/track"), "token": "X"})
        assert response.status_code == 429
        pages.check("POST /track, too many wrong tokens", response)
        _host_pages(pages, app)
    finally:
        pages.close()
    every = {rule.endpoint for rule in app.url_map.iter_rules() if "GET" in (rule.methods or ())}
    unvisited = every - pages.endpoints - NOT_PAGES
    assert not unvisited, f"pages never checked in Thai (visit them here, or add to NOT_PAGES): {unvisited}"
    assert pages.checked > 80
    assert not pages.english, "English msgids on Thai pages:\n" + "\n".join(
        f"{label}: {found}" for label, found in pages.english.items()
    )


def test_the_detector_finds_english(app: Flask, client: FlaskClient) -> None:
    """The same check on an English request finds the msgids: it is not blind."""
    client.set_cookie("lang", "en")
    page = client.get("/").get_data(as_text=True)
    found = english_left(page)
    assert "Report corruption" in found and len(found) >= 10
    client.set_cookie("lang", "th")
    assert thai("Report corruption") in client.get("/").get_data(as_text=True)
