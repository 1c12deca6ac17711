"""Append-only audit log, chained by keyed hash so that an altered, moved or deleted entry is detected.

Each entry's hash is HMAC-SHA256(audit key, AUDIT_ENTRY_V2 + JSON [previous hash, id, time, actor, action,
target, detail]) (hash_version 2: JSON quotes and escapes every field, so no text can move from one field
to the next and keep the hash). Entries written before that change keep hash_version 1, the fields joined
by \x1f, and verify as they were written; a version-1 entry after a version-2 one is a break. The audit key
is derived from the server secret in keys/ (outside the database), so whoever can write the database cannot
recompute the chain. Appends are serialised (a PostgreSQL advisory lock; on SQLite the insert takes the
database's write lock) so that concurrent requests, and several servers, never fork the chain.
"""

from __future__ import annotations

import hmac
import json
import os
import secrets
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import func, select, text
from sqlalchemy.orm import Session, aliased

from . import crypto, dates, key_contexts, keyring, tenancy
from .models import AuditCheckpoint, AuditEntry, Officer

GENESIS = "0" * 64
_LOCK_ID = 0x1A7A4E  # arbitrary, constant advisory-lock id for the audit chain
LEGACY_CHECKPOINT_FILE = "audit.checkpoint"  # in the instance folder, before audit_checkpoints
ANCHOR_FILE = "audit.anchor"  # in keys/, beside the secret the chain is keyed with


class AnchorInvalid(Exception):
    """The anchor file is not one `audit verify` wrote (unreadable, or its tag does not hold)."""


@dataclass(frozen=True)
class ChainBreak:
    entry_id: int
    reason: str


def _audit_key() -> bytes:
    return keyring.server_key(key_contexts.AUDIT_CHAIN)


HASH_VERSION = 2  # what record() writes; verify() also reads version 1


def digest_under(key: bytes, prev: str, entry: AuditEntry) -> str:
    """An entry's hash under `key` (the AUDIT_CHAIN subkey of a tenant's server secret)."""
    return _digest(key, prev, entry)


def _digest(key: bytes, prev: str, entry: AuditEntry) -> str:
    """The entry's keyed hash (the tenant's audit-chain key). It covers the entry's place in its tenant's
    chain (`seq`; for entries made before tenants, equal to the row id it covered then). Version 2 hashes an
    unambiguous JSON list of the fields; version 1 entries verify as they were written."""
    if entry.hash_version == 1:
        return _digest_v1(key, prev, entry)
    fields = [
        prev,
        entry.seq,
        entry.at.isoformat(timespec="microseconds"),
        entry.actor,
        entry.action,
        entry.target,
        entry.detail or "",
    ]
    encoded = json.dumps(fields, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
    return crypto.keyed_hash(key, key_contexts.AUDIT_ENTRY_V2 + encoded).hex()


def _digest_v1(key: bytes, prev: str, entry: AuditEntry) -> str:
    """Entries written before hash_version 2 (ambiguous: the separator is not escaped)."""
    fields = [
        prev,
        str(entry.seq),
        entry.at.isoformat(timespec="microseconds"),
        entry.actor,
        entry.action,
        entry.target or "",
        entry.detail or "",
    ]
    return crypto.keyed_hash(key, "\x1f".join(fields).encode("utf-8")).hex()


def _text(value: str) -> str:
    """What the trail can hold on both engines: PostgreSQL's text takes no NUL (a filter typed with one)."""
    return value.replace("\x00", "")


def record(
    session: Session, actor: str, action: str, target: str | int | None = None, detail: str = ""
) -> AuditEntry:
    """Append one entry to the tenant's chain in the caller's transaction (committed with its action).

    Appends of one tenant are serialised (a PostgreSQL advisory lock on the tenant; SQLite's write lock),
    so two app servers or threads appending at once never fork the chain: the row is written first, with
    a provisional negative place, which on SQLite takes the write lock before the chain's end is read.
    """
    tenant = tenancy.current()
    bind = session.get_bind()
    if bind.dialect.name == "postgresql":
        session.execute(
            text("SELECT pg_advisory_xact_lock(:lock, :tenant)"), {"lock": _LOCK_ID, "tenant": tenant.id}
        )
    entry = AuditEntry(
        seq=-1 - secrets.randbits(30),  # fits the column (int4 on PostgreSQL)
        at=dates.now(),
        actor=_text(actor)[:64],
        action=action[:32],
        target=None if target is None else _text(str(target))[:64],
        detail=_text(detail),
        prev_hash=GENESIS,
        hash="",
        hash_version=HASH_VERSION,
    )
    session.add(entry)
    session.flush()
    last = session.execute(
        select(AuditEntry.seq, AuditEntry.hash)
        .where(AuditEntry.seq > 0)
        .order_by(AuditEntry.seq.desc())
        .limit(1)
    ).first()
    entry.seq = (last.seq + 1) if last else 1
    entry.prev_hash = last.hash if last else GENESIS
    entry.hash = _digest(_audit_key(), entry.prev_hash, entry)
    session.flush()
    return entry


def refused(session: Session, actor: str, kind: str, target: str | int | None, detail: str) -> AuditEntry:
    """Put a refused attempt on the record (`<kind>.refused`) in a transaction of its own: whatever the
    request had begun is rolled back, the refusal is committed, and the caller answers 403 or 404."""
    session.rollback()
    entry = record(session, actor, f"{kind}.refused", target, detail)
    session.commit()
    return entry


def verify(session: Session) -> ChainBreak | None:
    """The first entry whose hash or link does not hold, or None when the chain is whole."""
    key = _audit_key()
    prev = GENESIS
    version = 1
    rows = session.scalars(select(AuditEntry).order_by(AuditEntry.seq).execution_options(yield_per=1000))
    for entry in rows:
        if entry.prev_hash != prev:
            return ChainBreak(entry.seq, "link")
        if entry.hash_version < version or entry.hash_version not in (1, HASH_VERSION):
            return ChainBreak(entry.seq, "version")
        if not hmac.compare_digest(entry.hash, _digest(key, prev, entry)):
            return ChainBreak(entry.seq, "hash")
        prev, version = entry.hash, entry.hash_version
    return None


# --- the tail: checkpoints ------------------------------------------------------------------------------
#
# The chain shows an altered entry, or a deleted one with entries after it; it cannot show that the
# LAST entries were deleted. So each run of `flask --app wsgi audit verify` records what it found and the
# newest entry (id, hash, count) in audit_checkpoints, tagged under the audit key; the next run checks that
# the newest intact checkpoint's entry is still there, unchanged, with no fewer entries than then. Whoever
# can write the database can still delete the newest checkpoints along with the newest entries: keep the
# tail that `audit verify` prints somewhere else and give it back with `--expect ID:HASH`, and watch the
# date of the last verification on the admin page. Run `audit verify` regularly (e.g. from cron).
#
# The anchor: each intact run also writes the tail, tagged under the audit key, to keys/audit.anchor
# (outside the database, beside the server secret the chain is keyed with), and the next run checks the
# chain against it. A database editor can delete entries and checkpoints but not this file; whoever can
# write keys/ holds the audit key and could rewrite the whole chain anyway, so the anchor is as strong as
# the chain. The printed tail is the copy to keep elsewhere (mail, paper) for `--expect`; each intact run
# also mails it to the administrators (intake/anchors.py), to be typed back as --anchor-hash/--anchor-count.


@dataclass(frozen=True)
class Tail:
    entry_id: int
    hash: str
    count: int


def tail(session: Session) -> Tail | None:
    """The newest entry and the number of entries."""
    last = session.scalar(select(AuditEntry).order_by(AuditEntry.seq.desc()).limit(1))
    if last is None:
        return None
    count = session.scalar(select(func.count()).select_from(AuditEntry)) or 0
    return Tail(last.seq, last.hash, int(count))


def _checkpoint_tag(row: AuditCheckpoint) -> bytes:
    return checkpoint_tag_under(_audit_key(), row)


def checkpoint_tag_under(key: bytes, row: AuditCheckpoint) -> bytes:
    """A checkpoint row's tag under `key` (the AUDIT_CHAIN subkey of a tenant's server secret)."""
    fields = [
        str(row.id),
        row.at.isoformat(timespec="microseconds"),
        str(row.entry_count),
        str(row.tail_id or ""),
        row.tail_hash or "",
        str(row.broken_entry_id or ""),
        row.broken_reason or "",
    ]
    return crypto.keyed_hash(key, key_contexts.AUDIT_CHECKPOINT + "\x1f".join(fields).encode())


def latest_checkpoint(session: Session) -> AuditCheckpoint | None:
    """The last verification's record (what the admin page shows), or None before the first."""
    return session.scalar(select(AuditCheckpoint).order_by(AuditCheckpoint.id.desc()).limit(1))


def checkpoint_genuine(row: AuditCheckpoint) -> bool:
    """Whether a checkpoint row is as `audit verify` wrote it (its tag holds)."""
    return hmac.compare_digest(row.tag, _checkpoint_tag(row))


def last_checkpoint(session: Session) -> Tail | None:
    """The tail recorded by the newest verification that found the chain intact."""
    row = session.scalar(
        select(AuditCheckpoint)
        .where(AuditCheckpoint.broken_entry_id.is_(None), AuditCheckpoint.tail_id.is_not(None))
        .order_by(AuditCheckpoint.id.desc())
        .limit(1)
    )
    if row is None or row.tail_id is None or row.tail_hash is None:
        return None
    return Tail(row.tail_id, row.tail_hash, row.entry_count)


def check_tail(session: Session, expected: Tail | None) -> ChainBreak | None:
    """The checkpointed entry must still exist, unchanged, and no fewer entries than then."""
    if expected is None:
        return None
    row = session.scalar(select(AuditEntry).where(AuditEntry.seq == expected.entry_id))
    if row is None:
        return ChainBreak(expected.entry_id, "missing")
    if not hmac.compare_digest(row.hash, expected.hash):
        return ChainBreak(expected.entry_id, "hash")
    current = tail(session)
    if current is None or current.count < expected.count:
        return ChainBreak(expected.entry_id, "missing")
    return None


def _checkpoints_intact(session: Session) -> ChainBreak | None:
    for row in session.scalars(select(AuditCheckpoint).order_by(AuditCheckpoint.id)):
        if not checkpoint_genuine(row):
            return ChainBreak(row.tail_id or 0, "checkpoint")
    return None


def _emptied(session: Session) -> ChainBreak | None:
    """An empty chain where one has existed: a checkpoint counted entries, or officers exist (every way of
    making an officer, `setup` first, writes an entry)."""
    if session.scalar(select(AuditEntry.id).limit(1)) is not None:
        return None
    counted = session.scalar(select(AuditCheckpoint.id).where(AuditCheckpoint.entry_count > 0).limit(1))
    if counted is not None or session.scalar(select(Officer.id).limit(1)) is not None:
        return ChainBreak(0, "empty")
    return None


def verify_and_record(
    session: Session, *expected: Tail | None, found: ChainBreak | None = None
) -> ChainBreak | None:
    """The whole chain, then its tail against the last checkpoint (and each `expected`, e.g. a tail kept
    offline or the anchor in keys/), then `found` (a break the caller's own check found: an anchor typed
    from a mail); the result is recorded as a new checkpoint row, in the caller's transaction. An empty
    chain once one has existed is a break."""
    broken = (
        verify(session)
        or _emptied(session)
        or _checkpoints_intact(session)
        or check_tail(session, last_checkpoint(session))
    )
    for tail_kept in expected:
        broken = broken or check_tail(session, tail_kept)
    broken = broken or found
    newest = tail(session)
    row = AuditCheckpoint(
        at=dates.now(),
        entry_count=newest.count if newest else 0,
        tail_id=newest.entry_id if newest else None,
        tail_hash=newest.hash if newest else None,
        broken_entry_id=broken.entry_id if broken else None,
        broken_reason=broken.reason if broken else None,
        tag=b"",
    )
    session.add(row)
    session.flush()
    row.tag = _checkpoint_tag(row)
    session.flush()
    return broken


def verify_entries(session: Session, entries: list[AuditEntry]) -> ChainBreak | None:
    """Check only `entries` (any order): each one's hash, and its link to the entry just before it.

    What the admin page shows is checked as it is shown, with one query and no write; the whole chain
    is `audit verify`'s job.
    """
    if not entries:
        return None
    key = _audit_key()
    before = aliased(AuditEntry)
    previous_hash = (
        select(before.hash)
        .where(before.seq < AuditEntry.seq, before.tenant_id == AuditEntry.tenant_id)
        .order_by(before.seq.desc())
        .limit(1)
        .correlate(AuditEntry)
        .scalar_subquery()
    )
    shown = select(AuditEntry.id, previous_hash).where(AuditEntry.id.in_([e.id for e in entries]))
    links: dict[int, str | None] = {entry_id: prev for entry_id, prev in session.execute(shown)}
    for entry in sorted(entries, key=lambda e: e.seq):
        if entry.prev_hash != (links.get(entry.id) or GENESIS):
            return ChainBreak(entry.seq, "link")
        if entry.hash_version not in (1, HASH_VERSION):
            return ChainBreak(entry.seq, "version")
        if not hmac.compare_digest(entry.hash, _digest(key, entry.prev_hash, entry)):
            return ChainBreak(entry.seq, "hash")
    return None


def legacy_checkpoint(instance_dir: str | Path) -> Tail | None:
    """The tail that verifications before the audit_checkpoints table wrote to the instance folder.

    Read by `audit verify` only while the table is still empty (its first run after the upgrade).
    """
    try:
        data = json.loads((Path(instance_dir) / LEGACY_CHECKPOINT_FILE).read_text())
        return Tail(int(data["id"]), str(data["hash"]), int(data["count"]))
    except (OSError, ValueError, KeyError, TypeError):
        return None


def _anchor_tag(kept: Tail) -> bytes:
    fields = json.dumps([kept.entry_id, kept.hash, kept.count], separators=(",", ":")).encode()
    return crypto.keyed_hash(_audit_key(), key_contexts.AUDIT_ANCHOR + fields)


def read_anchor(path: str | Path) -> Tail | None:
    """The tail the last intact `audit verify` anchored in `path`; None if there is no file yet."""
    try:
        data = json.loads(Path(path).read_text())
    except FileNotFoundError:
        return None
    except (OSError, ValueError) as exc:
        raise AnchorInvalid(str(path)) from exc
    try:
        kept = Tail(int(data["id"]), str(data["hash"]), int(data["count"]))
        tag = bytes.fromhex(str(data["tag"]))
    except (KeyError, TypeError, ValueError) as exc:
        raise AnchorInvalid(str(path)) from exc
    if not hmac.compare_digest(tag, _anchor_tag(kept)):
        raise AnchorInvalid(str(path))
    return kept


def write_anchor(path: str | Path, kept: Tail) -> None:
    """Replace the anchor atomically (owner-only, like the other files in keys/)."""
    target = Path(path)
    data = {"id": kept.entry_id, "hash": kept.hash, "count": kept.count, "tag": _anchor_tag(kept).hex()}
    tmp = target.with_name(target.name + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as fh:
        fh.write(json.dumps(data))
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, target)
