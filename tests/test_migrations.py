"""Alembic: migrations apply to an empty database of the engine under test; head matches the models."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import Connection, MetaData, insert, inspect, select, text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from intake import migrate, tenancy
from intake.db import Base, make_engine
from intake.models import Case, Channel, EntryKind, Status

FIRST_REVISION = "e4b722c90125"  # the initial schema, before enum columns were checked


def test_head_matches_models(empty_database: str) -> None:
    engine = make_engine(empty_database)
    migrate.upgrade(engine)
    assert migrate.is_current(engine)
    with engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), Base.metadata)
    engine.dispose()
    assert diff == [], diff


def test_head_has_the_models_included_index_columns(empty_database: str) -> None:
    """PostgreSQL: the INCLUDE columns of the report indexes (which compare_metadata does not compare) are
    the models' after the migrations too."""
    engine = make_engine(empty_database)
    if engine.dialect.name != "postgresql":
        engine.dispose()
        pytest.skip("INCLUDE is PostgreSQL's")
    migrate.upgrade(engine)
    wanted = {
        str(ix.name): ix.dialect_options["postgresql"]["include"]
        for table in Base.metadata.sorted_tables
        for ix in table.indexes
        if ix.dialect_options["postgresql"]["include"]
    }
    with engine.connect() as conn:
        rows = conn.execute(text("SELECT indexname, indexdef FROM pg_indexes WHERE schemaname = 'public'"))
        defs: dict[str, str] = {str(name): str(definition) for name, definition in rows.all()}
    engine.dispose()
    assert wanted, "no index INCLUDEs a column"
    for name, include in wanted.items():
        assert defs[name].endswith(f"INCLUDE ({', '.join(include)})"), (name, defs[name])


def _insert_old_rows(conn: Connection) -> None:
    """A case with an entry and an attachment, an officer with a grant and a session (the first schema)."""
    now = datetime(2026, 11, 26, 5, 0, tzinfo=UTC)
    key = text(
        "INSERT INTO channel_keys (channel, public_key, sealed_for_recovery, created_at)"
        " VALUES ('feedback', :k, :k, :t)"
    )
    conn.execute(key, {"k": b"k" * 32, "t": now})
    conn.execute(
        text(
            "INSERT INTO officers (id, username, role, active, created_at, password_salt, password_kdf,"
            " password_verifier, must_change_password, public_key, wrapped_private_key, failed_logins,"
            " record_tag) VALUES (1, 'pr', 'officer', :yes, :t, :b, '{}', :b, :no, :b, :b, 0, :b)"
        ),
        {"t": now, "b": b"x" * 16, "yes": True, "no": False},
    )
    conn.execute(
        text("INSERT INTO grants (id, officer_id, channel, sealed_private_key, granted_at)"
             " VALUES (1, 1, 'feedback', :b, :t)"),
        {"b": b"g", "t": now},
    )
    conn.execute(
        text("INSERT INTO officer_sessions (id, officer_id, created_at, last_seen_at, wrapped_private_key,"
             " second_factor_done) VALUES ('s', 1, :t, :t, :b, :yes)"),
        {"t": now, "b": b"w", "yes": True},
    )
    conn.execute(
        text(
            "INSERT INTO cases (id, channel, source, status, received_at, created_at, ack_due_at,"
            " answer_due_at, assignee_id, token_hash, citizen_salt, sealed_for_channel, sealed_for_citizen)"
            " VALUES (1, 'feedback', 'web', 'in_progress', :t, :t, :t, :t, 1, :h, :s, :b, :b)"
        ),
        {"t": now, "h": b"h" * 32, "s": b"s" * 16, "b": b"c"},
    )
    for entry_id, kind, public in ((1, "submission", True), (2, "note", False)):
        conn.execute(
            text("INSERT INTO entries (id, case_id, kind, at, officer_id, public, body)"
                 " VALUES (:i, 1, :k, :t, 1, :p, :b)"),
            {"i": entry_id, "k": kind, "t": now, "p": public, "b": b"e"},
        )
    conn.execute(
        text("INSERT INTO attachments (id, case_id, entry_id, stored_name, key, meta, created_at)"
             " VALUES (1, 1, 1, 'f', 'content', :b, :t)"),
        {"b": b"m", "t": now},
    )


def test_upgrade_keeps_existing_data_and_checks_enum_values(empty_database: str) -> None:
    engine = make_engine(empty_database)
    cfg = migrate.alembic_config()
    with engine.connect() as conn, migrate.foreign_keys_off(conn), conn.begin():
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, FIRST_REVISION)
    with engine.begin() as conn:
        _insert_old_rows(conn)
    migrate.upgrade(engine)
    tables = ("cases", "entries", "attachments", "officers", "grants", "officer_sessions", "channel_keys")
    with engine.connect() as conn:
        tenancy.act_as_host(conn)  # raw SQL sees no tenant's rows otherwise (row-level security)
        counts = {t: conn.execute(text(f"SELECT count(*) FROM {t}")).scalar_one() for t in tables}  # noqa: S608
        columns = {c["name"] for c in inspect(conn).get_columns("entries")}
    assert counts == {"cases": 1, "entries": 2, "attachments": 1, "officers": 1, "grants": 1,
                      "officer_sessions": 1, "channel_keys": 1}
    assert "public" not in columns
    with Session(engine) as session:
        case = session.get(Case, 1)
        assert case is not None and case.status == Status.IN_PROGRESS and case.channel == Channel.FEEDBACK
        assert [e.kind for e in case.entries] == [EntryKind.SUBMISSION, EntryKind.NOTE]
    with engine.connect() as conn:
        tenancy.act_as_host(conn)
        with pytest.raises(IntegrityError):
            conn.execute(text("UPDATE cases SET status = 'lost' WHERE id = 1"))
    engine.dispose()
def test_the_case_loop_migration_keeps_every_row_and_fills_the_queue_columns(empty_database: str) -> None:
    """Upgrading a database with cases in it: `cases` is not copied (SQLite would cascade its entries away),
    and the queue's columns come from the entries, the audit trail and the deadlines."""
    engine = make_engine(empty_database)
    cfg = migrate.alembic_config()
    with engine.connect() as conn, migrate.foreign_keys_off(conn), conn.begin():
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "5c1d0e7a2b94")  # the revision before the case loop
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
            {"case_id": 1, "kind": "submission", "at": at(1)},
            {"case_id": 1, "kind": "followup", "at": at(3)},
            {"case_id": 2, "kind": "submission", "at": at(1)},
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
    with engine.begin() as conn:  # the database now takes the citizen's satisfaction entry
        tenancy.act_as_host(conn)  # (the rows are the default tenant's since the tenants revision)
        row = {"tenant_id": 1, "case_id": 2, "kind": "satisfaction", "at": at(5)}
        conn.execute(insert(new.tables["entries"]), [row])
    with engine.connect() as conn:
        tenancy.act_as_host(conn)
        assert len(conn.execute(select(new.tables["entries"])).all()) == 4
        rows = {r.id: r for r in conn.execute(select(new.tables["cases"]))}
    engine.dispose()

    def day(value: object) -> int:
        return (value if isinstance(value, datetime) else datetime.fromisoformat(str(value))).day

    assert bool(rows[1].needs_attention) and not rows[2].needs_attention  # a follow-up after the last look
    assert day(rows[1].next_due_at) == 9 and day(rows[2].next_due_at) == 9  # not acknowledged: that deadline
