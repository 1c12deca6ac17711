"""The triage queue: plaintext columns (channel, status, source, dates, assignee), and a short subject.

Only the officer's granted channels are ever queried. The queue opens on the open cases, the nearest
deadline first (the acknowledgement deadline until acknowledged, then the answer deadline until answered),
so overdue cases come first; cases with no deadline left come last (a view that takes in closed cases,
which have none, is newest first). Pages are LIMIT/OFFSET with the id as tie-breaker so the order is
stable.

"Needs attention": the citizen did something (a new case, a follow-up, a new file) that no officer of the
channel has opened since (`Case.needs_attention`, set by the citizen's operations, cleared by opening the
case). Both it and the next deadline (`Case.next_due_at`) are columns kept by cases.py, each at the head of
an index, so that neither the order nor the count reads every open case.
The subject of each row (the first words of the submission) is decrypted for the officer's own channels by
cases.subjects; the view of the queue, with the cases whose subjects it showed, is on the audit trail.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime
from math import ceil
from typing import Any

from sqlalchemy import ColumnElement, UnaryExpression, and_, func, literal_column, or_, select
from sqlalchemy.orm import Session, selectinload

from .. import audit, dates
from ..models import CHANNELS, CLOSED_STATUSES, Case, Officer, Source, Status

PAGE_SIZE = 50
OPEN = "open"
ALL = "all"
OPEN_STATUSES = tuple(s.value for s in Status if s.value not in CLOSED_STATUSES)
SORTS = ("due", "received", "received_asc")  # "due": the nearest deadline first (the default)


@dataclass
class QueueFilter:
    channel: str | None = None
    status: str | None = None  # a Status value, or "open" (not closed)
    source: str | None = None
    assignee: str | None = None  # "me", "none", or an officer id
    overdue: bool = False
    attention: bool = False
    sort: str = "due"
    page: int = 1

    @classmethod
    def from_args(cls, args: dict[str, str]) -> QueueFilter:
        """Read the query string leniently: unknown values are ignored, never an error.

        With no status asked for, the queue shows open cases (triage); `status=all` shows every case.
        """
        status: str | None = args.get("status", OPEN) or None
        if status not in {s.value for s in Status} | {OPEN}:
            status = None
        source = args.get("source") or None
        if source not in {s.value for s in Source}:
            source = None
        assignee = args.get("assignee") or None
        if assignee not in ("me", "none") and not re.fullmatch(r"[0-9]{1,9}", assignee or ""):
            assignee = None
        sort = args.get("sort") or "due"
        try:
            page = max(1, min(int(args.get("page") or 1), 100_000))
        except ValueError:
            page = 1
        channel = args.get("channel") or None
        if channel not in CHANNELS:  # an unknown channel would reach the audit entry (a NUL: a 500)
            channel = None
        return cls(
            channel=channel,
            status=status,
            source=source,
            assignee=assignee,
            overdue=args.get("overdue") in ("1", "on", "true", "yes"),
            attention=args.get("attention") in ("1", "on", "true", "yes"),
            sort=sort if sort in SORTS else "due",
            page=page,
        )

    def args(self, **changes: object) -> dict[str, object]:
        """The query string for a link to this view with `changes` (page resets unless given)."""
        values: dict[str, object] = {
            "channel": self.channel,
            "status": self.status or ALL,
            "source": self.source,
            "assignee": self.assignee,
            "overdue": "1" if self.overdue else None,
            "attention": "1" if self.attention else None,
            "sort": self.sort if self.sort != "due" else None,
        }
        values.update(changes)
        return {k: v for k, v in values.items() if v not in (None, "")}


@dataclass
class QueuePage:
    cases: list[Case]
    total: int
    page: int
    pages: int
    counts: dict[str, int] = field(default_factory=dict)
    closed_since: datetime | None = None  # closed statuses are counted for cases received since then
    attention: int = 0  # open cases needing attention, within the filter's channels


def attention_clause() -> ColumnElement[bool]:
    """Citizen activity that no officer of the channel has opened since."""
    return Case.needs_attention.is_(True)


def overdue_clause(now: datetime) -> ColumnElement[bool]:
    return and_(
        Case.status.notin_(CLOSED_STATUSES),
        or_(
            and_(Case.acknowledged_at.is_(None), Case.ack_due_at < now),
            and_(Case.answered_at.is_(None), Case.answer_due_at < now),
        ),
    )


def overdue_kinds(case: Case, now: datetime) -> list[str]:
    """Which deadlines an open case has missed: "acknowledge" and/or "answer"."""
    if case.is_closed:
        return []
    kinds = []
    if case.acknowledged_at is None and case.ack_due_at < now:
        kinds.append("acknowledge")
    if case.answered_at is None and case.answer_due_at < now:
        kinds.append("answer")
    return kinds


def _conditions(
    flt: QueueFilter, channels: set[str], officer_id: int, now: datetime, channel: Any = Case.channel
) -> list[ColumnElement[bool]]:
    wanted = sorted(channels & {flt.channel}) if flt.channel else sorted(channels)
    # Purged cases (retention) stay listed: their metadata counts; their page says the content is gone.
    conds: list[ColumnElement[bool]] = [channel.in_(wanted)]
    if flt.source:
        conds.append(Case.source == flt.source)
    if flt.assignee == "me":
        conds.append(Case.assignee_id == officer_id)
    elif flt.assignee == "none":
        conds.append(Case.assignee_id.is_(None))
    elif flt.assignee:
        conds.append(Case.assignee_id == int(flt.assignee))
    if flt.overdue:
        conds.append(overdue_clause(now))
    if flt.attention:
        conds.append(attention_clause())
    return conds


def _status_condition(status: str | None) -> list[ColumnElement[bool]]:
    if status == OPEN:
        return [Case.status.notin_(CLOSED_STATUSES)]
    if status:
        return [Case.status == status]
    return []


def fetch(
    session: Session, flt: QueueFilter, channels: set[str], officer_id: int, now: datetime
) -> QueuePage:
    """One page of the queue and the counts per status, within `channels` only."""
    if not channels:
        return QueuePage([], 0, 1, 1, {})
    base = _conditions(flt, channels, officer_id, now)
    # Open statuses are counted over all time, closed ones over the current fiscal year: an all-time count
    # of closed cases (most of the table after a few years) would make every queue view scan them all.
    # Each query is grouped by (channel, status) along ix_cases_channel_status_received (bench/).
    since = dates.fiscal_year_bounds(dates.fiscal_year_of(now))[0]
    counts = _counts(session, base + [Case.status.in_(OPEN_STATUSES)])
    counts.update(_counts(session, base + [Case.status.in_(CLOSED_STATUSES), Case.received_at >= since]))
    where = base + _status_condition(flt.status)
    if flt.status == OPEN:
        total = sum(counts.get(s, 0) for s in OPEN_STATUSES)
    elif flt.status in OPEN_STATUSES:
        total = counts.get(flt.status, 0)
    else:  # every case, or one closed status: counted exactly, only when asked for
        total = int(session.scalar(select(func.count()).select_from(Case).where(*where)) or 0)
    pages = max(1, ceil(total / PAGE_SIZE))
    page = min(flt.page, pages)
    order: tuple[UnaryExpression[Any], ...]
    if flt.sort == "due" and (flt.status == OPEN or flt.status in OPEN_STATUSES):
        # Open cases always have a next deadline: read them in its order along ix_cases_next_due, which
        # stops after a page. SQLite would rather take the channel's index and sort every open case: its
        # `+channel` (the column, not indexed) keeps it on the deadline's index.
        if session.get_bind().dialect.name == "sqlite":
            plain = literal_column("+cases.channel", Case.channel.type)
            where = _conditions(flt, channels, officer_id, now, plain) + _status_condition(flt.status)
        where = [*where, Case.next_due_at.is_not(None)]
        order = (Case.next_due_at.asc(), Case.id.asc())
    elif flt.sort == "received_asc":
        order = (Case.received_at.asc(), Case.id.asc())
    else:  # newest first; also "due" over closed cases, which have no deadline left
        order = (Case.received_at.desc(), Case.id.desc())
    rows = session.scalars(
        select(Case)
        .where(*where)
        .options(selectinload(Case.assignee))
        .order_by(*order)
        .limit(PAGE_SIZE)
        .offset((page - 1) * PAGE_SIZE)
    ).all()
    attention = int(
        session.scalar(
            select(func.count())
            .select_from(Case)
            .where(*_conditions(QueueFilter(channel=flt.channel), channels, officer_id, now))
            .where(Case.status.in_(OPEN_STATUSES), attention_clause())
        )
        or 0
    )
    return QueuePage(list(rows), total, page, pages, counts, since, attention)


def record_view(
    session: Session, officer: Officer, flt: QueueFilter, page: QueuePage, shown: dict[int, str]
) -> None:
    """Viewing the queue is on the record: the filter, and the cases whose subjects were decrypted."""
    query = ";".join(f"{k}={v}" for k, v in flt.args(page=page.page).items())
    listed = ",".join(str(c.id) for c in page.cases if c.id in shown) or "-"
    audit.record(session, officer.username, "queue.view", None, f"{query}; subjects={listed}")


def _counts(session: Session, where: list[ColumnElement[bool]]) -> dict[str, int]:
    counts: dict[str, int] = {}
    for _channel, status, n in session.execute(
        select(Case.channel, Case.status, func.count()).where(*where).group_by(Case.channel, Case.status)
    ):
        counts[status] = counts.get(status, 0) + int(n)
    return counts
