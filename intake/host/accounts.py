"""Host administrator accounts and their one-form sign-in (username, password, TOTP code), no `request`.

A host administrator has no key pair: the password is checked by its Argon2id verifier (crypto.py), the
TOTP secret is kept under a subkey of the deployment's master secret (keys/token.secret), and the row
is tagged under another subkey so that a database editor cannot clear the TOTP secret, revive an account
or put back an old password. The failure counter, lock and throttling are the officers' (officer/signin):
an attempt is counted before it is checked, MAX_FAILURES wrong ones lock the account for LOCK_TIME.
Every failure reads the same to the person signing in; the host audit says why.
"""

from __future__ import annotations

import json

from flask import current_app
from sqlalchemy import or_, select, update
from sqlalchemy.orm import Session

from .. import crypto, dates, db, key_contexts, keyring
from ..models import HostAdmin, HostAuditEntry, HostSession
from ..officer.signin import LOCK_TIME, MAX_FAILURES, SignInFailed, claim_attempt, normalise_code

TOTP_ISSUER = "intake host"


class AccountRefused(Exception):
    """A host administrator account cannot be made or removed as asked (the message says why)."""


class EnrolmentFailed(Exception):
    """The code typed does not match the TOTP secret being enrolled."""


# --- the host audit -------------------------------------------------------------------------------


def record(
    session: Session, actor: str, action: str, tenant_slug: str | None = None, detail: str = ""
) -> None:
    """One line of the host audit: who did what to which tenant (never any tenant's content)."""
    session.add(
        HostAuditEntry(actor=actor[:64], action=action[:32], tenant_slug=tenant_slug, detail=detail[:200])
    )
    session.flush()


def recent(session: Session, limit: int = 50) -> list[HostAuditEntry]:
    return list(session.scalars(select(HostAuditEntry).order_by(HostAuditEntry.id.desc()).limit(limit)))


# --- accounts -------------------------------------------------------------------------------------


def _tag(admin: HostAdmin) -> bytes:
    fields = [
        admin.id,
        admin.username,
        admin.password_salt.hex(),
        admin.password_verifier.hex(),
        sorted((str(k), v) for k, v in (admin.password_kdf or {}).items()),
        None if admin.totp_secret is None else admin.totp_secret.hex(),
        bool(admin.active),
    ]
    encoded = json.dumps(fields, separators=(",", ":")).encode()
    key = keyring.host_key(key_contexts.HOST_ADMIN_RECORD)
    return crypto.keyed_hash(key, key_contexts.HOST_ADMIN_RECORD + encoded)


def stamp(admin: HostAdmin) -> None:
    admin.record_tag = _tag(admin)


def intact(admin: HostAdmin) -> bool:
    return crypto.verifier_matches(admin.record_tag or b"", _tag(admin))


def _set_password(admin: HostAdmin, password: str) -> None:
    admin.password_salt = crypto.random_salt()
    admin.password_kdf = crypto.kdf_params(current_app.config["KDF_PROFILE"])
    _kek, admin.password_verifier = crypto.derive_password_keys(
        password, admin.password_salt, admin.password_kdf
    )


def create(session: Session, username: str, password: str, actor: str = "cli") -> HostAdmin:
    """A new host administrator; TOTP is enrolled at the first sign-in, as officers do."""
    name = username.strip()
    if not name or len(name) > 64:
        raise AccountRefused("a username of 1 to 64 characters")
    if session.scalar(select(HostAdmin.id).where(HostAdmin.username == name)) is not None:
        raise AccountRefused(f"host administrator {name} exists already")
    admin = HostAdmin(username=name, password_salt=b"", password_kdf={}, password_verifier=b"")
    _set_password(admin, password)
    session.add(admin)
    session.flush()
    stamp(admin)
    record(session, actor, "host_admin.create", None, f"username={name}")
    return admin


def get(session: Session, username: str) -> HostAdmin:
    admin = session.scalar(select(HostAdmin).where(HostAdmin.username == username.strip()))
    if admin is None:
        raise AccountRefused(f"no host administrator {username!r}")
    return admin


def every(session: Session) -> list[HostAdmin]:
    return list(session.scalars(select(HostAdmin).order_by(HostAdmin.username)))


def remove(session: Session, username: str, actor: str = "cli") -> None:
    """Delete an account (its sessions go with it)."""
    admin = get(session, username)
    session.delete(admin)
    session.flush()
    record(session, actor, "host_admin.remove", None, f"username={admin.username}")


# --- sign-in --------------------------------------------------------------------------------------


def is_locked(admin: HostAdmin) -> bool:
    return admin.locked_until is not None and admin.locked_until > dates.now()


def _failure(admin_id: int | None, actor: str, reason: str, *, lock: bool = False) -> None:
    """Audit a failure (and lock) in a transaction of its own: the request's is rolled back."""
    with db.new_session() as s:
        if admin_id is not None and lock:
            s.execute(
                update(HostAdmin)
                .where(HostAdmin.id == admin_id)
                .values(locked_until=dates.now() + LOCK_TIME, failed_logins=0)
            )
            reason += "; locked"
        record(s, actor, "login.failure", None, f"reason={reason}")
        s.commit()


def _refuse(session: Session, admin_id: int | None, actor: str, reason: str, *, lock: bool = False) -> None:
    session.rollback()
    _failure(admin_id, actor, reason, lock=lock)
    raise SignInFailed(reason)


def _totp_key() -> bytes:
    return keyring.host_key(key_contexts.HOST_ADMIN_TOTP)


def sign_in(session: Session, username: str, password: str, code: str, at: float | None = None) -> HostAdmin:
    """Check the password and (once enrolled) the code in one step; raises SignInFailed. One attempt is
    counted per form sent, whichever part is wrong."""
    admin = session.scalar(select(HostAdmin).where(HostAdmin.username == username.strip()))
    if admin is None:
        keyring.burn_password_time(password)
        _refuse(session, None, "unknown", "unknown user")
    assert admin is not None  # noqa: S101 - _refuse raised
    admin_id, name = admin.id, admin.username
    if not admin.active or not intact(admin):
        keyring.burn_password_time(password)
        _refuse(session, admin_id, name, "inactive" if admin.active else "record altered in the database")
    attempt = claim_attempt(admin_id, HostAdmin)
    if attempt is None or attempt > MAX_FAILURES:
        keyring.burn_password_time(password)
        _refuse(session, admin_id, name, "locked", lock=attempt is not None)
    assert attempt is not None  # noqa: S101 - refused above
    last = attempt >= MAX_FAILURES
    if not crypto.kdf_params_bounded(admin.password_kdf):
        _refuse(session, admin_id, name, "record altered in the database")
    _kek, verifier = crypto.derive_password_keys(password, admin.password_salt, admin.password_kdf)
    if not crypto.verifier_matches(admin.password_verifier, verifier):
        _refuse(session, admin_id, name, "password", lock=last)
    if admin.totp_secret is not None:
        secret = crypto.decrypt(_totp_key(), admin.totp_secret, key_contexts.host_totp(admin_id))
        try:
            step = crypto.totp_match(secret, normalise_code(code), admin.totp_last_counter, at)
        except crypto.CryptoError:
            _refuse(session, admin_id, name, "code", lock=last)
        claimed = session.execute(
            update(HostAdmin)
            .where(
                HostAdmin.id == admin_id,
                or_(HostAdmin.totp_last_counter.is_(None), HostAdmin.totp_last_counter < step),
            )
            .values(totp_last_counter=step)
        )
        if int(getattr(claimed, "rowcount", 0) or 0) != 1:
            _refuse(session, admin_id, name, "code reused", lock=last)
    return admin


def succeeded(session: Session, admin: HostAdmin) -> None:
    """The sign-in is complete (code checked, or TOTP just enrolled): counter back to 0, on the record."""
    session.execute(
        update(HostAdmin)
        .where(HostAdmin.id == admin.id)
        .values(failed_logins=0, locked_until=None, last_login_at=dates.now())
    )
    record(session, admin.username, "login.success")


# --- TOTP enrolment at the first sign-in ----------------------------------------------------------


def pending_secret(row: HostSession) -> bytes:
    """The secret being enrolled in this session (made on first call)."""
    aad = key_contexts.host_totp_pending(row.id)
    if row.pending_totp is not None:
        try:
            return crypto.decrypt(_totp_key(), row.pending_totp, aad)
        except crypto.CryptoError:
            row.pending_totp = None
    secret = crypto.new_totp_secret()
    row.pending_totp = crypto.encrypt(_totp_key(), secret, aad)
    return secret


def provisioning_uri(secret: bytes, admin: HostAdmin) -> str:
    return crypto.totp_uri(secret, admin.username, TOTP_ISSUER)


def finish_enrolment(
    session: Session, admin: HostAdmin, row: HostSession, code: str, at: float | None = None
) -> None:
    """Keep the pending secret as the account's once a code matches; raises EnrolmentFailed."""
    secret = pending_secret(row)
    try:
        step = crypto.totp_match(secret, normalise_code(code), None, at)
    except crypto.CryptoError as exc:
        raise EnrolmentFailed from exc
    if not intact(admin) or admin.totp_secret is not None:
        raise EnrolmentFailed
    admin.totp_secret = crypto.encrypt(_totp_key(), secret, key_contexts.host_totp(admin.id))
    admin.totp_last_counter = step
    stamp(admin)
    row.pending_totp = None
    row.totp_done = True
    record(session, admin.username, "totp.enrol")
    succeeded(session, admin)


def enrol_known(session: Session, admin: HostAdmin, secret: bytes, actor: str) -> None:
    """Enrol a TOTP secret chosen elsewhere (the demo's published one), without a sign-in."""
    admin.totp_secret = crypto.encrypt(_totp_key(), secret, key_contexts.host_totp(admin.id))
    stamp(admin)
    record(session, actor, "totp.enrol", None, f"username={admin.username}")


def totp_secret_of(admin: HostAdmin) -> bytes:
    """The decrypted TOTP secret (tests only)."""
    if admin.totp_secret is None:
        raise EnrolmentFailed
    return crypto.decrypt(_totp_key(), admin.totp_secret, key_contexts.host_totp(admin.id))
