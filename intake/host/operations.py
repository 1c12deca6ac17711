"""What the /host pages do to tenants, each written to the host audit: the CLI's operations (tenants.py),
plus making a tenant with its keys and first administrator in one step, for the web.

Nothing here opens a tenant's content: a new tenant's channel keys are sealed to its recovery key (whose
file goes to the host administrator's browser once, encrypted under the passphrase they typed, and is not
kept) and granted to its first administrator; the host keeps neither.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from flask import current_app
from sqlalchemy import select
from sqlalchemy.orm import Session

from .. import attachments, audit, dates, keyring, passphrases, settings, storage, tenancy, tenants
from ..cli import ADMIN_CHANNELS
from ..models import Channel, Role, Tenant, TenantStatus
from .accounts import record


class PassphraseWeak(tenants.TenantRefused):
    """The recovery passphrase would not hold against offline guessing (passphrases.weakness)."""


@dataclass(frozen=True)
class NewTenant:
    slug: str
    recovery_name: str  # recovery-SLUG.key, as `tenant add` names it
    recovery_file: bytes  # encrypted under the passphrase; shown once, kept nowhere


@dataclass(frozen=True)
class TenantRequest:
    slug: str
    name: str
    host: str
    province: str
    admin: str
    password: str
    passphrase: str


RESENT_WINDOW = timedelta(minutes=30)


def _refuse_the_same_again(session: Session, asked: TenantRequest) -> None:
    """The form sent again (a reload of the page that showed the recovery key, a second tap): say that the
    tenant was made already, not that its slug is taken, which reads as if making it had failed."""
    existing = session.scalar(select(Tenant).where(Tenant.slug == asked.slug.strip()))
    if existing is None or dates.now() - existing.created_at > RESENT_WINDOW:
        return
    if tenancy.normalise_host(asked.host) in {h.host for h in existing.hosts}:
        raise tenants.TenantRefused(f"tenant {existing.slug} was made a moment ago", "made_already")


def create_tenant(session: Session, actor: str, asked: TenantRequest) -> NewTenant:
    """A tenant with its own secret, recovery key, channel keys and first administrator (who must change
    the initial password at first sign-in). Commits; on a failure after the tenant was made it is removed
    again, so nothing half-made stays."""
    weak = passphrases.weakness(asked.passphrase)
    if weak:
        raise PassphraseWeak(f"the recovery passphrase {weak}", "weak")
    tenancy.activate(None)
    _refuse_the_same_again(session, asked)
    tenant = tenants.create(session, asked.slug, asked.name, [asked.host], asked.province)
    record(
        session,
        actor,
        "tenant.create",
        tenant.slug,
        f"host={tenant.hosts[0].host}; province={tenant.province}",
    )
    session.commit()
    tenancy.forget()
    try:
        made = _provision(session, tenant, asked)
    except Exception:
        session.rollback()
        tenancy.activate(None)
        tenants.remove(session, tenants.get(session, asked.slug))
        record(session, actor, "tenant.remove", asked.slug, "its making failed")
        session.commit()
        raise
    tenancy.activate(None)
    record(session, actor, "tenant.admin", tenant.slug, f"first administrator {asked.admin}")
    session.commit()
    return made


def _provision(session: Session, tenant: Tenant, asked: TenantRequest) -> NewTenant:
    public, blob = keyring.recovery_file(asked.passphrase, current_app.config["KDF_PROFILE"])
    tenants.set_recovery_public(session, tenant, public)
    session.commit()
    tenancy.forget()
    tenancy.activate(tenant.id)
    settings.put(session, "municipality_name", tenant.name)
    made = keyring.ensure_channel_keys(session, public)
    for pinned in Channel:
        keyring.channel_public(session, pinned.value)
    admin = keyring.create_officer(
        session, asked.admin.strip(), asked.password, Role.ADMIN, must_change_password=True
    )
    for channel in ADMIN_CHANNELS:
        keyring.grant(session, admin, channel, made[channel])
    audit.record(
        session, "host", "officer.create", admin.username, f"role=admin; channels={','.join(ADMIN_CHANNELS)}"
    )
    session.commit()
    return NewTenant(tenant.slug, keyring.recovery_file_name(tenant), blob)


def set_status(session: Session, actor: str, slug: str, status: TenantStatus) -> None:
    tenant = tenants.get(session, slug)
    tenants.set_status(session, tenant, status)
    record(session, actor, "tenant.suspend" if status == TenantStatus.SUSPENDED else "tenant.resume", slug)
    session.commit()


def add_host(session: Session, actor: str, slug: str, host: str) -> None:
    tenants.add_host(session, tenants.get(session, slug), host)
    record(session, actor, "tenant.host_add", slug, f"host={tenancy.normalise_host(host)}")
    session.commit()


def remove_host(session: Session, actor: str, slug: str, host: str) -> None:
    tenants.remove_host(session, tenants.get(session, slug), host)
    record(session, actor, "tenant.host_remove", slug, f"host={tenancy.normalise_host(host)}")
    session.commit()


def remove(session: Session, actor: str, slug: str, typed: str, without_export: bool = False) -> int:
    """Delete a tenant and all of it once its slug was typed again; how many files were deleted. As
    `tenant remove`: a tenant never exported (`backup --tenant`) only with `without_export`. The
    database commits first; files the store could not delete are left for `sweep-orphans`."""
    if typed.strip() != slug:
        raise tenants.TenantRefused("not confirmed: type the tenant's slug exactly", "not_confirmed")
    tenant = tenants.get(session, slug)
    if tenant.exported_at is None and not without_export:
        raise tenants.TenantRefused(f"{slug} was never exported: export it first", "not_exported")
    exported = "never exported" if tenant.exported_at is None else f"exported {tenant.exported_at:%Y-%m-%d}"
    names = tenants.remove(session, tenant)
    record(session, actor, "tenant.remove", slug, f"files={len(names)}; {exported}")
    session.commit()
    tenancy.forget()
    try:
        attachments.remove_files(storage.current(), names, overwrite=True)
    except storage.StorageError:
        return 0
    return len(names)
