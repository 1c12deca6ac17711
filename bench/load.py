"""Load: concurrent clients mixing submissions, tracking and officer queue views against gunicorn.

    python bench/load.py                       # SQLite, 20 clients, 60 s, 2 workers
    python bench/load.py --seconds 10          # shorter
    python bench/load.py --database-url postgresql+psycopg://intake@127.0.0.1:5432/postgres

Loopback only and bounded in time. A throwaway instance is made (a temporary folder; on PostgreSQL a
database of its own next to the one named, dropped afterwards), set up with an administrator and a
feedback/question officer (no TOTP needed for those channels), and served by gunicorn with the project's
gunicorn.conf.py. Rate limiting is off: every client shares one address here. Prints throughput,
p50/p95/p99 latency per kind of request, the number of 5xx answers and of lost submissions (tokens that
were shown but do not open their case afterwards); exits 1 unless both are zero and nothing failed. With
several workers the officers' session secrets go to a redis-server of the run's own (INTAKE_TEST_REDIS_URL
when set): memory would keep them per worker.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import secrets
import sys
import tempfile
import threading
import time
import urllib.parse
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import benchlib  # also puts the checkout on sys.path
from sqlalchemy import text  # noqa: E402

from intake import cases, create_app, db, keyring, migrate  # noqa: E402
from intake.cli import run_setup  # noqa: E402
from intake.db import make_engine  # noqa: E402
from intake.models import Role  # noqa: E402
from tests.factories import PNG_1PX  # noqa: E402
from tests.servers import (  # noqa: E402
    CSRF,
    Client,
    Reply,
    create_database,
    drop_database,
    env_for,
    multipart,
    redis_server,
    start_gunicorn,
)

ADMIN_PASSWORD = "load admin password"
RECOVERY = "load recovery passphrase"
OFFICER = "loadpr"
OFFICER_PASSWORD = "load officer password"
FORM = "application/x-www-form-urlencoded"
CHANNEL_PATHS = {"feedback": "/report/feedback", "question": "/ask", "corruption": "/report/corruption"}


@dataclass
class Stats:
    latencies: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    statuses: dict[int, int] = field(default_factory=lambda: defaultdict(int))
    unexpected: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    errors: int = 0
    tokens: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self, kind: str, seconds: float, status: int, expected: int) -> None:
        with self.lock:
            self.latencies[kind].append(seconds)
            self.statuses[status] += 1
            if status != expected:
                self.unexpected[f"{kind}:{status}"] += 1


# --- instance -------------------------------------------------------------------------------------


def make_instance(directory: Path, server_url: str | None) -> tuple[dict[str, Any], str | None]:
    """Schema, keys, administrator and the load officer. Returns (config, database to drop)."""
    drop = None
    if server_url:
        drop = f"intake_load_{secrets.token_hex(4)}"
        url = create_database(server_url, drop)
    else:
        url = f"sqlite:///{directory / 'instance' / 'intake.sqlite3'}"
    config = {
        "DATABASE_URL": url,
        "INSTANCE_DIR": str(directory / "instance"),
        "KEYS_DIR": str(directory / "keys"),
        "SECRET_KEY": secrets.token_urlsafe(32),
        "KDF_PROFILE": "fast",
        "SESSION_COOKIE_SECURE": False,
    }
    engine = make_engine(url)
    migrate.create_from_models(engine)
    engine.dispose()
    app = create_app(config)
    os.environ["INTAKE_ADMIN_PASSWORD"] = ADMIN_PASSWORD
    os.environ["INTAKE_RECOVERY_PASSPHRASE"] = RECOVERY
    with app.app_context():
        recovery_key = Path(str(config["INSTANCE_DIR"])).parent / keyring.RECOVERY_PRIVATE_FILE
        run_setup("admin", recovery_key)
        session = db.session()
        recovery = keyring.open_recovery(recovery_key, RECOVERY)
        officer = keyring.create_officer(session, OFFICER, OFFICER_PASSWORD, Role.OFFICER)
        for channel in ("feedback", "question"):
            keyring.grant_by_recovery(session, officer, channel, recovery)
        session.commit()
    app.extensions["intake.engine"].dispose()
    return config, drop


# --- clients --------------------------------------------------------------------------------------


def timed(stats: Stats, kind: str, expected: int, call: Any) -> Reply | None:
    start = time.perf_counter()
    try:
        reply: Reply = call()
    except OSError:
        with stats.lock:
            stats.errors += 1
        return None
    stats.add(kind, time.perf_counter() - start, reply.status, expected)
    return reply


def form_token(stats: Stats, client: Client, path: str) -> str | None:
    page = timed(stats, "form", 200, lambda: client.get(path))
    match = CSRF.search(page.body) if page else None
    return match.group(1) if match else None


def submit(stats: Stats, client: Client, rng: random.Random) -> None:
    channel = rng.choice(list(CHANNEL_PATHS))
    path = CHANNEL_PATHS[channel]
    csrf = form_token(stats, client, path)
    if csrf is None:
        return
    fields = {"csrf_token": csrf, "details": f"load test {channel} " + secrets.token_hex(40), "website": ""}
    files: list[tuple[str, str, bytes, str]] = []
    if channel != "question" and rng.random() < 0.3:
        files = [
            ("attachments", "note.txt", ("evidence " * 2000).encode(), "text/plain"),
            ("attachments", "p.png", PNG_1PX, "image/png"),
        ]
    body, content_type = multipart(fields, files)
    headers = {"Content-Type": content_type}
    reply = timed(stats, "submit", 200, lambda: client.request("POST", path, body, headers))
    token = reply.token() if reply and reply.status == 200 else None
    if token:
        with stats.lock:
            stats.tokens.append(token)
    elif reply is not None and reply.status == 200:
        with stats.lock:
            stats.unexpected["submit:no-token"] += 1


def track(stats: Stats, client: Client, rng: random.Random) -> None:
    with stats.lock:
        token = rng.choice(stats.tokens) if stats.tokens else None
    if token is None:
        submit(stats, client, rng)
        return
    csrf = form_token(stats, client, "/track")
    if csrf is None:
        return
    body = urllib.parse.urlencode({"csrf_token": csrf, "token": token}).encode()
    timed(stats, "track", 200, lambda: client.request("POST", "/track", body, {"Content-Type": FORM}))


def officer_login(base_url: str) -> Client:
    officer = Client(base_url)
    csrf = officer.csrf("/officer/login")
    fields = {"csrf_token": csrf, "username": OFFICER, "password": OFFICER_PASSWORD}
    body = urllib.parse.urlencode(fields).encode()
    reply = officer.request("POST", "/officer/login", body, {"Content-Type": FORM})
    if reply.status != 200 or "/officer/login" in reply.headers.get("Location", ""):
        raise RuntimeError(f"officer sign-in failed (HTTP {reply.status})")
    check = officer.get("/officer/queue")
    if check.status != 200:
        raise RuntimeError(f"queue after sign-in: HTTP {check.status}")
    return officer


def worker(base_url: str, deadline: float, stats: Stats, seed: int, mix: tuple[float, float]) -> None:
    rng = random.Random(seed)  # noqa: S311 - load mix, not security
    citizen = Client(base_url)
    officer = officer_login(base_url)
    while time.monotonic() < deadline:
        roll = rng.random()
        if roll < mix[0]:
            submit(stats, citizen, rng)
        elif roll < mix[0] + mix[1]:
            track(stats, citizen, rng)
        else:
            timed(stats, "queue", 200, lambda: officer.get("/officer/queue"))


# --- run ------------------------------------------------------------------------------------------


def check_tokens(config: dict[str, Any], tokens: list[str]) -> tuple[int, int]:
    """(lost tokens, cases in the database)."""
    app = create_app(config)
    lost = 0
    with app.app_context():
        session = db.session()
        for token in tokens:
            try:
                cases.find_by_token(session, token)
            except cases.TokenNotFound:
                lost += 1
        count = session.execute(text("SELECT count(*) FROM cases")).scalar_one()
    app.extensions["intake.engine"].dispose()
    return lost, int(count)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    p.add_argument("--seconds", type=float, default=60.0, help="how long the clients run (default 60)")
    p.add_argument("--clients", type=int, default=20, help="concurrent clients (default 20)")
    p.add_argument("--workers", type=int, default=2, help="gunicorn workers (default 2)")
    p.add_argument("--database-url", default=None, help="a PostgreSQL server URL (default: SQLite)")
    p.add_argument("--mix", default="40,40,20", help="percent submit,track,queue (default 40,40,20)")
    p.add_argument("--json", type=Path, default=None, help="also write the figures here")
    args = p.parse_args(argv)
    if args.seconds > 600 or args.clients > 64:
        p.error("bounded: at most 600 seconds and 64 clients")
    sub, trk, _ = (float(x) / 100 for x in args.mix.split(","))
    engine = "postgresql" if args.database_url else "sqlite"
    with tempfile.TemporaryDirectory(prefix="intake-load-") as tmp:
        directory = Path(tmp)
        config, drop = make_instance(directory, args.database_url)
        sessions = redis_server(directory) if args.workers > 1 else None  # memory is per process
        try:
            shared = {"SESSION_STORE_URI": sessions.url} if sessions else {}
            env = env_for(config, RATELIMIT_ENABLED=False, **shared)
            server = start_gunicorn(env, directory / "gunicorn.log", workers=args.workers)
            stats = Stats()
            try:
                # Seed a few tokens so that tracking has something to look up from the start.
                seed_client = Client(server.url)
                for _ in range(5):
                    submit(stats, seed_client, random.Random(0))  # noqa: S311
                stats.latencies.clear()
                stats.statuses.clear()
                stats.unexpected.clear()
                start = time.monotonic()
                deadline = start + args.seconds
                threads = [
                    threading.Thread(
                        target=worker, args=(server.url, deadline, stats, n, (sub, trk)), daemon=True
                    )
                    for n in range(args.clients)
                ]
                for t in threads:
                    t.start()
                for t in threads:
                    t.join(timeout=args.seconds + 120)
                elapsed = time.monotonic() - start
            finally:
                server.stop()
            lost, count = check_tokens(config, stats.tokens)
        finally:
            if sessions:
                sessions.stop()
            if drop and args.database_url:
                drop_database(args.database_url, drop)
    requests = sum(len(v) for v in stats.latencies.values())
    five_xx = sum(n for s, n in stats.statuses.items() if s >= 500)
    every = [x for v in stats.latencies.values() for x in v]
    figures: dict[str, Any] = {
        "engine": engine,
        "clients": args.clients,
        "workers": args.workers,
        "seconds": round(elapsed, 1),
        "requests": requests,
        "throughput_rps": round(requests / elapsed, 1),
        "submissions_accepted": len(stats.tokens),
        "cases_in_database": count,
        "5xx": five_xx,
        "lost_submissions": lost,
        "connection_errors": stats.errors,
        "unexpected": dict(stats.unexpected),
        "latency_ms": {},
    }
    print(f"== load: {engine}, {args.clients} clients, {args.workers} gunicorn workers, {elapsed:.0f} s")
    print(f"   requests {requests}, throughput {requests / elapsed:.1f} req/s")
    print(f"   {'kind':8} {'count':>7} {'p50 ms':>8} {'p95 ms':>8} {'p99 ms':>8}")
    for kind in ("form", "submit", "track", "queue"):
        values = stats.latencies.get(kind, [])
        row = {f"p{p}": round(benchlib.percentile(values, p) * 1000, 1) for p in (50, 95, 99)}
        figures["latency_ms"][kind] = {"count": len(values), **row}
        print(f"   {kind:8} {len(values):>7} {row['p50']:>8} {row['p95']:>8} {row['p99']:>8}")
    overall = {f"p{p}": round(benchlib.percentile(every, p) * 1000, 1) for p in (50, 95, 99)}
    figures["latency_ms"]["all"] = {"count": len(every), **overall}
    print(f"   {'all':8} {len(every):>7} {overall['p50']:>8} {overall['p95']:>8} {overall['p99']:>8}")
    print(f"   submissions accepted {len(stats.tokens)} (cases in the database {count})")
    print(f"   5xx {five_xx}, lost submissions {lost}, connection errors {stats.errors}")
    if stats.unexpected:
        print(f"   unexpected answers: {dict(stats.unexpected)}")
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(figures, indent=2) + "\n")
    ok = five_xx == 0 and lost == 0 and stats.errors == 0 and not stats.unexpected
    print("   RESULT " + ("ok: zero 5xx, zero lost" if ok else "FAILED"))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
