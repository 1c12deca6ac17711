"""Tenant operations for the host: create, name hosts, suspend, resume, remove, and content-free figures.

Each operation checks its rules, flushes, and raises a named exception; the caller commits. None of them
touches a tenant's content keys: the host makes a tenant's server secret and keeps it wrapped under the
master secret, but a tenant's channel keys are sealed only to its own recovery key and officers.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session, selectinload

from . import crypto, dates, keyring, settings, tenancy
from .db import Base
from .models import (
    Attachment,
    AuditEntry,
    Case,
    Officer,
    Setting,
    Tenant,
    TenantHost,
    TenantStatus,
)

SLUG = re.compile(r"[a-z0-9][a-z0-9-]{0,62}")
HOST = re.compile(r"(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)*")
DEFAULT_SLUG = "default"


class TenantRefused(Exception):
    """A tenant operation cannot be done as asked (the message says why, with no secret in it; `reason`
    names the rule, for a page to say it in the reader's language)."""

    def __init__(self, message: str, reason: str = "") -> None:
        super().__init__(message)
        self.reason = reason


def check_slug(slug: str) -> str:
    """`slug` if it is one (lower-case letters, digits, dashes); raises TenantRefused."""
    if not SLUG.fullmatch(slug):
        raise TenantRefused(f"slug {slug!r}: lower-case letters, digits and dashes, at most 63", "slug")
    return slug


def check_host(host: str) -> str:
    """`host` normalised, if it is a host name; raises TenantRefused."""
    name = tenancy.normalise_host(host)
    if not HOST.fullmatch(name):
        raise TenantRefused(f"host {host!r} is not a host name", "host")
    return name


def create(
    session: Session, slug: str, name: str, hosts: list[str], province: str = "", *, own_secret: bool = True
) -> Tenant:
    """A new tenant with a random server secret of its own (wrapped under the master secret); without
    `own_secret` (the deployment's first tenant) its server secret is the master secret itself and its
    recovery public key stays in keys/recovery.pub, exactly as a single-municipality deployment has them."""
    check_slug(slug)
    names = [check_host(h) for h in hosts]
    if session.scalar(select(Tenant.id).where(Tenant.slug == slug)) is not None:
        raise TenantRefused(f"tenant {slug} exists already", "exists")
    for host in names:
        owner = session.get(TenantHost, host)
        if owner is not None:
            raise TenantRefused(f"host {host} belongs to another tenant", "host_taken")
    tenant = Tenant(slug=slug, name=name.strip() or slug, province=province.strip())
    session.add(tenant)
    session.flush()
    if own_secret:
        tenant.secret_wrapped = keyring.wrap_tenant_secret(tenant.id, crypto.random_key())
    tenant.hosts = [TenantHost(host=h) for h in names]
    keyring.stamp_tenant(tenant)
    session.flush()
    tenancy.forget()
    return tenant


def ensure_default(session: Session) -> tuple[Tenant, bool]:
    """The deployment's first tenant, made (slug `default`, answering every host) if there is none."""
    first = session.scalar(select(Tenant).order_by(Tenant.id).limit(1))
    if first is not None:
        return first, False
    return create(session, DEFAULT_SLUG, "", [], own_secret=False), True


def set_recovery_public(session: Session, tenant: Tenant, public: bytes) -> None:
    """Record the tenant's recovery public key (once: channel keys are sealed to it)."""
    if tenant.recovery_public is not None and tenant.recovery_public != public:
        raise TenantRefused(f"tenant {tenant.slug} has a recovery key already")
    keyring.check_tenant_row(tenant)
    tenant.recovery_public = public
    keyring.stamp_tenant(tenant)
    session.flush()
    tenancy.forget()


def get(session: Session, slug: str) -> Tenant:
    tenant = session.scalar(select(Tenant).where(Tenant.slug == slug))
    if tenant is None:
        raise tenancy.TenantNotFound(slug)
    return tenant


def add_host(session: Session, tenant: Tenant, host: str) -> None:
    name = check_host(host)
    owner = session.get(TenantHost, name)
    if owner is not None and owner.tenant_id != tenant.id:
        raise TenantRefused(f"host {name} belongs to another tenant", "host_taken")
    if owner is None:
        tenant.hosts.append(TenantHost(host=name))
    session.flush()
    tenancy.forget()


def remove_host(session: Session, tenant: Tenant, host: str) -> None:
    name = tenancy.normalise_host(host)
    row = session.get(TenantHost, name)
    if row is None or row.tenant_id != tenant.id:
        raise TenantRefused(f"host {name} is not one of {tenant.slug}'s", "host_not_theirs")
    first = session.scalar(select(func.min(Tenant.id)))
    if len(tenant.hosts) == 1 and tenant.id != first:
        # Without a name of its own the tenant would be unreachable, and its citizens' addresses would
        # reach the first tenant's site (which answers every unclaimed name): they could complain to the
        # wrong municipality. Suspending is the way to take a tenant off the air.
        raise TenantRefused(
            f"{name} is {tenant.slug}'s only host name: add another one first, or suspend the tenant",
            "last_host",
        )
    tenant.hosts.remove(row)
    session.flush()
    tenancy.forget()


def set_status(session: Session, tenant: Tenant, status: TenantStatus) -> None:
    tenant.status = status
    session.flush()
    tenancy.forget()


def mark_exported(session: Session, tenant: Tenant) -> None:
    """Record that the tenant's export was written now (`tenant remove` asks for one first)."""
    tenant.exported_at = dates.now()
    session.flush()


def remove(session: Session, tenant: Tenant) -> list[str]:
    """Delete every row of the tenant (host scope); returns the stored names of its attachments, for the
    caller to delete from the store once the database has committed."""
    if session.scalar(select(func.count()).select_from(Tenant)) == 1:
        raise TenantRefused("the last tenant of a deployment is not removed (remove the deployment)", "last")
    names = list(session.scalars(select(Attachment.stored_name).where(Attachment.tenant_id == tenant.id)))
    for table in reversed(Base.metadata.sorted_tables):
        if "tenant_id" in table.c and table.name != "tenant_hosts":
            session.execute(delete(table).where(table.c.tenant_id == tenant.id))
    session.delete(tenant)
    session.flush()
    tenancy.forget()
    return names


@dataclass(frozen=True)
class TenantFigures:
    """What the host sees of a tenant: counts and times, never content."""

    id: int
    slug: str
    name: str
    province: str
    status: TenantStatus
    hosts: tuple[str, ...]
    cases: int
    officers: int
    last_activity: datetime | None
    stored_bytes: int
    by_channel: dict[str, int] = field(default_factory=dict)  # cases per channel


def figures(session: Session, sizes: dict[str, int] | None = None) -> list[TenantFigures]:
    """Every tenant's no-content figures, in host scope (one grouped query per figure). `sizes`: the
    store's object sizes by name (storage.Store.list_objects), for the bytes each tenant stores."""
    cases: dict[int, int] = {}
    by_channel: dict[int, dict[str, int]] = {}
    grouped = select(Case.tenant_id, Case.channel, func.count()).group_by(Case.tenant_id, Case.channel)
    for tenant_id, channel, count in session.execute(grouped):
        cases[tenant_id] = cases.get(tenant_id, 0) + int(count)
        by_channel.setdefault(tenant_id, {})[str(channel)] = int(count)
    officers = dict(
        session.execute(
            select(Officer.tenant_id, func.count())
            .where(Officer.active.is_(True))
            .group_by(Officer.tenant_id)
        ).all()
    )
    newest = select(AuditEntry.tenant_id, func.max(AuditEntry.at)).group_by(AuditEntry.tenant_id)
    last = dict(session.execute(newest).all())
    stored: dict[int, int] = {}
    for tenant_id, name in session.execute(select(Attachment.tenant_id, Attachment.stored_name)):
        stored[tenant_id] = stored.get(tenant_id, 0) + (sizes or {}).get(name, 0)
    # The first tenant of a deployment that grew from one municipality has no name of its own (its slug):
    # its municipality's name is in its settings.
    named: dict[int, str] = {
        tenant_id: value
        for tenant_id, value in session.execute(
            select(Setting.tenant_id, Setting.value).where(Setting.name == "municipality_name")
        )
    }
    out = []
    for t in session.scalars(select(Tenant).options(selectinload(Tenant.hosts)).order_by(Tenant.id)):
        name = t.name if t.name != t.slug else named.get(t.id, settings.DEFAULTS["municipality_name"])
        out.append(
            TenantFigures(
                t.id, t.slug, name, t.province, t.status, tuple(h.host for h in t.hosts),
                int(cases.get(t.id, 0)), int(officers.get(t.id, 0)), last.get(t.id), stored.get(t.id, 0),
                by_channel.get(t.id, {}),
            )
        )
    return out
