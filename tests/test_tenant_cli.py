"""`flask tenant ...` and `--tenant SLUG` on the operator commands, end to end through the web."""

from __future__ import annotations

from pathlib import Path

from flask import Flask
from sqlalchemy import func, select

from intake import db, tenancy
from intake.models import Attachment, AuditEntry, Case, Officer, Tenant

from .citizen_helpers import STATUS_RE, submit_ok, track
from .conftest import ADMIN, PASSWORD, RECOVERY, store_of
from .factories import PNG_1PX
from .officer_helpers import OfficerActions
from .test_tenants_walls import HOST_B, add_tenant_b, client_on, tenant_world


def run(app: Flask, *args: str, env: dict[str, str] | None = None, input: str | None = None) -> str:
    result = app.test_cli_runner().invoke(args=list(args), env=env, input=input)
    assert result.exit_code == 0, result.output
    return str(result.output)


def fails(app: Flask, *args: str, input: str | None = None) -> str:
    result = app.test_cli_runner().invoke(args=list(args), input=input)
    assert result.exit_code == 1, result.output
    return str(result.output)


def test_a_single_tenant_deployment_lists_its_one_tenant_answering_every_host(app: Flask) -> None:
    lines = run(app, "tenant", "list").splitlines()
    assert len(lines) == 1 and lines[0].startswith("default\tactive\t") and "(every host)" in lines[0]
    for host in ("localhost", "intake.example.go.th", "10.0.0.7"):
        assert client_on(app, host).get("/").status_code == 200


def test_tenant_add_makes_keys_and_an_admin_who_signs_in_on_its_host(app: Flask) -> None:
    out = Path(app.config["KEYS_DIR"]) / "somewhere" / "b.key"
    add_tenant_b(app)
    assert (Path(app.config["KEYS_DIR"]) / "recovery-b.key").exists()
    assert not out.exists()
    on_b = client_on(app, HOST_B)
    OfficerActions(on_b).login(ADMIN, PASSWORD)
    assert on_b.get("/officer/queue").status_code == 200
    # The first tenant claims no name, so it answers every name nobody claims; once it claims one, a name
    # nobody claims is 404 (never some tenant's site by accident).
    assert client_on(app, "nobody.example").get("/").status_code == 200
    run(app, "tenant", "host-add", "default", "A.Example.go.th:443")
    assert client_on(app, "nobody.example").get("/").status_code == 404
    assert client_on(app, "a.example.go.th").get("/").status_code == 200
    assert "belongs to another tenant" in fails(app, "tenant", "host-add", "b", "a.example.go.th")
    run(app, "tenant", "host-remove", "default", "a.example.go.th")
    assert "only host name" in fails(app, "tenant", "host-remove", "b", "b.example.go.th")
    assert client_on(app, "nobody.example").get("/").status_code == 200
    listed = run(app, "tenant", "list")
    assert "b\tactive\tเทศบาลตำบลบี\tb.example.go.th\tcases=0\tofficers=1" in listed
    assert "exists already" in fails(app, "tenant", "add", "b", "--name", "x", "--host", "c.example",
                                     "--admin", "x")
    assert "belongs to another tenant" in fails(
        app, "tenant", "add", "c", "--name", "C", "--host", HOST_B, "--admin", ADMIN
    )
    assert "slug" in fails(app, "tenant", "add", "Not A Slug", "--name", "C", "--host", "c.example",
                           "--admin", ADMIN)


def test_recovery_key_out_and_operator_commands_take_tenant(app: Flask, tmp_path: Path) -> None:
    out = tmp_path / "offline" / "b-recovery.key"
    add_tenant_b(app)
    run(app, "tenant", "add", "c", "--name", "C", "--host", "c.example", "--admin", "chief",
        "--recovery-key-out", str(out),
        env={"INTAKE_ADMIN_PASSWORD": PASSWORD, "INTAKE_RECOVERY_PASSPHRASE": RECOVERY})
    assert out.exists()
    env = {"INTAKE_OFFICER_PASSWORD": "officer password 1", "INTAKE_RECOVERY_PASSPHRASE": RECOVERY + " of b"}
    run(app, "officer", "add", "clerk", "--channel", "feedback", "--tenant", "b", env=env)
    with tenant_world(app, "b") as (s, _f):
        assert s.scalar(select(Officer).where(Officer.username == "clerk")) is not None
    with tenant_world(app, None) as (s, _f):
        assert s.scalar(select(Officer).where(Officer.username == "clerk")) is None
    # The same name again in another tenant is another officer.
    run(app, "officer", "add", "clerk", env={"INTAKE_OFFICER_PASSWORD": "officer password 1"})
    # B's recovery key opens B's channels only: with A's passphrase it is refused.
    wrong = {"INTAKE_OFFICER_PASSWORD": "officer password 1", "INTAKE_RECOVERY_PASSPHRASE": RECOVERY}
    result = app.test_cli_runner().invoke(
        args=["officer", "add", "other", "--channel", "feedback", "--tenant", "b"], env=wrong
    )
    assert result.exit_code == 1 and "passphrase" in result.output
    assert "no tenant 'zz'" in fails(app, "audit", "verify", "--tenant", "zz")
    assert "Audit chain intact" in run(app, "audit", "verify", "--tenant", "b")
    report = tmp_path / "b.csv"
    run(app, "report", "--fiscal-year", "2569", "--period", "year", "--format", "csv", "--output",
        str(report), "--tenant", "c")
    assert report.exists()
    assert "Purged 0 cases" in run(app, "purge", "--tenant", "b")


def test_suspend_takes_one_site_offline_and_resume_brings_it_back(app: Flask) -> None:
    add_tenant_b(app)
    on_a, on_b = client_on(app, "localhost"), client_on(app, HOST_B)
    token = submit_ok(on_b, "feedback")
    run(app, "tenant", "suspend", "b")
    page = on_b.get("/")
    assert page.status_code == 503
    assert "ระงับบริการ" in page.get_data(as_text=True)
    assert on_b.get("/track").status_code == 503
    assert on_b.get("/officer/login").status_code == 503
    assert on_a.get("/").status_code == 200
    assert "b\tsuspended" in run(app, "tenant", "list")
    run(app, "tenant", "resume", "b")
    assert STATUS_RE.search(track(on_b, token).get_data(as_text=True))


def test_remove_asks_for_the_slug_then_deletes_every_row_and_file(app: Flask) -> None:
    add_tenant_b(app)
    on_b = client_on(app, HOST_B)
    submit_ok(on_b, "feedback", files=[(PNG_1PX, "p.png")])
    with tenant_world(app, None) as (_s, factory):
        factory.case("feedback", "a", files=[(PNG_1PX, "a.png")])
    with tenant_world(app, "b") as (s, _f):
        b_files = list(s.scalars(select(Attachment.stored_name)))
    assert len(b_files) == 1
    assert "never exported" in fails(app, "tenant", "remove", "b")
    assert "not confirmed" in fails(app, "tenant", "remove", "b", "--without-export", input="default\n")
    assert on_b.get("/").status_code == 200
    run(app, "tenant", "remove", "b", "--without-export", input="b\n")
    assert on_b.get("/").status_code == 200  # B's name is nobody's now: the first tenant answers it
    names = {info.name for info in store_of(app).list_objects()}
    assert not set(b_files) & names and len(names) == 1
    with app.app_context(), tenancy.as_host(db.session()) as s:
        assert s.scalar(select(func.count()).select_from(Tenant)) == 1
        assert s.scalar(select(func.count()).select_from(Case)) == 1
    assert "last tenant" in fails(app, "tenant", "remove", "default", "--without-export", input="default\n")



def test_all_tenants_runs_each_and_names_the_one_that_failed(app: Flask) -> None:
    add_tenant_b(app)
    purged = run(app, "purge", "--all-tenants")
    assert "== default" in purged and "== b" in purged and purged.count("Purged 0 cases") == 2
    assert run(app, "audit", "verify", "--all-tenants").count("Audit chain intact") == 2
    with tenant_world(app, "b") as (s, _f):
        entry = s.scalar(select(AuditEntry).order_by(AuditEntry.seq.desc()).limit(1))
        assert entry is not None
        entry.detail = "edited"
    result = app.test_cli_runner().invoke(args=["audit", "verify", "--all-tenants"])
    assert result.exit_code == 1
    assert result.output.count("Audit chain intact") == 1 and "failed for 1 tenants: b" in result.output
    assert "exclude each other" in fails(app, "purge", "--all-tenants", "--tenant", "b")
