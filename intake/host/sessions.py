"""Host administrator sessions: the cookie `intake_host` (Path=/host) and its row, keyed by SHA-256.

The cookie holds a random value only; the row is keyed by its hash, so a copy of the database signs
nobody in. Rows expire after IDLE without a request and ABSOLUTE after sign-in; signing out deletes it.
The cookie is HttpOnly, SameSite=Strict, Secure on https, and sent to /host/ only: the officer pages
never see it, and nothing of it is an officer session (the Flask session cookie is not used for it).
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from functools import wraps
from typing import Any, TypeVar, cast

from flask import after_this_request, redirect, request, url_for
from sqlalchemy import delete, or_
from sqlalchemy.orm import Session
from werkzeug.wrappers import Response

from .. import dates, db
from ..models import HostAdmin, HostSession
from . import accounts

COOKIE = "intake_host"
PATH = "/host"
IDLE = timedelta(minutes=30)
ABSOLUTE = timedelta(hours=8)
_CACHE = "intake.host_current"

F = TypeVar("F", bound=Callable[..., Any])


class NotSignedIn(Exception):
    """No valid host session for this request (none, expired, or the account is gone or altered)."""


@dataclass
class Current:
    row: HostSession
    admin: HostAdmin


def _row_id(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()


def _set_cookie(value: str) -> None:
    @after_this_request
    def _write(response: Response) -> Response:
        if value:
            response.set_cookie(
                COOKIE,
                value,
                max_age=int(ABSOLUTE.total_seconds()),
                path=PATH,
                httponly=True,
                secure=request.is_secure,
                samesite="Strict",
            )
        else:
            response.delete_cookie(
                COOKIE, path=PATH, httponly=True, secure=request.is_secure, samesite="Strict"
            )
        return response


def sweep_expired(session: Session) -> None:
    now = dates.now()
    session.execute(
        delete(HostSession).where(
            or_(HostSession.last_seen_at < now - IDLE, HostSession.created_at < now - ABSOLUTE)
        )
    )


def start(session: Session, admin: HostAdmin, *, totp_done: bool) -> HostSession:
    """A fresh session after a correct sign-in (the browser's previous one, and every expired one, go)."""
    previous = request.cookies.get(COOKIE)
    if previous:
        session.execute(delete(HostSession).where(HostSession.id == _row_id(previous)))
    sweep_expired(session)
    value = secrets.token_urlsafe(32)
    now = dates.now()
    row = HostSession(
        id=_row_id(value), admin_id=admin.id, created_at=now, last_seen_at=now, totp_done=totp_done
    )
    session.add(row)
    session.flush()
    _set_cookie(value)
    request.environ[_CACHE] = Current(row, admin)
    return row


def end(session: Session) -> HostAdmin | None:
    """Delete this request's session row and the cookie; the administrator it was, if any."""
    admin = None
    value = request.cookies.get(COOKIE)
    if value:
        row = session.get(HostSession, _row_id(value))
        if row is not None:
            admin = session.get(HostAdmin, row.admin_id)
            session.delete(row)
            session.flush()
    _set_cookie("")
    request.environ[_CACHE] = None
    return admin


def current() -> Current:
    """This request's host session; raises NotSignedIn."""
    cached = request.environ.get(_CACHE)
    if cached is not None:
        return cast(Current, cached)
    value = request.cookies.get(COOKIE)
    if not value:
        raise NotSignedIn
    session = db.session()
    row = session.get(HostSession, _row_id(value))
    if row is None:
        raise NotSignedIn
    admin = session.get(HostAdmin, row.admin_id)
    now = dates.now()
    expired = now - row.last_seen_at > IDLE or now - row.created_at > ABSOLUTE
    if expired or admin is None or not admin.active or not accounts.intact(admin):
        session.delete(row)
        session.commit()
        _set_cookie("")
        raise NotSignedIn
    state = Current(row, admin)
    request.environ[_CACHE] = state
    return state


def current_admin() -> HostAdmin:
    return current().admin


def _touch(state: Current) -> None:
    now = dates.now()
    if now - state.row.last_seen_at >= timedelta(seconds=60):
        state.row.last_seen_at = now
        db.session().commit()


def _guard(view: F, *, enrolled: bool) -> F:
    @wraps(view)
    def wrapped(*args: Any, **kwargs: Any) -> Any:
        try:
            state = current()
        except NotSignedIn:
            return redirect(url_for("host.login"))
        if enrolled and not state.row.totp_done:
            return redirect(url_for("host.totp_enrol"))
        _touch(state)
        return view(*args, **kwargs)

    return cast(F, wrapped)


def signed_in_required(view: F) -> F:
    """Only for a host administrator fully signed in (password, and TOTP code or its enrolment)."""
    return _guard(view, enrolled=True)


def password_checked_required(view: F) -> F:
    """For the TOTP enrolment of the first sign-in (password checked, no code yet)."""
    return _guard(view, enrolled=False)
