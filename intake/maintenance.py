"""Operator commands for keeping an instance: backup, restore, purge (retention) and orphan sweeping."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path

import click
from flask import Flask, current_app
from flask.cli import with_appcontext

from . import attachments, backup, db, migrate, retention, settings
from .cli import CommandFailed, for_tenant
from .sessions import sweep_expired


def _instance() -> Path:
    return Path(current_app.config["INSTANCE_DIR"])


def _keys() -> Path:
    return Path(current_app.config["KEYS_DIR"])


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
def backup_command(output: Path) -> None:
    """Write a consistent backup of the running instance to one file."""
    with _failure_said(backup.BackupError):
        summary = backup.create(db.engine(), _instance(), _keys(), output)
    click.echo(
        f"Wrote {summary.path} ({summary.engine}, {summary.cases} cases, "
        f"{summary.attachments} attachments, {summary.size} bytes)."
    )
    click.echo("The recovery private key is not in the backup: keep it offline, apart from the backup.")


@click.command("restore")
@with_appcontext
@click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
def restore_command(path: Path) -> None:
    """Restore a backup into this instance, which must be empty."""
    with _failure_said(backup.BackupError):
        manifest = backup.restore(db.engine(), _instance(), _keys(), path)
    made = f"{manifest['engine']}, made {manifest['created_at']}"
    click.echo(f"Restored {manifest['cases']} cases and {manifest['attachments']} attachments ({made}).")
    if not migrate.is_current(db.engine()):
        click.echo("The backup's schema is older than this version: run `flask --app wsgi db upgrade`.")


@click.command("purge")
@with_appcontext
@for_tenant
def purge_command() -> None:
    """Apply the retention policy: delete the content of cases closed longer than the period."""
    session = db.session()
    years = settings.retention_years(session)
    result = retention.purge(session, _instance())
    expired = sweep_expired(db.session())
    db.session().commit()
    click.echo(
        f"Purged {result.cases} cases closed more than {years} years ago "
        f"({result.attachments} attachments overwritten and deleted)."
    )
    if result.orphans:
        click.echo(f"Removed {len(result.orphans)} orphan attachment files.")
    click.echo(f"Deleted {expired} expired officer sessions (and their wrapped keys).")


@click.command("sweep-orphans")
@with_appcontext
@click.option("--grace-minutes", default=60, show_default=True, type=click.IntRange(min=0))
def sweep_command(grace_minutes: int) -> None:
    """Remove attachment files no case names (left by a crash mid-submission)."""
    removed = attachments.sweep_orphans(db.session(), _instance(), timedelta(minutes=grace_minutes))
    click.echo(f"Removed {len(removed)} orphan attachment files.")


def register(app: Flask) -> None:
    app.cli.add_command(backup_command)
    app.cli.add_command(restore_command)
    app.cli.add_command(purge_command)
    app.cli.add_command(sweep_command)
