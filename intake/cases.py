"""Case operations: submit, find by token, follow up, rate, and the officer's handling. No `request` here.

Each case has two random keys: the content key (the submission, follow-ups, replies, public status notes,
citizen attachments) and the internal key (contact details, internal notes, referral details). Both are
sealed to the channel's public key; only the content key is also encrypted under the key derived from
the citizen's token.

Every officer operation checks its own rules (no reply on a closed case, acknowledge once, a duplicate of
a case of the same channel ...), writes its audit entry in the same transaction and raises a named
exception (a CaseError) when a rule says no; the views call one operation and map the exceptions to
messages in one place (officer/case_views.py). Operations flush; the caller commits, except `submit` and
`add_followup`, which commit themselves because the token may be shown only once the case and its files
are durable.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from . import attachments, audit, bodies, crypto, dates, key_contexts, keyring, notices, settings, tokens
from .bodies import Body
from .models import (
    Agency,
    Attachment,
    Case,
    Category,
    Channel,
    Entry,
    EntryKind,
    KeyKind,
    Officer,
    Source,
    Status,
)
from .storage import StorageError, Store


class CaseError(Exception):
    """Base of the named failures of case operations."""


class TokenNotFound(CaseError):
    """No case answers to this token (or the text cannot be a token: the citizen is told the same)."""


class ChannelForbidden(CaseError):
    """The officer holds no key for the case's channel."""


class CaseClosed(CaseError):
    """The case is closed: it takes no follow-up and no reply until an officer reopens it."""


class CaseNotFound(CaseError):
    """No case with this id (or not one the officer may see)."""


class CaseOutsideChannels(CaseNotFound):
    """The case exists in a channel the officer does not hold (answered as CaseNotFound; audited apart)."""


class InvalidTransition(CaseError):
    """The requested change does not apply to the case as it is."""


class AlreadyAcknowledged(InvalidTransition):
    """Acknowledging happens once: the case has left `new` already."""


class NotEligible(InvalidTransition):
    """The chosen officer cannot be assigned: they do not hold the case's channel, or are inactive."""


class DuplicateRefused(CaseError):
    """The case cannot be a duplicate of that one; `reason` is "self", "not_found" or "already"."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class NotRatable(CaseError):
    """Satisfaction is asked on a closed case (not one joined with another), once."""


class CaseUndecryptable(ChannelForbidden):
    """The officer holds the channel, yet the case's own sealed keys do not open: they were altered."""


UNDECRYPTABLE = "undecryptable"  # the kind of a timeline item whose ciphertext does not open


@dataclass(frozen=True)
class CaseKeys:
    content: bytes
    internal: bytes | None = None

    def for_kind(self, kind: str) -> bytes:
        if kind == KeyKind.CONTENT:
            return self.content
        if self.internal is None:
            raise ChannelForbidden("internal key not held")
        return self.internal


@dataclass
class Submitted:
    case: Case
    token: str


@dataclass
class AttachmentInfo:
    id: int
    name: str
    type: str
    size: int
    damaged: bool = False  # its encrypted name and type do not open: shown as "cannot be decrypted"


@dataclass
class TimelineItem:
    kind: str
    at: datetime
    status: str | None = None
    text: str | None = None
    officer: str | None = None
    attachments: list[AttachmentInfo] = field(default_factory=list)
    data: dict[str, Any] = field(default_factory=dict)
    answers: list[bodies.Answer] = field(default_factory=list)  # the submission's, for "received"
    outcome: str | None = None  # "duplicate" for the status entry that joined the case with another


def damaged_items(timeline: list[TimelineItem], contact_damaged: bool = False) -> list[str]:
    """What on a page could not be decrypted (`entry=ID`, `attachment=ID`), for the audit trail."""
    found = [str(item.data["damaged"]) for item in timeline if item.kind == UNDECRYPTABLE]
    found += [f"attachment={a.id}" for item in timeline for a in item.attachments if a.damaged]
    return found + (["contact"] if contact_damaged else [])


def _open_entry(entry: Entry, keys: CaseKeys) -> tuple[bool, Any]:
    """(True, body) or, when one byte of it was altered (tampering, a bad disk), (False, None)."""
    try:
        return True, decrypt_entry(entry, keys)
    except (crypto.CryptoError, ValueError):  # ValueError: JSON that does not parse
        return False, None


def _damaged(entry: Entry) -> TimelineItem:
    return TimelineItem(UNDECRYPTABLE, entry.at, status=entry.status, data={"damaged": f"entry={entry.id}"})


# --- keys ----------------------------------------------------------------------------------------


def officer_keys(session: Session, officer: Officer, officer_private: bytes, case: Case) -> CaseKeys:
    """Open a case's keys through the officer's channel grant; raises ChannelForbidden."""
    channel_private = _channel_private(session, officer, officer_private, case.channel)
    return _open_keys(channel_private, case)


def _channel_private(session: Session, officer: Officer, officer_private: bytes, channel: str) -> bytes:
    try:
        return keyring.channel_private(session, officer, officer_private, channel)
    except keyring.ChannelNotGranted as exc:
        raise ChannelForbidden(channel) from exc


def _open_keys(channel_private: bytes, case: Case) -> CaseKeys:
    try:
        aad = key_contexts.case_keys(case_number(case))
        both = crypto.unseal(channel_private, case.sealed_for_channel, aad)
    except crypto.CryptoError as exc:
        raise CaseUndecryptable(str(case.id)) from exc
    return CaseKeys(both[:32], both[32:])


def _encrypt_entry(case: Case, kind: EntryKind, key_kind: KeyKind, keys: CaseKeys, body: Any) -> bytes:
    data = json.dumps(body, ensure_ascii=False).encode("utf-8")
    return crypto.encrypt(keys.for_kind(key_kind), data, key_contexts.entry(case_number(case), kind))


def decrypt_entry(entry: Entry, keys: CaseKeys) -> Any:
    if entry.body is None or entry.key is None:
        return None
    aad = key_contexts.entry(case_number(entry.case), entry.kind)
    raw = crypto.decrypt(keys.for_kind(entry.key), entry.body, aad)
    return json.loads(raw)


def _add_entry(
    session: Session,
    case: Case,
    kind: EntryKind,
    *,
    keys: CaseKeys | None = None,
    body: Any = None,
    key_kind: KeyKind = KeyKind.CONTENT,
    officer: Officer | None = None,
    status: Status | None = None,
    at: datetime | None = None,
) -> Entry:
    entry = Entry(
        case_id=case.id,
        kind=kind,
        at=at or dates.now(),
        officer_id=officer.id if officer else None,
        status=status,
    )
    if body is not None and keys is not None:
        entry.key = key_kind
        entry.body = _encrypt_entry(case, kind, key_kind, keys, body)
    case.entries.append(entry)
    session.flush()
    return entry


def _add_internal(
    session: Session, case: Case, kind: EntryKind, keys: CaseKeys, body: Any, **fields: Any
) -> Entry:
    """An entry whose body only officers may read: under the internal key, which the citizen never gets."""
    return _add_entry(session, case, kind, keys=keys, body=body, key_kind=KeyKind.INTERNAL, **fields)


def submission_of(case: Case, keys: CaseKeys) -> Body:
    """The case's typed submission body (bodies.py)."""
    for entry in case.entries:
        if entry.kind == EntryKind.SUBMISSION:
            return bodies.from_json(case.channel, decrypt_entry(entry, keys))
    return bodies.from_json(case.channel, {})


# --- citizen side -------------------------------------------------------------------------------


@dataclass
class NewCase:
    """A case written and flushed, not committed yet (submit commits it with its files; an import commits
    every row at once)."""

    case: Case
    token: str
    keys: CaseKeys
    submission: Entry


def create(
    session: Session,
    *,
    body: Body,
    contact: str | None,
    source: Source = Source.WEB,
    received_at: datetime | None = None,
    officer: Officer | None = None,
) -> NewCase:
    """Write a new case encrypted (flushed, not committed): keys, token hash, submission and contact."""
    channel = bodies.channel_of(body)
    token = tokens.make()
    now = dates.now()
    received = received_at or now
    limits = settings.deadlines(session, channel)
    salt = crypto.random_salt()
    category = bodies.category_of(body)
    case = Case(
        channel=Channel(channel),
        source=source,
        category=Category(category) if category else None,
        status=Status.NEW,
        received_at=received,
        created_at=now,
        ack_due_at=dates.due_at(received, limits.acknowledge_days),
        answer_due_at=dates.due_at(received, limits.answer_days),
        token_hash=tokens.lookup_hash(keyring.server_secret(), token),
        citizen_salt=salt,
        sealed_for_channel=b"",
        sealed_for_citizen=b"",
        # A citizen's case waits for an officer; one an officer records has been seen by them.
        needs_attention=officer is None,
        entries=[],  # a new case has none: no lazy load when the first is appended
        attachments=[],
    )
    case.refresh_next_due()
    session.add(case)
    session.flush()
    # Natively a case's number is its row id (unique in its tenant; a restored tenant's numbers are kept
    # and the id sequence is moved past them, backup.py). It rides on the UPDATE that seals the keys.
    case.number = case.id
    keys = CaseKeys(crypto.random_key(), crypto.random_key())
    assert keys.internal is not None  # noqa: S101 - made just above
    case.sealed_for_channel = crypto.seal(
        keyring.channel_public(session, channel),
        keys.content + keys.internal,
        key_contexts.case_keys(case_number(case)),
    )
    citizen_key = crypto.derive_citizen_key(tokens.key_material(token), salt)
    case.sealed_for_citizen = crypto.encrypt(
        citizen_key, keys.content, key_contexts.case_citizen_key(case_number(case))
    )
    entry = _add_entry(
        session,
        case,
        EntryKind.SUBMISSION,
        keys=keys,
        body=bodies.to_json(body),
        officer=officer,
        at=received,
    )
    if contact:
        _add_internal(session, case, EntryKind.CONTACT, keys, {"contact": contact}, at=received)
    return NewCase(case, token, keys, entry)


def submit(
    session: Session,
    *,
    channel: Channel,
    body: Body,
    contact: str | None,
    files: list[attachments.CleanFile],
    store: Store,
    source: Source = Source.WEB,
    received_at: datetime | None = None,
    officer: Officer | None = None,
    before_commit: Callable[[Submitted], None] | None = None,
) -> Submitted:
    """Store a new case encrypted, commit it with its files, and return its token.

    `before_commit` runs in the same transaction, before the files are stored (the receipt of the form
    that sent it, the audit entry of an officer's intake). Raises StoreUnavailable (nothing committed,
    no token) when the files cannot be stored."""
    if bodies.channel_of(body) != channel:
        raise ValueError(f"a {bodies.channel_of(body)} body for the {channel} channel")
    new = create(session, body=body, contact=contact, source=source, received_at=received_at, officer=officer)
    submitted = Submitted(new.case, new.token)
    _before_commit(session, before_commit, submitted, files)
    if new.case.needs_attention:  # a citizen's case (one an officer records has been seen by them)
        notices.on_new_case(session, new.case)  # the outbox, in this transaction
    _commit_with_files(session, new.case, new.submission, new.keys.content, files, store)
    return submitted


def _before_commit(session: Session, hook: Callable[[Any], None] | None, arg: Any,
                   files: list[attachments.CleanFile]) -> None:
    """Run the caller's hook in the transaction; if it refuses (receipts.AlreadyFiled ...), undo it all."""
    if hook is None:
        return
    try:
        hook(arg)
    except BaseException:
        session.rollback()
        attachments.close_all(files)
        raise


def _commit_with_files(
    session: Session,
    case: Case,
    entry: Entry,
    key: bytes,
    files: list[attachments.CleanFile],
    store: Store,
) -> None:
    """Objects first (each durable when stored), then the commit; if anything fails, the objects stored
    so far are removed again (and if that fails too, or the process dies, the orphan sweep removes them)."""
    stored: list[str] = []
    try:
        for clean in files:
            row = attachments.put(store, case, key, clean, KeyKind.CONTENT)
            row.entry_id = entry.id
            stored.append(row.stored_name)
            case.attachments.append(row)
        session.commit()
    except BaseException:
        session.rollback()
        with contextlib.suppress(StorageError):
            attachments.remove_files(store, stored)
        raise
    finally:
        attachments.close_all(files)


@dataclass
class CitizenCase:
    case: Case
    keys: CaseKeys


def find_by_token(session: Session, typed: str) -> CitizenCase:
    """The case a token opens, with its content key; raises TokenNotFound whatever went wrong."""
    try:
        digest = tokens.lookup_hash(keyring.server_secret(), typed)
    except tokens.TokenMalformed as exc:
        raise TokenNotFound from exc
    case = session.scalar(select(Case).where(Case.token_hash == digest))
    if case is None:
        raise TokenNotFound
    citizen_key = crypto.derive_citizen_key(tokens.key_material(typed), case.citizen_salt)
    try:
        aad = key_contexts.case_citizen_key(case_number(case))
        content = crypto.decrypt(citizen_key, case.sealed_for_citizen, aad)
    except crypto.CryptoError as exc:
        raise TokenNotFound from exc
    return CitizenCase(case, CaseKeys(content))


def _status_item(entry: Entry, body: Any, *, citizen: bool) -> TimelineItem:
    body = body if isinstance(body, dict) else {}
    text = body.get("note")
    if citizen and entry.key != KeyKind.CONTENT:  # a note under the internal key is for officers only
        text = None
    return TimelineItem(
        "status",
        entry.at,
        status=entry.status,
        text=text,
        officer=None if citizen else (entry.officer.username if entry.officer else None),
        data=body,
        outcome=body.get("outcome") if entry.key == KeyKind.CONTENT else None,
    )


def citizen_timeline(session: Session, found: CitizenCase) -> list[TimelineItem]:
    """What the citizen may see: receipt, acknowledgement, status changes, replies, their follow-ups."""
    case = found.case
    by_entry = _attachments_by_entry(case, found.keys)
    items: list[TimelineItem] = []
    shown = (EntryKind.SUBMISSION, EntryKind.STATUS, EntryKind.REPLY, EntryKind.FOLLOWUP,
             EntryKind.SATISFACTION)  # fmt: skip
    for entry in case.entries:
        if entry.kind not in shown:
            continue
        if entry.kind == EntryKind.STATUS and entry.key != KeyKind.CONTENT:
            items.append(_status_item(entry, None, citizen=True))
            continue
        opened, raw = _open_entry(entry, found.keys)
        if not opened:
            items.append(_damaged(entry))
            continue
        if entry.kind == EntryKind.SUBMISSION:
            body = bodies.from_json(case.channel, raw)
            items.append(
                TimelineItem(
                    "received",
                    entry.at,
                    data=bodies.to_json(body),
                    answers=bodies.answers(body),
                    attachments=by_entry.get(entry.id, []),
                )
            )
        elif entry.kind == EntryKind.STATUS:
            items.append(_status_item(entry, raw, citizen=True))
        else:
            said: dict[str, Any] = raw or {}
            items.append(
                TimelineItem(
                    entry.kind,
                    entry.at,
                    text=said.get("message") or said.get("comment"),
                    data=said,
                    attachments=by_entry.get(entry.id, []),
                )
            )
    return items


def _attachments_by_entry(case: Case, keys: CaseKeys) -> dict[int, list[AttachmentInfo]]:
    out: dict[int, list[AttachmentInfo]] = {}
    for att in case.attachments:
        if att.key == KeyKind.INTERNAL and keys.internal is None:
            continue
        if att.entry_id is None:
            continue
        try:
            meta = attachments.read_meta(att, keys.for_kind(att.key))
            info = AttachmentInfo(att.id, str(meta["name"]), str(meta["type"]), int(meta["size"]))  # type: ignore[call-overload]
        except (crypto.CryptoError, ValueError, KeyError, TypeError):
            info = AttachmentInfo(att.id, "", "", 0, damaged=True)
        out.setdefault(att.entry_id, []).append(info)
    return out


def add_followup(
    session: Session,
    found: CitizenCase,
    message: str,
    files: list[attachments.CleanFile],
    store: Store,
    *,
    before_commit: Callable[[Entry], None] | None = None,
) -> Entry:
    """A citizen's later message on an open case; raises CaseClosed.

    `before_commit` runs in the same transaction before the files are stored (the form's receipt)."""
    case = found.case
    if case.is_closed:
        attachments.close_all(files)
        raise CaseClosed(str(case.id))
    entry = _add_entry(
        session, case, EntryKind.FOLLOWUP, keys=found.keys, body={"message": message}
    )
    case.needs_attention = True  # the queue marks it until an officer of the channel opens it
    notices.on_followup(session, case)  # the outbox, in this transaction
    _before_commit(session, before_commit, entry, files)
    _commit_with_files(session, case, entry, found.keys.content, files, store)
    return entry


RESEND_WINDOW = timedelta(hours=4)


def repeats_last_followup(found: CitizenCase, message: str, now: datetime | None = None) -> bool:
    """The citizen's latest follow-up said exactly this, within RESEND_WINDOW: the same message sent
    again (a form restored by Back and sent again), not a new one."""
    moment = now or dates.now()
    latest = next((e for e in reversed(found.case.entries) if e.kind == EntryKind.FOLLOWUP), None)
    if latest is None or latest.at < moment - RESEND_WINDOW:
        return False
    said = decrypt_entry(latest, found.keys) or {}
    return " ".join(str(said.get("message", "")).split()) == " ".join(message.split())


def can_rate(case: Case) -> bool:
    """A closed case (not one joined with another) that the citizen has not rated yet."""
    return case.is_closed and not case.is_duplicate and case.satisfaction is None


def rate(session: Session, found: CitizenCase, rating: int, comment: str = "") -> Entry:
    """The citizen's satisfaction with the handling of a closed case, 1..5, once; raises NotRatable.

    The rating is a plaintext figure of the reports; the comment is encrypted (content key)."""
    case = found.case
    if not 1 <= rating <= 5 or not can_rate(case):
        raise NotRatable(str(case.id))
    now = dates.now()
    # Once, even for two taps at the same moment: only the request that finds it unrated sets it.
    done = session.execute(
        update(Case)
        .where(Case.id == case.id, Case.satisfaction.is_(None))
        .values(satisfaction=rating, satisfied_at=now)
        .execution_options(synchronize_session=False)
    )
    if getattr(done, "rowcount", 0) != 1:
        raise NotRatable(str(case.id))
    session.refresh(case, ["satisfaction", "satisfied_at"])
    return _add_entry(
        session,
        case,
        EntryKind.SATISFACTION,
        keys=found.keys,
        body={"rating": rating, "comment": comment},
        at=now,
    )


# --- officer side -------------------------------------------------------------------------------


def case_number(case: Case) -> int:
    """The case's number within its tenant (what its ciphertexts are bound to; see Case.number)."""
    if case.number is None:
        raise CaseError("a case has a number once it is flushed")
    return case.number


def by_number(session: Session, number: int) -> Case | None:
    """The case with this number in the session's tenant."""
    return session.scalar(select(Case).where(Case.number == number))


def get_for_officer(session: Session, case_id: int, channels: set[str]) -> Case:
    """A case (by its number, as URLs carry it) the officer's channels cover; raises CaseNotFound when there
    is none in this tenant, CaseOutsideChannels when their channels do not cover it (the web answers 404)."""
    case = by_number(session, case_id)
    if case is None:
        raise CaseNotFound(str(case_id))
    if case.channel not in channels:
        raise CaseOutsideChannels(str(case_id))
    return case


def record_refusal(session: Session, actor: str, case_id: int, exc: Exception, what: str) -> None:
    """An officer was refused a case (the web answers 404 as for a case that does not exist): on the
    record with why, so that probing other channels' cases shows on the audit trail."""
    if isinstance(exc, CaseOutsideChannels):
        reason = "channel"  # the case exists, in a channel the officer does not hold
    elif isinstance(exc, ChannelForbidden):
        reason = "grant"  # no key for the channel (a grant revoked during the session)
    elif isinstance(exc, attachments.AttachmentMissing):
        reason = "attachment"  # no such file in this case
    else:
        reason = "missing"  # no case with this id
    audit.refused(session, actor, "case", case_id, f"{what}; reason={reason}")


@dataclass
class OfficerCaseView:
    case: Case
    body: Body
    contact: str | None
    timeline: list[TimelineItem]
    duplicates: list[int] = field(default_factory=list)  # numbers of the cases joined with this one
    submission_damaged: bool = False
    contact_damaged: bool = False
    duplicate_of: int | None = None  # the number of the case this one is joined with

    @property
    def damaged(self) -> list[str]:
        return damaged_items(self.timeline, self.contact_damaged)

    @property
    def answers(self) -> list[bodies.Answer]:
        return bodies.answers(self.body)

    @property
    def submission(self) -> dict[str, Any]:
        return bodies.to_json(self.body)


def officer_view(session: Session, case: Case, keys: CaseKeys) -> OfficerCaseView:
    """Everything on the case, decrypted."""
    by_entry = _attachments_by_entry(case, keys)
    body = bodies.from_json(case.channel, {})
    contact = None
    submission_damaged = contact_damaged = False
    timeline: list[TimelineItem] = []
    for entry in case.entries:
        opened, raw = _open_entry(entry, keys)
        who = entry.officer.username if entry.officer else None
        if not opened:
            if entry.kind == EntryKind.CONTACT:  # not on the timeline (internal_flags skip it too)
                contact_damaged = True
                continue
            submission_damaged = submission_damaged or entry.kind == EntryKind.SUBMISSION
            item = _damaged(entry)
            item.officer = who
            timeline.append(item)
            continue
        if entry.kind == EntryKind.SUBMISSION:
            body = bodies.from_json(case.channel, raw)
            timeline.append(
                TimelineItem(
                    "received",
                    entry.at,
                    officer=who,
                    data=bodies.to_json(body),
                    answers=bodies.answers(body),
                    attachments=by_entry.get(entry.id, []),
                )
            )
        elif entry.kind == EntryKind.CONTACT:
            contact = (raw or {}).get("contact")
        elif entry.kind == EntryKind.STATUS:
            timeline.append(_status_item(entry, raw, citizen=False))
        else:
            raw = raw or {}
            timeline.append(
                TimelineItem(
                    entry.kind,
                    entry.at,
                    status=entry.status,
                    officer=who,
                    text=raw.get("message") or raw.get("note") or raw.get("comment"),
                    data=raw,
                    attachments=by_entry.get(entry.id, []),
                )
            )
    # Numbers, as pages and URLs show cases (ids differ from numbers once a tenant has moved deployment).
    joined = [n for n in session.scalars(
        select(Case.number).where(Case.duplicate_of_id == case.id).order_by(Case.number)
    ) if n is not None]
    original = (
        session.scalar(select(Case.number).where(Case.id == case.duplicate_of_id))
        if case.duplicate_of_id is not None else None
    )
    return OfficerCaseView(
        case, body, contact, timeline, joined, submission_damaged, contact_damaged, original
    )


def record_damage(session: Session, actor: str, case: Case, damaged: list[str]) -> None:
    """Put on the record what could not be decrypted on a page (altered ciphertext is never silent)."""
    for what in damaged:
        audit.record(session, actor, "case.undecryptable", case.number, what)


def open_for_officer(
    session: Session, officer: Officer, officer_private: bytes, case_id: int
) -> OfficerCaseView:
    """Open a case for reading: decrypt it, mark it seen by the channel, and put the view on the record.

    Raises CaseNotFound when the officer's channels do not cover it, CaseUndecryptable when the case's
    sealed keys were altered."""
    case = get_for_officer(session, case_id, officer.channels)
    try:
        keys = officer_keys(session, officer, officer_private, case)
    except CaseUndecryptable:  # the officer holds the channel: the page says the case was altered
        raise
    except ChannelForbidden as exc:
        raise CaseNotFound(str(case_id)) from exc
    case.needs_attention = False
    audit.record(session, officer.username, "case.view", case.number)
    return officer_view(session, case, keys)


def subjects(session: Session, officer: Officer, officer_private: bytes, shown: list[Case]) -> dict[int, str]:
    """The first words of each listed case's submission, for the queue (channels the officer holds only).

    Each channel's key is opened once; a case whose content is gone (retention) has no subject."""
    wanted = [c for c in shown if c.purged_at is None and c.channel in officer.channels]
    if not wanted:
        return {}
    privates: dict[str, bytes | None] = {}
    rows = session.scalars(
        select(Entry).where(
            Entry.case_id.in_([c.id for c in wanted]), Entry.kind == EntryKind.SUBMISSION.value
        )
    )
    entries = {e.case_id: e for e in rows}
    out: dict[int, str] = {}
    for case in wanted:
        if case.channel not in privates:
            try:
                privates[case.channel] = _channel_private(session, officer, officer_private, case.channel)
            except ChannelForbidden:
                privates[case.channel] = None
        private = privates[case.channel]
        entry = entries.get(case.id)
        if private is None or entry is None:
            continue
        try:
            keys = _open_keys(private, case)
            out[case.id] = bodies.subject(bodies.from_json(case.channel, decrypt_entry(entry, keys)))
        except (ChannelForbidden, crypto.CryptoError, ValueError):
            continue
    return out


def attachment_for(case: Case, attachment_id: int) -> Attachment:
    for att in case.attachments:
        if att.id == attachment_id:
            return att
    raise CaseNotFound(f"{case.id}/{attachment_id}")


def _note_kind(note: str, public: bool) -> str:
    if not note:
        return "-"
    return "public" if public else "internal"


def _unjoin(case: Case) -> str:
    """A case joined with another leaves it when an officer gives it another outcome (audit detail)."""
    if case.duplicate_of_id is None:
        return ""
    was, case.duplicate_of_id = case.duplicate_of_id, None
    return f"; unjoined={was}"


def _set_status(
    session: Session,
    case: Case,
    officer: Officer | None,
    keys: CaseKeys,
    status: Status,
    body: dict[str, Any] | None,
    *,
    public: bool,
    at: datetime,
) -> Entry:
    """The state change itself, without its audit entry (each operation writes its own)."""
    if case.purged_at is not None:
        raise InvalidTransition("purged")
    if status == Status.NEW:
        raise InvalidTransition("a case cannot go back to new")
    if case.acknowledged_at is None:
        case.acknowledged_at = at
    if status.closed:
        case.closed_at = case.closed_at or at
    else:
        case.closed_at = None
    if status == Status.REFERRED and case.referred_at is None:
        case.referred_at = at
    if public and body and body.get("note") and case.answered_at is None:
        case.answered_at = at
    case.status = status
    case.refresh_next_due()
    return _add_entry(
        session,
        case,
        EntryKind.STATUS,
        keys=keys,
        body=body,
        key_kind=KeyKind.CONTENT if public else KeyKind.INTERNAL,
        officer=officer,
        status=status,
        at=at,
    )


def change_status(
    session: Session,
    case: Case,
    officer: Officer,
    keys: CaseKeys,
    status: Status,
    note: str = "",
    *,
    public: bool = False,
    at: datetime | None = None,
) -> Entry:
    """Move a case to `status`, with an optional note (shown to the citizen when `public`).

    A case joined with another leaves it by any change of status (its outcome is then the new status)."""
    detail = f"status={status.value}; note={_note_kind(note, public)}" + _unjoin(case)
    entry = _set_status(
        session, case, officer, keys, status, {"note": note} if note else None,
        public=public, at=at or dates.now(),
    )
    audit.record(session, officer.username, "case.status", case.number, detail)
    return entry


def acknowledge(session: Session, case: Case, officer: Officer, keys: CaseKeys) -> Entry:
    """Acknowledge receipt, once; raises AlreadyAcknowledged."""
    if case.status != Status.NEW:
        raise AlreadyAcknowledged(str(case.id))
    entry = _set_status(session, case, officer, keys, Status.ACKNOWLEDGED, None, public=False, at=dates.now())
    audit.record(session, officer.username, "case.acknowledge", case.number)
    return entry


def reply(
    session: Session,
    case: Case,
    officer: Officer,
    keys: CaseKeys,
    message: str,
    *,
    at: datetime | None = None,
) -> Entry:
    """A message to the citizen, shown on the tracking page. Counts as acknowledging and answering.

    Raises CaseClosed: a closed case is reopened (its status changed) before it is replied to."""
    if case.is_closed:
        raise CaseClosed(str(case.id))
    when = at or dates.now()
    if case.acknowledged_at is None:
        _set_status(session, case, officer, keys, Status.ACKNOWLEDGED, None, public=False, at=when)
    if case.answered_at is None:
        case.answered_at = when
    case.refresh_next_due()
    entry = _add_entry(
        session,
        case,
        EntryKind.REPLY,
        keys=keys,
        body={"message": message},
        officer=officer,
        at=when,
    )
    audit.record(session, officer.username, "case.reply", case.number)
    return entry


def add_note(session: Session, case: Case, officer: Officer, keys: CaseKeys, note: str) -> Entry:
    """An internal note: internal key, never shown to the citizen."""
    entry = _add_internal(session, case, EntryKind.NOTE, keys, {"note": note}, officer=officer)
    audit.record(session, officer.username, "case.note", case.number)
    return entry


def assign(session: Session, case: Case, officer: Officer, assignee: Officer | None) -> Entry:
    """Assign to an active officer who holds the case's channel (or unassign); raises NotEligible."""
    if assignee is not None and (case.channel not in assignee.channels or not assignee.active):
        raise NotEligible("assignee does not hold this channel")
    case.assignee_id = assignee.id if assignee else None
    notices.on_assigned(session, case, assignee, by=officer)
    entry = _add_entry(session, case, EntryKind.ASSIGN, officer=officer)
    detail = f"assignee={assignee.username if assignee else '-'}"
    audit.record(session, officer.username, "case.assign", case.number, detail)
    return entry


def refer(
    session: Session,
    case: Case,
    officer: Officer,
    keys: CaseKeys,
    agency: Agency,
    reference: str,
    referred_on: str,
    note: str = "",
    *,
    public: bool = False,
) -> Entry:
    """Hand the case to an outside agency; reference and date kept under the internal key."""
    case.referred_to = agency
    unjoined = _unjoin(case)
    details = {"agency": agency.value, "reference": reference, "date": referred_on}
    _add_internal(session, case, EntryKind.REFERRAL, keys, details, officer=officer)
    entry = _set_status(
        session, case, officer, keys, Status.REFERRED, {"note": note} if note else None,
        public=public, at=dates.now(),
    )
    audit.record(session, officer.username, "case.refer", case.number, f"agency={agency.value}{unjoined}")
    return entry


def record_history(
    session: Session,
    case: Case,
    keys: CaseKeys,
    status: Status,
    closed_at: datetime | None,
    officer: Officer | None = None,
) -> None:
    """The state a case from an old register was in (register_import.py): one status entry, on the day it
    was closed for a closed case (acknowledged and answered by then), on the day received otherwise."""
    if status == Status.NEW:
        return
    at = closed_at if status.closed and closed_at is not None else case.received_at
    _set_status(session, case, officer, keys, status, None, public=False, at=at)
    if status.closed:
        case.answered_at = case.answered_at or at
    case.refresh_next_due()


def _root(session: Session, case: Case) -> Case:
    """The case a chain of duplicates ends at (chains are never made, but an edited database might)."""
    seen = {case.id}
    while case.duplicate_of_id is not None:
        parent = session.get(Case, case.duplicate_of_id)
        if parent is None or parent.id in seen:
            break
        seen.add(parent.id)
        case = parent
    return case


def mark_duplicate(session: Session, case: Case, officer: Officer, keys: CaseKeys, original_id: int) -> Case:
    """Close `case` as a duplicate of the case numbered `original_id` (the number officers see and type) of
    the same channel; returns the original.

    The citizen of the duplicate sees a neutral "joined with another case" (nothing of the other case);
    the figures count the pair once. Cases already joined with `case` move to the original with it.
    Raises DuplicateRefused ("self", "not_found": no such case in this channel, "already")."""
    if case.purged_at is not None:
        raise InvalidTransition("purged")
    found = by_number(session, original_id)
    if found is None or found.channel != case.channel:
        raise DuplicateRefused("not_found")
    original = _root(session, found)
    if original.id == case.id:
        raise DuplicateRefused("self")
    if case.duplicate_of_id == original.id:
        raise DuplicateRefused("already")
    moved = session.execute(
        update(Case)
        .where(Case.duplicate_of_id == case.id)
        .values(duplicate_of_id=original.id)
        .execution_options(synchronize_session="fetch")
    )
    case.duplicate_of_id = original.id
    _set_status(
        session, case, officer, keys, Status.DISMISSED, {"outcome": "duplicate"}, public=True, at=dates.now()
    )
    detail = f"of={original.number}; moved={int(getattr(moved, 'rowcount', 0) or 0)}"
    audit.record(session, officer.username, "case.duplicate", case.number, detail)
    return original
