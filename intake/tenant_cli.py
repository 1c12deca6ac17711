"""`flask --app wsgi tenant ...`: the host's commands to add, list, suspend, resume and remove tenants.

The host holds no channel key: `tenant add` makes the new tenant's recovery key (written encrypted under
its passphrase, for the municipality to take offline), its channel keys (sealed to that recovery key) and
its first administrator (who gets the channel keys sealed to their own key); nothing the host keeps opens
them afterwards. Passwords are read as `setup` reads them (INTAKE_RECOVERY_PASSPHRASE and
INTAKE_ADMIN_PASSWORD, else a prompt). `tenant add` is safe to run again: a tenant whose first run was cut
short (no administrator yet) is completed, nothing is made twice.
"""

from __future__ import annotations

from pathlib import Path

import click
from flask import Flask
from flask.cli import AppGroup
from sqlalchemy import select

from . import attachments, db, settings, storage, tenancy, tenants
from .cli import CommandFailed, provision
from .models import Officer, Setting, Tenant, TenantStatus
from .reports import national
from .reports.periods import PERIOD_CODES, PeriodInvalid, period

tenant_cli = AppGroup("tenant", help="Host many municipalities (tenants) on one deployment.")


def _get(slug: str) -> Tenant:
    try:
        return tenants.get(db.session(), slug)
    except tenancy.TenantNotFound as exc:
        raise CommandFailed(f"no tenant {slug!r} (flask --app wsgi tenant list)") from exc


@tenant_cli.command("add")
@click.argument("slug")
@click.option("--name", "name", required=True, help="The municipality's name, as its pages show it.")
@click.option("--host", "hosts", multiple=True, required=True, help="A host name its site answers on.")
@click.option("--admin", "admin_name", required=True, help="Username of its first administrator.")
@click.option("--province", default="", help="Its province (for the national figures).")
@click.option(
    "--recovery-key-out", type=click.Path(dir_okay=False, path_type=Path), default=None,
    help="Where to write its encrypted recovery key (default ./recovery-SLUG.key; never over a file).",
)
@click.option("--allow-keys-dir", is_flag=True,
              help="Allow writing the recovery key inside the keys or instance folder (not recommended).")
@click.option("--with-corruption", is_flag=True,
              help="Also grant the administrator the corruption channel (by default: feedback and question).")
def tenant_add(
    slug: str,
    name: str,
    hosts: tuple[str, ...],
    admin_name: str,
    province: str,
    recovery_key_out: Path | None,
    allow_keys_dir: bool,
    with_corruption: bool,
) -> None:
    """Create a tenant with its own keys and its first administrator."""
    session = db.session()
    tenancy.bind(session, tenancy.HOST)
    if tenancy.first() is None:
        raise CommandFailed("run flask --app wsgi setup first (it makes the deployment's first tenant)")
    existing = session.scalar(select(Tenant).where(Tenant.slug == slug))
    if existing is not None:
        has_officers = session.scalar(select(Officer.id).where(Officer.tenant_id == existing.id).limit(1))
        if has_officers is not None:
            raise CommandFailed(f"tenant {slug} exists already")
        tenant = existing  # a first run cut short: complete it
    else:
        try:
            tenant = tenants.create(session, slug, name, list(hosts), province)
        except tenants.TenantRefused as exc:
            raise CommandFailed(str(exc)) from exc
        session.commit()
        tenancy.forget()
        names = ", ".join(h.host for h in tenant.hosts)
        click.echo(f"Made tenant {slug} ({tenant.name}) answering on {names}.")
    tenancy.activate(tenant.id)
    if session.scalar(select(Setting).where(Setting.name == "municipality_name")) is None:
        settings.put(session, "municipality_name", tenant.name)  # its pages show its own name
    made = provision(
        session, tenant, admin_name, recovery_key_out, with_corruption=with_corruption,
        allow_keys_dir=allow_keys_dir,
    )
    for line in made:
        click.echo(line)


@tenant_cli.command("list")
def tenant_list() -> None:
    """Every tenant with its host names and no-content figures (cases, officers, last activity, storage)."""
    session = db.session()
    tenancy.bind(session, tenancy.HOST)
    try:
        sizes = {info.name: info.size for info in storage.current().list_objects()}
    except storage.StorageError as exc:
        raise CommandFailed(f"{exc}: the store is needed for the bytes each tenant stores") from exc
    for row in tenants.figures(session, sizes):
        last = row.last_activity.isoformat(timespec="seconds") if row.last_activity else "-"
        click.echo(
            f"{row.slug}\t{row.status.value}\t{row.name}\t{','.join(row.hosts) or '(every host)'}\t"
            f"cases={row.cases}\tofficers={row.officers}\tlast={last}\tstored_bytes={row.stored_bytes}"
        )


@tenant_cli.command("host-add")
@click.argument("slug")
@click.argument("host")
def tenant_host_add(slug: str, host: str) -> None:
    """Let a tenant's site answer on one more host name. Once the first tenant claims a name, host names
    that no tenant claims answer 404 instead of its site."""
    session = db.session()
    tenancy.bind(session, tenancy.HOST)
    try:
        tenants.add_host(session, _get(slug), host)
    except tenants.TenantRefused as exc:
        raise CommandFailed(str(exc)) from exc
    session.commit()
    click.echo(f"{slug} answers on {tenancy.normalise_host(host)}.")


@tenant_cli.command("host-remove")
@click.argument("slug")
@click.argument("host")
def tenant_host_remove(slug: str, host: str) -> None:
    """Stop a tenant's site answering on a host name."""
    session = db.session()
    tenancy.bind(session, tenancy.HOST)
    try:
        tenants.remove_host(session, _get(slug), host)
    except tenants.TenantRefused as exc:
        raise CommandFailed(str(exc)) from exc
    session.commit()
    click.echo(f"{slug} no longer answers on {tenancy.normalise_host(host)}.")


@tenant_cli.command("figures")
@click.option("--fiscal-year", "fiscal_year", required=True, help="Fiscal year in Buddhist Era, e.g. 2569.")
@click.option("--period", "code", required=True, type=click.Choice(PERIOD_CODES), help="q1-q4, h1 or year.")
@click.option("--format", "fmt", required=True, type=click.Choice(("csv", "xlsx")))
@click.option("--output", required=True, type=click.Path(dir_okay=False, path_type=Path))
def tenant_figures(fiscal_year: str, code: str, fmt: str, output: Path) -> None:
    """National figures: counts by province, tenant and channel across every tenant (no content; the
    small-count rule at every level)."""
    try:
        p = period(fiscal_year, code)
    except PeriodInvalid as exc:
        raise CommandFailed(str(exc)) from exc
    made = national.render(national.compute(db.session(), p), fmt)
    try:
        output.write_bytes(made)
    except OSError as exc:
        raise CommandFailed(f"cannot write {output}: {exc.strerror}") from exc
    click.echo(f"Wrote the national figures for fiscal year {p.fiscal_year} {p.code} to {output}.")


def _set_status(slug: str, status: TenantStatus) -> None:
    session = db.session()
    tenancy.bind(session, tenancy.HOST)
    tenant = _get(slug)
    tenants.set_status(session, tenant, status)
    session.commit()
    tenancy.forget()


@tenant_cli.command("suspend")
@click.argument("slug")
def tenant_suspend(slug: str) -> None:
    """Take a tenant's site offline (every page answers 503); nothing is deleted."""
    _set_status(slug, TenantStatus.SUSPENDED)
    click.echo(f"Suspended {slug}: its site answers 503 (within TENANT_CACHE_SECONDS on every app server).")


@tenant_cli.command("resume")
@click.argument("slug")
def tenant_resume(slug: str) -> None:
    """Put a suspended tenant's site back online."""
    _set_status(slug, TenantStatus.ACTIVE)
    click.echo(f"Resumed {slug}.")


@tenant_cli.command("remove")
@click.argument("slug")
@click.option("--yes", "confirmed", is_flag=True, help="Do not ask: the slug was checked by the caller.")
@click.option("--without-export", "without_export", is_flag=True,
              help="Remove a tenant that was never exported (asks for confirmation all the same).")
def tenant_remove(slug: str, confirmed: bool, without_export: bool) -> None:
    """Delete a tenant with every case, officer, key and file of it, once exported (backup --tenant SLUG):
    it cannot be undone."""
    session = db.session()
    tenancy.bind(session, tenancy.HOST)
    tenant = _get(slug)
    if tenant.exported_at is None and not without_export:
        raise CommandFailed(
            f"{slug} was never exported: write its export first (flask --app wsgi backup --tenant {slug} "
            "--output FILE), or pass --without-export; nothing was deleted"
        )
    if not confirmed or tenant.exported_at is None:
        click.echo(f"This deletes {tenant.name} ({slug}): every case, attachment, officer and audit entry.")
        if tenant.exported_at is None:
            click.echo("It was NEVER exported: nothing of it can be brought back.")
        else:
            click.echo(f"Its last export was written at {tenant.exported_at.isoformat(timespec='seconds')}; "
                       "anything done since is not in it.")
        typed = click.prompt("Type the tenant's slug to confirm", default="", show_default=False)
        if typed.strip() != slug:
            raise CommandFailed("not confirmed: nothing was deleted")
    try:
        names = tenants.remove(session, tenant)
    except tenants.TenantRefused as exc:
        raise CommandFailed(str(exc)) from exc
    session.commit()
    tenancy.forget()
    try:
        attachments.remove_files(storage.current(), names, overwrite=True)
    except storage.StorageError as exc:
        raise CommandFailed(
            f"removed {slug} from the database; {exc}: its files are left for `sweep-orphans`"
        ) from exc
    click.echo(f"Removed tenant {slug} ({len(names)} attachment files deleted).")


def register(app: Flask) -> None:
    app.cli.add_command(tenant_cli)
