"""The notification worker: finds deadline reminders, sends the outbox, retries, and the `notify` command.

    flask --app wsgi notify          runs until stopped (SIGTERM or SIGINT: the mail being sent is
                                     finished, the rest released for the next run, exit 0)
    flask --app wsgi notify --once   sends what is due and exits 0 (cron, a systemd timer)

Each round: write the deadline reminders due now (intake/notices.py: unique keys, so any number of runs and
workers write each once), once a Bangkok day verify each tenant's audit chain and tell its administrators
the anchor (intake/anchors.py), then claim due notices in batches. A claim is a short transaction: on
PostgreSQL `SELECT … FOR UPDATE SKIP LOCKED` picks rows no other worker is looking at, and a lease
(`lease_until`, `claim`) marks them as this worker's until it expires; the mail itself is sent outside any
transaction. Before each mail the lease is renewed for exactly the rows still held (a fence: a worker that
lost its lease sends nothing), then one mail per recipient carries all of their due notices, then the rows
are marked sent and the delivery logged, in one commit. A failed attempt is retried after
NOTIFY_RETRY_SECONDS, doubled each time (at most 6 hours), up to NOTIFY_MAX_ATTEMPTS; then the notice is
`failed` and shown to administrators (banner, delivery log), who can send it again.

SQLite allows one worker: a second one (daemon or --once) is refused while the first holds the lock
(`flock` on a file beside the database). Several workers on PostgreSQL send each notice once.

At least once, not more, on every path but one: a worker killed after the server accepted a mail and before
its commit sends it again when the lease expires. That mail keeps its Message-ID, so most mail systems
show it once.
"""

from __future__ import annotations

import contextlib
import dataclasses
import fcntl
import logging
import os
import secrets
import signal
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import IO, Any

import click
from flask import Flask, current_app, render_template
from flask.cli import with_appcontext
from flask_babel import force_locale, ngettext
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import and_, delete, func, or_, select, update
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import set_committed_value

from . import anchors, audit, dates, db, mailer, notices, settings, tenancy, urls
from .cli import CommandFailed
from .models import Case, Delivery, Notice, NoticeState, NotifyMode, Officer
from .notices import ADMIN_PREFIX, Kind

log = logging.getLogger("intake.notify")
BATCH = 50
MAX_BACKOFF = timedelta(hours=6)
TEST_MAIL_TIMEOUT = 10.0  # seconds per SMTP step for the test mail, sent within the administrator's request
STALLED_AFTER = timedelta(minutes=15)  # a due notice nobody took for this long: is the worker running?
KEEP = timedelta(days=90)  # sent event notices are deleted after this (prune)

KIND_LABELS: dict[str, Any] = {
    Kind.CASE_NEW: _l("New cases"),
    Kind.FOLLOWUP: _l("New messages from citizens on their cases"),
    Kind.ASSIGNED: _l("Cases assigned to you"),
    Kind.ACK_DUE: _l("Cases to acknowledge by the end of tomorrow"),
    Kind.ACK_OVERDUE: _l("Cases past the acknowledgement deadline"),
    Kind.ANSWER_OVERDUE: _l("Cases past the answer deadline"),
    Kind.ESCALATION: _l("Cases overdue by more than the days set for escalation"),
    Kind.TEST: _l("Test mail"),
}
ORDER = [
    Kind.CASE_NEW,
    Kind.FOLLOWUP,
    Kind.ASSIGNED,
    Kind.ACK_DUE,
    Kind.ACK_OVERDUE,
    Kind.ANSWER_OVERDUE,
    Kind.ESCALATION,
]
RESULT_LABELS: dict[str, Any] = {
    "sent": _l("sent"),
    "retry": _l("failed, will retry"),
    "failed": _l("failed, no more retries"),
    "dropped": _l("not sent: nobody to tell"),
}


def kind_label(kind: str) -> str:
    if kind.startswith(ADMIN_PREFIX):
        topic = notices.TOPICS.get(kind.removeprefix(ADMIN_PREFIX))
        return str(topic.subject) if topic else kind
    return str(KIND_LABELS.get(kind, kind))


@dataclass(frozen=True)
class WorkerConfig:
    poll: float
    scan: float
    retry: float
    max_attempts: int
    lease: timedelta

    @classmethod
    def from_app(cls, config: Any) -> WorkerConfig:
        return cls(
            poll=max(0.05, float(config["NOTIFY_POLL_SECONDS"])),
            scan=max(0.0, float(config["NOTIFY_SCAN_SECONDS"])),
            retry=max(0.0, float(config["NOTIFY_RETRY_SECONDS"])),
            max_attempts=max(1, int(config["NOTIFY_MAX_ATTEMPTS"])),
            lease=timedelta(seconds=max(30.0, float(config["NOTIFY_LEASE_SECONDS"]))),
        )

    def backoff(self, attempts: int) -> timedelta:
        """The wait after the `attempts`-th failed attempt: retry, 2 x retry, 4 x retry … at most 6 hours."""
        seconds = self.retry * (2 ** min(max(attempts - 1, 0), 20))
        return min(timedelta(seconds=seconds), MAX_BACKOFF)


@dataclass
class Summary:
    reminders: int = 0
    mails: int = 0
    notices: int = 0
    retried: int = 0
    failed: int = 0
    dropped: int = 0

    def add(self, other: Summary) -> None:
        for name in ("reminders", "mails", "notices", "retried", "failed", "dropped"):
            setattr(self, name, getattr(self, name) + getattr(other, name))

    def line(self) -> str:
        return (
            f"{self.reminders} new reminders; {self.mails} mails sent carrying {self.notices} notices; "
            f"{self.retried} to retry, {self.failed} failed, {self.dropped} with nobody to tell."
        )


# --- what a mail says ----------------------------------------------------------------------------------


@dataclass
class Group:
    """The due notices of one recipient in one claim: one mail."""

    address: str
    officer: Officer | None
    rows: list[Notice] = field(default_factory=list)


def _sender_name(session: Session) -> str:
    return settings.get(session, "municipality_name")


def compose(session: Session, group: Group, now: datetime) -> mailer.Letter:
    """Thai subject, text and HTML for a group of notices: kinds, counts, the sign-in link; nothing else."""
    counts: dict[str, int] = {}
    for row in group.rows:
        counts[row.kind] = counts.get(row.kind, 0) + 1
    officer = group.officer
    digest = officer is not None and officer.notify_mode == NotifyMode.DIGEST
    days = notices.escalation_days(session)
    with force_locale("th"):
        items = []
        for kind in ORDER:
            if kind in counts:
                label = (
                    ngettext(
                        "Cases overdue by more than %(num)d day",
                        "Cases overdue by more than %(num)d days",
                        days,
                    )
                    if kind == Kind.ESCALATION
                    else str(KIND_LABELS[kind])
                )
                items.append((label, counts[kind]))
        topics = []
        for row in group.rows:
            if row.kind.startswith(ADMIN_PREFIX):
                topic = notices.TOPICS.get(row.kind.removeprefix(ADMIN_PREFIX))
                said = _topic_said(topic, row)
                if topic is not None and topic.english:
                    with force_locale("en"):
                        said["english"] = _topic_said(topic, row)
                topics.append(said)
        queue = notices.queue_counts(session, officer, now) if officer is not None and items else None
        total = sum(counts.values())
        if items and digest:
            subject = ngettext(
                "Daily summary: %(num)d item needs attention",
                "Daily summary: %(num)d items need attention",
                total,
            )
        elif items and officer is None:
            subject = _("Overdue cases to follow up")
        elif items:
            subject = _("Something needs your attention in the citizen channels")
        elif len(topics) == 1:
            subject = topics[0]["subject"]
            if "english" in topics[0]:
                subject = f"{subject} / {topics[0]['english']['subject']}"
        else:
            subject = _("Notices for administrators")
        context = {
            "items": items,
            "topics": topics,
            "queue": queue,
            "digest": digest,
            "escalation": officer is None,
            "login_url": login_url(),
            "municipality": _sender_name(session),
        }
        text = render_template("mail/notice.txt", **context)
        html = render_template("mail/notice.html", subject=subject, **context)
    return mailer.Letter(str(subject), text, html)


def _topic_said(topic: notices.Topic | None, row: Notice) -> dict[str, Any]:
    """An administrators' notice in the current locale: subject, intro (with its facts, if it names
    them), and the facts with their labels."""
    facts = dict(row.facts or {})
    if topic is None:
        return {"subject": row.kind, "intro": "", "facts": list(facts.items())}
    intro = str(topic.intro)
    if topic.fill:
        try:
            intro = intro % facts
        except (KeyError, TypeError, ValueError):  # a notice written before its topic named these facts
            intro = str(topic.intro)
    labelled = [(str(topic.labels.get(k, k)), v) for k, v in facts.items()]
    return {"subject": str(topic.subject), "intro": intro, "facts": labelled}


def login_url() -> str:
    """The officers' sign-in page on the public address (urls.public_url), "" when none is known (no
    INTAKE_PUBLIC_URL outside a request): the mail then says where to sign in, in words."""
    try:
        return urls.public_url("officer.login")
    except urls.PublicUrlUnknown:
        return ""


def test_letter(session: Session) -> mailer.Letter:
    with force_locale("th"):
        context: dict[str, Any] = {
            "items": [],
            "topics": [],
            "queue": None,
            "digest": False,
            "escalation": False,
            "test": True,
            "login_url": login_url(),
            "municipality": _sender_name(session),
        }
        subject = _("Test mail from the citizen channels")
        text = render_template("mail/notice.txt", **context)
        html = render_template("mail/notice.html", subject=subject, **context)
    return mailer.Letter(str(subject), text, html)


def send_test(session: Session, address: str, by: Officer) -> tuple[bool, str]:
    """Send a test mail now (not through the outbox: the administrator sees the server's answer at once).
    Logged in the delivery log and the audit trail; the caller commits."""
    config = mailer.MailConfig.from_app(current_app.config)
    config = dataclasses.replace(config, timeout=min(config.timeout, TEST_MAIL_TIMEOUT))
    now = dates.now()
    msg = mailer.message(config, address, test_letter(session), sender_name=_sender_name(session), when=now)
    try:
        with mailer.Connection(config) as conn:
            detail = conn.send(msg, address)
        ok = True
    except mailer.MailFailed as exc:
        ok, detail = False, exc.detail
    session.add(
        Delivery(
            at=now,
            address=address,
            kinds=Kind.TEST.value,
            notices=0,
            result="sent" if ok else "failed",
            detail=detail,
            message_id=str(msg["Message-ID"]),
        )
    )
    audit.record(session, by.username, "mail.test", None, "result=" + ("sent" if ok else "failed"))
    return ok, detail


# --- claiming and sending ------------------------------------------------------------------------------


def _available(now: datetime, due_by: datetime | None = None) -> Any:
    return and_(
        Notice.state == NoticeState.PENDING.value,
        Notice.due_at <= (due_by or now),
        or_(Notice.lease_until.is_(None), Notice.lease_until < now),
    )


def claim(
    session: Session,
    now: datetime,
    lease: timedelta,
    limit: int | None = None,
    due_by: datetime | None = None,
) -> tuple[str, list[Notice]]:
    """Take up to `limit` (BATCH) notices due by `due_by` (now) under a new lease (committed); ("", [])
    when none is due."""
    token = secrets.token_hex(8)
    ids = list(
        session.scalars(
            select(Notice.id)
            .where(_available(now, due_by))
            .order_by(Notice.due_at, Notice.id)
            .limit(limit or BATCH)
            .with_for_update(skip_locked=True)
        )
    )
    if not ids:
        session.rollback()
        return "", []
    session.execute(
        update(Notice)
        .where(Notice.id.in_(ids), _available(now, due_by))
        .values(lease_until=now + lease, claim=token)
        .execution_options(synchronize_session=False)
    )
    session.commit()
    rows = list(session.scalars(select(Notice).where(Notice.claim == token).order_by(Notice.id)))
    return token, rows


def _drop_reason(session: Session, row: Notice) -> str | None:
    """Why a notice should no longer go to its recipient, or None when it should."""
    if row.officer_id is None:  # a channel's escalation address
        if not row.address:
            return "no address"
        if row.channel and notices.escalation_address(session, row.channel).lower() != row.address.lower():
            return "escalation address changed"
        if row.case_id is not None and not notices.still_due(row, session.get(Case, row.case_id)):
            return "no longer due"
        return None
    officer = session.get(Officer, row.officer_id)
    if officer is None or not officer.active:
        return "account deactivated"
    if not officer.email:
        return "no address"
    if row.channel and row.channel not in officer.channels:
        return "channel no longer held"
    if row.kind.startswith(ADMIN_PREFIX) and officer.role != "admin":
        return "no longer an administrator"
    if row.case_id is not None:
        case_row = session.get(Case, row.case_id)
        if case_row is None:
            return "case gone"
        if row.kind in notices.CASE_KINDS and case_row.assignee_id not in (None, officer.id):
            return "assigned to another officer"
        if row.kind in (Kind.CASE_NEW, Kind.FOLLOWUP) and not case_row.needs_attention:
            return "seen already"  # an officer of the channel opened it since (e.g. before a digest)
        if row.kind == Kind.ASSIGNED and case_row.assignee_id != officer.id:
            return "assignment changed"
        if row.kind in notices.REMINDER_KINDS and not notices.still_due(row, case_row):
            return "no longer due"
    return None


def _address_of(session: Session, row: Notice) -> tuple[str, Officer | None]:
    if row.officer_id is None:
        return str(row.address), None
    officer = session.get(Officer, row.officer_id)
    if officer is None or not officer.email:  # _drop_reason checked it
        raise LookupError(row.officer_id)
    return officer.email, officer


class Worker:
    """Sends the outbox of one app. `stop` (an Event) ends a run between two mails."""

    def __init__(self, app: Flask, stop: threading.Event | None = None) -> None:
        self.app = app
        self.stop = stop or threading.Event()
        self.config = WorkerConfig.from_app(app.config)
        self.mail = mailer.MailConfig.from_app(app.config)

    def run_once(self, now: datetime | None = None, *, reminders: bool = True) -> Summary:
        """Reminders, then every notice due when the run began, in batches, until none is left (or `stop`
        is set). A notice that fails is tried again in a later run, after its backoff, never in this one."""
        clock: Callable[[], datetime] = (lambda: now) if now is not None else dates.now
        total = Summary()
        # Each tenant's outbox in turn, in that tenant's scope (intake/tenancy.py): its officers, its cases,
        # its public address in the links.
        with self.app.app_context(), db.new_session() as session, mailer.Connection(self.mail) as conn:
            for tenant in tenancy.all_tenants():
                if self.stop.is_set():
                    break
                tenancy.activate(tenant.id)
                tenancy.bind(session, tenancy.Scope(tenant.id))
                if reminders:
                    total.reminders += notices.find_reminders(session, clock())
                    prune(session, clock())
                    session.commit()
                    total.reminders += anchors.daily(session, clock())  # commits what it verified
                started = clock()
                while not self.stop.is_set():
                    token, rows = claim(session, clock(), self.config.lease, due_by=started)
                    if not rows:
                        break
                    total.add(self._send_claim(session, conn, token, rows, clock))
        return total

    def run_forever(self) -> None:
        """Rounds every NOTIFY_POLL_SECONDS (reminders every NOTIFY_SCAN_SECONDS) until `stop` is set.
        An engine that is away (database, mail server) is logged and tried again next round."""
        next_scan = 0.0
        while not self.stop.is_set():
            scan = time.monotonic() >= next_scan
            try:
                summary = self.run_once(reminders=scan)
            except SQLAlchemyError as exc:
                log.warning(
                    "notify: the database is unavailable (%s); trying again shortly", type(exc).__name__
                )
            else:
                if scan:
                    next_scan = time.monotonic() + self.config.scan
                if summary.mails or summary.retried or summary.failed or summary.reminders:
                    log.info("notify: %s", summary.line())
            self.stop.wait(self.config.poll)

    def _send_claim(
        self,
        session: Session,
        conn: mailer.Connection,
        token: str,
        rows: list[Notice],
        clock: Callable[[], datetime],
    ) -> Summary:
        summary = Summary()
        groups: dict[str, Group] = {}
        now = clock()
        for row in rows:
            reason = _drop_reason(session, row)
            if reason is not None:
                row.state, row.lease_until, row.claim, row.last_error = (
                    NoticeState.DROPPED,
                    None,
                    None,
                    reason,
                )
                session.add(
                    Delivery(
                        at=now,
                        address=_shown_recipient(session, row),
                        kinds=row.kind,
                        notices=1,
                        result="dropped",
                        detail=reason,
                    )
                )
                summary.dropped += 1
                continue
            address, officer = _address_of(session, row)
            groups.setdefault(address.lower(), Group(address, officer)).rows.append(row)
        session.commit()
        down: mailer.MailFailed | None = None
        for group in groups.values():
            if self.stop.is_set():
                break
            if down is not None:  # the server is unreachable: the others wait for the next attempt
                summary.add(self._failed(session, group, down, clock()))
                continue
            try:
                summary.add(self._send_group(session, conn, token, group, clock))
            except mailer.MailFailed as exc:
                summary.add(self._failed(session, group, exc, clock()))
                if exc.connection:
                    down = exc
            except SQLAlchemyError:
                raise  # the database is away: run_forever waits and tries again; leases expire
            except Exception as exc:  # a bug must not stop every later mail: count it as a failed attempt
                log.exception("notify: could not send a mail")
                session.rollback()
                failure = mailer.MailFailed(f"internal error: {type(exc).__name__}")
                summary.add(self._failed(session, group, failure, clock()))
        self._release(session, token)
        return summary

    def _send_group(
        self,
        session: Session,
        conn: mailer.Connection,
        token: str,
        group: Group,
        clock: Callable[[], datetime],
    ) -> Summary:
        now = clock()
        ids = [row.id for row in group.rows]
        # The fence: renew the lease of exactly these rows, still ours and still pending; else send nothing.
        # A mail sent again (its first sending was not recorded) keeps its Message-ID.
        reused = {row.message_id for row in group.rows}
        kept = reused.pop() if len(reused) == 1 else None
        message_id = kept or mailer.new_message_id(self.mail)
        held = session.execute(
            update(Notice)
            .where(Notice.id.in_(ids), Notice.claim == token, Notice.state == NoticeState.PENDING.value)
            .values(lease_until=now + self.config.lease, message_id=message_id)
            .execution_options(synchronize_session=False)
        )
        if int(getattr(held, "rowcount", 0) or 0) != len(ids):
            session.rollback()
            log.warning("notify: lost the lease on %d notices; another worker sends them", len(ids))
            return Summary()
        session.commit()
        for row in group.rows:
            set_committed_value(row, "message_id", message_id)
        letter = compose(session, group, now)
        msg = mailer.message(
            self.mail,
            group.address,
            letter,
            sender_name=_sender_name(session),
            when=now,
            message_id=message_id,
        )
        detail = conn.send(msg, group.address)  # MailFailed goes to the caller
        self._mark_sent(session, group, detail, message_id, clock())
        return Summary(mails=1, notices=len(group.rows))

    def _mark_sent(self, session: Session, group: Group, detail: str, message_id: str, now: datetime) -> None:
        """The mail is with the server: record it, trying hard (a lost commit here means a second mail)."""
        ids = [row.id for row in group.rows]
        kinds = ",".join(notices.kinds_of(group.rows))[:200]
        for attempt in range(5):
            try:
                session.execute(
                    update(Notice)
                    .where(Notice.id.in_(ids))
                    .values(
                        state=NoticeState.SENT.value,
                        sent_at=now,
                        lease_until=None,
                        claim=None,
                        attempts=Notice.attempts + 1,
                        last_error=None,
                    )
                    .execution_options(synchronize_session=False)
                )
                session.add(
                    Delivery(
                        at=now,
                        address=group.address,
                        kinds=kinds,
                        notices=len(ids),
                        result="sent",
                        detail=detail,
                        message_id=message_id,
                    )
                )
                session.commit()
                for row in group.rows:
                    session.expire(row)
                return
            except SQLAlchemyError:
                session.rollback()
                if attempt == 4:
                    raise
                time.sleep(0.5 * (attempt + 1))

    def _failed(self, session: Session, group: Group, exc: mailer.MailFailed, now: datetime) -> Summary:
        summary = Summary()
        given_up = False
        for row in group.rows:
            row.attempts += 1
            row.last_error = exc.detail
            row.lease_until, row.claim = None, None
            if row.attempts >= self.config.max_attempts:
                row.state = NoticeState.FAILED
                given_up = True
                summary.failed += 1
            else:
                row.due_at = now + self.config.backoff(row.attempts)
                summary.retried += 1
        session.add(
            Delivery(
                at=now,
                address=group.address,
                kinds=",".join(notices.kinds_of(group.rows))[:200],
                notices=len(group.rows),
                result="failed" if given_up else "retry",
                detail=exc.detail,
                message_id=group.rows[0].message_id,
            )
        )
        session.commit()
        return summary

    def _release(self, session: Session, token: str) -> None:
        """What this claim did not send (stopped, lease lost) is free again at once."""
        session.execute(
            update(Notice)
            .where(Notice.claim == token, Notice.state == NoticeState.PENDING.value)
            .values(lease_until=None, claim=None)
            .execution_options(synchronize_session=False)
        )
        session.commit()


def prune(session: Session, now: datetime) -> int:
    """Forget event notices (new case, follow-up, assignment, administrators') sent or dropped more than
    KEEP ago; the delivery log keeps their lines. Reminders stay: their keys are what makes a later scan
    find them written already. Returns how many rows went (the caller commits)."""
    result = session.execute(
        delete(Notice)
        .where(
            Notice.dedupe_key.is_(None),
            Notice.state.in_((NoticeState.SENT.value, NoticeState.DROPPED.value)),
            Notice.created_at < now - KEEP,
        )
        .execution_options(synchronize_session=False)
    )
    return int(getattr(result, "rowcount", 0) or 0)


def _shown_recipient(session: Session, row: Notice) -> str:
    if row.officer_id is None:
        return row.address or "-"
    officer = session.get(Officer, row.officer_id)
    return (officer.email or officer.username) if officer is not None else "-"


# --- what administrators see ---------------------------------------------------------------------------


@dataclass(frozen=True)
class OutboxState:
    pending: int
    failed: int
    stalled: int  # due for a while and not taken: the worker may not be running
    oldest_due: datetime | None


def outbox_state(session: Session, now: datetime | None = None) -> OutboxState:
    now = now or dates.now()
    pending_due = and_(Notice.state == NoticeState.PENDING.value, Notice.due_at <= now)
    pending = (
        session.scalar(
            select(func.count()).select_from(Notice).where(Notice.state == NoticeState.PENDING.value)
        )
        or 0
    )
    failed = (
        session.scalar(
            select(func.count()).select_from(Notice).where(Notice.state == NoticeState.FAILED.value)
        )
        or 0
    )
    stalled = (
        session.scalar(
            select(func.count())
            .select_from(Notice)
            .where(pending_due, Notice.due_at <= now - STALLED_AFTER, Notice.attempts == 0)
        )
        or 0
    )
    oldest = session.scalar(select(func.min(Notice.due_at)).where(pending_due))
    return OutboxState(int(pending), int(failed), int(stalled), oldest)


def retry_failed(session: Session, by: Officer) -> int:
    """Every failed notice back in the outbox, due now, with its attempts counted afresh (caller commits)."""
    result = session.execute(
        update(Notice)
        .where(Notice.state == NoticeState.FAILED.value)
        .values(state=NoticeState.PENDING.value, attempts=0, due_at=dates.now(), lease_until=None, claim=None)
        .execution_options(synchronize_session=False)
    )
    count = int(getattr(result, "rowcount", 0) or 0)
    audit.record(session, by.username, "notices.retry", None, f"notices={count}")
    return count


def dismiss_failed(session: Session, by: Officer) -> int:
    """Give up on every failed notice (they stay in the log as dropped; caller commits)."""
    result = session.execute(
        update(Notice)
        .where(Notice.state == NoticeState.FAILED.value)
        .values(state=NoticeState.DROPPED.value, last_error="dismissed by an administrator")
        .execution_options(synchronize_session=False)
    )
    count = int(getattr(result, "rowcount", 0) or 0)
    audit.record(session, by.username, "notices.dismiss", None, f"notices={count}")
    return count


# --- the command ---------------------------------------------------------------------------------------


class WorkerRefused(CommandFailed):
    """A one-line reason, exit status 1."""


@contextlib.contextmanager
def single_worker_lock(url: str) -> Iterator[None]:
    """On SQLite, one worker at a time: an exclusive `flock` on a file beside the database (released by
    the kernel when the process ends, however it ends). Nothing to hold on PostgreSQL."""
    if not url.startswith("sqlite:///") or url == "sqlite:///:memory:":
        yield
        return
    path = Path(url.removeprefix("sqlite:///") + ".notify-lock")
    path.parent.mkdir(parents=True, exist_ok=True)
    handle: IO[str] = open(path, "a")  # noqa: SIM115 - held for the whole run
    try:
        try:
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError as exc:
            raise WorkerRefused(
                "another notify worker is running on this SQLite database (SQLite allows one; several "
                "workers need PostgreSQL)"
            ) from exc
        yield
    finally:
        handle.close()


@click.command("notify")
@click.option("--once", is_flag=True, help="Send what is due and exit (for cron or a systemd timer).")
@with_appcontext
def notify_command(once: bool) -> None:
    """Send notification mails: until stopped (SIGTERM/SIGINT), or once."""
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    config = mailer.MailConfig.from_app(app.config)
    if not config.configured:
        raise WorkerRefused("no mail server is configured: set INTAKE_MAIL_SERVER and INTAKE_MAIL_FROM")
    if not login_url():
        click.echo(
            "Warning: INTAKE_PUBLIC_URL is not set; mails will not link to the sign-in page.", err=True
        )
    with single_worker_lock(str(app.config["DATABASE_URL"])):
        worker = Worker(app)
        if once:
            try:
                summary = worker.run_once()
            except SQLAlchemyError as exc:
                raise WorkerRefused(
                    f"the database is unavailable ({type(exc).__name__}); nothing was lost"
                ) from exc
            click.echo(summary.line())
            return

        def stop(signum: int, _frame: Any) -> None:
            worker.stop.set()

        signal.signal(signal.SIGTERM, stop)
        signal.signal(signal.SIGINT, stop)
        if not log.handlers and not logging.getLogger().handlers:  # journald gets the round summaries
            handler = logging.StreamHandler()
            handler.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))
            log.addHandler(handler)
            log.setLevel(logging.INFO)
        click.echo(f"Notify worker started (pid {os.getpid()}) for {config.describe()}; stop with SIGTERM.")
        worker.run_forever()
        click.echo("Notify worker stopped.")


def register(app: Flask) -> None:
    app.cli.add_command(notify_command)
