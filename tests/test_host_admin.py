"""The host administrator: `host-admin` commands, the /host pages, and that they show no tenant content."""

from __future__ import annotations

import io
import re
import zipfile
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from flask import Flask
from sqlalchemy import select, text, update

from intake import db, keyring, settings, tenancy, tenants
from intake.host import views as host_views
from intake.models import HostAdmin, HostAuditEntry, HostSession

from .citizen_helpers import submit_ok, valid_data
from .conftest import ADMIN, PASSWORD, csrf_token
from .host_helpers import ROOT, ROOT_PASSWORD, HostActions, add_admin, enrol, signed_in
from .i18n_helpers import thai
from .officer_helpers import OfficerActions, secret_from_page
from .test_tenants_walls import HOST_B, add_tenant_b, client_on

NEW_TENANT = {
    "slug": "ban-na",
    "name": "เทศบาลตำบลบ้านนา",
    "host": "intake.banna.go.th",
    "province": "ลำปาง",
    "admin": "chief",
    "password": "initial password 1",
    "passphrase": "lantern orbit velvet quarry marble",
    "passphrase_again": "lantern orbit velvet quarry marble",
}


def _audit(app: Flask) -> list[tuple[str, str, str | None]]:
    with app.app_context():
        rows = db.session().scalars(select(HostAuditEntry).order_by(HostAuditEntry.id))
        return [(r.actor, r.action, r.tenant_slug) for r in rows]


def test_cli_adds_lists_and_removes_host_admins(app: Flask) -> None:
    add_admin(app)
    runner = app.test_cli_runner()
    assert f"{ROOT}\ttotp-not-enrolled" in runner.invoke(args=["host-admin", "list"]).output
    again = runner.invoke(args=["host-admin", "add", ROOT], env={"INTAKE_HOST_ADMIN_PASSWORD": ROOT_PASSWORD})
    assert again.exit_code == 1 and "exists already" in again.output
    short = runner.invoke(args=["host-admin", "add", "x"], env={"INTAKE_HOST_ADMIN_PASSWORD": "short pw"})
    assert short.exit_code == 1
    assert runner.invoke(args=["host-admin", "remove", ROOT]).exit_code == 0
    assert runner.invoke(args=["host-admin", "list"]).output == ""
    assert ("cli", "host_admin.remove", None) in _audit(app)


def test_first_sign_in_enrols_totp_then_one_form_signs_in(app: Flask) -> None:
    add_admin(app)
    host = HostActions(app.test_client())
    first = host.login(code="")
    assert first.status_code == 303 and first.headers["Location"] == "/host/totp"
    cookie = first.headers["Set-Cookie"]
    assert "intake_host=" in cookie and "Path=/host" in cookie and "HttpOnly" in cookie
    assert "SameSite=Strict" in cookie and "Secure" not in cookie
    assert host.client.get("/host/").headers["Location"] == "/host/totp"  # no page before the code
    host.secret = secret_from_page(host.client.get("/host/totp").get_data(as_text=True))
    assert host.post("/host/totp", {"code": "000000"}).status_code == 200  # wrong: the page again
    done = host.post("/host/totp", {"code": host.code()})
    assert done.status_code == 303 and done.headers["Location"] == "/host/"
    page = host.client.get("/host/").get_data(as_text=True)
    assert "ผู้ดูแลระบบกลาง" in page or "host" in page.lower()
    host.post("/host/logout", {}, form_url="/host/")
    assert host.client.get("/host/").status_code == 302
    assert host.login().status_code == 303  # now password and code in one form
    assert ("root", "totp.enrol", None) in _audit(app)


def test_the_cookie_is_secure_on_https(app: Flask) -> None:
    add_admin(app)
    secret = enrol(app)
    client = app.test_client()
    token = csrf_token(client, "https://localhost/host/login")
    host = HostActions(client, secret)
    response = client.post(
        "https://localhost/host/login",
        data={"csrf_token": token, "username": ROOT, "password": ROOT_PASSWORD, "code": host.code()},
    )
    assert response.status_code == 303 and "Secure" in response.headers["Set-Cookie"]


def test_wrong_password_or_code_is_refused_and_five_lock_the_account(make_app: object) -> None:
    app = make_app(RATELIMIT_ENABLED=False)  # type: ignore[operator]
    add_admin(app)
    host = HostActions(app.test_client(), enrol(app))
    for attempt in range(5):
        if attempt % 2:
            response = host.login(password="wrong password")
        else:
            response = host.login(code="123456" if host.code() != "123456" else "654321")
        assert response.status_code == 200 and "intake_host=" not in response.headers.get("Set-Cookie", "")
    locked = host.login()  # the right password and code: still refused while locked
    assert locked.status_code == 200
    assert "ถูกล็อก" in locked.get_data(as_text=True) or "locked" in locked.get_data(as_text=True)
    reasons = [a for a in _audit(app) if a[1] == "login.failure"]
    assert len(reasons) == 6
    with app.app_context():
        assert db.session().scalar(select(HostSession)) is None


def test_unknown_user_reads_like_a_wrong_password(app: Flask) -> None:
    add_admin(app)
    host = HostActions(app.test_client(), enrol(app))
    unknown = host.login(username="nobody").get_data(as_text=True)
    wrong = host.login(password="wrong password").get_data(as_text=True)
    assert re.sub(r'value="[^"]*"', "", unknown) == re.sub(r'value="[^"]*"', "", wrong)


def test_host_pages_are_404_on_a_tenant_host_and_on_unlisted_names(app: Flask) -> None:
    add_tenant_b(app)
    for host in (HOST_B, "nobody.example"):
        client = client_on(app, host)
        for path in ("/host/login", "/host/", "/host/national", "/host/tenants/new"):
            assert client.get(path).status_code == 404, (host, path)
        assert client.post("/host/login", data={"username": ROOT}).status_code == 404
    assert client_on(app, "127.0.0.1").get("/host/login").status_code == 200
    # A host-admin name that a tenant claims is that tenant's: /host is 404 there too.
    on = signed_in(app)
    on.post("/host/tenants/b/hosts", {"host": "127.0.0.1"}, form_url="/host/")
    assert client_on(app, "127.0.0.1").get("/host/login").status_code == 404


def test_csrf_is_checked_on_every_post(make_app: object) -> None:
    app = make_app(WTF_CSRF_ENABLED=True)  # type: ignore[operator]
    host = signed_in(app)
    add_tenant_b(app)
    for path in (
        "/host/login",
        "/host/logout",
        "/host/tenants/b/suspend",
        "/host/tenants/b/hosts",
        "/host/tenants/b/remove",
        "/host/tenants/new",
        "/host/totp",
    ):
        response = host.client.post(path, data={"host": "x.example", "typed": "b", "username": ROOT})
        assert response.status_code == 400, path
    assert client_on(app, HOST_B).get("/").status_code == 200  # nothing was suspended


def test_a_host_admin_cookie_gets_nothing_on_officer_pages(app: Flask) -> None:
    host = signed_in(app)
    for path in ("/officer/queue", "/officer/admin/officers", "/officer/reports", "/officer/admin/audit"):
        response = host.client.get(path)
        assert response.status_code == 302 and "/officer/login" in response.headers["Location"], path
    page = host.client.get("/host/").get_data(as_text=True)
    assert "/officer/cases" not in page and "/officer/" not in page


def test_create_a_tenant_on_the_page(app: Flask, tmp_path: Path) -> None:
    host = signed_in(app)
    weak = host.post(
        "/host/tenants/new", {**NEW_TENANT, "passphrase": "a" * 16, "passphrase_again": "a" * 16}
    )
    assert weak.status_code == 200 and "recovery-text" not in weak.get_data(as_text=True)
    made = host.post("/host/tenants/new", NEW_TENANT)
    page = made.get_data(as_text=True)
    assert made.status_code == 200 and 'download="recovery-ban-na.key"' in page
    key_text = re.search(r'<textarea id="recovery-text"[^>]*>([^<]+)</textarea>', page)
    assert key_text
    key_file = tmp_path / "recovery-ban-na.key"
    key_file.write_text(key_text.group(1).replace("&#34;", '"').replace("&quot;", '"'))
    with app.app_context():
        assert keyring.open_recovery(key_file, NEW_TENANT["passphrase"])  # it opens with its passphrase
    site = client_on(app, NEW_TENANT["host"])
    home = site.get("/").get_data(as_text=True)
    assert NEW_TENANT["name"] in home
    OfficerActions(site).login("chief", NEW_TENANT["password"], new_password="chief's own password 1")
    assert site.get("/officer/queue").status_code == 200
    again = host.post("/host/tenants/new", NEW_TENANT)  # a reload of the recovery key's page, a double tap
    assert again.status_code == 200 and "recovery-text" not in again.get_data(as_text=True)
    assert thai(
        "it was made a moment ago: this form was sent again (a reload or a second tap). Its recovery key was "
        "shown once, on the page after making it; if it was not saved, remove the tenant and make it again"
    ) in again.get_data(as_text=True)
    other_host = host.post("/host/tenants/new", {**NEW_TENANT, "host": "elsewhere.example.go.th"})
    assert thai("a tenant with this short name exists already") in other_host.get_data(as_text=True)
    assert ("root", "tenant.create", "ban-na") in _audit(app)
    listed = host.client.get("/host/").get_data(as_text=True)
    assert "intake.banna.go.th" in listed and "ลำปาง" in listed


def test_an_exported_tenant_is_removed_with_its_slug_typed_again(app: Flask) -> None:
    add_tenant_b(app)
    with app.app_context():
        session = db.session()
        tenants.mark_exported(session, tenants.get(session, "b"))
        session.commit()
    host = signed_in(app)
    page = host.client.get("/host/tenants/b/remove").get_data(as_text=True)
    assert 'id="last-export"' in page and 'name="without_export"' not in page
    assert host.post("/host/tenants/b/remove", {"typed": "b"}).status_code == 303
    assert client_on(app, HOST_B).get("/").status_code == 200  # the first tenant's again
    assert any(a[1:] == ("tenant.remove", "b") for a in _audit(app))


def test_suspend_resume_hosts_and_remove(app: Flask) -> None:
    add_tenant_b(app)
    host = signed_in(app)
    on_b = client_on(app, HOST_B)
    assert host.post("/host/tenants/b/suspend", {}, form_url="/host/").status_code == 303
    assert on_b.get("/").status_code == 503
    host.post("/host/tenants/b/resume", {}, form_url="/host/")
    assert on_b.get("/").status_code == 200
    host.post("/host/tenants/b/hosts", {"host": "B2.Example.go.th"}, form_url="/host/")
    assert client_on(app, "b2.example.go.th").get("/").status_code == 200
    host.post("/host/tenants/b/hosts/remove", {"host": "b2.example.go.th"}, form_url="/host/")
    assert client_on(app, "b2.example.go.th").get("/").status_code == 200  # the first tenant's again
    only = host.post("/host/tenants/b/hosts/remove", {"host": HOST_B}, form_url="/host/",
                     follow_redirects=True)  # its citizens would reach the first tenant's site
    assert thai("it is the tenant's only host name: without it its citizens would reach another "
                "municipality's site. Add another name first, or suspend the tenant") in only.get_data(True)
    assert on_b.get("/").status_code == 200 and "เทศบาลตำบลบี" in on_b.get("/").get_data(as_text=True)
    taken = host.post(
        "/host/tenants/default/hosts", {"host": HOST_B}, form_url="/host/", follow_redirects=True
    )
    assert thai("this host name belongs to another tenant") in taken.get_data(as_text=True)
    wrong = host.post("/host/tenants/b/remove", {"typed": "B"})
    assert wrong.status_code == 200 and on_b.get("/").status_code == 200
    never = host.post("/host/tenants/b/remove", {"typed": "b"})  # as `tenant remove`: an export first
    assert never.status_code == 200 and on_b.get("/").status_code == 200
    assert thai("it was never exported: write its export first, or tick the box to remove it without "
                "one") in never.get_data(as_text=True)
    assert host.post("/host/tenants/b/remove", {"typed": "b", "without_export": "y"}).status_code == 303
    assert on_b.get("/").status_code == 200  # no tenant claims it: the first tenant answers
    last = host.post("/host/tenants/default/remove", {"typed": "default", "without_export": "y"})
    assert last.status_code == 200
    assert thai("the last tenant of a deployment is not removed") in last.get_data(as_text=True)
    assert host.client.get("/host/tenants/nope/remove").status_code == 404
    actions = [a[1] for a in _audit(app)]
    for action in (
        "tenant.suspend",
        "tenant.resume",
        "tenant.host_add",
        "tenant.host_remove",
        "tenant.remove",
    ):
        assert action in actions


MARKER = "MARKER-ไม่ควรเห็น-7731"


def test_the_figures_pages_hold_no_content(app: Flask) -> None:
    client = app.test_client()
    for channel in ("corruption", "feedback", "question"):
        submit_ok(client, channel, data=valid_data(channel, MARKER))
    host = signed_in(app)
    listed = host.client.get("/host/").get_data(as_text=True)
    assert MARKER not in listed
    with app.app_context():  # the first tenant has no name of its own: its municipality's name shows
        assert settings.get(db.session(), "municipality_name") in listed
    assert re.search(r"1\s*·", listed)  # one case per channel is counted
    national = host.client.get("/host/national")
    assert national.status_code == 200 and MARKER not in national.get_data(as_text=True)
    year = re.search(
        r'<option selected value="(\d{4})"|<option value="(\d{4})" selected', national.get_data(True)
    )
    assert year
    for fmt in ("csv", "xlsx"):
        made = host.client.get(
            f"/host/national?fiscal_year={year.group(1) or year.group(2)}&period=year&format={fmt}"
        )
        assert made.status_code == 200 and "attachment" in made.headers["Content-Disposition"]
        body = made.get_data()
        assert MARKER.encode() not in body
        if fmt == "xlsx":
            with zipfile.ZipFile(io.BytesIO(body)) as book:
                for name in book.namelist():
                    assert MARKER.encode() not in book.read(name), name
    assert ("root", "national.export", None) in _audit(app)


def test_sessions_expire_when_idle_or_old(app: Flask) -> None:
    host = signed_in(app)
    assert host.client.get("/host/").status_code == 200
    for column, age in (
        ("last_seen_at", timedelta(minutes=31)),
        ("created_at", timedelta(hours=8, minutes=1)),
    ):
        with app.app_context():
            session = db.session()
            session.execute(update(HostSession).values({column: datetime.now(UTC) - age}))
            session.commit()
        assert host.client.get("/host/").headers["Location"] == "/host/login"
        if column == "last_seen_at":
            host.signed_in()  # a fresh session (two sign-ins: one TOTP step each)


def test_a_row_altered_in_the_database_signs_nobody_in(app: Flask) -> None:
    host = signed_in(app)
    with app.app_context():  # a database editor clears the TOTP secret to skip the second factor
        session = db.session()
        session.execute(update(HostAdmin).values(totp_secret=None))
        session.commit()
    assert host.client.get("/host/").status_code == 302  # the session ends at once
    refused = host.login(code="")
    assert refused.status_code == 200 and "intake_host=" not in refused.headers.get("Set-Cookie", "")
    assert ("root", "login.failure", None) in _audit(app)


def test_the_client_limit_holds_whatever_account_is_tried(make_app: object) -> None:
    app = make_app(RATELIMIT_LOGIN="3 per 10 minutes")  # type: ignore[operator]
    add_admin(app)
    host = HostActions(app.test_client(), enrol(app))
    codes = [host.login(username=f"guess{n}", password="wrong password").status_code for n in range(4)]
    assert codes == [200, 200, 200, 429]


def test_the_host_tables_are_no_tenant_s(app: Flask) -> None:
    host_tables = {"host_admins", "host_sessions", "host_audit_entries"}
    assert not host_tables & set(tenancy.tenant_tables())
    with app.app_context():
        engine = db.session().get_bind()
        if engine.dialect.name == "postgresql":
            forced = db.session().execute(
                text("SELECT relname FROM pg_class WHERE relrowsecurity AND relname LIKE 'host_%'")
            )
            assert list(forced) == []


def test_english_is_one_click_away(app: Flask) -> None:
    client = app.test_client()
    assert "เข้าสู่ระบบผู้ดูแลระบบกลาง" in client.get("/host/login").get_data(as_text=True)
    switched = client.get("/host/lang/en?next=/host/login")
    assert switched.status_code == 303 and switched.headers["Location"] == "/host/login"
    assert "Host administrator sign-in" in client.get("/host/login").get_data(as_text=True)
    assert client.get("/host/lang/en?next=https://evil.example/").headers["Location"] == "/host/"


def test_an_officer_session_gets_nothing_on_host_pages(app: Flask) -> None:
    client = app.test_client()
    OfficerActions(client).login(ADMIN, PASSWORD)
    assert client.get("/officer/queue").status_code == 200
    for path in ("/host/", "/host/national", "/host/tenants/new", "/host/tenants/default/remove"):
        response = client.get(path)
        assert response.status_code == 302 and response.headers["Location"] == "/host/login", path


def test_the_list_finds_and_pages_tenants(app: Flask, monkeypatch: pytest.MonkeyPatch) -> None:
    add_tenant_b(app)
    host = signed_in(app)
    found = host.client.get("/host/?q=EXAMPLE.go").get_data(as_text=True)
    assert 'id="tenant-b"' in found and 'id="tenant-default"' not in found
    monkeypatch.setattr(host_views, "PER_PAGE", 1)
    second = host.client.get("/host/?page=2").get_data(as_text=True)
    assert 'id="tenant-b"' in second and 'id="tenant-default"' not in second
    assert 'id="tenant-b"' in host.client.get("/host/?page=99").get_data(as_text=True)  # the last page
