"""Report figures for a period, computed in SQL with a fixed number of grouped queries.

Definitions (a case is counted by its `received_at`, an offline case by the date it was received):
- received: received in [start, end).
- carried over: received before start and not closed at start.
- the cases handled in the period are those two sets; each is counted once more by its state at the
  period's end, taken from history: the last STATUS entry before `end` (none = still new). A case closed
  after the period's end therefore counts as open at the end. pending = new or acknowledged.
  carried over + received = pending + in progress + referred + resolved + dismissed.
- closed within the period: resolved + dismissed at the end (they were open at the start).
- timeliness, separately for acknowledging and for answering, over the cases received in the period:
  due = its deadline (`ack_due_at`, `answer_due_at`) has passed by the report's as-of moment; not yet due =
  the others, however they stand. Within deadline = due and `acknowledged_at <= ack_due_at`
  (`answered_at <= answer_due_at`); the share within deadline is over the due cases only, so a running
  quarter is not marked down for cases whose deadline is still ahead. "Answered" is the first reply to the
  citizen (`answered_at`, set once by the first reply or public status note), not the closing of the case.
- median days to acknowledge: over the cases acknowledged within the period (received -> acknowledged);
  median days to close: over the cases closed within the period (received -> the closing status entry).
- monthly: received per month by channel; closed per month (by the closing status entry) by channel.
- duplicates: a case closed as a duplicate of another (`duplicate_of_id`) is set aside everywhere, so the
  pair counts once: `counted()` is the one predicate every figure here, /stats and the ITA pages use. The
  report says how many were set aside: duplicates received in the period, by channel.
- satisfaction: the citizens' ratings (1..5) of the handling of their closed cases, given within the
  period, by channel: number of answers, each score, the mean.

Only what retention keeps is read: the case's plaintext columns and the STATUS entries' kind, at and
status (the satisfaction score and its date are plaintext columns too). Nothing here loops over cases in
Python; durations' medians are found by window functions.

FIGURES below is the one place where each figure is named and defined in words: the officers' report
(tables.py) and the public statistics (public.py) both take their column headings and the sentences
printed under their tables from it, so a figure means the same wherever it is published.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any, NamedTuple

from flask_babel import lazy_gettext as _l
from sqlalchemy import (
    CTE,
    ColumnElement,
    Float,
    Select,
    and_,
    case,
    cast,
    extract,
    func,
    literal,
    literal_column,
    or_,
    select,
    union_all,
)
from sqlalchemy.orm import Session

from .. import dates
from ..models import CHANNELS, CLOSED_STATUSES, Case, Category, Channel, Entry, EntryKind, Source
from .periods import Period

SOURCES = tuple(s.value for s in Source)
CATEGORIES = tuple(c.value for c in Category)
UNCATEGORISED = ""
END_STATES = ("pending", "in_progress", "referred", "resolved", "dismissed")
_STATE_OF = {
    "new": "pending",
    "acknowledged": "pending",
    "in_progress": "in_progress",
    "referred": "referred",
    "resolved": "resolved",
    "dismissed": "dismissed",
}
SECONDS_PER_DAY = 86400.0


@dataclass(frozen=True)
class Figure:
    """One figure: its key (a Counts or Timeliness attribute, or a CSV figure name), its column heading,
    and the one sentence that defines it, in the words printed under every table that shows it."""

    key: str
    label: Any
    definition: Any


FIGURES: dict[str, Figure] = {
    f.key: f
    for f in (
        Figure(
            "carried_over",
            _l("Carried over"),
            _l("Carried over: cases received before the period and still open at its start."),
        ),
        Figure(
            "received",
            _l("Received in the period"),
            _l(
                "Received: cases received in the period, by the date the municipality received them (for a "
                "letter, call or visit, the date it came in)."
            ),
        ),
        Figure("total", _l("Total to handle"), _l("Total to handle: carried over plus received.")),
        Figure(
            "pending",
            _l("Pending"),
            _l("Pending: received or acknowledged, and not yet being handled, at the end of the period."),
        ),
        Figure(
            "in_progress",
            _l("In progress"),
            _l("In progress: being handled by the municipality at the end of the period."),
        ),
        Figure(
            "referred",
            _l("Referred to another agency"),
            _l(
                "Referred to another agency: handed to another agency (such as the NACC, the PACC or the "
                "Damrongdhama Center) at the end of the period."
            ),
        ),
        Figure("resolved", _l("Resolved"), _l("Resolved: closed with a result at the end of the period.")),
        Figure(
            "dismissed",
            _l("Closed without action"),
            _l("Closed without action: closed at the end of the period without action being taken."),
        ),
        Figure(
            "closed",
            _l("Closed within the period"),
            _l(
                "Closed within the period: resolved or closed without action at its end, of the cases "
                "carried over or received."
            ),
        ),
        Figure(
            "due",
            _l("Due"),
            _l("Due: cases received in the period whose deadline had passed by the date of the figures."),
        ),
        Figure(
            "within_deadline",
            _l("Within deadline"),
            _l(
                "Within deadline: of the due cases, those acknowledged (answered) by their deadline; the "
                "share is over the due cases only."
            ),
        ),
        Figure(
            "not_yet_due",
            _l("Not yet due"),
            _l("Not yet due: cases whose deadline is still ahead, counted apart."),
        ),
        Figure(
            "median_ack_days",
            _l("Median days to acknowledge"),
            _l("Median days to acknowledge: over the cases acknowledged within the period."),
        ),
        Figure(
            "median_close_days",
            _l("Median days to close"),
            _l("Median days to close: over the cases closed within the period."),
        ),
        # The case loop adds its figures here, one entry each: duplicates set aside ("duplicates", counted
        # apart from `received`) and satisfaction by channel ("satisfaction").
    )
}
# Said once under any table that shows a state at the end of a period (pending ... closed).
STATE_NOTE = _l(
    "The state at the end of the period follows each case's history: a case closed after the period's end "
    "counts as still open."
)
# Said once under any table that shows answers within deadline.
ANSWERED_NOTE = _l(
    "Answered means the first reply to the person who wrote (a reply or a public note on the case), not the "
    "closing of the case."
)
STATE_FIGURES = ("pending", "in_progress", "referred", "resolved", "dismissed", "closed")
DEADLINE_FIGURES = ("due", "within_deadline", "not_yet_due")
# How definitions are printed: one paragraph per group, its sentences in this order ("@": a note).
_NOTES = {"@state": (STATE_NOTE, STATE_FIGURES), "@answered": (ANSWERED_NOTE, DEADLINE_FIGURES)}
_PARAGRAPHS: tuple[tuple[str, ...], ...] = (
    ("carried_over", "received", "total"),
    ("@state", *STATE_FIGURES),
    DEADLINE_FIGURES,
    ("@answered",),
    ("median_ack_days", "median_close_days"),
)


def definitions_of(keys: tuple[str, ...] | list[str]) -> list[str]:
    """The definitions of the figures `keys` (in the current language), one paragraph per group of
    figures, with the notes that go with them: the state note beside any state at the end of a period, the
    note on "answered" beside any deadline figure."""
    wanted = set(keys)
    out = []
    for group in _PARAGRAPHS:
        sentences = []
        for item in group:
            if item in _NOTES:
                note, figures = _NOTES[item]
                if wanted & set(figures):
                    sentences.append(str(note))
            elif item in wanted:
                sentences.append(str(FIGURES[item].definition))
        if sentences:
            out.append(" ".join(sentences))
    return out


@dataclass
class Counts:
    """Cases handled in a period, and their state at its end."""

    carried_over: int = 0
    received: int = 0
    pending: int = 0
    in_progress: int = 0
    referred: int = 0
    resolved: int = 0
    dismissed: int = 0

    @property
    def total(self) -> int:
        return self.carried_over + self.received

    @property
    def closed(self) -> int:
        """Closed within the period (resolved or dismissed at its end)."""
        return self.resolved + self.dismissed

    @property
    def open(self) -> int:
        """Still being handled at the end: pending or in progress (referred cases apart)."""
        return self.pending + self.in_progress

    def add(self, other: Counts) -> None:
        for name in ("carried_over", "received", *END_STATES):
            setattr(self, name, getattr(self, name) + getattr(other, name))


@dataclass
class Timeliness:
    """Deadlines kept, over the cases received in the period (see the module docstring)."""

    received: int = 0
    ack_due: int = 0  # acknowledgement deadline passed by the as-of moment
    ack_on_time: int = 0  # of those, acknowledged by the deadline
    answer_due: int = 0  # answer deadline passed by the as-of moment
    answered_on_time: int = 0  # of those, first reply by the deadline
    median_ack_days: float | None = None
    median_close_days: float | None = None

    @property
    def ack_not_due(self) -> int:
        return self.received - self.ack_due

    @property
    def answer_not_due(self) -> int:
        return self.received - self.answer_due

    @property
    def ack_share(self) -> float | None:
        """Acknowledged within deadline among the cases already due (None when none is due)."""
        return self.ack_on_time / self.ack_due if self.ack_due else None

    @property
    def answered_share(self) -> float | None:
        """Answered (first reply) within deadline among the cases already due."""
        return self.answered_on_time / self.answer_due if self.answer_due else None


@dataclass
class Satisfaction:
    """Ratings of the handling given within the period (1 = very dissatisfied .. 5 = very satisfied)."""

    scores: dict[int, int] = field(default_factory=lambda: dict.fromkeys(range(1, 6), 0))

    @property
    def answers(self) -> int:
        return sum(self.scores.values())

    @property
    def mean(self) -> float | None:
        return sum(k * n for k, n in self.scores.items()) / self.answers if self.answers else None

    def add(self, other: Satisfaction) -> None:
        for k, n in other.scores.items():
            self.scores[k] = self.scores.get(k, 0) + n


@dataclass
class MonthFigures:
    month: date
    received: dict[str, int] = field(default_factory=lambda: dict.fromkeys(CHANNELS, 0))
    closed: dict[str, int] = field(default_factory=lambda: dict.fromkeys(CHANNELS, 0))

    @property
    def received_total(self) -> int:
        return sum(self.received.values())

    @property
    def closed_total(self) -> int:
        return sum(self.closed.values())


@dataclass
class Report:
    """Every figure of one period, as of one moment (duplicates set aside, see `counted`)."""

    period: Period
    as_of: datetime
    by_channel: dict[str, Counts]
    by_source: dict[str, Counts]
    by_category: dict[str, Counts]  # corruption channel only; UNCATEGORISED for none
    timeliness: dict[str, Timeliness]  # per channel, and "all"
    months: list[MonthFigures]
    satisfaction: dict[str, Satisfaction] = field(default_factory=dict)  # per channel, and "all"
    duplicates: dict[str, int] = field(default_factory=dict)  # set aside: received in the period

    @property
    def duplicates_total(self) -> int:
        return sum(self.duplicates.values())

    @property
    def total(self) -> Counts:
        out = Counts()
        for counts in self.by_channel.values():
            out.add(counts)
        return out

    @property
    def empty(self) -> bool:
        """No case received in the period (zero is a figure: the report says so in words)."""
        return self.total.received == 0

    @property
    def empty_channels(self) -> list[str]:
        """Channels that received nothing in the period."""
        return [c for c in CHANNELS if self.by_channel[c].received == 0]


# --- the rows the queries return ----------------------------------------------------------------


class CountRow(NamedTuple):
    """Cases of one (channel, source, category, received in the period or not, state at the end, month
    closed) group, and how many of them were acknowledged and answered within their deadlines."""

    channel: str
    source: str
    category: str | None
    in_period: int  # 1: received in the period; 0: carried over
    status: str  # at the period's end, from history
    close_month: int | None  # 0-based month of the period in which it was closed, if it was
    cases: int
    ack_due: int | None  # of them, whose acknowledgement deadline had passed by the report's moment
    ack_on_time: int | None
    answer_due: int | None  # of them, whose answer deadline had passed by the report's moment
    answered_on_time: int | None


class MonthRow(NamedTuple):
    """Cases of one channel received in one month (0-based, of the period)."""

    channel: str
    month: int | None
    cases: int


class MedianRow(NamedTuple):
    """For one metric ("ack" or "close") and channel: the channel's median and the middle of all channels."""

    metric: str
    channel: str
    median_seconds: float | None
    middle_sum: float | None  # the sum and count of this channel's values at the overall middle rank
    middle_count: int | None


# --- SQL building blocks -------------------------------------------------------------------------


def counted() -> ColumnElement[bool]:
    """The one predicate of every figure: a case closed as a duplicate of another is set aside, so that
    the pair counts once (received, closed, timeliness, satisfaction), here, on /stats and on /ita."""
    return Case.duplicate_of_id.is_(None)


def _last_status(before: datetime, column: Any) -> ColumnElement[Any]:
    """The status (or time) of a case's last STATUS entry before `before`: history, not the current row."""
    return (
        select(column)
        .where(Entry.case_id == Case.id, Entry.kind == EntryKind.STATUS, Entry.at < before)
        .order_by(Entry.at.desc(), Entry.id.desc())
        .limit(1)
        .correlate(Case)
        .scalar_subquery()
    )


def _per_case(p: Period, dialect: str) -> CTE:
    """Every case received before the period's end with its status at the start and at the end.

    MATERIALIZED so that each correlated look-up runs once per case, however often it is referred to.
    Nearly every case is received before the end, so the table is read straight through: on SQLite,
    `+received_at` keeps the planner from fetching a million rows one by one through the date index.
    """
    s0 = case((Case.received_at < p.start, _last_status(p.start, Entry.status)), else_=None)
    received: Any = Case.received_at
    if dialect == "sqlite":
        received = literal_column("+cases.received_at", Case.received_at.type)
    return (
        select(
            Case.channel,
            Case.source,
            Case.category,
            Case.received_at,
            Case.acknowledged_at,
            Case.ack_due_at,
            Case.answered_at,
            Case.answer_due_at,
            s0.label("s0"),
            _last_status(p.end, Entry.status).label("s1"),
            _last_status(p.end, Entry.at).label("t1"),
        )
        .where(received < p.end, counted())
        .cte("per_case")
        .prefix_with("MATERIALIZED")
    )


def _in_scope(pc: CTE, p: Period) -> ColumnElement[bool]:
    """Received in the period, or carried over (open at its start)."""
    return or_(pc.c.received_at >= p.start, pc.c.s0.is_(None), pc.c.s0.not_in(CLOSED_STATUSES))


def _month_index(column: Any, p: Period) -> ColumnElement[Any]:
    """0-based month of the period that `column` falls in (bounds computed here, so any dialect works)."""
    whens = [(column < m.end, i) for i, m in enumerate(p.months)]
    return case((column < p.start, None), *whens, else_=None)


def _seconds(later: Any, earlier: Any, dialect: str) -> ColumnElement[Any]:
    if dialect == "postgresql":
        return extract("epoch", later - earlier)
    return (func.julianday(later) - func.julianday(earlier)) * SECONDS_PER_DAY


def _is_closed(column: Any) -> ColumnElement[bool]:
    return column.in_(CLOSED_STATUSES)


# --- the queries ---------------------------------------------------------------------------------


def _count_rows(session: Session, p: Period, as_of: datetime) -> list[CountRow]:
    return _run_counts(session, count_statement(p, as_of, session.get_bind().dialect.name))


def _run_counts(session: Session, stmt: Select[Any]) -> list[CountRow]:
    return [CountRow(*row) for row in session.execute(stmt)]


def count_statement(p: Period, as_of: datetime, dialect: str) -> Select[Any]:
    """The grouped query behind a period's counts (built once, run in any tenant's scope: the seam adds the
    tenant when it runs, so the national figures build it once for every tenant)."""
    pc = _per_case(p, dialect)
    received = pc.c.received_at >= p.start
    ack_due = and_(received, pc.c.ack_due_at <= as_of)
    answer_due = and_(received, pc.c.answer_due_at <= as_of)
    classified = (
        select(
            pc.c.channel,
            pc.c.source,
            pc.c.category,
            case((received, 1), else_=0).label("in_period"),
            func.coalesce(pc.c.s1, "new").label("status"),
            case(
                (and_(_is_closed(pc.c.s1), pc.c.t1 >= p.start), _month_index(pc.c.t1, p)), else_=None
            ).label("close_month"),
            case((ack_due, 1), else_=0).label("ack_due"),
            case((and_(ack_due, pc.c.acknowledged_at <= pc.c.ack_due_at), 1), else_=0).label("ack_ok"),
            case((answer_due, 1), else_=0).label("answer_due"),
            case((and_(answer_due, pc.c.answered_at <= pc.c.answer_due_at), 1), else_=0).label("answer_ok"),
        )
        .where(_in_scope(pc, p))
        .subquery("classified")
    )
    c = classified.c
    keys = (c.channel, c.source, c.category, c.in_period, c.status, c.close_month)
    sums = (func.sum(c.ack_due), func.sum(c.ack_ok), func.sum(c.answer_due), func.sum(c.answer_ok))
    return select(*keys, func.count(), *sums).group_by(*keys)


def _received_by_month(session: Session, p: Period) -> list[MonthRow]:
    sub = (
        select(Case.channel, _month_index(Case.received_at, p).label("month"))
        .where(Case.received_at >= p.start, Case.received_at < p.end, counted())
        .subquery("received")
    )
    stmt = select(sub.c.channel, sub.c.month, func.count()).group_by(sub.c.channel, sub.c.month)
    return [MonthRow(*row) for row in session.execute(stmt)]


def _median_rows(session: Session, p: Period) -> list[MedianRow]:
    """Per metric and channel: the channel's median seconds, and its share of the overall middle values."""
    dialect = session.get_bind().dialect.name
    pc = _per_case(p, dialect)
    ack = select(
        literal("ack").label("metric"),
        Case.channel.label("channel"),
        cast(_seconds(Case.acknowledged_at, Case.received_at, dialect), Float).label("secs"),
    ).where(Case.acknowledged_at >= p.start, Case.acknowledged_at < p.end, counted())
    close = select(
        literal("close").label("metric"),
        pc.c.channel.label("channel"),
        cast(_seconds(pc.c.t1, pc.c.received_at, dialect), Float).label("secs"),
    ).where(_in_scope(pc, p), _is_closed(pc.c.s1), pc.c.t1 >= p.start)
    durations = union_all(ack, close).subquery("durations")
    d = durations.c
    ranked = select(
        d.metric,
        d.channel,
        d.secs,
        func.row_number().over(partition_by=(d.metric, d.channel), order_by=d.secs).label("rc"),
        func.count().over(partition_by=(d.metric, d.channel)).label("nc"),
        func.row_number().over(partition_by=d.metric, order_by=d.secs).label("rt"),
        func.count().over(partition_by=d.metric).label("nt"),
    ).subquery("ranked")
    r = ranked.c
    mid_c = or_(r.rc == (r.nc + 1) // 2, r.rc == (r.nc + 2) // 2)
    mid_t = or_(r.rt == (r.nt + 1) // 2, r.rt == (r.nt + 2) // 2)
    stmt = select(
        r.metric,
        r.channel,
        func.avg(case((mid_c, r.secs), else_=None)),
        func.sum(case((mid_t, r.secs), else_=None)),
        func.sum(case((mid_t, 1), else_=0)),
    ).group_by(r.metric, r.channel)
    return [MedianRow(*row) for row in session.execute(stmt)]


def _satisfaction_rows(session: Session, p: Period) -> list[Any]:
    stmt = (
        select(Case.channel, Case.satisfaction, func.count())
        .where(Case.satisfied_at >= p.start, Case.satisfied_at < p.end, Case.satisfaction.is_not(None))
        .where(counted())
        .group_by(Case.channel, Case.satisfaction)
    )
    return list(session.execute(stmt).all())


def _duplicate_rows(session: Session, p: Period) -> list[Any]:
    stmt = (
        select(Case.channel, func.count())
        .where(Case.received_at >= p.start, Case.received_at < p.end, Case.duplicate_of_id.is_not(None))
        .group_by(Case.channel)
    )
    return list(session.execute(stmt).all())


# --- assembling ----------------------------------------------------------------------------------


def _days(seconds: Any) -> float | None:
    return None if seconds is None else round(float(seconds) / SECONDS_PER_DAY, 1)


def _counts_from(rows: list[CountRow]) -> tuple[dict[str, Counts], dict[str, Counts], dict[str, Counts]]:
    by_channel = {c: Counts() for c in CHANNELS}
    by_source = {s: Counts() for s in SOURCES}
    by_category = {c: Counts() for c in (*CATEGORIES, UNCATEGORISED)}
    for row in rows:
        one = Counts()
        if row.in_period:
            one.received = row.cases
        else:
            one.carried_over = row.cases
        setattr(one, _STATE_OF.get(row.status, "in_progress"), row.cases)
        by_channel.setdefault(row.channel, Counts()).add(one)
        by_source.setdefault(row.source, Counts()).add(one)
        if row.channel == Channel.CORRUPTION:
            by_category.setdefault(row.category or UNCATEGORISED, Counts()).add(one)
    return by_channel, by_source, by_category


def compute(session: Session, p: Period, as_of: datetime | None = None) -> Report:
    """All figures of period `p` as of `as_of` (default now: deadlines not yet passed are not due), in
    five grouped queries."""
    moment = as_of or dates.now()
    rows = _count_rows(session, p, moment)
    by_channel, by_source, by_category = _counts_from(rows)
    months = [MonthFigures(m.first_day) for m in p.months]
    timeliness = {c: Timeliness() for c in (*CHANNELS, "all")}
    for row in rows:
        if row.close_month is not None and row.channel in CHANNELS:
            months[int(row.close_month)].closed[row.channel] += row.cases
        if row.in_period:
            for key in (row.channel, "all"):
                t = timeliness.setdefault(key, Timeliness())
                t.received += row.cases
                t.ack_due += int(row.ack_due or 0)
                t.ack_on_time += int(row.ack_on_time or 0)
                t.answer_due += int(row.answer_due or 0)
                t.answered_on_time += int(row.answered_on_time or 0)
    for got in _received_by_month(session, p):
        if got.month is not None and got.channel in CHANNELS:
            months[int(got.month)].received[got.channel] += got.cases
    overall: dict[str, list[float]] = {"ack": [0.0, 0.0], "close": [0.0, 0.0]}
    for median in _median_rows(session, p):
        t = timeliness.setdefault(median.channel, Timeliness())
        if median.metric == "ack":
            t.median_ack_days = _days(median.median_seconds)
        else:
            t.median_close_days = _days(median.median_seconds)
        overall[median.metric][0] += float(median.middle_sum or 0)
        overall[median.metric][1] += float(median.middle_count or 0)
    everything = timeliness["all"]
    if overall["ack"][1]:
        everything.median_ack_days = _days(overall["ack"][0] / overall["ack"][1])
    if overall["close"][1]:
        everything.median_close_days = _days(overall["close"][0] / overall["close"][1])
    satisfaction = {c: Satisfaction() for c in (*CHANNELS, "all")}
    for channel, score, n in _satisfaction_rows(session, p):
        if channel in CHANNELS and int(score) in range(1, 6):
            satisfaction[channel].scores[int(score)] += int(n)
            satisfaction["all"].scores[int(score)] += int(n)
    duplicates = dict.fromkeys(CHANNELS, 0)
    for channel, n in _duplicate_rows(session, p):
        if channel in CHANNELS:
            duplicates[channel] += int(n)
    return Report(
        period=p,
        as_of=moment,
        by_channel=by_channel,
        by_source=by_source,
        by_category=by_category,
        timeliness=timeliness,
        months=months,
        satisfaction=satisfaction,
        duplicates=duplicates,
    )


def channel_counts(session: Session, p: Period, statement: Select[Any] | None = None) -> dict[str, Counts]:
    """The cases of period `p` by channel: `compute(...).by_channel` in one query (the same SQL, the same
    definitions), for pages that need nothing else (public statistics). `statement`: the same query built
    beforehand (`count_statement(p, p.end, dialect)`), for a caller that runs it for many tenants."""
    stmt = statement if statement is not None else count_statement(p, p.end, session.get_bind().dialect.name)
    by_channel, _sources, _categories = _counts_from(_run_counts(session, stmt))
    return by_channel


def earliest_fiscal_year(session: Session) -> int | None:
    first = session.scalar(select(func.min(Case.received_at)).where(counted()))
    return None if first is None else dates.fiscal_year_of(first)
