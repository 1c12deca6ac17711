"""Account administration without `request`: add officers, grant and revoke channels, reset 2FA, deactivate.

Granting from the web: the administrator opens their own grant with their session's private key and
seals the channel key to the other officer's public key (keyring.grant). Nobody can grant a channel
they do not hold; the recovery key does it from the command line (`officer grant`). Every change is
written to the audit trail in the same transaction.
"""

from __future__ import annotations

import secrets

from sqlalchemy import select
from sqlalchemy.orm import Session

from .. import audit, keyring, sessions, settings
from ..models import CHANNELS, Grant, Officer, Role

# Crockford-like alphabet without look-alikes: 16 symbols x 5 bits = 80 bits.
PASSWORD_ALPHABET = "23456789abcdefghjkmnpqrstuvwxyz"  # noqa: S105 - an alphabet, not a password


class AccountError(Exception):
    """Base of account administration's named failures."""


class UsernameTaken(AccountError):
    """An officer with this username exists already."""


class ChannelNotHeld(AccountError):
    """The administrator does not hold the channel, so cannot grant it."""


class NotAllowed(AccountError):
    """The change does not apply (an executive with a channel, deactivating oneself ...)."""


def temporary_password() -> str:
    raw = "".join(secrets.choice(PASSWORD_ALPHABET) for _ in range(16))
    return "-".join(raw[i : i + 4] for i in range(0, 16, 4))


def holders(session: Session, channels: set[str]) -> list[Officer]:
    """Active officers and administrators holding any of `channels`, by username."""
    if not channels:
        return []
    return list(
        session.scalars(
            select(Officer)
            .where(
                Officer.id.in_(select(Grant.officer_id).where(Grant.channel.in_(sorted(channels)))),
                Officer.active.is_(True),
            )
            .order_by(Officer.username)
        )
    )


def officers(session: Session) -> list[Officer]:
    return list(session.scalars(select(Officer).order_by(Officer.active.desc(), Officer.username)))


def add_officer(
    session: Session,
    admin: Officer,
    admin_private: bytes,
    username: str,
    role: Role,
    channels: list[str],
) -> tuple[Officer, str]:
    """A new account with a temporary password (to change at first sign-in), granted `channels`."""
    if role == Role.EXECUTIVE and channels:
        raise NotAllowed("executive with channels")
    missing = [c for c in channels if c not in admin.channels]
    if missing:
        raise ChannelNotHeld(missing[0])
    password = temporary_password()
    try:
        officer = keyring.create_officer(session, username, password, role, must_change_password=True)
    except keyring.OfficerExists as exc:
        raise UsernameTaken(username) from exc
    for channel in channels:
        _grant(session, admin, admin_private, officer, channel)
    audit.record(
        session,
        admin.username,
        "officer.create",
        username,
        f"role={role.value}; channels={','.join(channels) or '-'}",
    )
    return officer, password


def _grant(session: Session, admin: Officer, admin_private: bytes, target: Officer, channel: str) -> None:
    try:
        private = keyring.channel_private(session, admin, admin_private, channel)
    except keyring.ChannelNotGranted as exc:
        raise ChannelNotHeld(channel) from exc
    keyring.grant(session, target, channel, private, by=admin)


def grant_channel(
    session: Session, admin: Officer, admin_private: bytes, target: Officer, channel: str
) -> None:
    if target.role == Role.EXECUTIVE:
        raise NotAllowed("executive with channels")
    if not target.active:
        raise NotAllowed("inactive")
    _grant(session, admin, admin_private, target, channel)
    audit.record(session, admin.username, "grant.add", target.username, f"channel={channel}")


def revoke_channel(session: Session, admin: Officer, target: Officer, channel: str) -> bool:
    """Delete the wrapped channel key of `target`; their sessions can no longer open the channel."""
    removed = keyring.revoke(session, target, channel)
    if removed:
        audit.record(session, admin.username, "grant.revoke", target.username, f"channel={channel}")
    return removed


def reset_totp(session: Session, admin: Officer, target: Officer) -> None:
    """Forget the officer's TOTP secret; they enrol again at their next sign-in."""
    keyring.check_officer(target)
    target.totp_secret = None
    target.totp_bound_id = None
    target.totp_last_counter = None
    keyring.stamp_officer(target)
    sessions.end_all(session, target)
    audit.record(session, admin.username, "totp.reset", target.username)


def deactivate(session: Session, admin: Officer, target: Officer) -> None:
    """No more sign-in; every wrapped channel key and every active session is deleted."""
    if target.id == admin.id:
        raise NotAllowed("self")
    channels = sorted(target.channels)
    for channel in channels:
        keyring.revoke(session, target, channel)
    sessions.end_all(session, target)
    target.active = False
    keyring.stamp_officer(target)  # the tag covers `active`: a database editor cannot revive the account
    audit.record(
        session, admin.username, "officer.deactivate", target.username, f"revoked={','.join(channels) or '-'}"
    )


SETTING_NAMES = (
    "municipality_name",
    "contact_address",
    "contact_phone",
    "contact_email",
    "contact_hours",
    *(f"{kind}_days.{channel}" for channel in CHANNELS for kind in ("ack", "answer")),
    "attachment_max_file",
    "attachment_max_total",
    "retention_years",
)


def save_settings(session: Session, admin: Officer, values: dict[str, str]) -> list[str]:
    """Store the settings that changed and audit them (names and values: no secret among them)."""
    current = {name: settings.get(session, name) for name in SETTING_NAMES}
    changed = [name for name in SETTING_NAMES if name in values and values[name] != current[name]]
    for name in changed:
        settings.put(session, name, values[name])
    session.flush()
    if changed:
        audit.record(
            session, admin.username, "settings.change", None, "; ".join(f"{n}={values[n]}" for n in changed)
        )
    return changed
