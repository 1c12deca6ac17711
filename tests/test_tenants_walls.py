"""Two tenants on one deployment: nothing of one is reachable, listable or decryptable from the other.

Tenant A is the deployment's first tenant (made by `setup`; it claims no host name, so it answers every
name nobody claims: here `localhost`); tenant B is added with `tenant add` and answers on HOST_B. Both have
an administrator called `admin` (names are unique per tenant, not per deployment).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select, text, update
from sqlalchemy.orm import Session

from intake import cases, crypto, db, key_contexts, keyring, tenancy, tokens, urls
from intake.answers import publishing
from intake.models import AuditEntry, Case, ChannelKey, Officer, Setting, Status

from .citizen_helpers import STATUS_RE, submit, submit_ok, track
from .conftest import ADMIN, PASSWORD, RECOVERY
from .factories import Factory, recovery_passphrase
from .officer_helpers import OfficerActions
from .test_access_matrix import OTHER_PASSWORD, build, routes

HOST_B = "b.example.go.th"
ID_IN_PATH = re.compile(r"/officer/(cases|answers|admin/officers)/\d+")


class HostClient(FlaskClient):
    """A test client whose every request carries one Host (as a browser on that site would)."""

    host = "localhost"

    def open(self, *args: Any, **kwargs: Any) -> Any:
        kwargs.setdefault("base_url", f"http://{self.host}")
        return super().open(*args, **kwargs)


def client_on(app: Flask, host: str) -> HostClient:
    client = HostClient(app, app.response_class, use_cookies=True)
    client.host = host
    return client


def add_tenant(app: Flask, slug: str, host: str, name: str, *extra: str) -> None:
    """`tenant add` as the tests do it: the recovery key kept in keys/ (factories.Factory opens it there)."""
    out = Path(app.config["KEYS_DIR"]) / f"recovery-{slug}.key"
    args = ["tenant", "add", slug, "--name", name, "--host", host, "--admin", ADMIN,
            "--recovery-key-out", str(out), "--allow-keys-dir", *extra]
    env = {"INTAKE_ADMIN_PASSWORD": PASSWORD, "INTAKE_RECOVERY_PASSPHRASE": recovery_passphrase(slug)}
    result = app.test_cli_runner().invoke(args=args, env=env)
    assert result.exit_code == 0, result.output


def add_tenant_b(app: Flask) -> None:
    add_tenant(app, "b", HOST_B, "เทศบาลตำบลบี")


@contextmanager
def tenant_world(app: Flask, slug: str | None) -> Iterator[tuple[Session, Factory]]:
    """A session and factory acting for tenant `slug` (None: the first tenant), in an app context."""
    with app.app_context():
        if slug is not None:
            tenancy.activate(tenancy.by_slug(slug).id)
        session = db.session()
        yield session, Factory(app, session)
        session.commit()


@pytest.fixture
def two(app: Flask) -> Flask:
    add_tenant_b(app)
    return app


def test_a_token_of_a_is_not_found_on_b(two: Flask) -> None:
    on_a, on_b = client_on(two, "localhost"), client_on(two, HOST_B)
    token = submit_ok(on_a, "feedback")
    assert STATUS_RE.search(track(on_a, token).get_data(as_text=True))
    on_b_answer = track(on_b, token)
    unknown = track(on_b, tokens.make())
    assert on_b_answer.status_code == unknown.status_code
    assert not STATUS_RE.search(on_b_answer.get_data(as_text=True))
    # ... and B's own token is not found on A.
    token_b = submit_ok(on_b, "question")
    assert STATUS_RE.search(track(on_b, token_b).get_data(as_text=True))
    assert not STATUS_RE.search(track(on_a, token_b).get_data(as_text=True))


def test_officers_are_per_tenant_and_cannot_sign_in_on_the_other(two: Flask) -> None:
    with tenant_world(two, None) as (_s, factory):
        factory.officer("legal", OTHER_PASSWORD, channels=("feedback",))
    on_a, on_b = client_on(two, "localhost"), client_on(two, HOST_B)
    OfficerActions(on_a).login("legal", OTHER_PASSWORD)
    refused = OfficerActions(on_b).post("/officer/login", {"username": "legal", "password": OTHER_PASSWORD})
    assert refused.status_code != 303
    # A's signed-in session cookie, carried to B's site, is no session there.
    cookie = on_a.get_cookie(two.config["SESSION_COOKIE_NAME"])
    assert cookie is not None
    on_b.set_cookie(cookie.key, cookie.value, domain=HOST_B)
    assert on_b.get("/officer/queue").status_code == 302
    # Both tenants have an `admin`; each signs in on its own site only.
    with tenant_world(two, None) as (s, _f):
        assert s.scalar(select(func.count()).select_from(Officer).where(Officer.username == ADMIN)) == 1
    with tenant_world(two, "b") as (s, _f):
        assert s.scalar(select(func.count()).select_from(Officer).where(Officer.username == ADMIN)) == 1


def test_every_route_with_an_id_of_a_is_404_on_b_and_works_on_b_for_bs_own(two: Flask) -> None:
    ids_a = build(two).ids
    on_b = client_on(two, HOST_B)
    OfficerActions(on_b).login(ADMIN, PASSWORD)
    token = OfficerActions(on_b).post  # the CSRF token comes from B's own page
    wrong: list[str] = []
    for method, path, data, _expected in routes(ids_a):
        if not ID_IN_PATH.search(path):
            continue
        response = on_b.get(path) if method == "GET" else token(path, data, form_url="/officer/password")
        if response.status_code != 404:
            wrong.append(f"{method} {path}: {response.status_code}")
    assert wrong == []
    # B's own world, built the same way, answers B's administrator as the access matrix says.
    ids_b = build(two, lambda app: tenant_world(app, "b")).ids
    for method, path, data, expected in routes(ids_b):
        response = on_b.get(path) if method == "GET" else token(path, data, form_url="/officer/password")
        if response.status_code != expected["admin"]:
            wrong.append(f"B: {method} {path}: {response.status_code}, expected {expected['admin']}")
    assert wrong == []


def test_pages_of_b_show_nothing_of_a(two: Flask) -> None:
    marker = "MARKER-A-ONLY"
    with tenant_world(two, None) as (s, factory):
        sub = factory.case("question", marker, publish_ok=True)
        publishing.publish(s, sub.case, factory.admin(), f"{marker} question", f"{marker} answer")
    on_a, on_b = client_on(two, "localhost"), client_on(two, HOST_B)
    assert marker in on_a.get("/faq").get_data(as_text=True)
    for path in ("/", "/faq", "/stats", "/guide", "/ita"):
        page = on_b.get(path)
        assert page.status_code in (200, 404), path
        assert marker not in page.get_data(as_text=True), path
    assert "เทศบาลตำบลบี" in on_b.get("/").get_data(as_text=True)
    OfficerActions(on_b).login(ADMIN, PASSWORD)
    for path in ("/officer/queue", "/officer/admin/audit", "/officer/admin/officers"):
        assert marker not in on_b.get(path).get_data(as_text=True), path


def test_the_orm_seam_filters_and_refuses_rows_of_another_tenant(two: Flask) -> None:
    with tenant_world(two, None) as (_s, factory):
        a_case = factory.case("feedback", "a").case.id
    with tenant_world(two, "b") as (s, factory):
        factory.case("feedback", "b")
        # No filter written: the seam adds the tenant to the query, a get, a join and a bulk update.
        assert s.scalar(select(func.count()).select_from(Case)) == 1
        assert s.get(Case, a_case) is None
        assert s.scalar(select(func.count()).select_from(Case).join(Case.entries)) == 1
        assert s.query(Setting).filter(Setting.name == "municipality_name").count() <= 1
        s.execute(update(Case).values(status=Status.IN_PROGRESS))  # an ORM bulk update: B's rows only
        a_tenant = tenancy.first()
        assert a_tenant is not None
        s.add(Setting(tenant_id=a_tenant.id, name="smuggled", value="x"))
        with pytest.raises(tenancy.WallBreached):
            s.flush()
        s.rollback()
    with tenant_world(two, None) as (s, _f):
        a_row = s.get(Case, a_case)
        assert a_row is not None and a_row.status == Status.NEW


def test_keys_of_a_open_nothing_of_b(two: Flask) -> None:
    with tenant_world(two, "b") as (s, factory):
        sub = factory.case("corruption", "secret of b")
        b_case, b_token = sub.case.id, sub.token
        b_sealed = sub.case.sealed_for_channel
    with tenant_world(two, None) as (s, _f):
        a_file = Path(two.config["KEYS_DIR"]) / keyring.RECOVERY_PRIVATE_FILE
        a_recovery = keyring.open_recovery(a_file, RECOVERY)
        channels = ("corruption", "feedback", "question")
        a_channel = {c: keyring.channel_private_by_recovery(s, c, a_recovery) for c in channels}
        a_lookup = tokens.lookup_hash(keyring.server_secret(), b_token)
        # B's token finds nothing in A, even by its lookup hash.
        with pytest.raises(cases.TokenNotFound):
            cases.find_by_token(s, b_token)
    for key in (*a_channel.values(), a_recovery):
        with pytest.raises(crypto.CryptoError):
            crypto.unseal(key, b_sealed, key_contexts.case_keys(b_case))
    with tenant_world(two, "b") as (s, _f):
        b_keys = list(s.scalars(select(ChannelKey)))
        assert len(b_keys) == 3
        for row in b_keys:
            with pytest.raises(crypto.CryptoError):
                crypto.unseal(a_recovery, row.sealed_for_recovery, key_contexts.channel_key(row.channel))
        assert tokens.lookup_hash(keyring.server_secret(), b_token) != a_lookup  # a server secret per tenant
        assert cases.find_by_token(s, b_token).case.id == b_case


def test_audit_chains_are_per_tenant(two: Flask) -> None:
    runner = two.test_cli_runner()
    for args in (["audit", "verify"], ["audit", "verify", "--tenant", "b"]):
        result = runner.invoke(args=args)
        assert result.exit_code == 0, result.output
    with tenant_world(two, "b") as (s, _f):
        entries = list(s.scalars(select(AuditEntry).order_by(AuditEntry.seq)))
        assert [e.seq for e in entries] == list(range(1, len(entries) + 1))
        assert entries[0].prev_hash == "0" * 64


def test_row_level_security_hides_another_tenants_rows_from_raw_sql(two: Flask) -> None:
    with two.app_context():
        engine = db.engine()
        if engine.dialect.name != "postgresql":
            pytest.skip("row-level security is PostgreSQL's")
        b_id = tenancy.by_slug("b").id
    with tenant_world(two, None) as (_s, factory):
        factory.case("feedback", "a")
    with tenant_world(two, "b") as (_s, factory):
        factory.case("feedback", "b")
    with engine.connect() as conn:
        # No tenant set at all: a forgotten filter shows nothing of anyone.
        assert conn.execute(text("SELECT count(*) FROM cases")).scalar_one() == 0
        assert conn.execute(text("SELECT count(*) FROM officers")).scalar_one() == 0
        conn.rollback()
        conn.execute(text("SELECT set_config('intake.tenant_id', :t, true)"), {"t": str(b_id)})
        rows = conn.execute(text("SELECT tenant_id FROM cases")).scalars().all()
        assert rows == [b_id]
        assert set(conn.execute(text("SELECT tenant_id FROM audit_entries")).scalars()) == {b_id}
        updated = conn.execute(text("UPDATE cases SET category = NULL WHERE tenant_id <> :t"), {"t": b_id})
        assert updated.rowcount == 0
        conn.rollback()


def test_receipts_link_to_the_tenants_own_site(make_app: Any) -> None:
    app: Flask = make_app(PUBLIC_URL="https://intake.example.go.th")
    add_tenant_b(app)
    run = app.test_cli_runner().invoke
    assert run(args=["tenant", "host-add", "b", "www.b.example.go.th"]).exit_code == 0
    on_a, on_b, on_b2 = (client_on(app, h) for h in ("localhost", HOST_B, "www.b.example.go.th"))
    assert "https://intake.example.go.th/track" in submit(on_a, "question").get_data(as_text=True)
    assert f"https://{HOST_B}/track" in submit(on_b, "question").get_data(as_text=True)
    receipt = submit(on_b2, "question").get_data(as_text=True)
    assert "https://www.b.example.go.th/track" in receipt and "intake.example.go.th/track" not in receipt
    with app.app_context():
        tenancy.activate(tenancy.by_slug("b").id)
        assert urls.public_base() == f"https://{HOST_B}"  # outside a request: its first name
