"""Typed models: cases and their encrypted entries, attachments, officers, grants, keys, audit, settings.

Plaintext columns are only what statistics and the queue need (docs/security.md, property 1): channel, source,
category, status, dates, assignee, the referral agency. Everything a person wrote is ciphertext.
"""

from __future__ import annotations

import enum
from datetime import UTC, datetime

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    SmallInteger,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy import Enum as SAEnum
from sqlalchemy.orm import Mapped, mapped_column, relationship

from . import dates
from .db import Base, UTCDateTime


def utcnow() -> datetime:
    return dates.now()


class Channel(enum.StrEnum):
    CORRUPTION = "corruption"
    FEEDBACK = "feedback"
    QUESTION = "question"


CHANNELS = tuple(c.value for c in Channel)  # the channel list, in its display order


class Status(enum.StrEnum):
    NEW = "new"
    ACKNOWLEDGED = "acknowledged"
    IN_PROGRESS = "in_progress"
    REFERRED = "referred"
    RESOLVED = "resolved"
    DISMISSED = "dismissed"

    @property
    def closed(self) -> bool:
        return self.value in CLOSED_STATUSES


CLOSED_STATUSES = (Status.RESOLVED.value, Status.DISMISSED.value)  # what "closed" means, everywhere
# The next deadline of an open case that has met both of its deadlines: after every real one.
NO_DEADLINE = datetime(9999, 12, 31, tzinfo=UTC)


class Source(enum.StrEnum):
    WEB = "web"
    PHONE = "phone"
    LETTER = "letter"
    WALK_IN = "walk_in"
    BOX = "box"
    FACEBOOK = "facebook"
    LINE = "line"
    EMAIL = "email"
    OTHER = "other"


class Category(enum.StrEnum):
    """Corruption categories: a fixed list, so the category may stay plaintext for statistics."""

    BRIBERY = "bribery"
    PROCUREMENT = "procurement"
    ABUSE_OF_POSITION = "abuse_of_position"
    EMBEZZLEMENT = "embezzlement"
    FAVOURITISM = "favouritism"
    OTHER = "other"


class Agency(enum.StrEnum):
    """Outside agencies a case may be referred to."""

    NACC = "nacc"
    PACC = "pacc"
    DAMRONGDHAMA = "damrongdhama"
    PROVINCE = "province"
    OTHER = "other"


class Role(enum.StrEnum):
    ADMIN = "admin"
    OFFICER = "officer"
    EXECUTIVE = "executive"


class NotifyMode(enum.StrEnum):
    """How an officer with an e-mail address hears of what needs attention."""

    IMMEDIATE = "immediate"  # a mail as soon as the worker finds it
    DIGEST = "digest"  # one mail a day, at the digest hour (Bangkok)


class EntryKind(enum.StrEnum):
    """What an entry on a case's timeline is. Its body (if any) is encrypted."""

    SUBMISSION = "submission"  # the citizen's form, JSON, content key
    CONTACT = "contact"  # optional contact details, internal key (the citizen's own key never opens it)
    FOLLOWUP = "followup"  # a citizen's later message, content key
    REPLY = "reply"  # officer to citizen, content key, shown on the tracking page
    STATUS = "status"  # a status change; optional note (content key if public, else internal key)
    NOTE = "note"  # internal note, internal key, never shown to the citizen
    ASSIGN = "assign"  # assignment change, no body
    REFERRAL = "referral"  # referral to an outside agency; reference number and date, internal key
    SATISFACTION = "satisfaction"  # the citizen's rating of the handling and comment, content key


class KeyKind(enum.StrEnum):
    CONTENT = "content"
    INTERNAL = "internal"


def stored(kind: type[enum.StrEnum], length: int) -> SAEnum:
    """An enum column: its values as VARCHAR(length), and a CHECK constraint that allows only them.

    The constraint is named after the enum's class (ck_<table>_<name>); unknown strings in a query are
    passed through (they match nothing), so a filter never raises.
    """
    return SAEnum(
        kind,
        name=_snake(kind.__name__),
        native_enum=False,
        create_constraint=True,
        length=length,
        values_callable=lambda members: [m.value for m in members],
    )


def _snake(name: str) -> str:
    return "".join(f"_{c.lower()}" if c.isupper() and i else c.lower() for i, c in enumerate(name))


class TenantStatus(enum.StrEnum):
    ACTIVE = "active"
    SUSPENDED = "suspended"


class Tenant(Base):
    """A municipality served by this deployment: every row it owns carries its id (TenantScoped).

    `secret_wrapped` is the tenant's own server secret (token lookup, audit chain, officer tags, the /stats
    shuffle), encrypted under the deployment's master secret in keys/; NULL for the tenant an older
    single-municipality deployment became, whose secret is the master itself (keyring.server_secret).
    `recovery_public` likewise; NULL falls back to keys/recovery.pub.
    """

    __tablename__ = "tenants"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    slug: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    province: Mapped[str] = mapped_column(String(100), default="")
    status: Mapped[TenantStatus] = mapped_column(stored(TenantStatus, 16), default=TenantStatus.ACTIVE)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    secret_wrapped: Mapped[bytes | None] = mapped_column(LargeBinary)
    recovery_public: Mapped[bytes | None] = mapped_column(LargeBinary(32))
    # HMAC under the master secret over id, slug, secret_wrapped and recovery_public (keyring.tenant_tag):
    # an editor of the database cannot swap a tenant's secret or recovery key.
    record_tag: Mapped[bytes] = mapped_column(LargeBinary(32), default=b"")
    # When `backup --tenant` last wrote this tenant's export (`tenant remove` asks for one first).
    exported_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    hosts: Mapped[list[TenantHost]] = relationship(
        back_populates="tenant", cascade="all, delete-orphan", order_by="TenantHost.host"
    )

    @property
    def active(self) -> bool:
        return self.status == TenantStatus.ACTIVE


class TenantHost(Base):
    """A host name that a tenant's site answers on (lower case, no port)."""

    __tablename__ = "tenant_hosts"

    host: Mapped[str] = mapped_column(String(253), primary_key=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"), index=True)

    tenant: Mapped[Tenant] = relationship(back_populates="hosts")


class TenantScoped:
    """A row that belongs to one tenant: filtered and stamped by intake/tenancy.py, walled by RLS."""

    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"))


# The columns reports/figures.py reads from a case (ix_cases_received_at carries them on PostgreSQL).
REPORT_COLUMNS = (
    "id", "channel", "source", "category", "acknowledged_at", "ack_due_at", "answered_at", "answer_due_at",
    "duplicate_of_id",
)


class Case(TenantScoped, Base):
    __tablename__ = "cases"
    __table_args__ = (
        Index("ix_cases_channel_status_received", "tenant_id", "channel", "status", "received_at"),
        # Reports (reports/figures.py): one tenant's cases by date, with every column the figures read, so
        # PostgreSQL answers from this index alone, along the tenant's own stretch of it. Without the
        # INCLUDE, a tenant among thousands has its cases one per heap page (they arrive interleaved with
        # every other tenant's), and the report read ~1,000 pages where the same tenant alone reads ~50.
        Index("ix_cases_received_at", "tenant_id", "received_at", postgresql_include=list(REPORT_COLUMNS)),
        Index("ix_cases_satisfied_at", "tenant_id", "satisfied_at"),  # reports: ratings given in a period
        Index("ix_cases_duplicate_of_id", "tenant_id", "duplicate_of_id"),  # duplicates of one tenant only
        Index("ix_cases_answer_due_at", "tenant_id", "answer_due_at"),
        Index("ix_cases_channel_received", "tenant_id", "channel", "received_at"),  # one channel's queue
        Index("ix_cases_next_due", "tenant_id", "next_due_at", "channel", "status"),  # nearest deadline first
        Index("ix_cases_attention", "tenant_id", "needs_attention", "channel", "status"),  # needs attention
        UniqueConstraint("tenant_id", "number", name="uq_cases_tenant_number"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    # The case's number within its tenant: what officers see, what URLs carry and what its ciphertexts are
    # bound to (key_contexts), so a tenant moved to another deployment keeps them (cases.py sets it).
    number: Mapped[int | None] = mapped_column(Integer)
    channel: Mapped[Channel] = mapped_column(stored(Channel, 16))
    source: Mapped[Source] = mapped_column(stored(Source, 16), default=Source.WEB)
    category: Mapped[Category | None] = mapped_column(stored(Category, 32))
    status: Mapped[Status] = mapped_column(stored(Status, 16), default=Status.NEW)
    # When the municipality received it (offline cases: the date written on the letter, etc.).
    received_at: Mapped[datetime] = mapped_column(UTCDateTime())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    acknowledged_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    answered_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    referred_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    ack_due_at: Mapped[datetime] = mapped_column(UTCDateTime())
    answer_due_at: Mapped[datetime] = mapped_column(UTCDateTime())
    referred_to: Mapped[Agency | None] = mapped_column(stored(Agency, 16))
    assignee_id: Mapped[int | None] = mapped_column(ForeignKey("officers.id"), index=True)
    # Lookup by token: HMAC-SHA256(server secret, normalised token). The token itself is never stored.
    token_hash: Mapped[bytes] = mapped_column(LargeBinary(32), unique=True)
    citizen_salt: Mapped[bytes] = mapped_column(LargeBinary(16))
    # Content and internal keys sealed to the channel's public key.
    sealed_for_channel: Mapped[bytes] = mapped_column(LargeBinary)
    # The content key encrypted under the key derived from the token.
    sealed_for_citizen: Mapped[bytes] = mapped_column(LargeBinary)
    purged_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # Closed as a duplicate of another case of the same channel: figures count the pair once (figures.py).
    # No foreign key (cases are never deleted, retention keeps the row): SQLite can add a plain column in
    # place, where a constraint would need the table copied (and its entries cascaded away on the drop).
    duplicate_of_id: Mapped[int | None] = mapped_column(Integer)
    # The queue (officer/queue.py): the citizen did something (the case, a follow-up with its files) that no
    # officer of the channel has opened since; and the deadline the case works towards (NO_DEADLINE when both
    # are met, None once closed), kept by cases.py so that the queue reads them along an index.
    needs_attention: Mapped[bool] = mapped_column(Boolean, default=False)
    next_due_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # The citizen's satisfaction with the handling of a closed case, 1..5 (asked once; a figure of the
    # reports). The optional comment is a SATISFACTION entry, encrypted.
    satisfaction: Mapped[int | None] = mapped_column(SmallInteger)
    satisfied_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    entries: Mapped[list[Entry]] = relationship(
        back_populates="case", order_by="Entry.id", cascade="all, delete-orphan"
    )
    attachments: Mapped[list[Attachment]] = relationship(
        back_populates="case", order_by="Attachment.id", cascade="all, delete-orphan"
    )
    assignee: Mapped[Officer | None] = relationship()

    @property
    def is_closed(self) -> bool:
        return self.status in CLOSED_STATUSES

    @property
    def is_duplicate(self) -> bool:
        return self.duplicate_of_id is not None

    def refresh_next_due(self) -> None:
        """The deadline the case now works towards: acknowledge, then answer; NO_DEADLINE when both are met;
        None once closed. Called by every operation that changes these dates (cases.py)."""
        if self.is_closed:
            self.next_due_at = None
        elif self.acknowledged_at is None:
            self.next_due_at = self.ack_due_at
        elif self.answered_at is None:
            self.next_due_at = self.answer_due_at
        else:
            self.next_due_at = NO_DEADLINE


class Entry(TenantScoped, Base):
    """One event on a case's timeline, with an optional encrypted body."""

    __tablename__ = "entries"
    __table_args__ = (
        # Reports: a case's last status entry before a moment (history survives retention). Led by the
        # tenant, as the tenant filter and row-level security add `tenant_id = ...` to every look-up: the
        # condition is then part of the index search instead of a filter on fetched rows, the planner no
        # longer takes `ix_entries_case_id` and sorts, and with the status INCLUDEd PostgreSQL never visits
        # the table.
        Index("ix_entries_status_history", "tenant_id", "case_id", "kind", "at", "id",
              postgresql_include=["status"]),  # fmt: skip
        Index("ix_entries_tenant", "tenant_id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"), index=True)
    kind: Mapped[EntryKind] = mapped_column(stored(EntryKind, 16))
    at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    officer_id: Mapped[int | None] = mapped_column(ForeignKey("officers.id"))
    # For STATUS entries: the new status (plaintext, statistics and the citizen's timeline need it).
    status: Mapped[Status | None] = mapped_column(stored(Status, 16))
    # Which case key encrypts the body (None when no body): CONTENT is what the citizen may read.
    key: Mapped[KeyKind | None] = mapped_column(stored(KeyKind, 8))
    body: Mapped[bytes | None] = mapped_column(LargeBinary)

    case: Mapped[Case] = relationship(back_populates="entries")
    officer: Mapped[Officer | None] = relationship()


class Attachment(TenantScoped, Base):
    """An encrypted file; its name, type and size are encrypted in `meta`."""

    __tablename__ = "attachments"
    __table_args__ = (Index("ix_attachments_tenant", "tenant_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"), index=True)
    entry_id: Mapped[int | None] = mapped_column(ForeignKey("entries.id", ondelete="CASCADE"))
    stored_name: Mapped[str] = mapped_column(String(64), unique=True)
    key: Mapped[KeyKind] = mapped_column(stored(KeyKind, 8), default=KeyKind.CONTENT)
    meta: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    case: Mapped[Case] = relationship(back_populates="attachments")


class StorageCopy(Base):
    """Progress of `migrate-storage`: one attachment object copied to another store and verified there.

    `target` is the store's identity (storage.Store.identity, no credentials). A row is written only after
    the copy was read back and its size and SHA-256 matched the source; a re-run skips what is recorded
    and still there, so an interrupted move continues where it stopped."""

    __tablename__ = "storage_copies"

    target: Mapped[str] = mapped_column(String(512), primary_key=True)
    stored_name: Mapped[str] = mapped_column(String(64), primary_key=True)
    size: Mapped[int] = mapped_column(BigInteger)
    sha256: Mapped[str] = mapped_column(String(64))
    copied_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class Officer(TenantScoped, Base):
    __tablename__ = "officers"
    __table_args__ = (UniqueConstraint("tenant_id", "username", name="uq_officers_tenant_username"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    username: Mapped[str] = mapped_column(String(64))
    role: Mapped[Role] = mapped_column(stored(Role, 16), default=Role.OFFICER)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    # Argon2id(password, salt) -> 64 bytes: first half wraps the private key, second half is verified.
    password_salt: Mapped[bytes] = mapped_column(LargeBinary(16))
    password_kdf: Mapped[dict[str, int]] = mapped_column(JSON)
    password_verifier: Mapped[bytes] = mapped_column(LargeBinary(32))
    must_change_password: Mapped[bool] = mapped_column(Boolean, default=False)
    public_key: Mapped[bytes] = mapped_column(LargeBinary(32))
    wrapped_private_key: Mapped[bytes] = mapped_column(LargeBinary)
    # TOTP secret encrypted under a key derived from the officer's unlocked private key.
    totp_secret: Mapped[bytes | None] = mapped_column(LargeBinary)
    # The officer id the TOTP secret's ciphertext is bound to (key_contexts.totp_secret): NULL, this row's
    # own id; a row brought in by `restore --tenant` keeps the id it had where the secret was enrolled.
    totp_bound_id: Mapped[int | None] = mapped_column(Integer)
    totp_last_counter: Mapped[int | None] = mapped_column(Integer)
    failed_logins: Mapped[int] = mapped_column(Integer, default=0)
    locked_until: Mapped[datetime | None] = mapped_column(UTCDateTime())
    last_login_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # HMAC (server secret in keys/) over the fields whose change would hand over keys or skip a factor:
    # username, role, public key, TOTP enrolled or not. See keyring.stamp_officer / check_officer.
    record_tag: Mapped[bytes] = mapped_column(LargeBinary(32), default=b"")
    # Where notices go (intake/notices.py); None: this officer gets no mail.
    email: Mapped[str | None] = mapped_column(String(254))
    notify_mode: Mapped[NotifyMode] = mapped_column(
        stored(NotifyMode, 16), default=NotifyMode.IMMEDIATE, server_default=NotifyMode.IMMEDIATE.value
    )

    grants: Mapped[list[Grant]] = relationship(
        back_populates="officer", cascade="all, delete-orphan", foreign_keys="Grant.officer_id"
    )

    @property
    def channels(self) -> set[str]:
        return {g.channel.value for g in self.grants}


class Grant(TenantScoped, Base):
    """A channel's private key sealed to one officer's public key."""

    __tablename__ = "grants"
    __table_args__ = (UniqueConstraint("officer_id", "channel"), Index("ix_grants_tenant", "tenant_id"))

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    officer_id: Mapped[int] = mapped_column(ForeignKey("officers.id", ondelete="CASCADE"))
    channel: Mapped[Channel] = mapped_column(stored(Channel, 16))
    sealed_private_key: Mapped[bytes] = mapped_column(LargeBinary)
    granted_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    granted_by_id: Mapped[int | None] = mapped_column(ForeignKey("officers.id"))

    officer: Mapped[Officer] = relationship(back_populates="grants", foreign_keys=[officer_id])


class ChannelKey(TenantScoped, Base):
    """A channel's public key, and its private key sealed to the recovery key."""

    __tablename__ = "channel_keys"

    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"), primary_key=True)
    channel: Mapped[Channel] = mapped_column(stored(Channel, 16), primary_key=True)
    public_key: Mapped[bytes] = mapped_column(LargeBinary(32))
    sealed_for_recovery: Mapped[bytes] = mapped_column(LargeBinary)
    # HMAC (tenant's server secret) over tenant, channel and public key: a database editor cannot swap a
    # channel's public key for their own (keyring.channel_public). Empty until first stamped.
    tag: Mapped[bytes] = mapped_column(LargeBinary(32), default=b"")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class OfficerSession(TenantScoped, Base):
    """Server half of a signed-in session: the private key under the cookie key and the session secret."""

    __tablename__ = "officer_sessions"
    __table_args__ = (Index("ix_officer_sessions_tenant", "tenant_id"),)

    id: Mapped[str] = mapped_column(String(64), primary_key=True)  # SHA-256 of the cookie's session id
    officer_id: Mapped[int] = mapped_column(ForeignKey("officers.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    last_seen_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    wrapped_private_key: Mapped[bytes] = mapped_column(LargeBinary)
    second_factor_done: Mapped[bool] = mapped_column(Boolean, default=False)
    # A TOTP secret being enrolled, encrypted under the session key, until the first code confirms it.
    pending_totp: Mapped[bytes | None] = mapped_column(LargeBinary)


class AuditEntry(TenantScoped, Base):
    """Append-only, hash-chained record of what officers did."""

    __tablename__ = "audit_entries"
    __table_args__ = (
        UniqueConstraint("tenant_id", "seq", name="uq_audit_entries_tenant_seq"),
        Index("ix_audit_entries_tenant_action", "tenant_id", "action"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    # Position in the tenant's own chain (1, 2, ...): the digest covers it, not the row id, so a tenant
    # moved to another deployment keeps a chain that verifies.
    seq: Mapped[int] = mapped_column(Integer)
    at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    actor: Mapped[str] = mapped_column(String(64))  # officer username, or "system" / "cli"
    action: Mapped[str] = mapped_column(String(32))
    target: Mapped[str | None] = mapped_column(String(64))
    detail: Mapped[str] = mapped_column(Text, default="")
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64))
    # How `hash` encodes the fields (audit.py): 1, fields joined by \x1f (entries written before the
    # change, still verifiable); 2, a length-unambiguous JSON list under its own prefix.
    hash_version: Mapped[int] = mapped_column(SmallInteger, default=2, server_default="1")


class AuditCheckpoint(TenantScoped, Base):
    """One run of `flask audit verify`: what it found and the newest entry it saw, tagged by the audit key.

    The latest intact row is the checkpoint the next run checks the tail against (the chain alone cannot
    show that its last entries were deleted); the admin page shows the latest row. The tag (HMAC under
    the audit key, from keys/) means a database editor cannot forge or alter a row, only delete rows.
    """

    __tablename__ = "audit_checkpoints"
    __table_args__ = (Index("ix_audit_checkpoints_tenant", "tenant_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    entry_count: Mapped[int] = mapped_column(Integer)
    tail_id: Mapped[int | None] = mapped_column(Integer)  # the newest entry then (None: no entry yet)
    tail_hash: Mapped[str | None] = mapped_column(String(64))
    broken_entry_id: Mapped[int | None] = mapped_column(Integer)  # None: the chain and its tail held
    broken_reason: Mapped[str | None] = mapped_column(String(16))
    tag: Mapped[bytes] = mapped_column(LargeBinary(32))


class Setting(TenantScoped, Base):
    """Operator settings edited in the admin pages (municipality name, deadlines, limits, retention)."""

    __tablename__ = "settings"

    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"), primary_key=True)
    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[str] = mapped_column(Text)


class SiteImage(TenantScoped, Base):
    """An image for the municipality's documents (today: the crest), uploaded by an administrator and
    re-encoded as PNG. Kept in the database, not in a file, so that every app server sees the same one."""

    __tablename__ = "site_images"

    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"), primary_key=True)
    name: Mapped[str] = mapped_column(String(32), primary_key=True)
    media_type: Mapped[str] = mapped_column(String(32), default="image/png")
    data: Mapped[bytes] = mapped_column(LargeBinary)
    width: Mapped[int] = mapped_column(Integer)
    height: Mapped[int] = mapped_column(Integer)
    digest: Mapped[str] = mapped_column(String(64))  # SHA-256 of `data`, hex: an ETag and the audit's word
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class Receipt(TenantScoped, Base):
    """A submission's receipt, so that sending the same rendered form again shows the same code, no new case.

    Each rendered form carries a random one-time value (128 bits) that only the browser holds (in the
    form, then in a short-lived cookie for the receipt page). The row keeps a keyed hash of that value
    and the receipt (token and case id) encrypted under a key derived from it: a copy of the database
    reads neither. `sealed` is emptied once the receipt may no longer be shown; the row goes at `expires_at`
    (receipts.sweep), and with it the memory that the form was sent."""

    __tablename__ = "receipts"
    __table_args__ = (Index("ix_receipts_tenant", "tenant_id"),)

    lookup: Mapped[bytes] = mapped_column(LargeBinary(32), primary_key=True)
    sealed: Mapped[bytes | None] = mapped_column(LargeBinary)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    show_until: Mapped[datetime] = mapped_column(UTCDateTime())
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)


class ImportedRow(TenantScoped, Base):
    """A register row already imported (register_import.py): a keyed hash of its content, never the text."""

    __tablename__ = "imported_rows"
    __table_args__ = (Index("ix_imported_rows_tenant", "tenant_id"),)

    digest: Mapped[bytes] = mapped_column(LargeBinary(32), primary_key=True)
    imported_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class PublishedAnswer(TenantScoped, Base):
    """A question and its answer published on /faq with the asker's consent (public by design)."""

    __tablename__ = "published_answers"
    __table_args__ = (Index("ix_published_answers_tenant", "tenant_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    case_id: Mapped[int | None] = mapped_column(ForeignKey("cases.id", ondelete="SET NULL"))
    question: Mapped[str] = mapped_column(Text)
    answer: Mapped[str] = mapped_column(Text)
    published_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    officer_id: Mapped[int | None] = mapped_column(ForeignKey("officers.id"))


class NoticeState(enum.StrEnum):
    PENDING = "pending"  # to send once `due_at` has come (and no worker holds a live lease on it)
    SENT = "sent"  # the SMTP server accepted the mail that carried it
    FAILED = "failed"  # the last attempt failed: shown to administrators, who may send it again
    DROPPED = "dropped"  # nobody to tell any more (address removed, account deactivated, channel revoked)


class Notice(TenantScoped, Base):
    """The outbox: one thing to tell one recipient, written in the transaction of the event that causes it.

    It holds no content: a kind, counts (administrators' notices: a few facts), and for checks at sending
    time the officer, the case's channel and the case (never put in a mail). The worker (intake/notify.py)
    claims due rows under a lease, sends one mail per recipient and marks them. Reminders found by the
    worker carry `dedupe_key` (case, kind, recipient, Bangkok day): unique, so whichever worker or run finds
    one first writes it and every other finds it there."""

    __tablename__ = "notices"
    __table_args__ = (
        Index("ix_notices_state_due", "state", "due_at"),
        Index("ix_notices_tenant", "tenant_id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[str] = mapped_column(String(48))
    # No index on officer_id or case_id: officers and cases are never deleted (deactivated, purged), and
    # each index is paid on the submit path, once per recipient (bench/notify.py).
    officer_id: Mapped[int | None] = mapped_column(ForeignKey("officers.id", ondelete="CASCADE"))
    address: Mapped[str | None] = mapped_column(String(254))  # for a recipient who is not an officer
    channel: Mapped[Channel | None] = mapped_column(stored(Channel, 16))
    case_id: Mapped[int | None] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"))
    facts: Mapped[dict[str, int | str] | None] = mapped_column(JSON)
    dedupe_key: Mapped[str | None] = mapped_column(String(160), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    due_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    state: Mapped[NoticeState] = mapped_column(stored(NoticeState, 16), default=NoticeState.PENDING)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    lease_until: Mapped[datetime | None] = mapped_column(UTCDateTime())
    claim: Mapped[str | None] = mapped_column(String(32))
    message_id: Mapped[str | None] = mapped_column(String(160))
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    last_error: Mapped[str | None] = mapped_column(String(200))


class Delivery(TenantScoped, Base):
    """The delivery log: one line per mail handed to the SMTP server (or not). Never any content."""

    __tablename__ = "deliveries"
    __table_args__ = (Index("ix_deliveries_tenant", "tenant_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, index=True)
    address: Mapped[str] = mapped_column(String(254))
    kinds: Mapped[str] = mapped_column(String(200))  # the notice kinds the mail carried, comma-separated
    notices: Mapped[int] = mapped_column(Integer, default=0)
    result: Mapped[str] = mapped_column(String(16))  # sent | retry | failed | dropped
    detail: Mapped[str] = mapped_column(String(200), default="")  # the server's code and reason, or the error
    message_id: Mapped[str | None] = mapped_column(String(160))


# --- the host's own rows: no tenant_id, so no tenant filter and no row-level security (tenancy.py) -----


class HostAdmin(Base):
    """A host administrator: creates, suspends and removes tenants; holds no channel key.

    The password is checked by its Argon2id verifier only (there is no private key to wrap); the TOTP
    secret is encrypted under a subkey of the master secret (keys/), and `record_tag` (HMAC, another
    subkey) covers what a database editor must not change: password, TOTP secret, active.
    """

    __tablename__ = "host_admins"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    password_salt: Mapped[bytes] = mapped_column(LargeBinary(16))
    password_kdf: Mapped[dict[str, int]] = mapped_column(JSON)
    password_verifier: Mapped[bytes] = mapped_column(LargeBinary(32))
    totp_secret: Mapped[bytes | None] = mapped_column(LargeBinary)
    totp_last_counter: Mapped[int | None] = mapped_column(Integer)
    failed_logins: Mapped[int] = mapped_column(Integer, default=0)
    locked_until: Mapped[datetime | None] = mapped_column(UTCDateTime())
    last_login_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    record_tag: Mapped[bytes] = mapped_column(LargeBinary(32), default=b"")


class HostSession(Base):
    """A host administrator's signed-in session; the cookie `intake_host` carries the value hashed here."""

    __tablename__ = "host_sessions"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)  # SHA-256 of the cookie's value
    admin_id: Mapped[int] = mapped_column(ForeignKey("host_admins.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    last_seen_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    totp_done: Mapped[bool] = mapped_column(Boolean, default=False)
    # A TOTP secret being enrolled at the first sign-in (under the host TOTP subkey) until a code confirms it.
    pending_totp: Mapped[bytes | None] = mapped_column(LargeBinary)


class HostAuditEntry(Base):
    """What a host administrator did to which tenant (slug kept as text: it outlives a removed tenant)."""

    __tablename__ = "host_audit_entries"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, index=True)
    actor: Mapped[str] = mapped_column(String(64))
    action: Mapped[str] = mapped_column(String(32))
    tenant_slug: Mapped[str | None] = mapped_column(String(64))
    detail: Mapped[str] = mapped_column(String(200), default="")
