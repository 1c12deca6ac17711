"""Who is told what: notices written to the outbox in the transaction of the event that causes them.

- A new case, and a citizen's follow-up, tell the officers who hold the case's channel and have an e-mail
  address; once a case is assigned, only its assignee. An assignment tells the new assignee (unless they
  assigned it to themselves). Each is one call from the case operation, before its commit.
- Deadline reminders are found by the worker (`find_reminders`, intake/notify.py): an acknowledgement due
  by tomorrow, an acknowledgement or answer deadline passed (to the same officers), and, to the channel's
  escalation address (a setting, e.g. the deputy clerk), a case overdue by more than N days. Each reminder
  has a unique key (kind, case, recipient, the Bangkok day of its deadline), so whichever worker or run
  finds it first writes it and every later scan finds it there: once, and on the right day.
- `tell_administrators` lets other work tell every administrator something without content (the audit
  storage running low): a topic and a few numbers or machine words. The audit anchor (intake/anchors.py)
  is one such topic, with a unique key per anchor and administrator.

No content, ever: a notice is a kind, the officer, the case's channel and case id (for the checks at
sending time, never put in a mail) and for administrators' topics a few facts that cannot carry text.
Notices are written only when a mail server is configured (INTAKE_MAIL_SERVER). An officer who chose the
daily digest gets theirs due at the digest hour (Bangkok), all in one mail.
"""

from __future__ import annotations

import enum
import functools
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any

from flask import current_app
from flask_babel import lazy_gettext as _l
from sqlalchemy import (
    Integer,
    String,
    Table,
    and_,
    bindparam,
    case,
    func,
    insert,
    literal,
    or_,
    select,
    update,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from . import audit, capacity, dates, tenancy
from .db import UTCDateTime
from .models import (
    CLOSED_STATUSES,
    Case,
    Channel,
    Grant,
    Notice,
    NoticeState,
    NotifyMode,
    Officer,
    Role,
    Setting,
)


class Kind(enum.StrEnum):
    CASE_NEW = "case_new"
    FOLLOWUP = "followup"
    ASSIGNED = "assigned"
    ACK_DUE = "ack_due"  # to acknowledge by the end of tomorrow (Bangkok)
    ACK_OVERDUE = "ack_overdue"
    ANSWER_OVERDUE = "answer_overdue"
    ESCALATION = "escalation"  # to a channel's escalation address: overdue by more than N days
    TEST = "test"  # the administrator's test mail (never in the outbox; in the delivery log)


ADMIN_PREFIX = "admin."
REMINDER_KINDS = frozenset({Kind.ACK_DUE, Kind.ACK_OVERDUE, Kind.ANSWER_OVERDUE, Kind.ESCALATION})
# Notices about one case that only the people now handling it should get (checked again at sending time).
CASE_KINDS = frozenset({Kind.CASE_NEW, Kind.FOLLOWUP, Kind.ACK_DUE, Kind.ACK_OVERDUE, Kind.ANSWER_OVERDUE})

# Settings (intake/settings.py's table), edited on the administrator's notifications page.
SETTING_DEFAULTS = {
    "escalation_days": "7",
    "digest_hour": "8",
    **{f"escalation_email.{c.value}": "" for c in Channel},
}


def enabled() -> bool:
    """Notices are written only when there is a mail server to send them."""
    return bool(current_app.config.get("MAIL_SERVER"))


def setting(session: Session, name: str) -> str:
    """One of SETTING_DEFAULTS' settings: as stored (the settings table), else its default."""
    row = session.scalar(select(Setting).where(Setting.name == name))  # the tenant's (tenancy.py)
    return row.value if row is not None else SETTING_DEFAULTS[name]


def escalation_days(session: Session) -> int:
    try:
        return max(1, int(setting(session, "escalation_days")))
    except ValueError:
        return int(SETTING_DEFAULTS["escalation_days"])


def digest_hour(session: Session) -> int:
    try:
        return min(23, max(0, int(setting(session, "digest_hour"))))
    except ValueError:
        return int(SETTING_DEFAULTS["digest_hour"])


def escalation_address(session: Session, channel: str) -> str:
    return setting(session, f"escalation_email.{channel}").strip()


def next_digest(now: datetime, hour: int) -> datetime:
    """The next digest time at or after `now`: `hour` o'clock, Bangkok."""
    local = dates.local(now)
    at = datetime.combine(local.date(), time(hour), dates.BANGKOK)
    if at < local:
        at = datetime.combine(local.date() + timedelta(days=1), time(hour), dates.BANGKOK)
    return at.astimezone(now.tzinfo or dates.BANGKOK)


def due_for(session: Session, officer: Officer | None, now: datetime) -> datetime:
    if officer is not None and officer.notify_mode == NotifyMode.DIGEST:
        return next_digest(now, digest_hour(session))
    return now


def reachable(officer: Officer | None, channel: str | None) -> bool:
    """An active officer with an address who (for a case's notice) still holds the case's channel."""
    if officer is None or not officer.active or not officer.email:
        return False
    return channel is None or channel in officer.channels


def holders(session: Session, channel: str) -> list[Officer]:
    """Active officers (administrators too) holding `channel` who have an e-mail address."""
    return list(
        session.scalars(
            select(Officer)
            .where(
                Officer.active.is_(True),
                Officer.email.is_not(None),
                Officer.id.in_(select(Grant.officer_id).where(Grant.channel == channel)),
            )
            .order_by(Officer.id)
        )
    )


def recipients(session: Session, case_row: Case) -> list[Officer]:
    """Who hears about a case: its assignee once assigned, else every holder of its channel."""
    if case_row.assignee_id is not None:
        assignee = session.get(Officer, case_row.assignee_id)
        return [assignee] if assignee is not None and reachable(assignee, case_row.channel) else []
    return holders(session, case_row.channel)


def _add(session: Session, kind: str, officer: Officer, case_row: Case, now: datetime) -> None:
    session.add(
        Notice(
            kind=kind,
            officer_id=officer.id,
            channel=case_row.channel,
            case_id=case_row.id,
            created_at=now,
            due_at=due_for(session, officer, now),
            state=NoticeState.PENDING.value,
            attempts=0,
        )
    )


def _tell_about(session: Session, case_row: Case, kind: Kind, exclude: Officer | None) -> int:
    """One notice to each recipient, in the caller's transaction. For an unassigned case, one
    INSERT … SELECT over the channel's holders: the submit path pays one statement, however many
    officers hold the channel (bench/notify.py)."""
    if not enabled():
        return 0
    now = dates.now()
    if case_row.assignee_id is not None:
        told = 0
        for officer in recipients(session, case_row):
            if exclude is None or officer.id != exclude.id:
                _add(session, kind.value, officer, case_row, now)
                told += 1
        return told
    params = {
        "kind": kind.value,
        "channel": case_row.channel,
        "case_id": case_row.id,
        "now": now,
        "digest_at": next_digest(now, digest_hour(session)),
        "exclude": exclude.id if exclude is not None else 0,  # ids start at 1: 0 excludes nobody
        "tenant_id": case_row.tenant_id,  # Core INSERT … SELECT: the tenant is named (intake/tenancy.py)
    }
    result = session.execute(_tell_holders(), params)
    return max(0, int(getattr(result, "rowcount", 0) or 0))


@functools.cache
def _tell_holders() -> Any:
    """INSERT … SELECT of one notice per active holder of :channel with an address but :exclude, due
    :now (immediate) or :digest_at (digest). Built once: the submit path does not rebuild it each time."""
    now = bindparam("now", type_=UTCDateTime())
    rows = select(
        bindparam("tenant_id", type_=Integer()),
        bindparam("kind", type_=String()),
        Officer.id,
        bindparam("channel", type_=String()),
        bindparam("case_id", type_=Integer()),
        now,
        case(
            (Officer.notify_mode == NotifyMode.DIGEST.value, bindparam("digest_at", type_=UTCDateTime())),
            else_=now,
        ),
        literal(NoticeState.PENDING.value, String()),
        literal(0, Integer()),
    ).where(
        Officer.tenant_id == bindparam("tenant_id"),
        Officer.active.is_(True),
        Officer.email.is_not(None),
        Officer.id != bindparam("exclude", type_=Integer()),
        Officer.id.in_(select(Grant.officer_id).where(Grant.channel == bindparam("channel"))),
    )
    columns = [
        "tenant_id", "kind", "officer_id", "channel", "case_id", "created_at", "due_at", "state", "attempts",
    ]  # fmt: skip
    table: Table = Notice.__table__  # type: ignore[assignment]  # Core: the ORM would read params as rows
    return insert(table).from_select(columns, rows)


# --- events (one call each from intake/cases.py, in the event's transaction) ----------------------------


def on_new_case(session: Session, case_row: Case, *, by: Officer | None = None) -> int:
    """A case was received (`by`: the officer who recorded it, who needs no mail about it)."""
    return _tell_about(session, case_row, Kind.CASE_NEW, by)


def on_followup(session: Session, case_row: Case) -> int:
    """The citizen added a message to an open case."""
    return _tell_about(session, case_row, Kind.FOLLOWUP, None)


def on_assigned(session: Session, case_row: Case, assignee: Officer | None, *, by: Officer) -> int:
    """`by` assigned the case to `assignee` (None: unassigned; nobody to tell)."""
    if not enabled() or assignee is None or assignee.id == by.id or not reachable(assignee, case_row.channel):
        return 0
    _add(session, Kind.ASSIGNED.value, assignee, case_row, dates.now())
    return 1


def reschedule(session: Session, officer: Officer, now: datetime | None = None) -> None:
    """After a change of mode: what waits for this officer goes at once (immediate) or with the digest."""
    now = now or dates.now()
    due = due_for(session, officer, now)
    pending = and_(
        Notice.officer_id == officer.id, Notice.state == NoticeState.PENDING.value, Notice.attempts == 0
    )
    session.execute(
        update(Notice).where(pending).values(due_at=due).execution_options(synchronize_session=False)
    )


def set_preferences(
    session: Session, target: Officer, email: str | None, mode: NotifyMode, *, by: Officer
) -> bool:
    """Change an officer's address and mode (audited; what waits for them follows the new mode). Returns
    whether anything changed; the caller commits."""
    email = email or None
    changed_email = target.email != email
    changed_mode = target.notify_mode != mode.value
    if not changed_email and not changed_mode:
        return False
    what = []
    if changed_email:
        what.append("email=" + ("removed" if email is None else "set" if target.email is None else "changed"))
    if changed_mode:
        what.append(f"mode={mode.value}")
    target.email = email
    target.notify_mode = mode
    session.flush()
    if changed_mode:
        reschedule(session, target)
    audit.record(session, by.username, "officer.notify", target.username, "; ".join(what))
    return True


# --- administrators --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Topic:
    """What an administrators' notice says: a subject, one sentence, and labels for its facts."""

    subject: Any
    intro: Any
    labels: dict[str, Any] = field(default_factory=dict)
    fill: bool = False  # the intro names facts: %(fact)s
    english: bool = False  # the mail says it in Thai, then again in English


TOPICS: dict[str, Topic] = {}
_TOPIC_NAME = re.compile(r"^[a-z][a-z0-9_]*(\.[a-z0-9_]+)*$")
_FACT_NAME = re.compile(r"^[a-z][a-z0-9_]{0,31}$")
# A fact is a number or a machine word (a hash, a count with a unit): no spaces, so no sentence fits.
_FACT_WORD = re.compile(r"^[A-Za-z0-9:._+/=-]{1,160}$")
MAX_FACTS = 8


def register_topic(
    name: str,
    subject: Any,
    intro: Any,
    labels: Mapping[str, Any] | None = None,
    *,
    fill: bool = False,
    english: bool = False,
) -> None:
    """Declare an administrators' topic (strings through lazy_gettext, with their Thai in a catalogue).
    `fill`: the intro is completed with the notice's facts; `english`: the mail repeats it in English."""
    if not _TOPIC_NAME.match(name) or len(ADMIN_PREFIX + name) > 48:
        raise ValueError(f"bad topic name {name!r}")
    TOPICS[name] = Topic(subject, intro, dict(labels or {}), fill, english)


register_topic(
    "storage.low",
    _l("Storage is running low"),
    _l(
        "The free space under the instance folder is below the floor set by INTAKE_STORAGE_MIN_FREE_MB. "
        "New files are refused until space is freed; reports without files are still accepted."
    ),
    {"free_mb": _l("Free space (MB)"), "floor_mb": _l("Floor (MB)")},
)


def check_facts(facts: Mapping[str, int | str]) -> dict[str, int | str]:
    """The facts of an administrators' notice, refused (ValueError) if any could carry text."""
    if len(facts) > MAX_FACTS:
        raise ValueError("too many facts")
    out: dict[str, int | str] = {}
    for name, value in facts.items():
        if not _FACT_NAME.match(name):
            raise ValueError(f"bad fact name {name!r}")
        if isinstance(value, bool) or not isinstance(value, int | str):
            raise ValueError(f"fact {name} must be a number or a word")
        if isinstance(value, str) and not _FACT_WORD.match(value):
            raise ValueError(f"fact {name} is not a machine word")
        out[name] = value
    return out


def administrators(session: Session) -> list[Officer]:
    return list(
        session.scalars(
            select(Officer)
            .where(Officer.role == Role.ADMIN.value, Officer.active.is_(True), Officer.email.is_not(None))
            .order_by(Officer.id)
        )
    )


def tell_administrators(session: Session, kind: str, counts: Mapping[str, int | str]) -> int:
    """Queue `kind` (a registered topic, e.g. "storage.low") for every active administrator with an
    address, in the caller's transaction; returns how many were queued (0 without a mail server).
    `counts`: at most 8 facts, each a number or a machine word (ValueError otherwise)."""
    if kind not in TOPICS:
        raise ValueError(f"unknown topic {kind!r}: register_topic() it first")
    facts = check_facts(counts)
    if not enabled():
        return 0
    now = dates.now()
    admins = administrators(session)
    for admin in admins:
        session.add(
            Notice(
                kind=ADMIN_PREFIX + kind,
                officer_id=admin.id,
                facts=facts,
                created_at=now,
                due_at=due_for(session, admin, now),
                state=NoticeState.PENDING.value,
                attempts=0,
            )
        )
    return len(admins)


# --- deadline reminders (found by the worker) -----------------------------------------------------------


def last_day(due_at: datetime) -> date:
    """The Bangkok calendar day a deadline falls on (due_at is the midnight that ends it)."""
    return dates.local_date(due_at - timedelta(microseconds=1))


@dataclass(frozen=True)
class Reminder:
    kind: Kind
    case: Case
    day: date
    officer: Officer | None = None
    address: str | None = None
    deadline: str = ""  # escalation: "ack" or "answer"

    @property
    def key(self) -> str:
        who = f"o{self.officer.id}" if self.officer is not None else f"x.{self.case.channel}"
        what = f"{self.kind.value}.{self.deadline}" if self.deadline else self.kind.value
        return f"{what}:{self.case.id}:{who}:{self.day.isoformat()}"


def due_reminders(session: Session, now: datetime) -> list[Reminder]:
    """Every reminder that applies at `now` (written or not)."""
    today = dates.local_date(now)
    horizon = dates.bangkok_midnight(today + timedelta(days=2))  # deadlines ending by tomorrow night
    open_cases = session.scalars(
        select(Case)
        .where(
            Case.status.not_in(CLOSED_STATUSES),
            Case.purged_at.is_(None),
            or_(
                and_(Case.acknowledged_at.is_(None), Case.ack_due_at <= horizon),
                and_(Case.answered_at.is_(None), Case.answer_due_at <= now),
            ),
        )
        .order_by(Case.id)
    ).all()
    days = timedelta(days=escalation_days(session))
    by_channel: dict[str, list[Officer]] = {}
    found: list[Reminder] = []
    for row in open_cases:
        if row.assignee_id is None:
            people = by_channel.setdefault(row.channel, holders(session, row.channel))
        else:
            people = recipients(session, row)
        kinds: list[tuple[Kind, date, str]] = []
        if row.acknowledged_at is None:
            if now < row.ack_due_at:
                kinds.append((Kind.ACK_DUE, last_day(row.ack_due_at), ""))
            else:
                kinds.append((Kind.ACK_OVERDUE, last_day(row.ack_due_at), ""))
                if now >= row.ack_due_at + days:
                    kinds.append((Kind.ESCALATION, last_day(row.ack_due_at), "ack"))
        if row.answered_at is None and now >= row.answer_due_at:
            kinds.append((Kind.ANSWER_OVERDUE, last_day(row.answer_due_at), ""))
            if now >= row.answer_due_at + days:
                kinds.append((Kind.ESCALATION, last_day(row.answer_due_at), "answer"))
        for kind, day, deadline in kinds:
            if kind == Kind.ESCALATION:
                address = escalation_address(session, row.channel)
                if address:
                    found.append(Reminder(kind, row, day, address=address, deadline=deadline))
            else:
                found.extend(Reminder(kind, row, day, officer=o) for o in people)
    return found


def insert_once(session: Session, rows: list[dict[str, Any]]) -> int:
    """Insert notices whose dedupe_key is not there yet (another worker may be inserting the same now)."""
    dialect = session.get_bind().dialect.name
    upsert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    tenant_id = tenancy.current_id()  # a Core insert: the session does not stamp it (intake/tenancy.py)
    rows = [{**row, "tenant_id": tenant_id} for row in rows]
    statement = upsert(Notice).values(rows).on_conflict_do_nothing(index_elements=["dedupe_key"])
    return len(session.execute(statement.returning(Notice.id)).all())  # rowcount: -1 on psycopg here


def find_reminders(session: Session, now: datetime | None = None) -> int:
    """Write the reminders due at `now` that no run wrote before; returns how many are new (caller commits).

    Idempotent across runs and workers: each reminder's key is unique in the outbox."""
    now = now or dates.now()
    if not enabled():
        return 0
    made = storage_warnings(session, now)
    wanted = due_reminders(session, now)
    if not wanted:
        return made
    keys = [r.key for r in wanted]
    existing: set[str] = set()
    for start in range(0, len(keys), 500):
        chunk = keys[start : start + 500]
        existing.update(
            k
            for k in session.scalars(select(Notice.dedupe_key).where(Notice.dedupe_key.in_(chunk)))
            if k is not None
        )
    rows = []
    for reminder in wanted:
        if reminder.key in existing:
            continue
        existing.add(reminder.key)
        rows.append(
            {
                "kind": reminder.kind.value,
                "officer_id": reminder.officer.id if reminder.officer is not None else None,
                "address": reminder.address,
                "channel": reminder.case.channel,
                "case_id": reminder.case.id,
                "facts": {"deadline": reminder.deadline} if reminder.deadline else None,
                "dedupe_key": reminder.key,
                "created_at": now,
                "due_at": due_for(session, reminder.officer, now),
                "state": NoticeState.PENDING.value,
                "attempts": 0,
            }
        )
    for start in range(0, len(rows), 200):
        made += insert_once(session, rows[start : start + 200])
    return made


def storage_warnings(session: Session, now: datetime) -> int:
    """Tell every administrator, once a Bangkok day while it lasts, that new files are refused for lack
    of space (capacity.storage_low); returns how many notices are new."""
    low = capacity.storage_low()
    admins = administrators(session) if low is not None else []
    if low is None or not admins:
        return 0
    day = dates.local_date(now).isoformat()
    free, floor = low.free_bytes // capacity.MB, low.floor_bytes // capacity.MB
    facts = check_facts({"free_mb": free, "floor_mb": floor})
    rows = [
        {
            "kind": ADMIN_PREFIX + "storage.low",
            "officer_id": admin.id,
            "facts": facts,
            "dedupe_key": f"{ADMIN_PREFIX}storage.low:o{admin.id}:{day}",
            "created_at": now,
            "due_at": due_for(session, admin, now),
            "state": NoticeState.PENDING,
            "attempts": 0,
        }
        for admin in admins
    ]
    return insert_once(session, rows)


def still_due(notice: Notice, case_row: Case | None) -> bool:
    """Is a reminder still true when it is about to be sent (the case may have moved since)?"""
    if case_row is None or case_row.is_closed or case_row.purged_at is not None:
        return False
    kind = notice.kind
    deadline = (notice.facts or {}).get("deadline")
    if kind in (Kind.ACK_DUE, Kind.ACK_OVERDUE) or (kind == Kind.ESCALATION and deadline == "ack"):
        return case_row.acknowledged_at is None
    if kind == Kind.ANSWER_OVERDUE or (kind == Kind.ESCALATION and deadline == "answer"):
        return case_row.answered_at is None
    return True


# --- what is waiting for an officer now (the counts a mail ends with) ------------------------------------


def queue_counts(session: Session, officer: Officer, now: datetime) -> dict[str, int]:
    """Open cases of the officer's channels, unassigned or assigned to them: not yet acknowledged, overdue."""
    channels = sorted(officer.channels)
    if not channels:
        return {"unacknowledged": 0, "overdue": 0}
    overdue = or_(
        and_(Case.acknowledged_at.is_(None), Case.ack_due_at <= now),
        and_(Case.answered_at.is_(None), Case.answer_due_at <= now),
    )
    row = session.execute(
        select(
            func.coalesce(func.sum(case((Case.acknowledged_at.is_(None), 1), else_=0)), 0),
            func.coalesce(func.sum(case((overdue, 1), else_=0)), 0),
        ).where(
            Case.channel.in_(channels),
            Case.status.not_in(CLOSED_STATUSES),
            Case.purged_at.is_(None),
            or_(Case.assignee_id.is_(None), Case.assignee_id == officer.id),
        )
    ).one()
    return {"unacknowledged": int(row[0]), "overdue": int(row[1])}


def kinds_of(notices: Iterable[Notice]) -> list[str]:
    return sorted({n.kind for n in notices})
