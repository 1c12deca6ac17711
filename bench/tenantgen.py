"""Bulk data for the tenant scale benchmark: many tenants with their own keys, cases spread over them.

    .venv/bin/python bench/tenantgen.py --database-url URL --tenants 10000 --cases 10000000 [--workers 2]

One PostgreSQL database per data set (benchlib.instance_for), owned by a role that is no superuser (the
app's role: row-level security binds it). `setup` makes the first tenant (its keys in keys/, as a
single-municipality deployment has them) with officers "pr" (feedback, question) and "legal"
(corruption). The other tenants are made in bulk, each as `tenant add` makes one: its own server secret
wrapped under the master secret, its own recovery keypair (the private halves are kept in the data
folder, recovery-keys.json, so that a check can open any tenant's case), its three channel keypairs
sealed to that recovery key and tagged under its own secret, one host name t<slot>.bench.example.

Cases: the i-th case of the data set (0-based) belongs to tenant slot i mod T and is number i div T + 1 of
it, so every tenant's cases are spread over the whole table (as on a host where municipalities file at
the same time), not stored together. Each case is valid: random content and internal keys sealed to its
tenant's channel key (associated data: its number), its content key under the key derived from its
token, its token's lookup hash under its tenant's server secret, its timeline (a small encrypted
submission, status entries, an encrypted reply or referral where its plan has one). A case's plan and
token depend only on (slot, number), so the first tenant of a data set of T tenants and the only tenant
of a data set made with `--alone` hold the same cases: the baseline "the same tenant alone in a database".

Rows go in with COPY (as the server's superuser, so that COPY is allowed on tables with row-level
security; foreign-key triggers are off for the load, the rows are consistent by construction) from
`--workers` processes, with the tables' secondary indexes dropped during the load and built afterwards
(two at a time), then VACUUM ANALYZE (what autovacuum does after a bulk load).
"""

from __future__ import annotations

import hashlib
import json
import multiprocessing
import random
import shutil
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import benchlib
import datagen
import psycopg
import thai_text
from sqlalchemy import insert, select
from sqlalchemy.engine import make_url

from intake import crypto, dates, db, key_contexts, keyring, settings, tenancy, tokens
from intake.db import make_engine
from intake.models import Case, Channel, ChannelKey, Entry, Setting, Tenant, TenantHost, TenantStatus
from tests import servers

TOKEN_SEED = "intake-tenant-scale"
CHUNK = 10_000  # cases per COPY transaction
HOST_SUFFIX = "bench.example"
LOADED = ("cases", "entries")
PATTERN = datagen.MIXES["all"]


def host_of(slot: int) -> str:
    return f"t{slot}.{HOST_SUFFIX}"


def token_of(slot: int, number: int) -> str:
    """The tracking token of case `number` of the tenant in `slot` (the same in every data set)."""
    digest = hashlib.blake2b(f"{TOKEN_SEED}:{slot}:{number}".encode(), digest_size=16).digest()
    value = int.from_bytes(digest, "big") >> (128 - tokens.BITS)
    symbols = "".join(tokens.ALPHABET[(value >> (5 * k)) & 31] for k in range(tokens.LENGTH))
    return tokens.display(symbols)


@dataclass(frozen=True)
class TenantKeys:
    """What writing a tenant's cases needs: its id, server secret and channel public keys."""

    id: int
    secret: bytes
    publics: dict[str, bytes]


@dataclass(frozen=True)
class Layout:
    tenants: int  # tenants in this database (1 with --alone)
    now: datetime
    deadlines: dict[str, tuple[int, int]]
    officers: dict[str, int]  # the first tenant's officers by name


# --- tenants --------------------------------------------------------------------------------------


def add_tenants(session: Any, count: int, log: bool) -> tuple[list[TenantKeys], dict[str, str]]:
    """Tenants 2..count+1 (slots 1..count) with their own keys; returns their keys and recovery privates."""
    first_id = session.scalar(select(Tenant.id).order_by(Tenant.id.desc()).limit(1)) or 1
    out: list[TenantKeys] = []
    recovery: dict[str, str] = {}
    started = time.perf_counter()
    for start in range(0, count, 1000):
        tenant_rows, host_rows, key_rows, setting_rows = [], [], [], []
        for slot in range(start + 1, min(count, start + 1000) + 1):
            tenant_id = first_id + slot
            secret = crypto.random_key()
            wrapped = keyring.wrap_tenant_secret(tenant_id, secret)
            pair = crypto.generate_keypair()
            slug = f"t{slot}"
            tag = keyring.tenant_tag(tenant_id, slug, wrapped, pair.public)
            info = tenancy.TenantInfo(
                tenant_id, slug, f"เทศบาลตำบลทดสอบ {slot}", f"p{slot % 77}", TenantStatus.ACTIVE, wrapped,
                pair.public, tag,
            )
            tenant_rows.append(
                {"id": tenant_id, "slug": slug, "name": info.name, "province": info.province,
                 "status": TenantStatus.ACTIVE.value, "secret_wrapped": wrapped,
                 "recovery_public": pair.public, "record_tag": tag}
            )  # fmt: skip
            host_rows.append({"host": host_of(slot), "tenant_id": tenant_id})
            setting_rows.append({"tenant_id": tenant_id, "name": "municipality_name", "value": info.name})
            record_key = keyring.server_key(key_contexts.CHANNEL_RECORD, info)
            publics = {}
            for channel in Channel:
                keys = crypto.generate_keypair()
                publics[channel.value] = keys.public
                key_rows.append(
                    {"tenant_id": tenant_id, "channel": channel.value, "public_key": keys.public,
                     "sealed_for_recovery": crypto.seal(
                         pair.public, keys.private, key_contexts.channel_key(channel.value)),
                     "tag": crypto.keyed_hash(
                         record_key, key_contexts.channel_record(channel.value, keys.public.hex()))}
                )  # fmt: skip
            out.append(TenantKeys(tenant_id, keyring.server_secret(info), publics))
            recovery[slug] = pair.private.hex()
        session.execute(insert(Tenant), tenant_rows)
        session.execute(insert(TenantHost), host_rows)
        session.execute(insert(ChannelKey), key_rows)
        session.execute(insert(Setting), setting_rows)
        session.commit()
        if log and (start // 1000) % 5 == 4:
            spent = time.perf_counter() - started
            print(f"   tenantgen: {start + 1000:,} tenants ({spent:.1f} s)", flush=True)
    return out, recovery


# --- cases ----------------------------------------------------------------------------------------

_TABLE: list[TenantKeys] = []  # set before the workers fork
_LAYOUT: Layout | None = None
_DSN = ""

CASE_COLUMNS = (
    "id", "tenant_id", "number", "channel", "source", "category", "status", "received_at", "created_at",
    "acknowledged_at", "answered_at", "closed_at", "referred_at", "ack_due_at", "answer_due_at",
    "referred_to", "assignee_id", "token_hash", "citizen_salt", "sealed_for_channel", "sealed_for_citizen",
    "needs_attention", "next_due_at",
)  # fmt: skip
ENTRY_COLUMNS = ("id", "tenant_id", "case_id", "kind", "at", "officer_id", "status", "key", "body")
NULL = "\\N"


def _copy_value(value: Any) -> str:
    if value is None:
        return NULL
    if isinstance(value, bool):
        return "t" if value else "f"
    if isinstance(value, bytes):
        return "\\\\x" + value.hex()
    if isinstance(value, datetime):
        return value.isoformat()
    return str(value)


def copy_line(values: tuple[Any, ...]) -> str:
    return "\t".join(map(_copy_value, values))


def _sealed(key: bytes, number: int, kind: str, body: dict[str, Any]) -> bytes:
    data = json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode()
    return crypto.encrypt(key, data, key_contexts.entry(number, kind))


def case_rows(i: int, layout: Layout) -> tuple[tuple[Any, ...], list[tuple[Any, ...]]]:
    """The i-th case of a data set of `layout.tenants` tenants: its row and its entries' rows (values in
    CASE_COLUMNS and ENTRY_COLUMNS order)."""
    slot, number = i % layout.tenants, i // layout.tenants + 1
    tenant = _TABLE[slot]
    case_id = i + 1
    rng = random.Random(f"{slot}:{number}")  # noqa: S311 - data generation, not secrets
    channel = PATTERN[number % len(PATTERN)]
    plan = datagen.plan_case(rng, channel, layout.now)
    lead = {"corruption": thai_text.CORRUPTION, "feedback": thai_text.FEEDBACK,
            "question": thai_text.QUESTION}  # fmt: skip
    body: dict[str, Any] = {"details": rng.choice(lead[channel])}  # small payloads: one phrase
    if channel == "feedback":
        body["rating"] = plan.body.get("rating")
    if channel == "question":
        body["publish_ok"] = plan.body.get("publish_ok")
    token = token_of(slot, number)
    content, internal, salt = crypto.random_key(), crypto.random_key(), crypto.random_salt()
    ack_days, answer_days = layout.deadlines[channel]
    ack_due = dates.due_at(plan.received, ack_days)
    answer_due = dates.due_at(plan.received, answer_days)
    shape = Case(status=plan.status, acknowledged_at=plan.ack, answered_at=plan.answered,
                 ack_due_at=ack_due, answer_due_at=answer_due)  # fmt: skip
    shape.refresh_next_due()
    officers = layout.officers if slot == 0 else {}
    assignee = officers.get(plan.assignee) if plan.assignee else None
    who = assignee or officers.get("admin")
    citizen_key = crypto.derive_citizen_key(tokens.key_material(token), salt)
    case = (
        case_id, tenant.id, number, channel, plan.source, plan.category, plan.status, plan.received,
        plan.created, plan.ack, plan.answered, plan.closed, plan.referred, ack_due, answer_due,
        "nacc" if plan.referred else None, assignee, tokens.lookup_hash(tenant.secret, token), salt,
        crypto.seal(tenant.publics[channel], content + internal, key_contexts.case_keys(number)),
        crypto.encrypt(citizen_key, content, key_contexts.case_citizen_key(number)),
        plan.status == "new", shape.next_due_at,
    )  # fmt: skip
    entries: list[tuple[Any, ...]] = []

    def entry(kind: str, at: datetime, status: str | None = None, key: str | None = None,
              blob: bytes | None = None, officer: int | None = None) -> None:  # fmt: skip
        entries.append((case_id * 8 + len(entries), tenant.id, case_id, kind, at, officer, status, key, blob))

    entry("submission", plan.received, key="content", blob=_sealed(content, number, "submission", body))
    if plan.ack:
        entry("status", plan.ack, "acknowledged", officer=who)
    if plan.progress:
        entry("status", plan.progress, "in_progress", officer=who)
    if plan.answered:
        reply = {"message": rng.choice(thai_text.REPLIES)}
        blob = _sealed(content, number, "reply", reply)
        entry("reply", plan.answered, key="content", blob=blob, officer=who)
    if plan.referred:
        referral = {"agency": "nacc", "reference": f"ปปช.{rng.randint(100, 999)}/2568", "date": "2025-01-15"}
        entry("referral", plan.referred, key="internal", blob=_sealed(internal, number, "referral", referral),
              officer=who)  # fmt: skip
        entry("status", plan.referred, "referred", officer=who)
    if plan.closed:
        entry("status", plan.closed, plan.status, officer=who)
    return case, entries


def _copy_chunk(bounds: tuple[int, int]) -> tuple[int, int]:
    """Worker: COPY cases [start, stop) of the data set; returns (cases, entries) written."""
    assert _LAYOUT is not None
    cases: list[str] = []
    entries: list[str] = []
    for i in range(*bounds):
        row, timeline = case_rows(i, _LAYOUT)
        cases.append(copy_line(row))
        entries.extend(map(copy_line, timeline))
    with psycopg.connect(_DSN) as conn:
        conn.execute("SET session_replication_role = replica")  # no FK triggers for the load
        with conn.cursor() as cur:
            with cur.copy(f"COPY cases ({', '.join(CASE_COLUMNS)}) FROM STDIN") as copy:
                copy.write("\n".join(cases) + "\n")
            with cur.copy(f"COPY entries ({', '.join(ENTRY_COLUMNS)}) FROM STDIN") as copy:
                copy.write("\n".join(entries) + "\n")
    return len(cases), len(entries)


def insert_cases(url: str, n: int) -> int:
    """SQLite (the smoke test's engine): the same rows through Core inserts, one process."""
    assert _LAYOUT is not None
    engine = make_engine(url)
    entries = 0
    with engine.begin() as conn:
        for start in range(0, n, CHUNK):
            rows: list[dict[str, Any]] = []
            timeline: list[dict[str, Any]] = []
            for i in range(start, min(n, start + CHUNK)):
                row, more = case_rows(i, _LAYOUT)
                rows.append(dict(zip(CASE_COLUMNS, row, strict=True)))
                timeline.extend(dict(zip(ENTRY_COLUMNS, e, strict=True)) for e in more)
            conn.execute(insert(Case), rows)
            conn.execute(insert(Entry), timeline)
            entries += len(timeline)
    engine.dispose()
    return entries


def _secondary_ddl(conn: psycopg.Connection[Any]) -> tuple[list[str], list[str]]:
    """(drop, create) statements for the loaded tables' unique constraints and indexes, primary keys kept."""
    drop, create = [], []
    for table, name, definition in conn.execute(
        "SELECT conrelid::regclass::text, conname, pg_get_constraintdef(oid) FROM pg_constraint "
        "WHERE contype = 'u' AND conrelid::regclass::text = ANY(%s)", (list(LOADED),)
    ):
        drop.append(f'ALTER TABLE {table} DROP CONSTRAINT "{name}"')
        create.append(f'ALTER TABLE {table} ADD CONSTRAINT "{name}" {definition}')
    for name, definition in conn.execute(
        "SELECT indexname, indexdef FROM pg_indexes WHERE tablename = ANY(%s) AND indexname NOT IN "
        "(SELECT conname FROM pg_constraint WHERE contype IN ('p', 'u'))", (list(LOADED),)
    ):
        drop.append(f'DROP INDEX "{name}"')
        create.append(definition)
    return drop, create


def load_cases(dsn: str, n: int, workers: int, log: bool) -> dict[str, float]:
    global _DSN
    _DSN = dsn
    with psycopg.connect(dsn, autocommit=True) as conn:
        drop, create = _secondary_ddl(conn)
        for statement in drop:
            conn.execute(statement)
    started = time.perf_counter()
    chunks = [(s, min(n, s + CHUNK)) for s in range(0, n, CHUNK)]
    done = entries = 0
    ctx = multiprocessing.get_context("fork")
    with ctx.Pool(workers) as pool:
        for made, timeline in pool.imap_unordered(_copy_chunk, chunks):
            done += made
            entries += timeline
            if log and (done // CHUNK) % 20 == 0:
                rate = done / (time.perf_counter() - started)
                print(f"   tenantgen: {done:,} cases, {entries:,} entries ({rate:,.0f} cases/s)", flush=True)
    loaded = time.perf_counter()
    if log:
        print(f"   tenantgen: {n:,} cases loaded in {loaded - started:.0f} s; building indexes", flush=True)

    def build(statement: str) -> None:
        with psycopg.connect(dsn, autocommit=True) as c:
            c.execute("SET maintenance_work_mem = '1GB'")
            c.execute(statement)  # our own DDL, read back from the catalogue

    with ThreadPoolExecutor(2) as threads:
        list(threads.map(build, create))
    indexed = time.perf_counter()
    with psycopg.connect(dsn, autocommit=True) as conn:
        for table in ("cases", "entries"):
            conn.execute(
                f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), (SELECT max(id) FROM {table}))"  # noqa: S608
            )
        conn.execute("VACUUM ANALYZE")
    if log:
        print(f"   tenantgen: indexes {indexed - loaded:.0f} s, vacuum {time.perf_counter() - indexed:.0f} s",
              flush=True)  # fmt: skip
    return {"load_s": loaded - started, "index_s": indexed - loaded, "entries": entries,
            "cases_per_s": n / (loaded - started)}  # fmt: skip


# --- the whole data set ---------------------------------------------------------------------------


def generate(
    inst: benchlib.Instance, tenants: int, cases: int, *, alone: bool, workers: int, now: datetime,
    log: bool = True,
) -> dict[str, Any]:
    """A data set of `tenants` tenants and `cases` cases; with `alone`, only the first tenant's share of
    it (cases // tenants) in a database of its own."""
    global _TABLE, _LAYOUT
    started = time.perf_counter()
    if inst.directory.exists():
        shutil.rmtree(inst.directory)
    inst.directory.mkdir(parents=True)
    super_url = inst.database_url
    app_url = super_url
    if inst.server_url:  # PostgreSQL: the database is owned by the app's role, no superuser
        app_url = servers.create_database(inst.server_url, inst.db_name)
    inst.database_url = app_url
    benchlib.create_schema(app_url)
    app = inst.setup()
    recovery: dict[str, str] = {}
    with app.app_context():
        session = db.session()
        officers = datagen._officers(session)
        tenancy.bind(session, tenancy.HOST)
        first = tenancy.first()
        assert first is not None
        session.execute(insert(TenantHost), [{"host": host_of(0), "tenant_id": first.id}])
        session.commit()
        tenancy.forget()
        with tenancy.acting_for(first.id):
            table = [
                TenantKeys(first.id, keyring.server_secret(first),
                           {c.value: keyring.channel_public(session, c.value) for c in Channel})
            ]  # fmt: skip
            deadlines = {}
            for c in Channel:
                limits = settings.deadlines(session, c.value)
                deadlines[c.value] = (limits.acknowledge_days, limits.answer_days)
        if not alone and tenants > 1:
            tenancy.bind(session, tenancy.HOST)
            more, recovery = add_tenants(session, tenants - 1, log)
            table += more
        session.close()
    made_tenants = time.perf_counter()
    if log:
        print(f"   tenantgen: {len(table):,} tenants in {made_tenants - started:.1f} s", flush=True)
    _TABLE = table
    _LAYOUT = Layout(len(table), now, deadlines, {name: o.id for name, o in officers.items()})
    n = cases // tenants if alone else cases
    if inst.server_url:
        dsn = make_url(super_url).set(drivername="postgresql").render_as_string(hide_password=False)
        figures = load_cases(dsn, n, workers, log)
    else:
        load_start = time.perf_counter()
        entries = insert_cases(app_url, n)
        load_s = time.perf_counter() - load_start
        figures = {"load_s": load_s, "index_s": 0.0, "entries": entries, "cases_per_s": n / load_s}
    (inst.directory / "recovery-keys.json").write_text(json.dumps(recovery) + "\n")
    return {
        "tenants": len(table),
        "cases": n,
        "first_tenant_cases": n // len(table) + (1 if n % len(table) else 0),
        "now": now.isoformat(),
        "database_url": app_url,
        "superuser_url": super_url,
        "schema": benchlib.schema_fingerprint(),
        "tenants_s": round(made_tenants - started, 1),
        "generation_s": round(time.perf_counter() - started, 1),
        **{k: round(v, 1) for k, v in figures.items()},
        "complete": True,
    }


def ensure(
    database_url: str | None, data_dir: Path, tenants: int, cases: int, *, alone: bool = False,
    workers: int = 2,
    now: datetime | None = None, fresh: bool = False, log: bool = True,
) -> tuple[benchlib.Instance, dict[str, Any]]:
    """The data set (made, or reused when its manifest is complete and the schema unchanged)."""
    name = f"scale-{'alone-' if alone else ''}{tenants}-{cases}"
    inst = benchlib.instance_for(name, database_url, data_dir)
    path = inst.directory / "manifest.json"
    if not fresh and path.exists():
        manifest = json.loads(path.read_text())
        if manifest.get("complete") and manifest.get("schema") == benchlib.schema_fingerprint():
            inst.database_url = manifest["database_url"]
            if log:
                print(f"   tenantgen: reusing {manifest['tenants']:,} tenants, {manifest['cases']:,} cases")
            return inst, manifest
    when = now or dates.now().replace(microsecond=0)
    manifest = generate(inst, tenants, cases, alone=alone, workers=workers, now=when, log=log)
    path.write_text(json.dumps(manifest, indent=1) + "\n")
    return inst, manifest


def main() -> None:
    p = benchlib.parser(__doc__.splitlines()[0])
    p.add_argument("--tenants", type=int, default=10_000)
    p.add_argument("--cases", type=int, default=1_000_000)
    p.add_argument("--alone", action="store_true", help="only the first tenant's share, in its own database")
    p.add_argument("--workers", type=int, default=2)
    p.add_argument("--now", default=None, help="ISO time the cases' ages count from (default: now)")
    args = p.parse_args()
    if not args.database_url:
        raise SystemExit("tenantgen needs --database-url (PostgreSQL)")
    now = datetime.fromisoformat(args.now).astimezone(UTC) if args.now else None
    _inst, manifest = ensure(
        args.database_url, args.data_dir, args.tenants, args.cases, alone=args.alone, workers=args.workers,
        now=now, fresh=args.fresh,
    )
    print(json.dumps({k: v for k, v in manifest.items() if not k.endswith("_url")}, indent=1))


if __name__ == "__main__":
    main()
