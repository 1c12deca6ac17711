"""Operator commands: setup, officer add, db upgrade, audit verify, demo. Each echoes what it did.

Every command exits 0 on success and non-zero with a one-line reason on failure, and never prints a
secret it was given. Passwords come from the environment variable named in docs/contract.md, or a prompt.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar, cast

import click
from flask import Flask, current_app
from flask.cli import AppGroup, with_appcontext
from flask_babel import force_locale
from sqlalchemy import select
from sqlalchemy.orm import Session

from . import (
    anchors,
    audit,
    db,
    keyring,
    mailer,
    migrate,
    passphrases,
    register_import,
    storage,
    tenancy,
    tenants,
)
from .models import CHANNELS, Channel, Officer, Role, Tenant

officer_cli = AppGroup("officer", help="Manage officer accounts.")
db_cli = AppGroup("db", help="Database schema.")
audit_cli = AppGroup("audit", help="The audit trail.")


class CommandFailed(click.ClickException):
    """Why a command failed, in one line; exit status 1.

    Every command raises this one: intake/maintenance.py and intake/reports/cli.py too.
    """


F = TypeVar("F", bound=Callable[..., Any])


def for_tenant(command: F) -> F:
    """`--tenant SLUG` on a command: it acts for that tenant (default: the deployment's first one)."""

    @click.option("--tenant", "tenant_slug", default=None, metavar="SLUG",
                  help="The tenant (municipality) to act for; default: the deployment's first tenant.")
    @functools.wraps(command)
    def wrapped(*args: Any, tenant_slug: str | None = None, **kwargs: Any) -> Any:
        activate_tenant(tenant_slug)
        return command(*args, **kwargs)

    return cast(F, wrapped)


def for_tenants(command: F) -> F:
    """`--tenant SLUG` or `--all-tenants` (one run per tenant, in turn; one cron line for a whole host).
    With --all-tenants a tenant's failure is reported and the others still run; the exit status is 1 if
    any failed."""

    @click.option("--tenant", "tenant_slug", default=None, metavar="SLUG",
                  help="The tenant (municipality) to act for; default: the deployment's first tenant.")
    @click.option("--all-tenants", "all_tenants", is_flag=True, help="Run once for every tenant.")
    @functools.wraps(command)
    def wrapped(*args: Any, tenant_slug: str | None = None, all_tenants: bool = False, **kwargs: Any) -> Any:
        if not all_tenants:
            activate_tenant(tenant_slug)
            return command(*args, **kwargs)
        if tenant_slug:
            raise CommandFailed("--tenant and --all-tenants exclude each other")
        failed = []
        for tenant in tenancy.all_tenants():
            click.echo(f"== {tenant.slug}")
            tenancy.activate(tenant.id)
            try:
                command(*args, **kwargs)
            except click.ClickException as exc:
                db.session().rollback()
                click.echo(f"{tenant.slug}: {exc.format_message()}", err=True)
                failed.append(tenant.slug)
        if failed:
            raise CommandFailed(f"failed for {len(failed)} tenants: {', '.join(failed)}")
        return None

    return cast(F, wrapped)


def activate_tenant(slug: str | None) -> tenancy.TenantInfo:
    """Act for the tenant `slug` (or the first one) in this command; a one-line failure otherwise."""
    try:
        tenant = tenancy.by_slug(slug) if slug else tenancy.first()
    except tenancy.TenantNotFound as exc:
        raise CommandFailed(f"no tenant {slug!r} (flask --app wsgi tenant list)") from exc
    if tenant is None:
        raise CommandFailed("no tenant yet: run flask --app wsgi setup first")
    tenancy.activate(tenant.id)
    return tenant


def secret_input(env_name: str, prompt: str, *, confirm: bool = False, minimum: int = 8) -> str:
    """A password or passphrase from `env_name`, else typed; `minimum` 0 leaves the judging to the caller
    (a new passphrase's rule is passphrases.weakness: one message naming its real minimum)."""
    value = os.environ.get(env_name)
    if value is None:
        value = click.prompt(prompt, hide_input=True, confirmation_prompt=confirm, err=True)
    if not value or len(value) < minimum:
        raise CommandFailed(f"{prompt} must be at least {minimum} characters ({env_name})")
    return value


def new_password(env_name: str, prompt: str, minimum: int = 10) -> str:
    """A new account password from `env_name`, else typed twice: long enough, and not a guessable one."""
    value = secret_input(env_name, prompt, confirm=True, minimum=minimum)
    if passphrases.guessable(value):
        raise CommandFailed(f"{prompt}: too easy to guess (a common password, a run of digits, a keyboard "
                            f"row); use a few words or more characters ({env_name})")
    return value


def recovery_passphrase(*, confirm: bool = False) -> str:
    """A new recovery passphrase, strong enough to resist offline guessing (intake/passphrases.py)."""
    value = secret_input("INTAKE_RECOVERY_PASSPHRASE", "Recovery passphrase", confirm=confirm, minimum=0)
    weak = passphrases.weakness(value)
    if weak:
        raise CommandFailed(f"the recovery passphrase {weak} (INTAKE_RECOVERY_PASSPHRASE)")
    return value


def recovery_out(
    path: Path | None, *, allow_keys_dir: bool, name: str = keyring.RECOVERY_PRIVATE_FILE
) -> Path:
    """Where setup writes the recovery key: never over an existing file, and not into keys/ (nor the
    instance folder) unless forced, because whoever takes the server or its backups takes those."""
    out = (path or Path.cwd() / name).resolve()
    if out.exists():
        raise CommandFailed(f"{out} exists already: setup never overwrites a recovery key; name another path")
    server_dirs = [keyring.keys_dir().resolve(), Path(current_app.config["INSTANCE_DIR"]).resolve()]
    if not allow_keys_dir and any(out.is_relative_to(d) for d in server_dirs):
        raise CommandFailed(
            f"{out} is inside the server's keys or instance folder: write the recovery key to removable "
            "media (--recovery-key-out /media/usb/recovery.key), or pass --allow-keys-dir"
        )
    return out


def recovery_key_path(path: Path | None, name: str = keyring.RECOVERY_PRIVATE_FILE) -> Path:
    """The recovery key to read: the one given, else ./NAME, else (older set-ups) keys/NAME. NAME is the
    tenant's file name (keyring.recovery_file_name): recovery.key, or recovery-SLUG.key of a tenant added
    with `tenant add`."""
    if path is not None:
        return path
    here = Path.cwd() / name
    return here if here.exists() else keyring.keys_dir() / name


def tenant_recovery_key(path: Path | None) -> Path:
    """The recovery key of the tenant this command acts for (recovery_key_path with its file name)."""
    return recovery_key_path(path, keyring.recovery_file_name(tenancy.current()))


def parse_channels(values: tuple[str, ...]) -> list[str]:
    valid = set(CHANNELS)
    bad = [v for v in values if v not in valid]
    if bad:
        raise CommandFailed(f"unknown channel {bad[0]!r}; use one of {', '.join(sorted(valid))}")
    return list(dict.fromkeys(values))


@click.command("setup")
@with_appcontext
@click.option("--admin", "admin_name", required=True, help="Username of the administrator.")
@click.option(
    "--recovery-key-out",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Where to write the encrypted recovery key (default ./recovery.key; never inside keys/).",
)
@click.option(
    "--allow-keys-dir",
    is_flag=True,
    help="Allow writing the recovery key inside the keys or instance folder (not recommended).",
)
@click.option(
    "--with-corruption",
    is_flag=True,
    help="Also grant the administrator the corruption channel (by default: feedback and question only).",
)
def setup_command(
    admin_name: str, recovery_key_out: Path | None, allow_keys_dir: bool, with_corruption: bool
) -> None:
    """Apply migrations, make keys where none exist, create the administrator. Idempotent."""
    changes = run_setup(
        admin_name, recovery_key_out, with_corruption=with_corruption, allow_keys_dir=allow_keys_dir
    )
    if not changes:
        click.echo("Nothing to do: already set up.")
    for line in changes:
        click.echo(line)


# Least privilege (issue 9, finding 12): whoever manages accounts in a small municipality should not read
# corruption complaints by default; the legal officer gets that channel with `officer add --channel
# corruption --recovery-key PATH`.
ADMIN_CHANNELS = (Channel.FEEDBACK.value, Channel.QUESTION.value)


def run_setup(
    admin_name: str,
    recovery_key_out: Path | None,
    *,
    with_corruption: bool = False,
    allow_keys_dir: bool = False,
) -> list[str]:
    changes: list[str] = []
    engine = db.engine()
    if not migrate.is_current(engine):
        migrate.upgrade(engine)
        changes.append("Applied database migrations.")
    directory = keyring.keys_dir()
    directory.mkdir(parents=True, exist_ok=True)
    if keyring.ensure_server_secret(directory):
        changes.append(f"Made the server secret in {directory / keyring.SERVER_SECRET_FILE}.")
    session = db.session()
    with tenancy.acting_for(None):
        tenant, made_tenant = tenants.ensure_default(session)
        session.commit()
    tenancy.activate(tenant.id)
    changes += provision(
        session, tenant, admin_name, recovery_key_out, with_corruption=with_corruption,
        allow_keys_dir=allow_keys_dir,
    )
    if made_tenant and not changes[-1:]:
        changes.append("Made the deployment's tenant.")
    return changes


def provision(
    session: Session,
    tenant: Tenant,
    admin_name: str,
    recovery_key_out: Path | None,
    *,
    with_corruption: bool = False,
    allow_keys_dir: bool = False,
) -> list[str]:
    """A tenant's recovery key, channel keys and first administrator, where they do not exist yet
    (`setup` for the deployment's first tenant, `tenant add` for the others). Commits."""
    changes: list[str] = []
    directory = keyring.keys_dir()
    legacy = tenant.secret_wrapped is None  # the first tenant: its keys live in keys/, as they always did
    name = keyring.recovery_file_name(tenant)
    recovery_pub = keyring.recovery_public(directory, tenancy.by_id(tenant.id))
    out = recovery_key_path(recovery_key_out, name)  # where an existing recovery key is read from
    if recovery_pub is None:
        out = recovery_out(recovery_key_out, allow_keys_dir=allow_keys_dir, name=name)
        passphrase = recovery_passphrase(confirm=True)
        recovery_pub = keyring.create_recovery(
            passphrase, out, current_app.config["KDF_PROFILE"], public_dir=directory if legacy else None
        )
        if not legacy:
            with tenancy.acting_for(None):
                tenants.set_recovery_public(session, tenant, recovery_pub)
        changes.append(f"Wrote the encrypted recovery key to {out}.")
        changes.append(
            "WARNING: move the recovery key offline (e.g. a USB stick in a safe) and "
            "delete it from this server; keep its passphrase apart from it."
        )
    made = keyring.ensure_channel_keys(session, recovery_pub)
    if made:
        changes.append(f"Made channel keys: {', '.join(made)}.")
    for pinned in Channel:  # pin every channel key in keys/ now, not at first use (or first grant)
        keyring.channel_public(session, pinned.value)
    admin = session.scalar(select(Officer).where(Officer.username == admin_name))
    if admin is None:
        password = new_password("INTAKE_ADMIN_PASSWORD", f"Password for {admin_name}")
        admin = keyring.create_officer(session, admin_name, password, Role.ADMIN)
        wanted = [*ADMIN_CHANNELS, *([Channel.CORRUPTION.value] if with_corruption else [])]
        privates = {c: made[c] for c in wanted if c in made}
        missing = [c for c in wanted if c not in privates]
        if missing:
            recovery = _open_recovery(out)
            for channel in missing:
                privates[channel] = keyring.channel_private_by_recovery(session, channel, recovery)
        for channel in wanted:
            keyring.grant(session, admin, channel, privates[channel])
        audit.record(session, "cli", "officer.create", admin_name, f"role=admin; channels={','.join(wanted)}")
        changes.append(f"Created administrator {admin_name} with access to: {', '.join(wanted)}.")
        if not with_corruption:
            changes.append(
                "The corruption channel was not granted to the administrator: give it to the legal officer "
                "with `officer add NAME --channel corruption --recovery-key PATH` (or use --with-corruption)."
            )
    session.commit()
    return changes


def _open_recovery(path: Path) -> bytes:
    if not path.exists():
        raise CommandFailed(f"the recovery key is needed and was not found at {path}")
    passphrase = secret_input("INTAKE_RECOVERY_PASSPHRASE", "Recovery passphrase")
    try:
        return keyring.open_recovery(path, passphrase)
    except keyring.WrongPassphrase as exc:
        raise CommandFailed("the recovery passphrase does not open the recovery key") from exc


recovery_key_option = click.option(
    "--recovery-key", type=click.Path(dir_okay=False, path_type=Path), default=None,
    help="The recovery key that authorises granting channels (default ./recovery.key, else "
    "KEYS_DIR/recovery.key; a tenant added with `tenant add`: recovery-SLUG.key).",
)


@officer_cli.command("add")
@click.argument("username")
@click.option("--channel", "channels", multiple=True, help="Channel to grant (repeatable).")
@click.option("--admin", "is_admin", is_flag=True, help="Make the officer an administrator.")
@click.option("--executive", "is_executive", is_flag=True, help="Reports only, never case content.")
@recovery_key_option
@click.option("--email", "email", default=None, help="Where notification mails go (none: no mail).")
@for_tenant
def officer_add(
    username: str,
    channels: tuple[str, ...],
    is_admin: bool,
    is_executive: bool,
    recovery_key: Path | None,
    email: str | None,
) -> None:
    """Create an officer and grant channels with the recovery key."""
    wanted = parse_channels(channels)
    if email is not None:
        try:
            email = mailer.normalise_address(email)
        except mailer.AddressInvalid as exc:
            raise CommandFailed(f"--email: {exc}") from exc
    if is_executive and (wanted or is_admin):
        raise CommandFailed("an executive gets no channels and is not an administrator")
    session = db.session()
    if session.scalar(select(Officer).where(Officer.username == username)) is not None:
        raise CommandFailed(f"officer {username} exists already")
    recovery = None
    if wanted:
        recovery = _open_recovery(tenant_recovery_key(recovery_key))
    password = new_password("INTAKE_OFFICER_PASSWORD", f"Password for {username}")
    role = Role.ADMIN if is_admin else Role.EXECUTIVE if is_executive else Role.OFFICER
    officer = keyring.create_officer(session, username, password, role)
    officer.email = email
    for channel in wanted:
        assert recovery is not None  # noqa: S101 - opened above when channels were asked for
        keyring.grant_by_recovery(session, officer, channel, recovery)
    audit.record(
        session,
        "cli",
        "officer.create",
        username,
        f"role={role.value}; channels={','.join(wanted) or '-'}; email={'set' if email else '-'}",
    )
    session.commit()
    mail = f"; notices to {email}" if email else ""
    click.echo(f"Created {role.value} {username} with channels: {', '.join(wanted) or 'none'}{mail}.")


@officer_cli.command("grant")
@click.argument("username")
@click.option("--channel", "channels", multiple=True, required=True)
@recovery_key_option
@for_tenant
def officer_grant(username: str, channels: tuple[str, ...], recovery_key: Path | None) -> None:
    """Re-grant channels with the recovery key (when nobody holding them is left)."""
    wanted = parse_channels(channels)
    session = db.session()
    officer = session.scalar(select(Officer).where(Officer.username == username))
    if officer is None or not officer.active:
        raise CommandFailed(f"no active officer {username}")
    if officer.role == Role.EXECUTIVE:
        raise CommandFailed("an executive cannot hold channels")
    recovery = _open_recovery(tenant_recovery_key(recovery_key))
    for channel in wanted:
        keyring.grant_by_recovery(session, officer, channel, recovery)
        audit.record(session, "cli", "grant.add", username, f"channel={channel}")
    session.commit()
    click.echo(f"Granted {', '.join(wanted)} to {username}.")


@db_cli.command("upgrade")
def db_upgrade() -> None:
    """Apply migrations."""
    engine = db.engine()
    if migrate.is_current(engine):
        click.echo("Database already at the latest revision.")
        return
    before = migrate.current_revision(engine)
    migrate.upgrade(engine)
    click.echo(f"Database upgraded to {migrate.head_revision()}.")
    if migrate.crossed(before, migrate.OFFICER_TAG_V2):
        session = db.session()
        retagged = keyring.restamp_legacy(session)
        audit.record(session, "cli", "officer.retag", None, f"officers={retagged}")
        session.commit()
        click.echo(f"Officer records re-tagged (version 2): {retagged}.")


@audit_cli.command("verify")
@click.option("--expect", "expect", default=None, metavar="ID:HASH",
              help="A tail printed by an earlier run and kept elsewhere: it must still be there.")
@click.option("--anchor-hash", "anchor_hash", default=None, metavar="HEX",
              help="The hash of an anchor mailed to the administrators (or printed): with --anchor-count, "
                   "the chain must still hold it as that entry.")
@click.option("--anchor-count", "anchor_count", default=None, type=int, metavar="N",
              help="The number of entries the same anchor counted.")
@click.option("--anchor", "anchor", default=None, type=click.Path(dir_okay=False, path_type=Path),
              help="The anchor file this run checks and then renews (default KEYS_DIR/audit.anchor, "
                   "audit-SLUG.anchor for a tenant other than the first).")
@for_tenants
def audit_verify(
    expect: str | None, anchor_hash: str | None, anchor_count: int | None, anchor: Path | None
) -> None:
    """Check the audit chain and its tail; exit 1 naming the first broken entry. When intact, renew the
    anchor file and mail the anchor to the administrators."""
    expected = None
    if expect:
        entry_id, _, digest = expect.partition(":")
        if not entry_id.isdigit() or len(digest) != 64:
            raise CommandFailed("--expect takes ID:HASH as printed by audit verify")
        expected = audit.Tail(int(entry_id), digest, 0)
    kept = None
    if anchor_hash is not None or anchor_count is not None:
        try:
            kept = anchors.typed(anchor_hash or "", anchor_count or 0)
        except anchors.TypedAnchorMalformed:
            raise CommandFailed(
                "--anchor-hash takes the 64 hex digits and --anchor-count the number of entries, both as "
                "mailed (or printed) by audit verify"
            ) from None
    session = db.session()
    try:
        result = anchors.verify(session, expect=expected, kept=kept, anchor_file=anchor)
    except audit.AnchorInvalid as exc:
        raise CommandFailed(f"audit anchor {exc} is not one audit verify wrote (anchor)") from None
    broken = result.broken
    if broken is not None and kept is not None and broken.reason in anchors.TYPED_REASONS:
        raise CommandFailed(
            f"audit trail shortened or altered: it no longer holds the anchor typed ({kept.count} entries, "
            f"hash {kept.hash}) as its entry number {kept.count} ({broken.reason})"
        )
    if broken is not None:
        raise CommandFailed(f"audit chain broken at entry {broken.entry_id} ({broken.reason})")
    if result.anchor_error:
        click.echo(f"Warning: {result.anchor_error}", err=True)
    last = result.tail
    if last is None:
        click.echo("Audit chain intact (no entries yet).")
        return
    told = f"; anchor mailed to {result.told} administrators" if result.told else ""
    click.echo(f"Audit chain intact: {last.count} entries; tail {last.entry_id}:{last.hash}{told}")


@click.command("import-register")
@with_appcontext
@click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
def import_register_command(path: Path) -> None:
    """Import an existing register (XLSX or CSV): all rows or none; rows imported before are left out."""
    session = db.session()
    try:
        with force_locale("en"):
            result = register_import.import_file(session, path.read_bytes(), path.name, "cli")
    except register_import.RegisterInvalid as exc:
        session.rollback()
        with force_locale("en"):
            for error in exc.errors:
                click.echo(register_import.describe(error), err=True)
        raise CommandFailed(f"nothing imported: {len(exc.errors)} problem(s) in {path.name}") from exc
    session.commit()
    click.echo(
        f"Imported {result.imported} cases from {path.name}; {result.skipped} rows were imported before."
    )


@click.command("demo")
@click.option("--url", default="http://127.0.0.1:5000", show_default=True, help="Where the demo is served.")
@with_appcontext
def demo_command(url: str) -> None:
    """Set up a demonstration instance (development only): officers, cases, and how to sign in."""
    from . import demo, demo_tenant  # not at the top: demo uses the domain, whose notices use the worker,
    # which uses cli
    if current_app.config["ENV"] == "production":
        raise CommandFailed("demo is for development only")
    os.environ.setdefault("INTAKE_ADMIN_PASSWORD", demo.PASSWORD)
    os.environ.setdefault("INTAKE_RECOVERY_PASSPHRASE", demo.RECOVERY)
    # A demo keeps its recovery key in keys/ (its passphrase is printed below anyway); a real setup may not.
    key_file = keyring.keys_dir() / keyring.RECOVERY_PRIVATE_FILE
    for line in run_setup("admin", key_file, allow_keys_dir=True):
        click.echo(line)
    session = db.session()
    demo.ensure_officers(session, keyring.open_recovery(key_file, os.environ["INTAKE_RECOVERY_PASSPHRASE"]))
    instance = Path(current_app.config["INSTANCE_DIR"])
    made = demo.seed(session, storage.current(), int(current_app.config["ATTACHMENT_MAX_FILE"]))
    if made is not None:
        demo.save_codes(instance, made.codes)
        click.echo(f"Made {made.cases} demo cases over the previous and the current fiscal year.")
    max_file = int(current_app.config["ATTACHMENT_MAX_FILE"])
    second = demo_tenant.ensure(session, storage.current(), max_file, instance)
    for line in second.lines:
        click.echo(line)
    if second.cases:
        click.echo(f"Made a second municipality ({demo_tenant.SLUG}) with {second.cases} demo cases.")
    demo.ensure_host_admin(session)
    _print_demo(url, instance)


def _print_demo(url: str, instance: Path) -> None:
    from . import demo, demo_tenant
    say = click.echo
    say("")
    say("=" * 78)
    say("ทดลองใช้เท่านั้น ห้ามใช้กับเรื่องจริง  |  DEMO ONLY: for trying it out, never for real cases")
    say("=" * 78)
    say(f"เปิด / open: {url}/    เจ้าหน้าที่ / officers: {url}/officer/login")
    say(f"รหัสผ่านทุกบัญชี / every password: {demo.PASSWORD}")
    for spec in demo.OFFICERS:
        say(f"  {spec.name:<10} {spec.may_th}")
        say(f"  {'':<10} {spec.may_en}")
    say("")
    say("legal ต้องใช้รหัส 6 หลักจากแอปยืนยันตัวตน / legal needs a 6-digit code from an authenticator app:")
    say(f"  secret: {demo.totp_base32()}")
    say(f"  {demo.totp_uri('legal')}")
    say("  without an app / ไม่มีแอป:  .venv/bin/flask --app wsgi demo-code")
    codes = demo.saved_codes(instance)
    if codes:
        say("")
        say(f"รหัสติดตามเรื่องของเรื่องตัวอย่าง / tracking codes of demo cases ({url}/track):")
        for line in codes:
            say(f"  {line}")
    say("")
    say(f"ท้องถิ่นที่สองบนเครื่องเดียวกัน / a second municipality on the same deployment: {demo_tenant.url_of(url)}/")
    say("  ชื่อผู้ใช้และรหัสผ่านเหมือนกัน แต่กุญแจ เรื่อง และเจ้าหน้าที่เป็นของตนเอง / the same user names and password,")
    say("  but its own keys, officers and cases: a code of one is 'not found' on the other")
    say("")
    say(f"ผู้ดูแลระบบของผู้ให้บริการ / the host administrator: {url}/host/login")
    say(f"  {demo.HOST_ADMIN}, the same password, and the 6-digit code of the same secret as legal")
    say("  หน่วยงานทั้งหมด สถิติระดับประเทศ ไม่เห็นเนื้อหาเรื่อง / every municipality and the national figures,")
    say("  never a case; publish the national figures at /national with INTAKE_PUBLISH_NATIONAL=true")
    if os.environ["INTAKE_RECOVERY_PASSPHRASE"] == demo.RECOVERY:  # never echo a passphrase it was given
        keys = keyring.keys_dir()
        second = keys / f"recovery-{demo_tenant.SLUG}.key"
        say(f"Recovery keys: {keys / keyring.RECOVERY_PRIVATE_FILE}, {second}")
        say(f"  passphrase {demo.RECOVERY!r}")


@click.command("demo-code")
@with_appcontext
def demo_code_command() -> None:
    """Print the demo officer's current TOTP code (development only; the demo's secret is public)."""
    from . import demo
    if current_app.config["ENV"] == "production":
        raise CommandFailed("demo-code is for development only")
    click.echo(demo.current_code())


def register(app: Flask) -> None:
    app.cli.add_command(setup_command)
    app.cli.add_command(demo_command)
    app.cli.add_command(demo_code_command)
    app.cli.add_command(officer_cli)
    app.cli.add_command(db_cli)
    app.cli.add_command(audit_cli)
    app.cli.add_command(import_register_command)
