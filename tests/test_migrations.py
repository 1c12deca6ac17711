"""Alembic: migrations apply to an empty database of the engine under test; head matches the models."""

from __future__ import annotations

from datetime import UTC, datetime

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import MetaData, insert, select

from intake import migrate
from intake.db import Base, make_engine


def test_head_matches_models(empty_database: str) -> None:
    engine = make_engine(empty_database)
    migrate.upgrade(engine)
    assert migrate.is_current(engine)
    with engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), Base.metadata)
    engine.dispose()
    assert diff == [], diff


def test_the_case_loop_migration_keeps_every_row_and_fills_the_queue_columns(empty_database: str) -> None:
    """Upgrading a database with cases in it: no table is copied (SQLite would cascade its entries away),
    and the queue's columns come from the entries, the audit trail and the deadlines."""
    engine = make_engine(empty_database)
    cfg = migrate.alembic_config()
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "b0ac3b42fdf3")
    sqlite = engine.dialect.name == "sqlite"

    def at(day: int) -> datetime:
        moment = datetime(2026, 1, day, tzinfo=UTC)
        return moment.replace(tzinfo=None) if sqlite else moment

    old = MetaData()
    old.reflect(engine, only=["cases", "entries", "audit_entries"])
    cases_t, entries_t, audit_t = (old.tables[n] for n in ("cases", "entries", "audit_entries"))
    with engine.begin() as conn:
        conn.execute(insert(cases_t), [
            {"id": n, "channel": "feedback", "source": "web", "status": "new", "received_at": at(1),
             "created_at": at(1), "ack_due_at": at(9), "answer_due_at": at(17), "token_hash": bytes([n]) * 32,
             "citizen_salt": b"s" * 16, "sealed_for_channel": b"x", "sealed_for_citizen": b"x"}
            for n in (1, 2)
        ])
        conn.execute(insert(entries_t), [
            {"case_id": 1, "kind": "submission", "at": at(1), "public": True},
            {"case_id": 1, "kind": "followup", "at": at(3), "public": True},
            {"case_id": 2, "kind": "submission", "at": at(1), "public": True},
        ])
        conn.execute(insert(audit_t), [
            {"at": at(2), "actor": "a", "action": "case.view", "target": "1", "detail": "", "prev_hash": "0",
             "hash": "0"},
            {"at": at(4), "actor": "a", "action": "case.reply", "target": "2", "detail": "", "prev_hash": "0",
             "hash": "0"},
        ])
    migrate.upgrade(engine)
    new = MetaData()
    new.reflect(engine, only=["cases", "entries"])
    with engine.connect() as conn:
        assert len(conn.execute(select(new.tables["entries"])).all()) == 3
        rows = {r.id: r for r in conn.execute(select(new.tables["cases"]))}
    engine.dispose()

    def day(value: object) -> int:
        return (value if isinstance(value, datetime) else datetime.fromisoformat(str(value))).day

    assert bool(rows[1].needs_attention) and not rows[2].needs_attention  # a follow-up after the last look
    assert day(rows[1].next_due_at) == 9 and day(rows[2].next_due_at) == 9  # not acknowledged: that deadline
