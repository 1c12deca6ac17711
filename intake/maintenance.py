"""Operator commands for keeping an instance: backup, restore, purge (retention), orphan sweeping and
moving the files to another storage."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path

import click
from flask import Flask, current_app
from flask.cli import with_appcontext

from . import (
    attachments,
    audit,
    backup,
    db,
    keyring,
    migrate,
    passphrases,
    retention,
    settings,
    storage,
    storage_move,
    tenancy,
    tenant_export,
    tenant_import,
    tenant_move,
    tenants,
)
from .cli import CommandFailed, activate_tenant, for_tenants, secret_input
from .sessions import sweep_expired


def _instance() -> Path:
    return Path(current_app.config["INSTANCE_DIR"])


def _keys() -> Path:
    return Path(current_app.config["KEYS_DIR"])


def _store_failed(exc: storage.StorageError) -> CommandFailed:
    return CommandFailed(f"{exc}; nothing was lost: run the command again when the store is back")


@contextmanager
def _failure_said(*errors: type[Exception]) -> Iterator[None]:
    """`errors` (whose messages hold no secret) end the command with their message, exit status 1."""
    try:
        yield
    except errors as exc:
        raise CommandFailed(str(exc)) from exc


@click.command("backup")
@with_appcontext
@click.option(
    "--output", "output", required=True, type=click.Path(dir_okay=False, path_type=Path),
    help="The backup file to write (a tar; only ciphertext inside).",
)
@click.option("--tenant", "tenant_slug", default=None, metavar="SLUG",
              help="Export this tenant only, for `restore --tenant` on another deployment (its server "
                   "secret under INTAKE_EXPORT_PASSPHRASE).")
def backup_command(output: Path, tenant_slug: str | None) -> None:
    """Write a consistent backup of the running instance (or of one tenant) to one file."""
    if tenant_slug is not None:
        _export_tenant(tenant_slug, output)
        return
    with _failure_said(backup.BackupError):
        summary = backup.create(db.engine(), storage.current(), _keys(), output)
    click.echo(
        f"Wrote {summary.path} ({summary.engine}, {summary.cases} cases, "
        f"{summary.attachments} attachments, {summary.size} bytes)."
    )
    click.echo("The recovery private key is not in the backup: keep it offline, apart from the backup.")


@click.command("restore")
@with_appcontext
@click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--tenant", "tenant_slug", default=None, metavar="SLUG",
              help="Restore a tenant's export (backup --tenant) into tenant SLUG: made here, or an empty "
                   "one.")
@click.option("--host", "hosts", multiple=True, help="With --tenant: its host names here (default: the "
              "export's).")
@click.option("--name", "name", default=None, help="With --tenant: its name here (default: the export's).")
def restore_command(path: Path, tenant_slug: str | None, hosts: tuple[str, ...], name: str | None) -> None:
    """Restore a backup into this instance, which must be empty (or one tenant's export: --tenant)."""
    if tenant_slug is not None:
        _import_tenant(path, tenant_slug, list(hosts) or None, name)
        return
    if hosts or name:
        raise CommandFailed("--host and --name go with --tenant")
    with _failure_said(backup.BackupError):
        manifest = backup.restore(db.engine(), storage.current(), _keys(), path, scratch=_instance())
    made = f"{manifest['engine']}, made {manifest['created_at']}"
    click.echo(f"Restored {manifest['cases']} cases and {manifest['attachments']} attachments ({made}).")
    if not migrate.is_current(db.engine()):
        click.echo("The backup's schema is older than this version: run `flask --app wsgi db upgrade`.")


def export_passphrase(*, confirm: bool) -> str:
    """The passphrase an export's secret is wrapped under: as strong as a recovery passphrase, since a copy
    of the export can be guessed at offline (intake/passphrases.py)."""
    value = secret_input("INTAKE_EXPORT_PASSPHRASE", "Export passphrase", confirm=confirm,
                         minimum=0 if confirm else 8)
    if confirm:
        weak = passphrases.weakness(value)
        if weak:
            raise CommandFailed(f"the export passphrase {weak} (INTAKE_EXPORT_PASSPHRASE)")
    return value


def _export_tenant(slug: str, output: Path) -> None:
    """`backup --tenant`: the export, then the tenant's exported_at and an audit entry."""
    tenant = activate_tenant(slug)
    passphrase = export_passphrase(confirm=True)
    if tenant.secret_wrapped is None and len(tenancy.all_tenants()) > 1:
        click.echo(
            f"Warning: {slug} is this deployment's first tenant, whose server secret is the deployment's "
            "master secret (keys/token.secret): its export carries that secret, which also unwraps the "
            "other tenants' secrets. Give the export only to whom may hold it.", err=True,
        )
    with _failure_said(tenant_move.MoveError, backup.BackupError):
        made = tenant_export.export(
            db.engine(), storage.current(), _keys(), tenant.slug, passphrase,
            current_app.config["KDF_PROFILE"], output,
        )
    session = db.session()
    with tenancy.as_host(session):
        tenants.mark_exported(session, tenants.get(session, slug))
    audit.record(session, "cli", "tenant.export", slug,
                 f"cases={made.cases}; attachments={made.attachments}; officers={made.officers}")
    session.commit()
    tenancy.forget()
    click.echo(
        f"Wrote the export of {slug} to {made.path} ({made.cases} cases, {made.attachments} attachments, "
        f"{made.officers} officers, {made.size} bytes)."
    )
    click.echo("Its server secret is inside under the export passphrase: keep the passphrase apart from it.")


def _unmake_secret(made: bool) -> None:
    """Remove the master secret this restore made, when the restore did not happen."""
    if made:
        (_keys() / keyring.SERVER_SECRET_FILE).unlink(missing_ok=True)


def _import_tenant(path: Path, slug: str, hosts: list[str] | None, name: str | None) -> None:
    """`restore --tenant`: a tenant's export into tenant SLUG of this deployment."""
    engine = db.engine()
    if not migrate.is_current(engine):
        raise CommandFailed("this deployment's database is not at the latest revision: run "
                            "`flask --app wsgi db upgrade` (or setup) first")
    passphrase = export_passphrase(confirm=False)
    # A new deployment for this tenant alone needs no `setup`: restore makes its master secret, and takes
    # it away again when the restore is refused (a wrong passphrase leaves nothing behind).
    made_secret = keyring.ensure_server_secret(_keys())
    with _failure_said(tenant_move.MoveError, tenants.TenantRefused):
        try:
            made = tenant_import.restore(
                engine, storage.current(), _keys(), path, passphrase, slug, _instance(),
                hosts=hosts, name=name,
            )
        except storage.StorageError as exc:
            _unmake_secret(made_secret)
            raise tenant_move.MoveError(f"the store could not be written: {exc}; nothing restored") from exc
        except (tenant_move.MoveError, tenants.TenantRefused):
            _unmake_secret(made_secret)
            raise
    if made_secret:
        click.echo(f"Made this deployment's master secret in {_keys() / keyring.SERVER_SECRET_FILE}.")
    click.echo(
        f"Restored tenant {slug} ({made.cases} cases, {made.attachments} attachments, {made.officers} "
        "officers): its tracking codes, passwords and audit chain work here."
    )
    click.echo(f"Check it: flask --app wsgi audit verify --tenant {slug}")


@click.command("purge")
@with_appcontext
@for_tenants
def purge_command() -> None:
    """Apply the retention policy: delete the content of cases closed longer than the period."""
    session = db.session()
    years = settings.retention_years(session)
    try:
        result = retention.purge(session, storage.current())
    except storage.StorageError as exc:
        raise _store_failed(exc) from exc
    expired = sweep_expired(db.session())
    db.session().commit()
    click.echo(
        f"Purged {result.cases} cases closed more than {years} years ago "
        f"({result.attachments} attachments deleted)."
    )
    if result.orphans:
        click.echo(f"Removed {len(result.orphans)} orphan attachment files.")
    click.echo(f"Deleted {expired} expired officer sessions (and their wrapped keys).")


@click.command("sweep-orphans")
@with_appcontext
@click.option("--grace-minutes", default=60, show_default=True, type=click.IntRange(min=0))
def sweep_command(grace_minutes: int) -> None:
    """Remove attachment files no case names (left by a crash mid-submission)."""
    try:
        removed = attachments.sweep_orphans(db.session(), storage.current(), timedelta(minutes=grace_minutes))
    except storage.StorageError as exc:
        raise _store_failed(exc) from exc
    click.echo(f"Removed {len(removed)} orphan attachment files.")


@click.command("migrate-storage")
@with_appcontext
@click.option("--to", "to_url", required=True, metavar="URL", help="file: or s3://BUCKET/PREFIX")
@click.option("--from", "from_url", default=None, metavar="URL",
              help="where the files are now (default: INTAKE_STORAGE_URL)")
@click.option("--delete-source", is_flag=True,
              help="after every copy is verified, delete the files from the source (only once "
                   "INTAKE_STORAGE_URL already names the target)")
def migrate_storage_command(to_url: str, from_url: str | None, delete_source: bool) -> None:
    """Copy every attachment file to another storage, verified and resumably (progress in the database)."""
    config = current_app.config
    configured = str(config.get("STORAGE_URL") or "file:")
    try:
        source = storage.for_url(from_url or configured, config)
        target = storage.for_url(to_url, config)
    except storage.StorageConfigError as exc:
        raise CommandFailed(str(exc)) from exc
    serving = storage.current().identity
    if delete_source and serving != target.identity:
        raise CommandFailed(
            "--delete-source only once the app uses the target: set INTAKE_STORAGE_URL to it, restart the "
            "app servers, then run this again"
        )
    session = db.session()
    tenancy.bind(session, tenancy.HOST)  # the store is the deployment's: every tenant's files move
    click.echo(f"Copying attachment files from {source.identity} to {target.identity} ...")

    def progress(done: int, total: int) -> None:
        if done % 500 == 0 or done == total:
            click.echo(f"  {done}/{total} checked")

    try:
        result = storage_move.copy_all(session, source, target, progress)
        click.echo(
            f"Copied {result.copied} files ({result.bytes} bytes), each read back and verified; "
            f"{result.already} were already there."
        )
        if result.missing:
            raise CommandFailed(
                f"{len(result.missing)} attachments have no file in the source (first: "
                f"{result.missing[0]}); the others are copied"
            )
        if delete_source:
            storage_move.delete_source(session, source, target, result)
            click.echo(f"Deleted {result.deleted} files from {source.identity}.")
    except (storage_move.MoveRefused, storage_move.MoveFailed) as exc:
        raise CommandFailed(str(exc)) from exc
    except storage.StorageError as exc:
        raise CommandFailed(f"{exc}; what was copied is recorded: run the command again") from exc
    if serving != target.identity:
        click.echo(
            f"Next: set INTAKE_STORAGE_URL={storage.describe(to_url)}, restart the app servers, run this "
            "command once more (it copies what arrived meanwhile), then add --from "
            f"{storage.describe(from_url or configured)} --delete-source to remove the old copies."
        )


def register(app: Flask) -> None:
    app.cli.add_command(backup_command)
    app.cli.add_command(restore_command)
    app.cli.add_command(purge_command)
    app.cli.add_command(sweep_command)
    app.cli.add_command(migrate_storage_command)
