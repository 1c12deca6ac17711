"""Sign-in steps without `request`: password (Argon2id), TOTP second factor and its enrolment, throttling.

Failures are written in their own transaction (the request's is rolled back), so that the failure
counter, the account lock and the audit entry survive the failed request. An unknown username costs
the same time as a real check, and every failure (unknown name, wrong password, locked account, wrong
code) reads the same to the person signing in.
"""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import func, or_, select, update
from sqlalchemy.orm import Session

from .. import audit, crypto, dates, db, key_contexts, keyring, sessions
from ..models import HostAdmin, Officer, OfficerSession

MAX_FAILURES = 5
LOCK_TIME = timedelta(minutes=15)
TOTP_ISSUER = "intake"


class SignInFailed(Exception):
    """The sign-in step failed; `reason` is for the audit trail only, never shown."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class EnrolmentFailed(Exception):
    """The code typed does not match the secret being enrolled."""


def _totp_key(private_key: bytes) -> bytes:
    return crypto.derive_subkey(private_key, key_contexts.TOTP)


def _totp_aad(officer: Officer) -> bytes:
    bound = officer.id if officer.totp_bound_id is None else officer.totp_bound_id  # moved: the id it had
    return key_contexts.totp_secret(bound)


def _pending_aad(row: OfficerSession) -> bytes:
    return key_contexts.totp_pending(row.id)


def is_locked(officer: Officer) -> bool:
    return officer.locked_until is not None and officer.locked_until > dates.now()


def claim_attempt(officer_id: int, model: type[Officer] | type[HostAdmin] = Officer) -> int | None:
    """Count an attempt BEFORE checking it, committed on its own; its number, or None while locked.

    One atomic UPDATE ... SET failed_logins = failed_logins + 1 WHERE not locked ... RETURNING: parallel
    attempts (several workers) can neither lose a count nor all pass a check made before any was counted,
    so at most MAX_FAILURES passwords or codes are ever checked per lock period (issue 9, finding 5).
    The counter goes back to 0 at a complete sign-in, a password change, or when the lock is set.
    `model`: HostAdmin for the host administrators' sign-in (intake/host/accounts.py), counted the same.
    """
    now = dates.now()
    with db.new_session() as s:
        number = s.scalar(
            update(model)
            .where(model.id == officer_id, or_(model.locked_until.is_(None), model.locked_until <= now))
            .values(failed_logins=func.coalesce(model.failed_logins, 0) + 1)
            .returning(model.failed_logins)
        )
        s.commit()
    return None if number is None else int(number)


def record_failure(officer_id: int | None, actor: str, reason: str, *, lock: bool = False) -> None:
    """Audit a failure and, with `lock`, lock the account (the counter starts again), committed on its own."""
    with db.new_session() as s:
        if officer_id is not None and lock:
            s.execute(
                update(Officer)
                .where(Officer.id == officer_id)
                .values(locked_until=dates.now() + LOCK_TIME, failed_logins=0)
            )
            reason += "; locked"
        audit.record(s, actor, "login.failure", None if actor == "unknown" else actor, f"reason={reason}")
        s.commit()


def _refuse_if_over(session: Session, officer_id: int, name: str, password: str | None = None) -> int:
    """Claim an attempt for this officer; raise SignInFailed("locked") without any check when none is left."""
    attempt = claim_attempt(officer_id)
    if attempt is None or attempt > MAX_FAILURES:
        if password is not None:
            keyring.burn_password_time(password)
        session.rollback()
        record_failure(officer_id, name, "locked", lock=attempt is not None)
        raise SignInFailed("locked")
    return attempt


def password_step(session: Session, username: str, password: str) -> tuple[Officer, bytes]:
    """The officer and their unlocked private key; raises SignInFailed (same to the user whatever why)."""
    officer = session.scalar(select(Officer).where(Officer.username == username.strip()))
    if officer is None:
        keyring.burn_password_time(password)
        session.rollback()
        record_failure(None, "unknown", "unknown user")
        raise SignInFailed("unknown user")
    officer_id, name = officer.id, officer.username
    if not officer.active:
        keyring.burn_password_time(password)
        session.rollback()
        record_failure(officer_id, name, "inactive")
        raise SignInFailed("inactive")
    attempt = _refuse_if_over(session, officer_id, name, password)
    try:  # the tag first: a row's KDF parameters are trusted only once it holds (issue 9, finding 8)
        keyring.check_officer(officer)
        private = keyring.unlock_and_upgrade(officer, password)
    except keyring.OfficerTampered as exc:
        keyring.burn_password_time(password)
        session.rollback()
        record_failure(officer_id, name, "record altered in the database")
        raise SignInFailed("tampered") from exc
    except keyring.WrongPassword as exc:
        session.rollback()
        record_failure(officer_id, name, "password", lock=attempt >= MAX_FAILURES)
        raise SignInFailed("password") from exc
    return officer, private


def needs_code(officer: Officer) -> bool:
    return officer.totp_secret is not None


def code_step(
    session: Session, officer: Officer, private_key: bytes, code: str, at: float | None = None
) -> None:
    """Check a TOTP code (a used one is refused); raises SignInFailed."""
    officer_id, name = officer.id, officer.username
    if officer.totp_secret is None:
        raise SignInFailed("not enrolled")
    attempt = _refuse_if_over(session, officer_id, name)
    secret = crypto.decrypt(_totp_key(private_key), officer.totp_secret, _totp_aad(officer))
    try:
        step = crypto.totp_match(secret, normalise_code(code), officer.totp_last_counter, at)
    except crypto.CryptoError as exc:
        session.rollback()
        record_failure(officer_id, name, "code", lock=attempt >= MAX_FAILURES)
        raise SignInFailed("code") from exc
    # Claim the time step in the database itself: of two requests racing with one code, only one wins.
    claimed = session.execute(
        update(Officer)
        .where(
            Officer.id == officer_id,
            or_(Officer.totp_last_counter.is_(None), Officer.totp_last_counter < step),
        )
        .values(totp_last_counter=step)
    )
    if int(getattr(claimed, "rowcount", 0) or 0) != 1:
        session.rollback()
        record_failure(officer_id, name, "code reused", lock=attempt >= MAX_FAILURES)
        raise SignInFailed("code")


def _reset_counter(session: Session, officer: Officer, **values: object) -> None:
    """failed_logins back to 0 in the database itself (the loaded row predates claim_attempt's count)."""
    session.execute(
        update(Officer).where(Officer.id == officer.id).values(failed_logins=0, locked_until=None, **values)
    )


def normalise_code(code: str) -> str:
    return "".join(ch for ch in code if ch.isdigit())[:6]


def succeeded(session: Session, officer: Officer, row: OfficerSession) -> None:
    """Both steps done: reset the failure counter and put the sign-in on the record."""
    row.second_factor_done = True
    _reset_counter(session, officer, last_login_at=dates.now())
    audit.record(session, officer.username, "login.success", officer.username)


# --- TOTP enrolment --------------------------------------------------------------------------------


def pending_secret(row: OfficerSession, session_key: bytes) -> bytes:
    """The secret being enrolled in this session (made on first call), kept under the session key."""
    if row.pending_totp is not None:
        try:
            return crypto.decrypt(session_key, row.pending_totp, _pending_aad(row))
        except crypto.CryptoError:
            row.pending_totp = None
    secret = crypto.new_totp_secret()
    row.pending_totp = crypto.encrypt(session_key, secret, _pending_aad(row))
    return secret


def provisioning_uri(secret: bytes, officer: Officer, issuer: str) -> str:
    return crypto.totp_uri(secret, officer.username, issuer or TOTP_ISSUER)


def finish_enrolment(
    session: Session,
    officer: Officer,
    private_key: bytes,
    row: OfficerSession,
    session_key: bytes,
    code: str,
    at: float | None = None,
) -> None:
    """Store the pending secret (encrypted under a key derived from the private key) once a code matches."""
    secret = pending_secret(row, session_key)
    try:
        step = crypto.totp_match(secret, normalise_code(code), None, at)
    except crypto.CryptoError as exc:
        raise EnrolmentFailed from exc
    enrol(session, officer, private_key, secret, last_counter=step)
    row.pending_totp = None


def enrol(
    session: Session, officer: Officer, private_key: bytes, secret: bytes, *, last_counter: int | None = None,
    actor: str | None = None,
) -> None:
    """Store `secret` as the officer's TOTP secret, encrypted under a key derived from their private key
    (first sign-in enrolment; the demo enrols its officers ahead, `actor` "demo")."""
    keyring.check_officer(officer)
    officer.totp_bound_id = None
    officer.totp_secret = crypto.encrypt(_totp_key(private_key), secret, _totp_aad(officer))
    officer.totp_last_counter = last_counter
    keyring.stamp_officer(officer)
    audit.record(session, actor or officer.username, "totp.enrol", officer.username)


def totp_secret_of(officer: Officer, private_key: bytes) -> bytes:
    """The decrypted TOTP secret (tests and re-display only)."""
    if officer.totp_secret is None:
        raise EnrolmentFailed
    return crypto.decrypt(_totp_key(private_key), officer.totp_secret, _totp_aad(officer))


def change_password(
    session: Session,
    officer: Officer,
    private_key: bytes,
    current: str,
    new: str,
    keep: OfficerSession | None = None,
) -> None:
    """Re-wrap the private key under a new password and end the officer's sessions but `keep`.

    A wrong `current` raises SignInFailed and counts like a failed sign-in, and while the account is locked
    `current` is not checked at all (SignInFailed("locked")): a stolen session must not become a way to
    guess the password at leisure (issue 9, finding 6).
    """
    officer_id, name = officer.id, officer.username
    attempt = _refuse_if_over(session, officer_id, name, current)
    try:
        keyring.unlock(officer, current)
    except keyring.WrongPassword as exc:
        session.rollback()
        record_failure(officer_id, name, "current password", lock=attempt >= MAX_FAILURES)
        raise SignInFailed("password") from exc
    keyring.check_officer(officer)
    keyring.set_password(officer, private_key, new)
    officer.must_change_password = False
    keyring.stamp_officer(officer)
    _reset_counter(session, officer)
    sessions.end_all(session, officer, keep=keep)
    audit.record(session, officer.username, "password.change", officer.username)
