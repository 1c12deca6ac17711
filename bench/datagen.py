"""Make large realistic data sets fast: seed cases through the domain layer, then bulk copies.

A seed set (default 200 cases) goes through `cases.submit` and the officer operations (acknowledge,
assign, reply, refer, change_status) of a fast-KDF app, attachments through `attachments.inspect`.
The rest are made in bulk: each copy gets its own id, random case keys, a token (derived from the data
set's seed and the case's index, so benchmarks can look any case up), its keys sealed to its channel and
to its token, its timeline (Thai text from a seed, re-encrypted under its own keys with its own id as
associated data), and for about 3% an encrypted attachment file. Rows go in with executemany in batches
of 20,000 cases, so every case is valid: an officer can open it and its citizen can track it.

Channels follow a fixed pattern (exact proportions); sources, categories and received dates are random
(received between 1 Oct 2021 and now, i.e. fiscal years 2565 to this one); a case's status and its
timestamps follow its age (old cases are mostly closed).

    .venv/bin/python bench/datagen.py --cases 1000000            # SQLite, cached under the data folder
    .venv/bin/python bench/datagen.py --cases 100000 --mix pr    # 100,000 in feedback/question + 10,000
    .venv/bin/python bench/datagen.py --clean                    # delete every cached data set
"""

from __future__ import annotations

import hashlib
import io
import json
import random
import secrets
import shutil
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import benchlib
import thai_text
from PIL import Image
from sqlalchemy import func, insert, select, text
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session

from intake import (
    attachments,
    bodies,
    cases,
    crypto,
    dates,
    db,
    key_contexts,
    keyring,
    settings,
    storage,
    tenancy,
    tokens,
)
from intake.models import (
    Agency,
    Attachment,
    Case,
    Category,
    Channel,
    Entry,
    EntryKind,
    KeyKind,
    Officer,
    Role,
    Source,
    Status,
)

MIXES: dict[str, tuple[str, ...]] = {
    # 15% corruption, 45% feedback, 40% question
    "all": ("corruption",) * 3 + ("feedback",) * 9 + ("question",) * 8,
    # 10 of every 11 cases in the "pr" officer's channels (feedback, question), 1 in corruption
    "pr": ("feedback", "question") * 5 + ("corruption",),
}
SOURCES = (
    (Source.WEB, 60),
    (Source.PHONE, 10),
    (Source.LETTER, 8),
    (Source.WALK_IN, 7),
    (Source.BOX, 3),
    (Source.FACEBOOK, 5),
    (Source.LINE, 4),
    (Source.EMAIL, 2),
    (Source.OTHER, 1),
)
START = datetime(2021, 10, 1, tzinfo=dates.BANGKOK).astimezone(UTC)  # FY 2565 begins
BATCH = 20_000
SEEDS = 200
OFFICERS = (("legal", ("corruption",)), ("pr", ("feedback", "question")))


def bench_token(seed: str, index: int) -> str:
    """The token of the case at `index` (0-based) of a data set made with `seed`."""
    digest = hashlib.blake2b(f"{seed}:{index}".encode(), digest_size=16).digest()
    number = int.from_bytes(digest, "big") >> (128 - tokens.BITS)
    symbols = "".join(tokens.ALPHABET[(number >> (5 * k)) & 31] for k in range(tokens.LENGTH))
    return tokens.display(symbols)


@dataclass
class Dataset:
    instance: benchlib.Instance
    manifest: dict[str, Any]

    @property
    def n(self) -> int:
        return int(self.manifest["n"])

    def token(self, index: int) -> str:
        seeds: list[str] = self.manifest["seed_tokens"]
        return seeds[index] if index < len(seeds) else bench_token(self.manifest["token_seed"], index)

    @property
    def known_token(self) -> str:
        return self.token(self.n // 2)


# --- planning one case ----------------------------------------------------------------------------


@dataclass
class Plan:
    channel: str
    source: str
    category: str | None
    received: datetime
    created: datetime
    status: str
    ack: datetime | None
    progress: datetime | None
    referred: datetime | None
    answered: datetime | None
    closed: datetime | None
    assignee: str | None
    body: dict[str, Any]
    contact: str | None
    attachment: str | None  # "text" | "pdf" | "png"


def _after(rng: random.Random, start: datetime, mean_days: float, now: datetime) -> datetime:
    when = start + timedelta(days=rng.expovariate(1 / mean_days), minutes=rng.randint(5, 600))
    return min(when, now - timedelta(minutes=1))


def _status_for_age(rng: random.Random, age_days: float, channel: str) -> str:
    table: tuple[tuple[str, int], ...]
    if age_days < 7:
        table = (("new", 60), ("acknowledged", 30), ("in_progress", 10))
    elif age_days < 30:
        table = (
            ("new", 10),
            ("acknowledged", 25),
            ("in_progress", 35),
            ("resolved", 20),
            ("dismissed", 5),
            ("referred", 5),
        )
    else:
        referred = 20 if channel == "corruption" else 3
        table = (
            ("new", 1),
            ("acknowledged", 2),
            ("in_progress", 5),
            ("referred", referred),
            ("resolved", 75 - referred),
            ("dismissed", 15),
        )
    names = [name for name, _weight in table]
    return rng.choices(names, [weight for _name, weight in table])[0]


def plan_case(rng: random.Random, channel: str, now: datetime) -> Plan:
    source = rng.choices([s.value for s, _ in SOURCES], [w for _, w in SOURCES])[0]
    received = START + (now - START) * rng.random()
    created = received
    if source != Source.WEB:
        received = dates.received_from_date(dates.local_date(received))
        created = min(received + timedelta(hours=rng.randint(0, 72)), now)
        received = min(received, created)
    age = (now - received).total_seconds() / 86400
    status = _status_for_age(rng, age, channel)
    ack = progress = referred = answered = closed = None
    if status != "new":
        ack = _after(rng, received, 2, now)
    if status in ("in_progress", "referred", "resolved", "dismissed") and rng.random() < 0.7:
        assert ack is not None
        progress = _after(rng, ack, 2, now)
    last = progress or ack
    if status == "referred":
        assert last is not None
        referred = _after(rng, last, 5, now)
    if status in ("resolved", "dismissed"):
        assert last is not None
        closed = _after(rng, last, 10, now)
        if status == "resolved" or rng.random() < 0.3:
            answered = min(_after(rng, last, 4, now), closed)
    elif status in ("in_progress", "referred") and rng.random() < 0.4:
        assert last is not None
        answered = _after(rng, last, 3, now)
    body: dict[str, Any] = {"details": thai_text.details(rng, channel)}
    if channel == "feedback":
        body["rating"] = rng.choice([None, 1, 2, 3, 4, 5])
    if channel == "question":
        body["publish_ok"] = rng.random() < 0.5
    category = rng.choice([c.value for c in Category]) if channel == "corruption" else None
    owner = "legal" if channel == "corruption" else "pr"
    assignee = rng.choice((owner, "admin")) if status != "new" and rng.random() < 0.5 else None
    contact = rng.choice(thai_text.CONTACTS) if rng.random() < 0.4 else None
    attachment = rng.choice(("text", "pdf", "png")) if rng.random() < 0.03 else None
    return Plan(
        channel, source, category, received, created, status, ack, progress, referred, answered,
        closed, assignee, body, contact, attachment,
    )  # fmt: skip


def attachment_bytes(rng: random.Random, kind: str) -> tuple[bytes, str]:
    if kind == "text":
        return thai_text.attachment_text(rng), "บันทึกเหตุการณ์.txt"
    if kind == "pdf":
        return thai_text.minimal_pdf("evidence"), "หลักฐาน.pdf"
    img = Image.new("RGB", (64, 48), (rng.randint(0, 255), 120, 60))
    buf = io.BytesIO()
    img.save(buf, "PNG")
    return buf.getvalue(), "ภาพถ่าย.png"


# --- seeds through the domain layer ---------------------------------------------------------------


def _officers(session: Session) -> dict[str, Officer]:
    admin = session.scalar(select(Officer).where(Officer.username == benchlib.ADMIN))
    assert admin is not None
    admin_private = keyring.unlock(admin, benchlib.PASSWORD)
    out = {"admin": admin}
    for name, channels in OFFICERS:
        officer = session.scalar(select(Officer).where(Officer.username == name))
        if officer is None:
            officer = keyring.create_officer(session, name, benchlib.OFFICER_PASSWORD, Role.OFFICER)
            for channel in channels:
                private = keyring.channel_private(session, admin, admin_private, channel)
                keyring.grant(session, officer, channel, private, by=admin)
        out[name] = officer
    session.commit()
    return out


def make_seed(
    session: Session,
    rng: random.Random,
    plan: Plan,
    officers: dict[str, Officer],
    admin_private: bytes,
    instance_dir: Path,
    max_file: int,
) -> cases.Submitted:
    files = []
    if plan.attachment:
        data, name = attachment_bytes(rng, plan.attachment)
        files.append(attachments.inspect(io.BytesIO(data), name, max_file))
    sub = cases.submit(
        session,
        channel=Channel(plan.channel),
        body=bodies.from_json(plan.channel, {**plan.body, "category": plan.category}),
        contact=plan.contact,
        files=files,
        store=storage.FileStore(instance_dir / "attachments"),
        source=Source(plan.source),
        received_at=plan.received,
    )
    case = sub.case
    admin = officers["admin"]
    keys = cases.officer_keys(session, admin, admin_private, case)
    who = officers[plan.assignee] if plan.assignee else admin
    if plan.assignee:
        cases.assign(session, case, admin, who)
    if plan.ack:
        cases.change_status(session, case, who, keys, Status.ACKNOWLEDGED, at=plan.ack)
    if plan.progress:
        cases.change_status(session, case, who, keys, Status.IN_PROGRESS, at=plan.progress)
        if rng.random() < 0.3:
            cases.add_note(session, case, who, keys, rng.choice(thai_text.NOTES))
    if plan.answered:
        cases.reply(session, case, who, keys, rng.choice(thai_text.REPLIES), at=plan.answered)
    if plan.referred:
        agency = rng.choice([a for a in Agency])
        cases.refer(session, case, who, keys, agency, f"ปปช.{rng.randint(100, 999)}/2568", "2025-01-15")
    if plan.closed:
        cases.change_status(session, case, who, keys, Status(plan.status), at=plan.closed)
    # The domain stamps "now" where it takes no date; put the planned dates in place.
    case.created_at = plan.created
    case.referred_at = plan.referred
    for entry in case.entries:
        if entry.at > plan.created and entry.kind in ("assign", "note", "referral"):
            entry.at = plan.ack or plan.created
    session.commit()
    return sub


# --- bulk copies ----------------------------------------------------------------------------------


class Bulk:
    """Builds the rows of copied cases and inserts them in batches."""

    def __init__(self, app_session: Session, instance_dir: Path, officers: dict[str, Officer]) -> None:
        self.session = app_session
        self.instance_dir = instance_dir
        self.folder = instance_dir / "attachments"
        self.folder.mkdir(parents=True, exist_ok=True)
        self.secret = keyring.server_secret()
        self.channel_pub = {c.value: keyring.channel_public(app_session, c.value) for c in Channel}
        self.officer_ids = {name: o.id for name, o in officers.items()}
        self.deadlines = {c.value: settings.deadlines(app_session, c.value) for c in Channel}
        self.next_entry = (app_session.scalar(select(func.max(Entry.id))) or 0) + 1
        self.next_attachment = (app_session.scalar(select(func.max(Attachment.id))) or 0) + 1
        self.cases: list[dict[str, Any]] = []
        self.entries: list[dict[str, Any]] = []
        self.attachments: list[dict[str, Any]] = []
        self.files: dict[str, tuple[bytes, str]] = {}

    def _entry(self, case_id: int, kind: EntryKind, at: datetime, **fields: Any) -> int:
        body = fields.pop("body", None)
        key = fields.pop("key", None)
        key_kind = fields.pop("key_kind", KeyKind.CONTENT)
        row: dict[str, Any] = {
            "id": self.next_entry,
            "case_id": case_id,
            "kind": kind.value,
            "at": at,
            "officer_id": fields.get("officer_id"),
            "status": fields.get("status"),
            "key": None,
            "body": None,
        }
        if body is not None and key is not None:
            data = json.dumps(body, ensure_ascii=False).encode("utf-8")
            row["key"] = key_kind.value
            row["body"] = crypto.encrypt(key, data, key_contexts.entry(case_id, kind.value))
        self.entries.append(row)
        self.next_entry += 1
        return int(row["id"])

    def add(self, rng: random.Random, case_id: int, token: str, plan: Plan) -> None:
        content, internal = crypto.random_key(), crypto.random_key()
        salt = crypto.random_salt()
        limits = self.deadlines[plan.channel]
        citizen_key = crypto.derive_citizen_key(tokens.key_material(token), salt)
        ack_due = dates.due_at(plan.received, limits.acknowledge_days)
        answer_due = dates.due_at(plan.received, limits.answer_days)
        shape = Case(status=plan.status, acknowledged_at=plan.ack, answered_at=plan.answered,
                     ack_due_at=ack_due, answer_due_at=answer_due)
        shape.refresh_next_due()  # the queue's column, as the domain keeps it
        self.cases.append(
            {
                "id": case_id,
                "channel": plan.channel,
                "source": plan.source,
                "category": plan.category,
                "status": plan.status,
                "received_at": plan.received,
                "created_at": plan.created,
                "acknowledged_at": plan.ack,
                "answered_at": plan.answered,
                "closed_at": plan.closed,
                "referred_at": plan.referred,
                "ack_due_at": ack_due,
                "answer_due_at": answer_due,
                "next_due_at": shape.next_due_at,
                "needs_attention": plan.status == "new",
                "referred_to": rng.choice([a.value for a in Agency]) if plan.referred else None,
                "assignee_id": self.officer_ids[plan.assignee] if plan.assignee else None,
                "token_hash": tokens.lookup_hash(self.secret, token),
                "citizen_salt": salt,
                "sealed_for_channel": crypto.seal(
                    self.channel_pub[plan.channel], content + internal, key_contexts.case_keys(case_id)
                ),
                "sealed_for_citizen": crypto.encrypt(
                    citizen_key, content, key_contexts.case_citizen_key(case_id)
                ),
                "purged_at": None,
            }
        )
        who = self.officer_ids[plan.assignee or "admin"]
        submission = self._entry(
            case_id, EntryKind.SUBMISSION, plan.received, body=plan.body, key=content
        )
        if plan.contact:
            self._entry(
                case_id,
                EntryKind.CONTACT,
                plan.received,
                body={"contact": plan.contact},
                key=internal,
                key_kind=KeyKind.INTERNAL,
            )
        if plan.ack:
            self._entry(
                case_id, EntryKind.STATUS, plan.ack, officer_id=who, status="acknowledged"
            )
        if plan.assignee:
            self._entry(case_id, EntryKind.ASSIGN, plan.ack or plan.created, officer_id=who)
        if plan.progress:
            self._entry(
                case_id, EntryKind.STATUS, plan.progress, officer_id=who, status="in_progress"
            )
        if plan.answered:
            self._entry(
                case_id,
                EntryKind.REPLY,
                plan.answered,
                officer_id=who,
                body={"message": rng.choice(thai_text.REPLIES)},
                key=content,
            )
        if plan.referred:
            self._entry(
                case_id,
                EntryKind.REFERRAL,
                plan.referred,
                officer_id=who,
                body={
                    "agency": "nacc",
                    "reference": f"ปปช.{rng.randint(100, 999)}/2568",
                    "date": "2025-01-15",
                },
                key=internal,
                key_kind=KeyKind.INTERNAL,
            )
            self._entry(
                case_id, EntryKind.STATUS, plan.referred, officer_id=who, status="referred"
            )
        if plan.closed:
            self._entry(
                case_id, EntryKind.STATUS, plan.closed, officer_id=who, status=plan.status
            )
        if plan.attachment:
            self._attachment(rng, case_id, submission, content, plan)

    def _attachment(self, rng: random.Random, case_id: int, entry_id: int, key: bytes, plan: Plan) -> None:
        assert plan.attachment is not None
        if plan.attachment not in self.files:
            self.files[plan.attachment] = attachment_bytes(rng, plan.attachment)
        data, name = self.files[plan.attachment]
        kind = "text" if plan.attachment == "text" else plan.attachment
        stored = secrets.token_hex(16)
        with open(self.folder / stored, "xb") as sink:
            crypto.encrypt_stream(key, io.BytesIO(data), sink, key_contexts.attachment(case_id, stored))
        meta = json.dumps({"name": name, "type": attachments.MEDIA_TYPES[kind], "size": len(data)}).encode()
        self.attachments.append(
            {
                "id": self.next_attachment,
                "case_id": case_id,
                "entry_id": entry_id,
                "stored_name": stored,
                "key": KeyKind.CONTENT.value,
                "meta": crypto.encrypt(key, meta, key_contexts.attachment_meta(case_id)),
                "created_at": plan.created,
            }
        )
        self.next_attachment += 1

    def flush(self) -> None:
        if not self.cases:
            return
        conn = self.session.connection()
        tenant_id = tenancy.current_id()  # Core inserts bypass the session's stamping: the tenant is named
        for row in self.cases:
            row.update(tenant_id=tenant_id, number=row["id"])
        for row in (*self.entries, *self.attachments):
            row["tenant_id"] = tenant_id
        conn.execute(insert(Case), self.cases)
        conn.execute(insert(Entry), self.entries)
        if self.attachments:
            conn.execute(insert(Attachment), self.attachments)
        self.session.commit()
        self.cases, self.entries, self.attachments = [], [], []


# --- the whole data set ---------------------------------------------------------------------------


def generate(inst: benchlib.Instance, n: int, mix: str, seeds: int, *, log: bool = True) -> dict[str, Any]:
    started = time.perf_counter()
    inst.create()
    app = inst.setup()
    pattern = MIXES[mix]
    rng = random.Random(f"intake-bench:{n}:{mix}")  # noqa: S311 - data generation, not secrets
    token_seed = secrets.token_hex(8)
    now = dates.now()
    seed_tokens: list[str] = []
    counts: dict[str, int] = {c.value: 0 for c in Channel}
    with app.app_context():
        session = db.session()
        officers = _officers(session)
        admin_private = keyring.unlock(officers["admin"], benchlib.PASSWORD)
        max_file = int(app.config["ATTACHMENT_MAX_FILE"])
        n_seeds = min(n, seeds)
        for i in range(n_seeds):
            plan = plan_case(rng, pattern[i % len(pattern)], now)
            sub = make_seed(session, rng, plan, officers, admin_private, inst.instance_dir, max_file)
            if sub.case.id != i + 1:
                raise RuntimeError("seed cases must get ids 1..N on an empty database")
            seed_tokens.append(sub.token)
            counts[plan.channel] += 1
        seeded = time.perf_counter()
        if log:
            print(f"   datagen: {n_seeds} seed cases through the domain layer in {seeded - started:.1f} s")
        bulk = Bulk(session, inst.instance_dir, officers)
        engine = db.engine()
        if engine.dialect.name == "sqlite":
            session.connection().exec_driver_sql("PRAGMA synchronous=OFF")
            session.connection().exec_driver_sql("PRAGMA cache_size=-262144")
            session.commit()
        for i in range(n_seeds, n):
            plan = plan_case(rng, pattern[i % len(pattern)], now)
            bulk.add(rng, i + 1, bench_token(token_seed, i), plan)
            counts[plan.channel] += 1
            if len(bulk.cases) >= BATCH:
                bulk.flush()
                if log and (i + 1 - n_seeds) % (BATCH * 10) == 0:
                    rate = (i + 1 - n_seeds) / (time.perf_counter() - seeded)
                    print(f"   datagen: {i + 1:,} cases ({rate:,.0f} copies/s)", flush=True)
        bulk.flush()
        if engine.dialect.name == "postgresql":
            for table in ("cases", "entries", "attachments"):
                session.execute(
                    text(
                        f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "  # noqa: S608 - fixed names
                        f"(SELECT max(id) FROM {table}))"
                    )
                )
            session.commit()
    if engine.dialect.name == "postgresql":
        # What autovacuum does after a bulk load; the planner then knows the tables' sizes.
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(text("VACUUM ANALYZE"))
    engine.dispose()
    elapsed = time.perf_counter() - started
    if log:
        print(f"   datagen: {n:,} cases in {elapsed:.1f} s")
    return {
        "n": n,
        "mix": mix,
        "seeds": n_seeds,
        "token_seed": token_seed,
        "seed_tokens": seed_tokens,
        "counts": counts,
        "schema": benchlib.schema_fingerprint(),
        "database_url": inst.database_url,
        "made_at": now.isoformat(),
        "generation_s": round(elapsed, 1),
    }


def ensure(
    n: int,
    *,
    database_url: str | None = None,
    data_dir: Path = benchlib.DATA_DIR,
    mix: str = "all",
    fresh: bool = False,
    seeds: int = SEEDS,
    log: bool = True,
) -> Dataset:
    """The data set of `n` cases (made, or reused when cached with the same schema)."""
    inst = benchlib.instance_for(f"{mix}-{n}", database_url, data_dir)
    manifest_path = inst.directory / "manifest.json"
    if not fresh and manifest_path.exists():
        manifest = json.loads(manifest_path.read_text())
        if manifest.get("schema") == benchlib.schema_fingerprint() and manifest.get("complete"):
            if log:
                print(f"   datagen: reusing {n:,} cases ({mix}) from {inst.directory}")
            return Dataset(inst, manifest)
    manifest = generate(inst, n, mix, seeds, log=log)
    manifest["complete"] = True
    manifest_path.write_text(json.dumps(manifest, indent=1) + "\n")
    return Dataset(inst, manifest)



def ensure_sizes(
    args: Any, sizes: tuple[int, ...], *, mix: str = "all", extra: int = 0
) -> dict[int, Dataset]:
    """One data set per size (`extra` per cent more cases, of `mix`) for a benchmark's parsed arguments."""
    return {
        size: ensure(
            size * (100 + extra) // 100,
            database_url=args.database_url,
            data_dir=args.data_dir,
            mix=mix,
            fresh=args.fresh,
            seeds=20 if args.quick else SEEDS,
        )
        for size in sizes
    }


def clean(data_dir: Path, database_url: str | None) -> None:
    if not data_dir.exists():
        return
    for manifest_path in data_dir.glob("*/manifest.json"):
        manifest = json.loads(manifest_path.read_text())
        url = manifest.get("database_url", "")
        if url.startswith("postgresql"):
            server = make_url(url).set(database="postgres").render_as_string(hide_password=False)
            benchlib.Instance(manifest_path.parent, url, server_url=server).destroy()
    shutil.rmtree(data_dir, ignore_errors=True)
    print(f"removed {data_dir}")


def main() -> None:
    p = benchlib.parser(__doc__.splitlines()[0])
    p.add_argument("--cases", type=int, default=10_000)
    p.add_argument("--mix", choices=sorted(MIXES), default="all")
    p.add_argument("--seeds", type=int, default=SEEDS)
    p.add_argument("--clean", action="store_true", help="delete every cached data set and bench database")
    args = p.parse_args()
    if args.clean:
        clean(args.data_dir, args.database_url)
        return
    n = min(args.cases, 2_000) if args.quick else args.cases
    seeds = min(args.seeds, 20) if args.quick else args.seeds
    results = benchlib.Results("datagen", args)
    start = time.perf_counter()
    ds = ensure(n, database_url=args.database_url, data_dir=args.data_dir, mix=args.mix, fresh=args.fresh,
                seeds=seeds)  # fmt: skip
    results.figure("cases", ds.n)
    results.figure("per_channel", ds.manifest["counts"])
    results.figure("generation_s_total", round(ds.manifest["generation_s"], 1), "generation (s)")
    results.figure("wall_s_this_run", round(time.perf_counter() - start, 1), "this run (s)")
    results.figure("data", str(ds.instance.directory))
    results.figure("known_token_index", ds.n // 2)
    results.finish()


if __name__ == "__main__":
    main()
