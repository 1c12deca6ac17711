"""Tenants: which municipality a request, command or worker acts for, and the walls between them.

A deployment serves one or many municipalities (tenants). Every tenant-owned row carries `tenant_id`
(models.TenantScoped). Three walls keep one tenant's rows away from another's:

1. **The scope of a database session.** Each session acts for one tenant (or, for the host's own pages,
   commands and migrations, for the host). The `do_orm_execute` hook below adds `tenant_id = <scope>` to
   every ORM SELECT, UPDATE and DELETE that touches a tenant-owned table (joins, subqueries and CTEs
   included: SQLAlchemy's `with_loader_criteria`), and `before_flush` stamps new rows with the scope's
   tenant and refuses a row of another. So a query written without a tenant filter still sees one tenant.
2. **Row-level security on PostgreSQL** (`rls_statements`, applied by the migration and by
   `migrate.create_from_models`): every tenant-owned table is `FORCE ROW LEVEL SECURITY` with a policy
   that admits a row only when `tenant_id` equals the transaction's `intake.tenant_id` setting (set by
   the `after_begin` hook) or the transaction is in host scope. A raw SQL statement that forgot its
   filter therefore returns nothing of another tenant. The app's database role must not be a superuser
   or have BYPASSRLS (superusers skip every policy).
3. **Keys.** Each tenant has its own channel keypairs, recovery key and server secret (keyring.py), so
   with one tenant's rows and keys nothing of another decrypts.

Which tenant: a request's comes from its host name (after ProxyFix), through a per-process cache of the
tenants and their host names that is re-read every `TENANT_CACHE_SECONDS` (a change made on another
app server takes effect within that time). A host name no tenant claims is answered by the deployment's
first tenant while that tenant claims no name itself, so a deployment that never adds a tenant behaves as
it always did; once it claims one, an unclaimed name is 404. Commands act for `--tenant SLUG` (default:
that first tenant); in an app context outside a request the first tenant is the default too; a session
opened outside any app context (scripts, tests) acts for the host.

Limits: a session that switches scope (`activate`, `as_host`) keeps the objects it loaded before, and
`session.get` answers from that identity map without a query; code that switches scope does so around
host work only (tenant commands, the orphan sweep), never in the middle of a tenant's request.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from flask import Flask, abort, current_app, g, has_app_context, request
from sqlalchemy import Connection, Engine, event, select, text
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import ORMExecuteState, Session, with_loader_criteria

from .db import Base
from .models import Tenant, TenantHost, TenantScoped, TenantStatus

SCOPE = "intake.scope"
_REGISTRY = "intake.tenants"
_G_SCOPE = "intake_scope"


class TenancyError(Exception):
    """Base of the named failures of tenancy."""


class TenantNotFound(TenancyError):
    """No tenant has this slug (or this deployment has no tenant yet: run `setup`)."""


class WallBreached(TenancyError):
    """A row of one tenant was about to be written in another tenant's scope (a bug, refused)."""


@dataclass(frozen=True)
class TenantInfo:
    """What a request needs to know of its tenant, cached per process (never a decrypted secret)."""

    id: int
    slug: str
    name: str
    province: str
    status: TenantStatus
    secret_wrapped: bytes | None
    recovery_public: bytes | None
    record_tag: bytes
    hosts: tuple[str, ...] = ()

    @property
    def active(self) -> bool:
        return self.status == TenantStatus.ACTIVE


@dataclass(frozen=True)
class Scope:
    """A session acts for one tenant (`tenant_id`), or for the host (`host=True`: no tenant filter)."""

    tenant_id: int | None
    host: bool = False


HOST = Scope(None, host=True)
NOBODY = Scope(-1)  # no tenant exists yet: tenant-owned tables look empty, writes are refused


@dataclass
class _Registry:
    loaded_at: float = 0.0
    expires_at: float = 0.0
    by_id: dict[int, TenantInfo] = field(default_factory=dict)
    by_host: dict[str, int] = field(default_factory=dict)
    by_slug: dict[str, int] = field(default_factory=dict)
    first_id: int | None = None


# --- the cache of tenants ---------------------------------------------------------------------------


def _registry(*, fresh: bool = False) -> _Registry:
    app: Flask = current_app._get_current_object()  # type: ignore[attr-defined]  # one proxy lookup
    reg: _Registry | None = app.extensions.get(_REGISTRY)
    if reg is None or fresh or time.monotonic() > reg.expires_at:
        try:
            reg = _load(app.extensions["intake.engine"])
        except SQLAlchemyError:
            # No schema yet (before `setup`), or the database is away: no tenant, nothing cached; the
            # request goes on and meets the same database (its 503 page, or the "run setup" answer).
            return _Registry()
        reg.expires_at = reg.loaded_at + float(app.config["TENANT_CACHE_SECONDS"])
        app.extensions[_REGISTRY] = reg
    return reg


def _load(engine: Engine) -> _Registry:
    reg = _Registry(loaded_at=time.monotonic())
    # Plain rows, not ORM objects: a host of 10,000 tenants reloads this every TENANT_CACHE_SECONDS.
    with engine.connect() as conn:
        hosts: dict[int, list[str]] = {}
        for host, tenant_id in conn.execute(select(TenantHost.host, TenantHost.tenant_id)):
            hosts.setdefault(tenant_id, []).append(host)
            reg.by_host[host] = tenant_id
        columns = select(
            Tenant.id, Tenant.slug, Tenant.name, Tenant.province, Tenant.status, Tenant.secret_wrapped,
            Tenant.recovery_public, Tenant.record_tag,
        ).order_by(Tenant.id)
        for t in conn.execute(columns):
            reg.by_id[t.id] = TenantInfo(
                t.id, t.slug, t.name, t.province, TenantStatus(t.status), t.secret_wrapped,
                t.recovery_public, t.record_tag or b"", tuple(sorted(hosts.get(t.id, []))),
            )
            reg.by_slug[t.slug] = t.id
            if reg.first_id is None:
                reg.first_id = t.id
    return reg


def forget() -> None:
    """Drop this process's cache (after adding, changing or removing a tenant)."""
    current_app.extensions.pop(_REGISTRY, None)


def normalise_host(host: str) -> str:
    """`Example.GO.th:8443` -> `example.go.th` (IPv6 literals keep their brackets)."""
    host = host.strip().lower().rstrip(".")
    if host.startswith("["):
        return host.split("]", 1)[0] + "]"
    return host.rsplit(":", 1)[0] if host.count(":") == 1 else host


def for_host(host: str) -> TenantInfo | None:
    """The tenant answering `host`: the one that claims it; else the deployment's first tenant if it
    claims no host name at all (a single-municipality deployment answers on any name, as it always did);
    else None (a host name nobody claims on a deployment of many: 404)."""
    reg = _registry()
    tenant_id = reg.by_host.get(normalise_host(host))
    if tenant_id is None and reg.first_id is not None and not reg.by_id[reg.first_id].hosts:
        tenant_id = reg.first_id
    return reg.by_id.get(tenant_id) if tenant_id is not None else None


def claimed(host: str) -> bool:
    """Whether some tenant claims `host` by name (the host administrator's pages refuse such a name)."""
    return normalise_host(host) in _registry().by_host


def serves_host_admin(host: str) -> bool:
    """Whether the host administrator's pages answer on `host`: a name of HOST_ADMIN_HOSTS that no tenant
    claims (a tenant's site never shows them)."""
    name = normalise_host(host)
    names = {normalise_host(h) for h in str(current_app.config["HOST_ADMIN_HOSTS"]).split(",") if h.strip()}
    return name in names and not claimed(name)


def by_slug(slug: str) -> TenantInfo:
    reg = _registry(fresh=True)
    tenant_id = reg.by_slug.get(slug)
    if tenant_id is None:
        raise TenantNotFound(slug)
    return reg.by_id[tenant_id]


def by_id(tenant_id: int) -> TenantInfo:
    reg = _registry()
    info = reg.by_id.get(tenant_id) or _registry(fresh=True).by_id.get(tenant_id)
    if info is None:
        raise TenantNotFound(str(tenant_id))
    return info


def first() -> TenantInfo | None:
    """The deployment's first tenant (the default one), or None before `setup`."""
    reg = _registry()
    if reg.first_id is None:
        reg = _registry(fresh=True)
    return reg.by_id.get(reg.first_id) if reg.first_id is not None else None


def all_tenants() -> list[TenantInfo]:
    return list(_registry(fresh=True).by_id.values())


# --- the scope of this request, command or worker ---------------------------------------------------


def context_scope() -> Scope:
    """The scope set for this app context, else the deployment's first tenant."""
    if has_app_context():
        scope: Scope | None = g.get(_G_SCOPE)
        if scope is not None:
            return scope
        tenant = first()
        return Scope(tenant.id) if tenant is not None else NOBODY
    # Outside any app context only scripts and tests open sessions (the app, its commands and workers
    # always have one): they act for the host unless they bind a scope (`bind`). RLS still applies.
    return HOST


def activate(tenant_id: int | None) -> None:
    """Act for `tenant_id` (None: the host) from now on in this app context, including its open session."""
    scope = HOST if tenant_id is None else Scope(tenant_id)
    setattr(g, _G_SCOPE, scope)
    session: Session | None = g.get("db_session")
    if session is not None:
        bind(session, scope)


def bind(session: Session, scope: Scope) -> None:
    """Make `session` act for `scope` (its open transaction included, on PostgreSQL). Rows added in the
    previous scope are flushed first: they belong to the scope they were made in."""
    if session.info.get(SCOPE) != scope and (session.new or session.dirty or session.deleted):
        session.flush()
    session.info[SCOPE] = scope
    if session.in_transaction():
        conn = session.connection()
        if conn.dialect.name == "postgresql":
            _set_guc(conn, scope)


@contextmanager
def as_host(session: Session) -> Iterator[Session]:
    """`session` acts for the host inside the block (every tenant's rows), then as before: for what
    concerns the deployment, not a tenant (the shared store's orphan sweep, moving the store)."""
    previous = scope_of(session)
    bind(session, HOST)
    try:
        yield session
    finally:
        bind(session, previous)


@contextmanager
def acting_for(tenant_id: int | None) -> Iterator[None]:
    """Act for a tenant (None: the host) inside the block, then return to the previous scope."""
    previous: Scope | None = g.get(_G_SCOPE)
    activate(tenant_id)
    try:
        yield
    finally:
        if previous is None:
            g.pop(_G_SCOPE, None)
            session: Session | None = g.get("db_session")
            if session is not None:
                bind(session, context_scope())
        else:
            activate(previous.tenant_id if not previous.host else None)


def current() -> TenantInfo:
    """The tenant this app context acts for; raises TenantNotFound in host scope or before setup."""
    scope = context_scope()
    if scope.host or scope.tenant_id is None or scope.tenant_id < 0:
        raise TenantNotFound("no tenant in this scope")
    return by_id(scope.tenant_id)


def current_id() -> int:
    return current().id


def scope_of(session: Session) -> Scope:
    scope: Scope | None = session.info.get(SCOPE)
    if scope is None:
        scope = context_scope()
        session.info[SCOPE] = scope
    return scope


# --- the walls --------------------------------------------------------------------------------------


def _filter(state: ORMExecuteState) -> None:
    scope = scope_of(state.session)
    if scope.host or not (state.is_select or state.is_update or state.is_delete):
        return
    tenant_id = scope.tenant_id
    state.statement = state.statement.options(
        with_loader_criteria(TenantScoped, lambda cls: cls.tenant_id == tenant_id, include_aliases=True)
    )


def _stamp(session: Session, _context: Any, _instances: Any) -> None:
    scope = scope_of(session)
    for obj in session.new:
        if not isinstance(obj, TenantScoped):
            continue
        if obj.tenant_id is None:
            if scope.host or scope.tenant_id is None or scope.tenant_id < 0:
                raise WallBreached(f"a new {type(obj).__name__} has no tenant in host scope")
            obj.tenant_id = scope.tenant_id
        elif not scope.host and obj.tenant_id != scope.tenant_id:
            raise WallBreached(f"a {type(obj).__name__} of another tenant")


def _set_guc(conn: Any, scope: Scope) -> None:
    conn.execute(
        text("SELECT set_config('intake.tenant_id', :t, true), set_config('intake.scope', :s, true)"),
        {
            "t": "" if scope.tenant_id is None else str(scope.tenant_id),
            "s": "host" if scope.host else "tenant",
        },
    )


def _after_begin(session: Session, _transaction: Any, connection: Any) -> None:
    if connection.dialect.name == "postgresql":
        _set_guc(connection, scope_of(session))


def install(session_class: Any = Session) -> None:
    """Listen on every session (idempotent): filter queries, stamp new rows, set the RLS settings."""
    if not event.contains(session_class, "do_orm_execute", _filter):
        event.listen(session_class, "do_orm_execute", _filter)
        event.listen(session_class, "before_flush", _stamp)
        event.listen(session_class, "after_begin", _after_begin)


# --- row-level security on PostgreSQL ---------------------------------------------------------------


RLS_POLICY = "tenant_wall"


def tenant_tables() -> list[str]:
    return sorted(
        t.name for t in Base.metadata.sorted_tables if "tenant_id" in t.c and t.name not in ("tenant_hosts",)
    )


def rls_statements(table: str) -> list[str]:
    """DDL that walls `table` by tenant on PostgreSQL (the owner included: FORCE)."""
    condition = (
        "(tenant_id = NULLIF(current_setting('intake.tenant_id', true), '')::integer"
        " OR current_setting('intake.scope', true) = 'host')"
    )
    return [
        f'ALTER TABLE "{table}" ENABLE ROW LEVEL SECURITY',
        f'ALTER TABLE "{table}" FORCE ROW LEVEL SECURITY',
        f'DROP POLICY IF EXISTS {RLS_POLICY} ON "{table}"',
        f'CREATE POLICY {RLS_POLICY} ON "{table}" USING {condition} WITH CHECK {condition}',
    ]


def act_as_host(conn: Connection) -> None:
    """Let a raw connection's current transaction see every tenant's rows (PostgreSQL; SQLite has no
    row-level security): backups, restores, migrations and the host's own figures. The setting ends with
    the transaction (SET LOCAL)."""
    if conn.dialect.name == "postgresql":
        conn.execute(text("SELECT set_config('intake.scope', 'host', true)"))


# libpq's PGOPTIONS for pg_dump / pg_restore: their session acts for the host (see act_as_host).
HOST_PGOPTIONS = "-c intake.scope=host"


def apply_rls(conn: Any) -> None:
    if conn.dialect.name != "postgresql":
        return
    for table in tenant_tables():
        for statement in rls_statements(table):
            conn.execute(text(statement))


# --- requests ---------------------------------------------------------------------------------------


def _resolve_request() -> None:
    """Before each request: its tenant from the host name; a suspended tenant's site answers 503."""
    if request.blueprint == "host":  # before CSRF: on any other name /host/* is 404, whatever is sent
        if not serves_host_admin(request.host):
            abort(404)
        activate(None)
        return
    if request.endpoint == "static":
        activate(None)
        return
    tenant = for_host(request.host)
    if tenant is None:
        g.setdefault(_G_SCOPE, NOBODY)
        if _registry().by_id:
            abort(404)  # a host name that no tenant of this deployment claims
        return  # before `setup`: no tenant yet
    activate(tenant.id)
    if not tenant.active:
        g.tenant_suspended = True
        abort(503)


def init_app(app: Flask) -> None:
    app.config.setdefault("TENANT_CACHE_SECONDS", 30)
    install()
    app.before_request(_resolve_request)


install()  # every session of every process that imports the models' users is walled, app or not
