"""Retention purge: content of long-closed cases deleted securely; statistics' metadata kept; audited.

Every test runs on `file:` (files zeroed, then unlinked) and on `s3:` (objects deleted)."""

from __future__ import annotations

import os
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import select
from sqlalchemy.orm import Session

from intake import audit, cases, dates, keyring, retention, settings
from intake.models import AuditEntry, Case, Entry, EntryKind, Status
from intake.storage import FileStore

from .conftest import PASSWORD, on_both_stores, store_of
from .factories import PNG_1PX, Factory

YEAR = timedelta(days=365)


def _case(
    factory: Factory, session: Session, closed_years_ago: float | None, status: Status, label: str
) -> Any:
    now = dates.now()
    submitted = factory.case(
        "corruption", f"details {label}", contact=f"contact {label}", category="bribery",
        files=[(f"file {label}".encode() * 50, f"{label}.txt"), (PNG_1PX, "p.png")],
        received_at=now - YEAR * 8,
    )
    case = submitted.case
    admin = factory.legal()  # holds every channel, corruption included
    keys = cases.officer_keys(session, admin, keyring.unlock(admin, PASSWORD), case)
    cases.reply(session, case, admin, keys, f"reply {label}", at=now - YEAR * 7)
    cases.add_note(session, case, admin, keys, f"note {label}")
    if closed_years_ago is not None:
        cases.change_status(
            session, case, admin, keys, status, f"closing {label}", public=True,
            at=now - YEAR * closed_years_ago,
        )
    session.commit()
    return submitted


def _metadata(case: Case) -> tuple[Any, ...]:
    return (
        case.channel, case.source, case.category, case.status, case.received_at, case.acknowledged_at,
        case.answered_at, case.closed_at, case.referred_at, case.ack_due_at, case.answer_due_at,
        case.referred_to, case.assignee_id, case.created_at,
    )


def _skeleton(case: Case) -> list[tuple[Any, ...]]:
    return [(e.kind, e.at, e.status, e.officer_id) for e in case.entries]


@on_both_stores
def test_purge_deletes_content_of_long_closed_cases_and_keeps_statistics(
    app: Flask, session: Session, factory: Factory
) -> None:
    old = _case(factory, session, 6, Status.RESOLVED, "old")
    dismissed = _case(factory, session, 5.5, Status.DISMISSED, "dismissed")
    recent = _case(factory, session, 4, Status.RESOLVED, "recent")
    still_open = _case(factory, session, None, Status.RESOLVED, "open")
    store = store_of(app)
    witness = Path(app.config["INSTANCE_DIR"]) / "witness"
    if isinstance(store, FileStore):
        # A hard link to an attachment file shows what the purge left in its blocks: zeros.
        os.link(store.folder / old.case.attachments[0].stored_name, witness)
        old_size = witness.stat().st_size
    before = {s.case.id: (_metadata(s.case), _skeleton(s.case)) for s in (old, dismissed, recent, still_open)}
    purged_ciphertexts = [e.body for s in (old, dismissed) for e in s.case.entries if e.body]
    doomed_files = [a.stored_name for s in (old, dismissed) for a in s.case.attachments]

    kept_files = [a.stored_name for s in (recent, still_open) for a in s.case.attachments]
    assert all(store.exists(name) for name in doomed_files + kept_files)

    result = retention.purge(session, store)

    assert (result.cases, result.attachments) == (2, 4)
    if isinstance(store, FileStore):
        zeroed = witness.read_bytes()
        assert len(zeroed) >= old_size and zeroed.count(0) == len(zeroed)
    assert not any(store.exists(name) for name in doomed_files)
    assert all(store.exists(name) for name in kept_files)
    session.expire_all()
    for submitted in (old, dismissed):
        case = session.get(Case, submitted.case.id)
        assert case is not None and case.purged_at is not None
        assert (_metadata(case), _skeleton(case)) == before[case.id]
        assert all(e.body is None and e.key is None for e in case.entries)
        assert case.attachments == []
        assert case.sealed_for_channel == b"" and case.sealed_for_citizen == b""
        with pytest.raises(cases.TokenNotFound):
            cases.find_by_token(session, submitted.token)
        admin = factory.legal()  # holds every channel, corruption included
        with pytest.raises(cases.ChannelForbidden):
            cases.officer_keys(session, admin, keyring.unlock(admin, PASSWORD), case)
    statuses = [e.status for e in session.get(Case, old.case.id).entries if e.kind == EntryKind.STATUS]  # type: ignore[union-attr]
    assert statuses == ["acknowledged", "resolved"]
    for submitted in (recent, still_open):
        case = session.get(Case, submitted.case.id)
        assert case is not None and case.purged_at is None
        found = cases.find_by_token(session, submitted.token)
        assert cases.citizen_timeline(session, found)[0].data["details"].startswith("details")
        assert len(case.attachments) == 2
    entries = session.scalars(select(AuditEntry).where(AuditEntry.action == "retention.purge")).all()
    assert [(e.actor, e.detail) for e in entries] == [("cli", "cases=2")]
    assert audit.verify(session) is None
    if session.get_bind().dialect.name == "sqlite":
        # secure_delete + VACUUM + checkpoint: the old ciphertext is nowhere in the database files.
        db_path = Path(str(session.get_bind().engine.url.database))
        stored = b"".join(p.read_bytes() for p in db_path.parent.glob(db_path.name + "*"))
        assert stored
        assert not any(body in stored for body in purged_ciphertexts)
    else:
        remaining = session.scalars(select(Entry.body).where(Entry.body.is_not(None))).all()
        assert not set(remaining) & set(purged_ciphertexts)


@on_both_stores
def test_retention_period_is_a_setting_and_purge_is_idempotent(
    app: Flask, session: Session, factory: Factory
) -> None:
    old = _case(factory, session, 6, Status.RESOLVED, "old")
    settings.put(session, "retention_years", "10")
    session.commit()
    first = retention.purge(session, store_of(app))
    assert first.cases == 0
    assert session.get(Case, old.case.id).purged_at is None  # type: ignore[union-attr]
    settings.put(session, "retention_years", "5")
    session.commit()
    assert retention.purge(session, store_of(app)).cases == 1
    assert retention.purge(session, store_of(app)).cases == 0
    details = session.scalars(select(AuditEntry.detail).where(AuditEntry.action == "retention.purge")).all()
    assert details == ["cases=0", "cases=1", "cases=0"]


def test_purge_can_be_told_the_date(app: Flask, session: Session, factory: Factory) -> None:
    recent = _case(factory, session, 4, Status.RESOLVED, "recent")
    assert retention.purge(session, store_of(app), now=dates.now() + YEAR * 2).cases == 1
    assert session.get(Case, recent.case.id).purged_at is not None  # type: ignore[union-attr]


def test_purge_sweeps_old_orphan_files_only(app: Flask, session: Session) -> None:
    store = store_of(app)
    assert isinstance(store, FileStore)
    store.folder.mkdir(parents=True, exist_ok=True)
    folder = store.folder
    stale, fresh, part = folder / ("a" * 32), folder / ("b" * 32), folder / ("c" * 32 + ".part")
    for path in (stale, fresh, part):
        path.write_bytes(b"leftover of a crash")
    hours_ago = time.time() - 3 * 3600
    os.utime(stale, (hours_ago, hours_ago))
    os.utime(part, (hours_ago, hours_ago))
    result = retention.purge(session, store)
    assert sorted(result.orphans) == sorted([stale.name, part.name])
    assert fresh.exists() and not stale.exists() and not part.exists()


@on_both_stores
def test_purge_and_sweep_commands(app: Flask, session: Session, factory: Factory) -> None:
    _case(factory, session, 6, Status.RESOLVED, "old")
    runner = app.test_cli_runner()
    result = runner.invoke(args=["purge"])
    assert result.exit_code == 0, result.output
    assert "Purged 1 cases closed more than 5 years ago (2 attachments" in result.output
    store = store_of(app)
    store.put("d" * 32, [b"x"])
    result = runner.invoke(args=["sweep-orphans", "--grace-minutes", "0"])
    assert result.exit_code == 0, result.output
    assert "Removed 1 orphan attachment files." in result.output
    assert not store.exists("d" * 32)


def test_years_before_handles_leap_days() -> None:
    leap = datetime(2028, 2, 29, 12, tzinfo=UTC)
    assert retention.years_before(leap, 5) == datetime(2023, 2, 28, 12, tzinfo=UTC)
    assert retention.years_before(datetime(2030, 6, 1, tzinfo=UTC), 5) == datetime(2025, 6, 1, tzinfo=UTC)
