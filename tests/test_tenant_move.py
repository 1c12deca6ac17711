"""A municipality moves host: `backup --tenant` on deployment A, `restore --tenant` on deployment B.

Two deployments, each with its own database (the suite's engine: SQLite, or PostgreSQL with
INTAKE_TEST_DATABASE_URL), keys and store. After the move the citizen's tracking code works on B, the
officers sign in there with their passwords and second factor and read the cases and files, and the audit
chain verifies; B's own tenant is untouched. A wrong passphrase, an altered archive or a tenant that is
not empty are refused with nothing written.
"""

from __future__ import annotations

import io
import os
import re
import tarfile
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import func, select

from intake import (
    attachments,
    cases,
    create_app,
    crypto,
    dates,
    db,
    keyring,
    settings,
    tenancy,
    tenant_import,
    tenant_move,
    tenants,
)
from intake.models import Attachment, AuditEntry, Case, Officer, Status, Tenant
from intake.officer import signin

from .citizen_helpers import STATUS_RE, submit_ok, track
from .conftest import (
    ADMIN,
    PASSWORD,
    RECOVERY,
    app_config,
    create_schema,
    fresh_database,
    on_both_stores,
    store_of,
)
from .factories import PNG_1PX, recovery_passphrase
from .officer_helpers import OfficerActions
from .test_tenants_walls import HOST_B, add_tenant_b, client_on, tenant_world

PASSPHRASE = "moving house with seven lanterns and a quiet tortoise"  # noqa: S105 - a test passphrase
TEXT = b"the minutes of the procurement committee, page one " * 40
ENV = {"INTAKE_EXPORT_PASSPHRASE": PASSPHRASE}


def run(app: Flask, *args: str, env: dict[str, str] | None = None, input: str | None = None) -> str:
    result = app.test_cli_runner().invoke(args=list(args), env=env, input=input)
    assert result.exit_code == 0, result.output
    return str(result.output)


def fails(app: Flask, *args: str, env: dict[str, str] | None = None, input: str | None = None) -> str:
    result = app.test_cli_runner().invoke(args=list(args), env=env, input=input)
    assert result.exit_code == 1, result.output
    return str(result.output)


@pytest.fixture
def deployment_b(tmp_path: Path) -> Iterator[Flask]:
    """A second deployment: its own database, keys and store, set up, with a case of its own."""
    with fresh_database(tmp_path, "intake_b") as url:
        create_schema(url)
        other = create_app(app_config(url, tmp_path / "b"))
        os.environ["INTAKE_ADMIN_PASSWORD"] = "b deployment admin password"
        os.environ["INTAKE_RECOVERY_PASSPHRASE"] = RECOVERY
        try:
            with other.app_context():
                from intake.cli import run_setup

                run_setup("chief", Path(other.config["KEYS_DIR"]) / "recovery.key", allow_keys_dir=True)
        finally:
            os.environ.pop("INTAKE_ADMIN_PASSWORD", None)
            os.environ.pop("INTAKE_RECOVERY_PASSPHRASE", None)
        try:
            yield other
        finally:
            other.extensions["intake.engine"].dispose()


def _tenant_with_everything(app: Flask, slug: str) -> dict[str, Any]:
    """Tenant `slug` on A: two cases (one with files), an officer with TOTP, a reply, an audit trail."""
    host = HOST_B if slug == "b" else "localhost"
    on = client_on(app, host)
    token = submit_ok(on, "feedback", files=[(PNG_1PX, "p.png")])
    with tenant_world(app, None if slug == "default" else slug) as (s, factory):
        submitted = factory.case("feedback", "ZQX details of the second", contact="ZQX contact",
                                 files=[(TEXT, "minutes.txt")])
        admin = factory.admin()
        private = keyring.unlock(admin, PASSWORD)
        keys = cases.officer_keys(s, admin, private, submitted.case)
        cases.reply(s, submitted.case, admin, keys, "ZQX reply")
        totp = crypto.new_totp_secret()
        signin.enrol(s, admin, private, totp)
        s.commit()
        plain = {
            att.stored_name: attachments.read_all(attachments.open_plain(store_of(app), att, keys.content))
            for att in submitted.case.attachments
        }
        number = submitted.case.number
    run(app, "audit", "verify", "--tenant", slug)
    return {"tokens": [token, submitted.token], "totp": totp, "number": number, "plain": plain}


def _counts(app: Flask) -> dict[str, int]:
    with app.app_context(), tenancy.as_host(db.session()) as s:
        return {
            model.__tablename__: int(s.scalar(select(func.count()).select_from(model)) or 0)
            for model in (Tenant, Case, Officer, AuditEntry, Attachment)
        } | {"objects": len(list(store_of(app).list_objects()))}


@on_both_stores  # deployment A on `file:` or `s3:`, B on `file:`
@pytest.mark.parametrize("slug", ["b", "default"])
def test_a_tenant_moves_to_another_deployment_with_its_codes_passwords_files_and_audit(
    app: Flask, deployment_b: Flask, tmp_path: Path, slug: str
) -> None:
    add_tenant_b(app)
    made = _tenant_with_everything(app, slug)
    out = tmp_path / "moving" / f"{slug}.tar"
    said = run(app, "backup", "--tenant", slug, "--output", str(out), env=ENV)
    assert "2 cases, 2 attachments" in said
    assert oct(out.stat().st_mode & 0o777) == "0o600"
    raw = out.read_bytes()
    assert b"ZQX" not in raw and not any(t.encode() in raw for t in made["tokens"])
    with tarfile.open(out) as tar:
        names = set(tar.getnames())
    assert "tables/cases.jsonl" in names and "manifest.mac" in names
    assert not {"tables/officer_sessions.jsonl", "tables/receipts.jsonl"} & names  # never exported
    with app.app_context(), tenancy.as_host(db.session()) as s:
        assert s.scalar(select(Tenant.exported_at).where(Tenant.slug == slug)) is not None
    with tenant_world(app, None if slug == "default" else slug) as (s, _f):
        assert s.scalar(select(AuditEntry).where(AuditEntry.action == "tenant.export")) is not None

    b_on = client_on(deployment_b, "localhost")
    own_token = submit_ok(b_on, "question")
    before = _counts(deployment_b)
    target = "moved"  # the slug it gets on B (a first tenant's slug, `default`, is taken there)
    said = run(deployment_b, "restore", "--tenant", target, str(out), "--host", "moved.example.go.th",
               env=ENV)
    assert "Restored tenant moved (2 cases, 2 attachments" in said
    after = _counts(deployment_b)
    assert after["tenants"] == before["tenants"] + 1 and after["objects"] == before["objects"] + 2

    moved = client_on(deployment_b, "moved.example.go.th")
    assert "ZQX reply" in track(moved, made["tokens"][1]).get_data(as_text=True)  # the citizen decrypts
    for token in made["tokens"]:
        assert STATUS_RE.search(track(moved, token).get_data(as_text=True))
        assert not STATUS_RE.search(track(b_on, token).get_data(as_text=True))  # not B's other tenant's
    assert STATUS_RE.search(track(b_on, own_token).get_data(as_text=True))  # B's own tenant untouched

    actions = OfficerActions(moved)
    actions.secrets[ADMIN] = made["totp"]
    actions.login(ADMIN, PASSWORD)
    page = moved.get(f"/officer/cases/{made['number']}")
    text = page.get_data(as_text=True)
    assert page.status_code == 200 and "ZQX details of the second" in text
    assert f"#{made['number']}" in text
    # Every link and form of the officer's pages carries the case numbers the moved cases kept (their
    # ids changed): the walk found every case link of a moved tenant answering 404.
    queue = moved.get("/officer/queue").get_data(as_text=True)
    links = re.findall(r'href="(/officer/cases/\d+)"', queue)
    assert f"/officer/cases/{made['number']}" in links and len(links) == 2
    for link in links:
        assert moved.get(link).status_code == 200, link
    for link in re.findall(r'href="(/officer/cases/\d+/attachments/\d+)"', text):
        assert moved.get(link).status_code == 200, link
    noted = actions.post(f"/officer/cases/{made['number']}/note", {"note": "ZQX after the move"},
                         form_url=f"/officer/cases/{made['number']}")
    assert noted.status_code == 303 and noted.headers["Location"].endswith(f"/officer/cases/{made['number']}")

    with tenant_world(deployment_b, target) as (s, _f):
        case = cases.by_number(s, made["number"])
        assert case is not None
        admin = s.scalar(select(Officer).where(Officer.username == ADMIN))
        assert admin is not None
        keys = cases.officer_keys(s, admin, keyring.unlock(admin, PASSWORD), case)
        store = store_of(deployment_b)
        got = {a.stored_name: attachments.read_all(attachments.open_plain(store, a, keys.content))
               for a in case.attachments}
        assert got == made["plain"] and TEXT in got.values()
        assert cases.find_by_token(s, made["tokens"][1]) is not None
        # A new case here gets a number no moved case has.
        newer = _f.case("feedback", "after the move")
        s.commit()
        assert newer.case.number is not None and newer.case.number > made["number"]
    assert "Audit chain intact" in run(deployment_b, "audit", "verify", "--tenant", target)
    assert "Audit chain intact" in run(deployment_b, "audit", "verify", "--tenant", "default")


def test_wrong_passphrase_altered_archive_and_a_tenant_not_empty_are_refused(
    app: Flask, deployment_b: Flask, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    add_tenant_b(app)
    made = _tenant_with_everything(app, "b")
    out = tmp_path / "b.tar"
    weak = fails(app, "backup", "--tenant", "b", "--output", str(out),
                 env={"INTAKE_EXPORT_PASSPHRASE": "password1234567890"})
    assert "export passphrase" in weak and not out.exists()
    run(app, "backup", "--tenant", "b", "--output", str(out), env=ENV)
    before = _counts(deployment_b)

    wrong = fails(deployment_b, "restore", "--tenant", "b", str(out),
                  env={"INTAKE_EXPORT_PASSPHRASE": PASSPHRASE + " nope"})
    assert "passphrase does not open" in wrong

    altered = tmp_path / "altered.tar"
    with tarfile.open(out) as tar, tarfile.open(altered, "w") as copy:
        for member in tar:
            data = tar.extractfile(member).read()  # type: ignore[union-attr]
            if member.name == "tables/cases.jsonl":
                data = data.replace(b'"status":"new"', b'"status":"resolved"', 1)
            member.size = len(data)
            copy.addfile(member, io.BytesIO(data))
    assert "altered" in fails(deployment_b, "restore", "--tenant", "b", str(altered), env=ENV)

    not_empty = fails(deployment_b, "restore", "--tenant", "default", str(out), env=ENV)
    assert "tenant default is not empty" in not_empty
    run(deployment_b, "tenant", "host-add", "default", "taken.example")
    before = _counts(deployment_b)
    taken = fails(deployment_b, "restore", "--tenant", "c", str(out), "--host", "taken.example", env=ENV)
    assert "belongs to another tenant" in taken and _counts(deployment_b) == before

    def broken(*_args: Any) -> None:
        raise tenant_move.MoveError("the disk filled up")

    monkeypatch.setattr(tenant_import, "_finish_tenant", broken)  # after the objects and the rows
    assert "disk filled up" in fails(deployment_b, "restore", "--tenant", "c", str(out), env=ENV)
    assert _counts(deployment_b) == before  # nothing half-written: no row, no object
    monkeypatch.undo()

    with deployment_b.app_context():  # an empty tenant b there (as a `tenant add` cut short leaves one)
        s = db.session()
        tenancy.bind(s, tenancy.HOST)
        empty = tenants.create(s, "b", "B", ["b-old.example"])
        s.commit()
        tenancy.activate(empty.id)
        settings.put(s, "municipality_name", "B")
        s.commit()
    said = run(deployment_b, "restore", "--tenant", "b", str(out), "--name", "เทศบาลบี", env=ENV)
    assert "Restored tenant b" in said
    with tenant_world(deployment_b, "b") as (s, _f):
        assert s.scalar(select(func.count()).select_from(Case)) == 2
        assert settings.get(s, "municipality_name") == "เทศบาลตำบลบี"  # the export's settings
    assert STATUS_RE.search(track(client_on(deployment_b, HOST_B), made["tokens"][0]).get_data(as_text=True))
    assert STATUS_RE.search(track(client_on(deployment_b, "b-old.example"), made["tokens"][0])
                            .get_data(as_text=True))
    again = fails(deployment_b, "restore", "--tenant", "c", str(out), "--host", "c.example", env=ENV)
    assert "restored before" in again


@contextmanager
def _database(tmp_path: Path, engine: str) -> Iterator[str]:
    if engine == "sqlite":
        yield f"sqlite:///{tmp_path / 'c.sqlite3'}"
        return
    with fresh_database(tmp_path, "intake_c") as url:
        yield url


@pytest.mark.parametrize("engine", ["suite", "sqlite"])  # with PostgreSQL as the suite's: across engines
def test_a_tenant_moves_to_a_new_deployment_of_its_own(app: Flask, tmp_path: Path, engine: str) -> None:
    """No `setup` there: the database migrated, then restore makes the master secret and the tenant."""
    add_tenant_b(app)
    made = _tenant_with_everything(app, "b")
    out = tmp_path / "b.tar"
    run(app, "backup", "--tenant", "b", "--output", str(out), env=ENV)
    with _database(tmp_path, engine) as url:
        fresh = create_app(app_config(url, tmp_path / "c"))
        try:
            run(fresh, "db", "upgrade")
            secret = Path(fresh.config["KEYS_DIR"]) / keyring.SERVER_SECRET_FILE
            wrong = fails(fresh, "restore", "--tenant", "b", str(out),
                          env={"INTAKE_EXPORT_PASSPHRASE": PASSPHRASE + " not it"})
            assert "master secret" not in wrong and not secret.exists()  # a refused restore leaves nothing
            said = run(fresh, "restore", "--tenant", "b", str(out), env=ENV)
            assert "master secret" in said and "Restored tenant b" in said
            on = client_on(fresh, HOST_B)
            page = track(on, made["tokens"][1]).get_data(as_text=True)
            assert STATUS_RE.search(page) and "ZQX reply" in page
            actions = OfficerActions(on)
            actions.secrets[ADMIN] = made["totp"]
            actions.login(ADMIN, PASSWORD)
            assert "ZQX details" in on.get(f"/officer/cases/{made['number']}").get_data(as_text=True)
            assert client_on(fresh, "elsewhere.example").get("/").status_code == 404
            assert "Audit chain intact" in run(fresh, "audit", "verify", "--tenant", "b")
            assert "Audit chain intact" in run(fresh, "audit", "verify")  # the first tenant here
        finally:
            fresh.extensions["intake.engine"].dispose()


def test_remove_wants_an_export_first(app: Flask, tmp_path: Path) -> None:
    add_tenant_b(app)
    assert "never exported" in fails(app, "tenant", "remove", "b", "--yes")
    assert "not confirmed" in fails(app, "tenant", "remove", "b", "--without-export", "--yes", input="\n")
    run(app, "backup", "--tenant", "b", "--output", str(tmp_path / "b.tar"), env=ENV)
    assert "Removed tenant b" in run(app, "tenant", "remove", "b", "--yes")  # exported: --yes suffices
    with app.app_context(), tenancy.as_host(db.session()) as s:
        assert s.scalar(select(func.count()).select_from(Tenant)) == 1


def test_purge_uses_each_tenants_own_retention(app: Flask) -> None:
    add_tenant_b(app)
    closed = dates.now() - timedelta(days=3 * 366)
    for slug, years in ((None, "2"), ("b", "5")):
        with tenant_world(app, slug) as (s, factory):
            settings.put(s, "retention_years", years)
            case = factory.case("feedback", "old").case
            case.status, case.closed_at = Status.RESOLVED, closed
            s.commit()
    said = run(app, "purge", "--all-tenants")
    assert "== default" in said and "Purged 1 cases closed more than 2 years ago" in said
    assert "Purged 0 cases closed more than 5 years ago" in said
    with tenant_world(app, None) as (s, _f):
        assert s.scalar(select(Case.purged_at)) is not None
    with tenant_world(app, "b") as (s, _f):
        assert s.scalar(select(Case.purged_at)) is None
    assert recovery_passphrase("b")  # the tenant's keys stayed as `tenant add` made them
