"""Retention: delete the content of cases closed longer than the retention period, keep their statistics.

What goes: every entry's encrypted body, every attachment (row, and object: in a file store overwritten
with zeros before it is unlinked, in an object store deleted), and the sealed case keys (so nothing left
could be decrypted even with every key). What stays: the case row's plaintext metadata (channel, source,
category, status, dates, referral agency, assignee) and each timeline entry's kind, time and status, so
statistics and reports never change. SQLite runs with `secure_delete` (freed pages are zeroed) and is
vacuumed and checkpointed after a purge; on PostgreSQL the old row versions are left to VACUUM (see
docs/deployment.md).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from . import attachments, audit, dates, receipts, settings
from .models import CLOSED_STATUSES, Case
from .storage import Store

ORPHAN_GRACE = timedelta(hours=1)  # a file younger than this may belong to a submission in progress


@dataclass
class PurgeResult:
    cases: int = 0
    attachments: int = 0
    orphans: list[str] = field(default_factory=list)
    cutoff: datetime | None = None


def years_before(moment: datetime, years: int) -> datetime:
    """The same instant `years` calendar years earlier (29 February becomes the 28th)."""
    try:
        return moment.replace(year=moment.year - years)
    except ValueError:
        return moment.replace(year=moment.year - years, day=28)


def due(session: Session, now: datetime | None = None) -> list[Case]:
    """Cases closed longer than the retention period and not purged yet."""
    cutoff = years_before(now or dates.now(), settings.retention_years(session))
    return list(
        session.scalars(
            select(Case)
            .where(Case.status.in_(CLOSED_STATUSES), Case.closed_at.is_not(None), Case.closed_at <= cutoff)
            .where(Case.purged_at.is_(None))
            .order_by(Case.id)
        )
    )


def purge(session: Session, store: Store, now: datetime | None = None) -> PurgeResult:
    """Apply the retention policy, commit, and sweep orphan files; one audit entry records it.

    Raises StoreUnavailable (nothing committed) when the store cannot delete; running it again finishes."""
    now = now or dates.now()
    result = PurgeResult(cutoff=years_before(now, settings.retention_years(session)))
    doomed: list[str] = []
    for case in due(session, now):
        for entry in case.entries:
            entry.body = None
            entry.key = None
        doomed.extend(att.stored_name for att in case.attachments)
        result.attachments += len(case.attachments)
        case.attachments.clear()  # delete-orphan: the rows go
        case.sealed_for_channel = b""
        case.sealed_for_citizen = b""
        case.purged_at = now
        result.cases += 1
    receipts.sweep(session, now)  # codes of old receipts erased, forgotten receipts gone
    audit.record(session, "cli", "retention.purge", None, f"cases={result.cases}")
    session.flush()
    # Objects first: if the commit then fails, running purge again finishes the job.
    attachments.remove_files(store, doomed, overwrite=True)
    session.commit()
    result.orphans = attachments.sweep_orphans(session, store, ORPHAN_GRACE)
    if result.cases:
        compact(session)
    return result


def compact(session: Session) -> None:
    """SQLite: rebuild the file and empty the write-ahead log so no freed page keeps old content."""
    engine = session.get_bind().engine
    if engine.dialect.name != "sqlite":
        return
    session.close()
    with engine.connect() as conn:
        conn = conn.execution_options(isolation_level="AUTOCOMMIT")
        conn.exec_driver_sql("VACUUM")
        conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
