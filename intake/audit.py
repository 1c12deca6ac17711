"""Append-only audit log, chained by keyed hash so that an altered or deleted entry is detected.

Each entry's hash is HMAC-SHA256(audit key, previous hash | id | time | actor | action | target | detail),
the audit key derived from the server secret in keys/ (outside the database), so whoever can write the
database cannot recompute the chain. Appends are serialised (a PostgreSQL advisory lock; SQLite's write
lock is taken by the insert itself) so that concurrent requests never fork the chain.
"""

from __future__ import annotations

import hmac
import json
import os
from dataclasses import dataclass
from pathlib import Path

from flask import current_app
from sqlalchemy import func, select, text
from sqlalchemy.orm import Session

from . import crypto, dates, key_contexts, keyring
from .models import AuditEntry

GENESIS = "0" * 64
_LOCK_ID = 0x1A7A4E  # arbitrary, constant advisory-lock id for the audit chain


@dataclass(frozen=True)
class ChainBreak:
    entry_id: int
    reason: str


def _audit_key() -> bytes:
    return keyring.server_key(key_contexts.AUDIT_CHAIN)


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


# --- the tail: a checkpoint kept outside the database ------------------------------------------------
#
# The chain shows an altered entry, or a deleted one with entries after it; it cannot show that the
# LAST entries were deleted. So each successful verification writes the newest entry's id and hash to
# a file in the instance folder (outside the database), and the next verification checks that this
# entry is still there with the same hash. Entries recorded after the latest verification are only
# covered once a verification has run: run `flask --app wsgi audit verify` regularly (e.g. from cron)
# and keep the tail it prints somewhere else too (it detects a rollback of the checkpoint file).

CHECKPOINT_FILE = "audit.checkpoint"


@dataclass(frozen=True)
class Tail:
    entry_id: int
    hash: str
    count: int


def tail(session: Session) -> Tail | None:
    """The newest entry and the number of entries."""
    last = session.scalar(select(AuditEntry).order_by(AuditEntry.id.desc()).limit(1))
    if last is None:
        return None
    count = session.scalar(select(func.count()).select_from(AuditEntry)) or 0
    return Tail(last.id, last.hash, int(count))


def checkpoint_path() -> Path:
    return Path(current_app.config["INSTANCE_DIR"]) / CHECKPOINT_FILE


def read_checkpoint() -> Tail | None:
    try:
        data = json.loads(checkpoint_path().read_text())
        return Tail(int(data["id"]), str(data["hash"]), int(data["count"]))
    except (OSError, ValueError, KeyError, TypeError):
        return None


def write_checkpoint(point: Tail) -> None:
    path = checkpoint_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    part = path.with_name(path.name + f".{os.getpid()}.part")
    part.write_text(json.dumps({"id": point.entry_id, "hash": point.hash, "count": point.count}))
    os.replace(part, path)


def check_tail(session: Session, expected: Tail | None) -> ChainBreak | None:
    """The checkpointed entry must still exist, unchanged, and no fewer entries than then."""
    if expected is None:
        return None
    row = session.get(AuditEntry, expected.entry_id)
    if row is None:
        return ChainBreak(expected.entry_id, "missing")
    if not hmac.compare_digest(row.hash, expected.hash):
        return ChainBreak(expected.entry_id, "hash")
    current = tail(session)
    if current is None or current.count < expected.count:
        return ChainBreak(expected.entry_id, "missing")
    return None


def verify_all(session: Session, expected: Tail | None = None) -> ChainBreak | None:
    """The chain, then the tail against the checkpoint (and `expected`, e.g. a tail kept offline).

    When everything holds, the checkpoint moves forward to the newest entry.
    """
    broken = verify(session) or check_tail(session, read_checkpoint()) or check_tail(session, expected)
    if broken is None:
        newest = tail(session)
        if newest is not None:
            write_checkpoint(newest)
    return broken
