"""`flask --app wsgi host-admin ...`: the accounts that sign in on the /host pages (tenants, no content)."""

from __future__ import annotations

import click
from flask import Flask
from flask.cli import AppGroup

from .. import db, tenancy
from ..cli import CommandFailed, new_password
from . import accounts

host_admin_cli = AppGroup("host-admin", help="Host administrators: sign in on /host to manage tenants.")
PASSWORD_MIN = 12


@host_admin_cli.command("add")
@click.argument("username")
def host_admin_add(username: str) -> None:
    """Make a host administrator (password from INTAKE_HOST_ADMIN_PASSWORD, else asked); the TOTP code is
    enrolled at the first sign-in on /host, as officers enrol theirs."""
    password = new_password("INTAKE_HOST_ADMIN_PASSWORD", f"Password for {username}", minimum=PASSWORD_MIN)
    session = db.session()
    tenancy.bind(session, tenancy.HOST)
    try:
        accounts.create(session, username, password)
    except accounts.AccountRefused as exc:
        raise CommandFailed(str(exc)) from exc
    session.commit()
    click.echo(f"Made host administrator {username.strip()}: sign in on /host/login to enrol the TOTP code.")


@host_admin_cli.command("list")
def host_admin_list() -> None:
    """Every host administrator: enrolled or not, locked or not, last sign-in."""
    session = db.session()
    for admin in accounts.every(session):
        last = admin.last_login_at.isoformat(timespec="seconds") if admin.last_login_at else "-"
        totp = "totp" if admin.totp_secret is not None else "totp-not-enrolled"
        locked = "\tlocked" if accounts.is_locked(admin) else ""
        click.echo(f"{admin.username}\t{totp}\tlast={last}{locked}")


@host_admin_cli.command("remove")
@click.argument("username")
def host_admin_remove(username: str) -> None:
    """Delete a host administrator (their sessions end)."""
    session = db.session()
    try:
        accounts.remove(session, username)
    except accounts.AccountRefused as exc:
        raise CommandFailed(str(exc)) from exc
    session.commit()
    click.echo(f"Removed host administrator {username.strip()}.")


def register(app: Flask) -> None:
    app.cli.add_command(host_admin_cli)
