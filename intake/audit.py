"""Append-only audit log, chained by keyed hash so that an altered or deleted entry is detected.

Each entry's hash is HMAC-SHA256(audit key, previous hash | id | time | actor | action | target | detail),
the audit key derived from the server secret in keys/ (outside the database), so whoever can write the
database cannot recompute the chain. Appends are serialised (a PostgreSQL advisory lock; SQLite's write
lock is taken by the insert itself) so that concurrent requests never fork the chain.
"""

from __future__ import annotations

import hmac
from dataclasses import dataclass

from sqlalchemy import select, text
from sqlalchemy.orm import Session

from . import crypto, dates, keyring
from .models import AuditEntry

GENESIS = "0" * 64
_LOCK_ID = 0x1A7A4E  # arbitrary, constant advisory-lock id for the audit chain


@dataclass(frozen=True)
class ChainBreak:
    entry_id: int
    reason: str


def _audit_key() -> bytes:
    return crypto.derive_subkey(keyring.token_secret(), b"audit chain")


def _digest(key: bytes, prev: str, entry: AuditEntry) -> str:
    fields = [
        prev,
        str(entry.id),
        entry.at.isoformat(timespec="microseconds"),
        entry.actor,
        entry.action,
        entry.target or "",
        entry.detail or "",
    ]
    return crypto.keyed_hash(key, "\x1f".join(fields).encode("utf-8")).hex()


def record(
    session: Session, actor: str, action: str, target: str | int | None = None, detail: str = ""
) -> AuditEntry:
    """Append one entry in the caller's transaction (committed with the action it records)."""
    bind = session.get_bind()
    if bind.dialect.name == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(:id)"), {"id": _LOCK_ID})
    entry = AuditEntry(
        at=dates.now(),
        actor=actor[:64],
        action=action[:32],
        target=None if target is None else str(target)[:64],
        detail=detail,
        prev_hash=GENESIS,
        hash="",
    )
    session.add(entry)
    session.flush()
    prev = session.scalar(
        select(AuditEntry.hash).where(AuditEntry.id < entry.id).order_by(AuditEntry.id.desc()).limit(1)
    )
    entry.prev_hash = prev or GENESIS
    entry.hash = _digest(_audit_key(), entry.prev_hash, entry)
    session.flush()
    return entry


def verify(session: Session) -> ChainBreak | None:
    """The first entry whose hash or link does not hold, or None when the chain is whole."""
    key = _audit_key()
    prev = GENESIS
    rows = session.scalars(select(AuditEntry).order_by(AuditEntry.id).execution_options(yield_per=1000))
    for entry in rows:
        if entry.prev_hash != prev:
            return ChainBreak(entry.id, "link")
        if not hmac.compare_digest(entry.hash, _digest(key, prev, entry)):
            return ChainBreak(entry.id, "hash")
        prev = entry.hash
    return None
