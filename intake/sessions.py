"""Officer sessions and the guards of officer views (app-wide, outside any blueprint).

The unlocked private key is kept server-side under a key the cookie and the session store hold together.

The signed Flask cookie holds a random session id and a random cookie key. The database row is keyed by
SHA-256 of the id and holds the officer's private key encrypted under HKDF(cookie key, salt=the session's
secret), a second random key that lives only in the session store (Redis or memory, session_store.py),
never in the database. Rows expire when idle and after an absolute lifetime; signing out, expiry and
ending an officer's sessions delete the row and the secret, so that no copy of the database (its WAL,
PostgreSQL's dead tuples, a backup) opens the key with an old cookie (issue 9, finding 2). A secret gone
(Redis restarted) ends the session: the officer signs in again.

`login_required(*roles)` guards a view: anonymous visitors go to the sign-in page; a role outside
`roles` gets 403 (or 404 with `hide=True`, for case content). Views then call `current_officer()` and
`current_private_key()`; the sign-in steps use `current()` (row, officer and session key together).
"""

from __future__ import annotations

import base64
import binascii
import enum
import hashlib
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from functools import wraps
from typing import Any, TypeVar, cast

from flask import abort, current_app, flash, has_request_context, redirect, request, url_for
from flask import session as cookie
from flask_babel import gettext as _
from sqlalchemy import delete, or_, select
from sqlalchemy.orm import Session

from . import audit, crypto, dates, db, key_contexts, keyring, session_store, urls
from .models import Channel, Officer, OfficerSession, Role

SESSION_ID = "officer_sid"
SESSION_KEY = "officer_key"
TOTP_REQUIRED_CHANNELS = frozenset({Channel.CORRUPTION.value})

F = TypeVar("F", bound=Callable[..., Any])


class Stage(enum.IntEnum):
    """How far sign-in has come; each view asks for a stage."""

    PASSWORD = 1  # password checked; a second factor (or its enrolment) may still be due
    SECOND_FACTOR = 2  # second factor done (or not needed); a forced password change may be due
    READY = 3  # fully signed in


class NotSignedIn(Exception):
    """No valid officer session for this request (none, expired, or the officer was deactivated)."""


@dataclass
class Current:
    row: OfficerSession
    officer: Officer
    session_key: bytes  # the wrap key: HKDF of the cookie's key and the session store's secret


# --- starting and ending ---------------------------------------------------------------------------


def _row_id(sid: str) -> str:
    return hashlib.sha256(sid.encode()).hexdigest()


def _secret_ttl(row: OfficerSession) -> int:
    """Seconds the session's secret may live: until idle expiry, never past the absolute lifetime."""
    now = dates.now()
    until = min(row.last_seen_at + idle_timeout(), row.created_at + absolute_lifetime())
    return max(1, int((until - now).total_seconds()) + 1)


def _delete_rows(session: Session, row_ids: list[str]) -> int:
    """Delete these session rows, their secrets first (a failed commit then still leaves nothing usable)."""
    if not row_ids:
        return 0
    session_store.forget(row_ids)
    session.execute(delete(OfficerSession).where(OfficerSession.id.in_(row_ids)))
    session.flush()
    db.forget_after_commit(session)
    return len(row_ids)


def requires_totp(officer: Officer) -> bool:
    """A second factor is required for anyone holding the corruption channel."""
    return bool(officer.channels & TOTP_REQUIRED_CHANNELS)


def start(session: Session, officer: Officer, private_key: bytes, *, second_factor_done: bool) -> None:
    """A fresh session after a correct password: new id, new key, old cookie content dropped.

    The browser's previous session row goes, and so does every expired row: a row whose cookie never
    came back would otherwise keep the wrapped key until then. The session's secret goes to the session
    store (raises session_store.SessionsAway when it does not answer: nothing is then written).
    """
    now = dates.now()
    previous = cookie.get(SESSION_ID)
    if isinstance(previous, str):
        _delete_rows(session, [_row_id(previous)])
    sweep_expired(session)
    cookie.clear()
    sid = secrets.token_urlsafe(32)
    cookie_key = crypto.random_key()
    row_id = _row_id(sid)
    row = OfficerSession(
        id=row_id,
        officer_id=officer.id,
        created_at=now,
        last_seen_at=now,
        wrapped_private_key=b"",
        second_factor_done=second_factor_done,
    )
    key = crypto.session_wrap_key(cookie_key, session_store.new_secret(row_id, _secret_ttl(row)))
    row.wrapped_private_key = crypto.encrypt(key, private_key, key_contexts.officer_session(row_id))
    session.add(row)
    session.flush()
    cookie[SESSION_ID] = sid
    cookie[SESSION_KEY] = base64.urlsafe_b64encode(cookie_key).decode()
    cookie.permanent = True
    _remember(Current(row, officer, key))


def end(session: Session) -> Officer | None:
    """Delete this request's session row and secret (the wrapped key opens no more) and empty the cookie."""
    officer = None
    sid = cookie.get(SESSION_ID)
    if isinstance(sid, str):
        row = session.get(OfficerSession, _row_id(sid))
        session_store.forget([_row_id(sid)])
        if row is not None:
            officer = session.get(Officer, row.officer_id)
            session.delete(row)
            session.flush()
            db.forget_after_commit(session)
    cookie.clear()
    _remember(None)
    return officer


def sweep_expired(session: Session) -> int:
    """Delete every expired session row (sign-in does it; a cron job may too). Returns how many."""
    now = dates.now()
    expired = select(OfficerSession.id).where(
        or_(
            OfficerSession.last_seen_at < now - idle_timeout(),
            OfficerSession.created_at < now - absolute_lifetime(),
        )
    )
    return _delete_rows(session, list(session.scalars(expired)))


def end_all(session: Session, officer: Officer, *, keep: OfficerSession | None = None) -> int:
    """Delete every session of an officer and their secrets (deactivation, 2FA reset, "end all sessions")
    but `keep` (password change)."""
    query = select(OfficerSession.id).where(OfficerSession.officer_id == officer.id)
    if keep is not None:
        query = query.where(OfficerSession.id != keep.id)
    ended = _delete_rows(session, list(session.scalars(query)))
    db.forget_after_commit(session)
    return ended


# --- the current request -------------------------------------------------------------------------


def idle_timeout() -> timedelta:
    return timedelta(seconds=int(current_app.config["OFFICER_IDLE_TIMEOUT"]))


def absolute_lifetime() -> timedelta:
    return current_app.permanent_session_lifetime


_CACHE = "intake.officer_current"


def _remember(state: Current | None) -> None:
    """Per request (not `g`: an app context may outlive one request, e.g. in tests)."""
    request.environ[_CACHE] = state


def loaded() -> Current | None:
    """The session a guarded view already loaded in this request, without touching the database."""
    return cast("Current | None", request.environ.get(_CACHE)) if has_request_context() else None


def forget_loaded() -> None:
    """Drop the session this request loaded: after a rollback its officer is expired, and a page that
    read it again (the menu of an error page) would query a database that may be gone."""
    if has_request_context():
        request.environ.pop(_CACHE, None)


def current() -> Current:
    """This request's session (loaded once per request); raises NotSignedIn."""
    cached = loaded()
    if cached is not None:
        return cached
    sid, encoded = cookie.get(SESSION_ID), cookie.get(SESSION_KEY)
    if not isinstance(sid, str) or not isinstance(encoded, str):
        raise NotSignedIn
    try:
        cookie_key = base64.urlsafe_b64decode(encoded.encode())
    except (binascii.Error, ValueError) as exc:
        raise NotSignedIn from exc
    session = db.session()
    row = session.get(OfficerSession, _row_id(sid))
    if row is None:  # ended elsewhere: signed out, a password change, "end all sessions", a deactivation
        cookie.clear()
        request.environ["intake.officer_ended"] = True
        raise NotSignedIn
    officer = session.get(Officer, row.officer_id)
    now = dates.now()
    secret = session_store.secret_of(row.id)  # raises SessionsAway: a 503 page, the session kept
    expired = now - row.last_seen_at > idle_timeout() or now - row.created_at > absolute_lifetime()
    expired = expired or secret is None  # its secret expired with it, or the store lost it
    tampered = officer is not None and not _tag_holds(officer)
    if expired or tampered or officer is None or not officer.active or secret is None:
        session_store.forget([row.id])
        session.delete(row)
        db.forget_after_commit(session)
        if tampered and officer is not None:
            audit.record(session, officer.username, "session.refused", officer.username, "record altered")
        session.commit()
        cookie.clear()
        request.environ["intake.officer_expired"] = expired
        raise NotSignedIn
    state = Current(row, officer, crypto.session_wrap_key(cookie_key, secret))
    _remember(state)
    return state


def _tag_holds(officer: Officer) -> bool:
    """Whether the officer's row still matches its tag (a role raised or an account revived in the
    database ends the session at its next request, issue 9 finding 8)."""
    try:
        keyring.check_officer(officer)
    except keyring.OfficerTampered:
        return False
    return True


def current_session() -> OfficerSession:
    return current().row


def current_officer() -> Officer:
    """The signed-in officer of this request; raises NotSignedIn."""
    return current().officer


def current_private_key() -> bytes:
    """The officer's private key, unwrapped for this request only."""
    state = current()
    try:
        aad = key_contexts.officer_session(state.row.id)
        return crypto.decrypt(state.session_key, state.row.wrapped_private_key, aad)
    except crypto.CryptoError as exc:
        raise NotSignedIn from exc


def signed_in() -> bool:
    try:
        current()
    except NotSignedIn:
        return False
    return True


def stage_of(state: Current) -> Stage:
    officer = state.officer
    if not state.row.second_factor_done:
        return Stage.PASSWORD
    if requires_totp(officer) and officer.totp_secret is None:
        return Stage.PASSWORD  # granted the corruption channel since signing in: enrol first
    if officer.must_change_password:
        return Stage.SECOND_FACTOR
    return Stage.READY


def next_step_url(state: Current) -> str:
    """Where an officer goes to finish signing in (or their home page once ready)."""
    stage = stage_of(state)
    if stage == Stage.PASSWORD:
        if state.officer.totp_secret is not None and not state.row.second_factor_done:
            return url_for("officer.login_code")
        return url_for("officer.totp_enrol")
    if stage == Stage.SECOND_FACTOR:
        return url_for("officer.password")
    return home_url(state.officer)


def home_url(officer: Officer) -> str:
    if officer.role == Role.EXECUTIVE:
        return url_for("officer.reports")
    return url_for("officer.queue")


def safe_next(target: str | None) -> str | None:
    """A path of our own officer pages, or None (never another host): where sign-in may return to."""
    return urls.own_path(target, under="/officer/")


def _touch(state: Current) -> None:
    """Record activity (idle expiry counts from here); at most once a minute to spare writes."""
    now = dates.now()
    if now - state.row.last_seen_at >= timedelta(seconds=min(60, idle_timeout().total_seconds() / 10)):
        state.row.last_seen_at = now
        session_store.extend(state.row.id, _secret_ttl(state.row))  # the secret's TTL follows idle expiry
        db.session().commit()


def _guard(view: F, roles: tuple[Role, ...], hide: bool, stage: Stage) -> F:
    @wraps(view)
    def wrapped(*args: Any, **kwargs: Any) -> Any:
        try:
            state = current()
        except NotSignedIn:
            if request.environ.get("intake.officer_expired"):
                flash(_("Your session expired. Please sign in again."), "error")
            elif request.environ.get("intake.officer_ended"):
                flash(_("Your session has ended: it expired, or you signed out elsewhere, your password was "
                        "changed, or an administrator ended your sessions. Please sign in again."), "error")
            wanted = request.full_path if request.method == "GET" else None
            target = safe_next(wanted.rstrip("?") if wanted else None)
            return redirect(url_for("officer.login", next=target) if target else url_for("officer.login"))
        reached = stage_of(state)
        if reached < stage:
            return redirect(next_step_url(state))
        if roles and state.officer.role not in roles:
            detail = f"{request.method} {request.endpoint}; role={state.officer.role.value}"
            audit.refused(db.session(), state.officer.username, "access", request.path[:64], detail)
            abort(404 if hide else 403)
        _touch(state)
        return view(*args, **kwargs)

    return cast(F, wrapped)


def login_required(*roles: Role, hide: bool = False) -> Callable[[F], F]:
    """Only for signed-in officers (any role when none is given); 403 for other roles, 404 if `hide`."""

    def decorator(view: F) -> F:
        return _guard(view, tuple(roles), hide, Stage.READY)

    return decorator


def stage_required(stage: Stage) -> Callable[[F], F]:
    """For the sign-in steps themselves (second factor, enrolment, forced password change, sign-out)."""

    def decorator(view: F) -> F:
        return _guard(view, (), False, stage)

    return decorator
