"""The audit anchor kept outside the database: mailed to the administrators after each intact verification.

`audit verify` (and the notification worker once a Bangkok day, at the digest hour) checks the chain
(intake/audit.py: its hashes, the checkpoints, the anchor file in keys/); when it is intact, every active
administrator with an address gets a notice `admin.audit_anchor` carrying the tail: the number of entries,
the last entry's id and hash, the date (BE). Each anchor is told once to each administrator (a unique key
in the outbox). Typed back from the mail or a printout, `audit verify --anchor-hash HASH --anchor-count N`
fails unless the chain still holds that hash as its N-th entry: a database editor can delete the newest
entries, their checkpoints and even keys/audit.anchor (with write access to keys/), but not the mails.
When the worker's daily verification finds a break, the administrators are told that instead
(`admin.audit_broken`, once a Bangkok day).
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from datetime import UTC, datetime, time
from pathlib import Path

from flask import current_app
from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from . import audit, dates, keyring, notices, tenancy
from .models import AuditEntry, NoticeState

log = logging.getLogger("intake.anchors")
TOPIC = "audit_anchor"
KIND = notices.ADMIN_PREFIX + TOPIC
_HEX64 = re.compile(r"[0-9a-f]{64}")
TYPED_MISSING = "typed-missing"  # a checkpoint's broken_reason (16 characters at most)
TYPED_PLACE = "typed-place"
TYPED_REASONS = frozenset({TYPED_MISSING, TYPED_PLACE})

notices.register_topic(
    TOPIC,
    _l("Audit trail anchor: please keep this mail"),
    _l(
        "Keep this mail: if someone shortens the audit trail, the command "
        "flask --app wsgi audit verify --tenant %(tenant)s --anchor-hash %(hash)s --anchor-count %(count)s "
        "will show it."
    ),
    {
        "date": _l("Verified intact on (BE)"),
        "count": _l("Entries in the trail"),
        "entry_id": _l("Last entry"),
        "hash": _l("Hash of the last entry"),
        "tenant": _l("Tenant"),
    },
    fill=True,
    english=True,
)


BROKEN_TOPIC = "audit_broken"
BROKEN_KIND = notices.ADMIN_PREFIX + BROKEN_TOPIC
notices.register_topic(
    BROKEN_TOPIC,
    _l("The audit trail does not verify"),
    _l(
        "Today's verification by the notification worker found the audit trail altered or shortened. "
        "Run flask --app wsgi audit verify --tenant %(tenant)s, and again with the anchor of an earlier "
        "mail, to see since when."
    ),
    {
        "date": _l("Verified on (BE)"),
        "entry_id": _l("First broken entry"),
        "reason": _l("Reason"),
        "tenant": _l("Tenant"),
    },
    fill=True,
    english=True,
)


class TypedAnchorMalformed(ValueError):
    """What was typed cannot be an anchor (a hash of 64 hex digits and a positive count)."""


@dataclass(frozen=True)
class Typed:
    """An anchor typed back from a mail or a printout."""

    hash: str
    count: int


def typed(hash_text: str, count: int) -> Typed:
    """The anchor as typed: the hash forgives case and spaces (a printout copied by hand)."""
    digest = "".join(hash_text.split()).lower()
    if not _HEX64.fullmatch(digest) or count < 1:
        raise TypedAnchorMalformed(hash_text)
    return Typed(digest, count)


def check_typed(session: Session, kept: Typed) -> audit.ChainBreak | None:
    """The chain must still hold the entry with that hash, at that place (the count-th entry)."""
    row = session.scalar(select(AuditEntry).where(AuditEntry.hash == kept.hash).limit(1))
    if row is None:
        return audit.ChainBreak(0, TYPED_MISSING)
    place = session.scalar(select(func.count()).select_from(AuditEntry).where(AuditEntry.seq <= row.seq))
    if int(place or 0) != kept.count:
        return audit.ChainBreak(row.seq, TYPED_PLACE)
    return None


def anchor_path(override: Path | None = None) -> Path:
    """The tenant's anchor file in keys/ (audit.anchor; audit-SLUG.anchor for a tenant of its own key)."""
    if override is not None:
        return override
    tenant = tenancy.current()
    own = audit.ANCHOR_FILE if tenant.secret_wrapped is None else f"audit-{tenant.slug}.anchor"
    return keyring.keys_dir() / own


def be_date(moment: datetime) -> str:
    """DD/MM/YYYY in the Buddhist Era, Bangkok's calendar day (a machine word: no spaces)."""
    day = dates.local_date(moment)
    return f"{day.day:02d}/{day.month:02d}/{dates.be_year(day)}"


def tell(session: Session, kept: audit.Tail, now: datetime | None = None) -> int:
    """Queue the anchor for every active administrator with an address, once per anchor each (the caller
    commits); returns how many notices are new (0 without a mail server)."""
    if not notices.enabled():
        return 0
    now = now or dates.now()
    admins = notices.administrators(session)
    if not admins:
        return 0
    facts = notices.check_facts(
        {
            "date": be_date(now),
            "count": kept.count,
            "entry_id": kept.entry_id,
            "hash": kept.hash,
            "tenant": tenancy.current().slug,
        }
    )
    rows = [
        {
            "kind": KIND,
            "officer_id": admin.id,
            "facts": facts,
            "dedupe_key": f"{KIND}:o{admin.id}:{kept.count}:{kept.hash}",
            "created_at": now,
            "due_at": notices.due_for(session, admin, now),
            "state": NoticeState.PENDING,
            "attempts": 0,
        }
        for admin in admins
    ]
    return notices.insert_once(session, rows)


def tell_broken(session: Session, broken: audit.ChainBreak, now: datetime | None = None) -> int:
    """Queue a warning that the daily verification failed for every active administrator with an
    address, once a Bangkok day each (the caller commits); returns how many notices are new."""
    if not notices.enabled():
        return 0
    now = now or dates.now()
    day = dates.local_date(now).isoformat()
    facts = notices.check_facts(
        {
            "date": be_date(now),
            "entry_id": broken.entry_id,
            "reason": broken.reason.replace(" ", "-"),
            "tenant": tenancy.current().slug,
        }
    )
    rows = [
        {
            "kind": BROKEN_KIND,
            "officer_id": admin.id,
            "facts": facts,
            "dedupe_key": f"{BROKEN_KIND}:o{admin.id}:{day}",
            "created_at": now,
            "due_at": now,  # at once, whatever the administrator's mode
            "state": NoticeState.PENDING,
            "attempts": 0,
        }
        for admin in notices.administrators(session)
    ]
    return notices.insert_once(session, rows) if rows else 0


@dataclass(frozen=True)
class Verified:
    """What a verification found: the first break (None: intact), the tail, the notices queued."""

    broken: audit.ChainBreak | None
    tail: audit.Tail | None
    told: int = 0
    anchor_error: str = ""  # the anchor file could not be renewed (the run still counts)


def verify(
    session: Session,
    *,
    expect: audit.Tail | None = None,
    kept: Typed | None = None,
    anchor_file: Path | None = None,
) -> Verified:
    """`audit verify` for the current tenant: the chain, its checkpoints, the anchor file, and `expect` and
    `kept` when given; the result is a checkpoint row (committed here). When intact, the anchor file is
    renewed and the administrators are told the new anchor. audit.AnchorInvalid: the anchor file is not one
    this command wrote (nothing recorded)."""
    path = anchor_path(anchor_file)
    legacy = None  # the instance folder's checkpoint file of earlier versions, until the first run here
    if audit.latest_checkpoint(session) is None and tenancy.current().secret_wrapped is None:
        legacy = audit.legacy_checkpoint(current_app.config["INSTANCE_DIR"])  # the first tenant's chain
    anchored = audit.read_anchor(path)
    found = check_typed(session, kept) if kept is not None else None
    broken = audit.verify_and_record(session, expect, legacy, anchored, found=found)
    last = audit.tail(session) if broken is None else None
    told = tell(session, last) if last is not None else 0
    session.commit()
    if last is None:
        return Verified(broken, None)
    try:
        audit.write_anchor(path, last)
    except OSError as exc:
        return Verified(None, last, told, f"could not renew the anchor {path}: {exc.strerror}")
    return Verified(None, last, told)


def today_at_digest_hour(session: Session, now: datetime) -> datetime:
    """Today's digest hour (Bangkok) as a moment: when the worker's daily verification is due."""
    local = dates.local(now)
    return datetime.combine(local.date(), time(notices.digest_hour(session)), dates.BANGKOK)


def daily(session: Session, now: datetime | None = None) -> int:
    """The worker's daily `audit verify` for the current tenant: due from the digest hour (Bangkok) when no
    verification has been recorded since; returns how many anchor notices are new. Off with
    INTAKE_NOTIFY_AUDIT_DAILY=false, and without a mail server."""
    now = now or dates.now()
    if not current_app.config.get("NOTIFY_AUDIT_DAILY", True) or not notices.enabled():
        return 0
    due = today_at_digest_hour(session, now)
    latest = audit.latest_checkpoint(session)
    if now < due or (latest is not None and latest.at >= due):
        return 0
    try:
        with dates.as_of(now.astimezone(UTC)):  # as stored: the checkpoint's tag covers its time
            result = verify(session)
    except audit.AnchorInvalid:
        session.rollback()
        log.warning("notify: the audit anchor file of tenant %s is not one audit verify wrote",
                    tenancy.current().slug)
        told = tell_broken(session, audit.ChainBreak(0, "anchor-file"), now)
        session.commit()
        return told
    except SQLAlchemyError:
        raise  # the database is away: the worker waits and tries again
    except Exception:  # one tenant's trouble must not stop the mails of every tenant
        session.rollback()
        log.exception("notify: the daily audit verification of tenant %s failed", tenancy.current().slug)
        return 0
    if result.broken is not None:
        log.warning("notify: the audit chain of tenant %s is broken at entry %d (%s)",
                    tenancy.current().slug, result.broken.entry_id, result.broken.reason)
        told = tell_broken(session, result.broken, now)
        session.commit()
        return told
    if result.anchor_error:
        log.warning("notify: %s", result.anchor_error)
    return result.told
