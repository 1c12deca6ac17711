"""Case operations: submit, find by token, follow up, and the officer's handling. No `request` here.

Each case has two random keys: the content key (the submission, follow-ups, replies, public status notes,
citizen attachments) and the internal key (contact details, internal notes, referral details). Both are
sealed to the channel's public key; only the content key is also encrypted under the key derived from
the citizen's token. Operations flush; the caller commits, except `submit` and `add_followup`, which
commit themselves because the token may be shown only once the case and its files are durable.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from . import attachments, audit, crypto, dates, key_contexts, keyring, settings, tokens
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
    """The case is closed: it takes no more follow-ups."""


class CaseNotFound(CaseError):
    """No case with this id (or not one the officer may see)."""


class InvalidTransition(CaseError):
    """The requested change does not apply to the case as it is."""


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
class TimelineItem:
    kind: str
    at: datetime
    status: str | None = None
    text: str | None = None
    officer: str | None = None
    attachments: list[AttachmentInfo] = field(default_factory=list)
    data: dict[str, Any] = field(default_factory=dict)


@dataclass
class AttachmentInfo:
    id: int
    name: str
    type: str
    size: int
    damaged: bool = False  # its encrypted name and type do not open: shown as "cannot be decrypted"


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
    try:
        channel_private = keyring.channel_private(session, officer, officer_private, case.channel)
    except keyring.ChannelNotGranted as exc:
        raise ChannelForbidden(case.channel) from exc
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


# --- citizen side -------------------------------------------------------------------------------


def submit(
    session: Session,
    *,
    channel: Channel,
    body: dict[str, Any],
    contact: str | None,
    files: list[attachments.CleanFile],
    store: Store,
    source: Source = Source.WEB,
    received_at: datetime | None = None,
    category: str | None = None,
    officer: Officer | None = None,
    before_commit: Callable[[Case], None] | None = None,
) -> Submitted:
    """Store a new case encrypted, commit it with its files, and return its token.

    Raises StoreUnavailable (nothing committed, no token) when the files cannot be stored."""
    token = tokens.make()
    now = dates.now()
    received = received_at or now
    limits = settings.deadlines(session, channel.value)
    salt = crypto.random_salt()
    case = Case(
        channel=channel,
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
        entries=[],  # a new case has none: no lazy load when the first is appended
        attachments=[],
    )
    session.add(case)
    session.flush()
    # Natively a case's number is its row id (unique in its tenant; a restored tenant's numbers are kept
    # and the id sequence is moved past them, backup.py). It rides on the UPDATE that seals the keys.
    case.number = case.id
    keys = CaseKeys(crypto.random_key(), crypto.random_key())
    assert keys.internal is not None  # noqa: S101 - made just above
    case.sealed_for_channel = crypto.seal(
        keyring.channel_public(session, channel.value),
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
        body=body,
        officer=officer,
        at=received,
    )
    if contact:
        _add_internal(session, case, EntryKind.CONTACT, keys, {"contact": contact}, at=received)
    if before_commit is not None:  # e.g. the audit entry of an officer's intake, in the same transaction
        before_commit(case)
    _commit_with_files(session, case, entry, keys.content, files, store)
    return Submitted(case, token)


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


def citizen_timeline(session: Session, found: CitizenCase) -> list[TimelineItem]:
    """What the citizen may see: receipt, acknowledgement, status changes, replies, their follow-ups."""
    case = found.case
    by_entry = _attachments_by_entry(case, found.keys)
    items: list[TimelineItem] = []
    for entry in case.entries:
        if entry.kind not in (EntryKind.SUBMISSION, EntryKind.STATUS, EntryKind.REPLY, EntryKind.FOLLOWUP):
            continue
        if entry.kind == EntryKind.STATUS and entry.key != KeyKind.CONTENT:
            items.append(TimelineItem("status", entry.at, status=entry.status))
            continue
        opened, raw = _open_entry(entry, found.keys)
        if not opened:
            items.append(_damaged(entry))
            continue
        body = raw or {}
        if entry.kind == EntryKind.SUBMISSION:
            items.append(
                TimelineItem("received", entry.at, data=body, attachments=by_entry.get(entry.id, []))
            )
        elif entry.kind == EntryKind.STATUS:
            items.append(TimelineItem("status", entry.at, status=entry.status, text=body.get("note")))
        else:
            items.append(
                TimelineItem(
                    entry.kind,
                    entry.at,
                    text=body.get("message"),
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
) -> Entry:
    """A citizen's later message on an open case; raises CaseClosed."""
    case = found.case
    if case.is_closed:
        attachments.close_all(files)
        raise CaseClosed(str(case.id))
    entry = _add_entry(
        session, case, EntryKind.FOLLOWUP, keys=found.keys, body={"message": message}
    )
    _commit_with_files(session, case, entry, found.keys.content, files, store)
    return entry


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
    """A case (by its number, as URLs carry it) the officer's channels cover; raises CaseNotFound otherwise
    (the web answers 404)."""
    case = by_number(session, case_id)
    if case is None or case.channel not in channels:
        raise CaseNotFound(str(case_id))
    return case


@dataclass
class OfficerCaseView:
    case: Case
    submission: dict[str, Any]
    contact: str | None
    timeline: list[TimelineItem]
    submission_damaged: bool = False
    contact_damaged: bool = False

    @property
    def damaged(self) -> list[str]:
        return damaged_items(self.timeline, self.contact_damaged)


def officer_view(session: Session, case: Case, keys: CaseKeys) -> OfficerCaseView:
    """Everything on the case, decrypted."""
    by_entry = _attachments_by_entry(case, keys)
    submission: dict[str, Any] = {}
    contact = None
    submission_damaged = contact_damaged = False
    timeline: list[TimelineItem] = []
    for entry in case.entries:
        opened, body = _open_entry(entry, keys)
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
            submission = body or {}
            timeline.append(
                TimelineItem(
                    "received",
                    entry.at,
                    officer=who,
                    data=submission,
                    attachments=by_entry.get(entry.id, []),
                )
            )
        elif entry.kind == EntryKind.CONTACT:
            contact = (body or {}).get("contact")
        else:
            body = body or {}
            timeline.append(
                TimelineItem(
                    entry.kind,
                    entry.at,
                    status=entry.status,
                    officer=who,
                    text=body.get("message") or body.get("note"),
                    data=body,
                    attachments=by_entry.get(entry.id, []),
                )
            )
    return OfficerCaseView(case, submission, contact, timeline, submission_damaged, contact_damaged)


def record_damage(session: Session, actor: str, case: Case, damaged: list[str]) -> None:
    """Put on the record what could not be decrypted on a page (altered ciphertext is never silent)."""
    for what in damaged:
        audit.record(session, actor, "case.undecryptable", case.id, what)



def attachment_for(case: Case, attachment_id: int) -> Attachment:
    for att in case.attachments:
        if att.id == attachment_id:
            return att
    raise CaseNotFound(f"{case.id}/{attachment_id}")


def change_status(
    session: Session, case: Case, officer: Officer, keys: CaseKeys, status: Status, note: str = "",
    *, public: bool = False, at: datetime | None = None,
) -> Entry:
    """Move a case to `status`, with an optional note (shown to the citizen when `public`)."""
    if case.purged_at is not None:
        raise InvalidTransition("purged")
    when = at or dates.now()
    if status == Status.NEW:
        raise InvalidTransition("a case cannot go back to new")
    if case.acknowledged_at is None:
        case.acknowledged_at = when
    if status.closed:
        case.closed_at = case.closed_at or when
    else:
        case.closed_at = None
    if status == Status.REFERRED and case.referred_at is None:
        case.referred_at = when
    if public and note and case.answered_at is None:
        case.answered_at = when
    case.status = status
    body = {"note": note} if note else None
    return _add_entry(
        session,
        case,
        EntryKind.STATUS,
        keys=keys,
        body=body,
        key_kind=KeyKind.CONTENT if public else KeyKind.INTERNAL,
        officer=officer,
        status=status,
        at=when,
    )


def acknowledge(session: Session, case: Case, officer: Officer, keys: CaseKeys) -> Entry:
    if case.status != Status.NEW:
        raise InvalidTransition("already acknowledged")
    return change_status(session, case, officer, keys, Status.ACKNOWLEDGED)


def reply(
    session: Session,
    case: Case,
    officer: Officer,
    keys: CaseKeys,
    message: str,
    *,
    at: datetime | None = None,
) -> Entry:
    """A message to the citizen, shown on the tracking page. Counts as acknowledging and answering."""
    when = at or dates.now()
    if case.acknowledged_at is None:
        change_status(session, case, officer, keys, Status.ACKNOWLEDGED, at=when)
    if case.answered_at is None:
        case.answered_at = when
    return _add_entry(
        session,
        case,
        EntryKind.REPLY,
        keys=keys,
        body={"message": message},
        officer=officer,
        at=when,
    )


def add_note(session: Session, case: Case, officer: Officer, keys: CaseKeys, note: str) -> Entry:
    """An internal note: internal key, never shown to the citizen."""
    return _add_internal(session, case, EntryKind.NOTE, keys, {"note": note}, officer=officer)


def assign(session: Session, case: Case, officer: Officer, assignee: Officer | None) -> Entry:
    """Assign to an officer who holds the case's channel (or unassign)."""
    if assignee is not None and (case.channel not in assignee.channels or not assignee.active):
        raise InvalidTransition("assignee does not hold this channel")
    case.assignee_id = assignee.id if assignee else None
    return _add_entry(session, case, EntryKind.ASSIGN, officer=officer)


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
    details = {"agency": agency.value, "reference": reference, "date": referred_on}
    _add_internal(session, case, EntryKind.REFERRAL, keys, details, officer=officer)
    return change_status(session, case, officer, keys, Status.REFERRED, note, public=public)
