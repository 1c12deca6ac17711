"""Nothing accepted is lost: a burst of submissions with files, gunicorn SIGKILLed in the middle, restarted.

Every token a client received must open its case, every case must be whole (its submission entry, both
files on disk and decryptable), no orphan file may remain after the sweep, and the counts must agree.
Runs on the suite's engine (SQLite, and PostgreSQL when INTAKE_TEST_DATABASE_URL is set), with the files on
`file:` and on `s3:` (SeaweedFS): a case is durable only once its objects are.
"""

from __future__ import annotations

import secrets
import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import func, select

from intake import attachments, cases, db, keyring
from intake.db import make_engine
from intake.models import Attachment, Case, EntryKind

from .conftest import PASSWORD, on_both_stores, store_of
from .factories import PNG_1PX, Factory
from .servers import Client, env_for, start_gunicorn

pytestmark = pytest.mark.slow

CLIENTS = 8
PER_CLIENT = 5  # 40 submissions in all
KILL_AFTER = 12  # successful submissions before the SIGKILL
FILE_BYTES = 512 * 1024
AFTER = "after the crash"


@dataclass
class Burst:
    received: dict[str, str] = field(default_factory=dict)  # token -> submission label
    sent: dict[str, bytes] = field(default_factory=dict)  # label -> text file sent
    attempted: int = 0
    failed: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)
    enough: threading.Event = field(default_factory=threading.Event)


def _payload(label: str) -> bytes:
    line = (label + " " + secrets.token_hex(32) + "\n").encode()
    return line * (FILE_BYTES // len(line))


def _client(base_url: str, number: int, burst: Burst) -> None:
    client = Client(base_url, timeout=60)
    for k in range(PER_CLIENT):
        label = f"burst-{number}-{k}"
        data = _payload(label)
        path = "/report/corruption" if k % 2 else "/report/feedback"
        with burst.lock:
            burst.attempted += 1
            burst.sent[label] = data
        try:
            reply = client.post(
                path,
                {"details": label, "contact": f"contact {label}", "website": "", "keep_filename": "y"},
                files=[("attachments", f"{label}.txt", data, "text/plain"),
                       ("attachments", "photo.png", PNG_1PX, "image/png")],
            )
        except OSError:  # the server was killed under this request, or is down
            with burst.lock:
                burst.failed += 1
            return
        token = reply.token() if reply.status == 200 else None
        with burst.lock:
            if token is None:
                burst.failed += 1
                return
            burst.received[token] = label
            if len(burst.received) >= KILL_AFTER:
                burst.enough.set()


def _check_instance(app: Flask, burst: Burst) -> dict[str, int]:
    """Every case whole and readable; returns the counts."""
    store = store_of(app)
    with app.app_context():
        session = db.session()
        removed = attachments.sweep_orphans(session, store, timedelta(0))
        admin = Factory(app, session).legal()  # opens every channel, corruption included
        private = keyring.unlock(admin, PASSWORD)
        all_cases = session.scalars(select(Case)).all()
        for case in all_cases:
            assert [e.kind for e in case.entries][:1] == [EntryKind.SUBMISSION]
            keys = cases.officer_keys(session, admin, private, case)
            view = cases.officer_view(session, case, keys)
            label = view.submission["details"]
            if label == AFTER:
                continue
            assert view.contact == f"contact {label}"
            assert len(case.attachments) == 2
            by_name = {
                attachments.read_meta(a, keys.content)["name"]: attachments.read_all(
                    attachments.open_plain(store, a, keys.content)
                )
                for a in case.attachments
            }
            assert by_name[f"{label}.txt"] == burst.sent[label]
            assert by_name["photo.png"].startswith(b"\x89PNG")
        for token, label in burst.received.items():
            found = cases.find_by_token(session, token)
            assert cases.citizen_timeline(session, found)[0].data["details"] == label
        rows = session.scalar(select(func.count()).select_from(Attachment))
        files = sorted(info.name for info in store.list_objects())
        assert files == sorted(session.scalars(select(Attachment.stored_name)))
        return {"cases": len(all_cases), "attachments": int(rows or 0), "orphans": len(removed)}


@on_both_stores
def test_sigkill_mid_burst_loses_no_accepted_submission(make_app: Any, tmp_path: Path) -> None:
    app = make_app()
    env = env_for(app.config, RATELIMIT_ENABLED=False)
    server = start_gunicorn(env, tmp_path / "gunicorn.log", workers=2)
    burst = Burst()
    try:
        with ThreadPoolExecutor(max_workers=CLIENTS) as pool:
            futures = [pool.submit(_client, server.url, n, burst) for n in range(CLIENTS)]
            assert burst.enough.wait(timeout=300), "the burst never reached the kill point"
            server.kill()
            for future in futures:
                future.result(timeout=120)
    finally:
        server.kill()
    assert burst.attempted > len(burst.received) >= KILL_AFTER  # killed in the middle, really
    assert burst.attempted == len(burst.received) + burst.failed

    restarted = start_gunicorn(env, tmp_path / "gunicorn-2.log", workers=2)
    try:
        client = Client(restarted.url)
        for token, label in burst.received.items():
            page = client.post("/track", {"token": token})
            assert page.status == 200, token
            assert 'id="case-status"' in page.body and label in page.body
        after = client.post("/report/feedback", {"details": AFTER, "website": ""}, files=[])
        assert after.status == 200 and after.token()
    finally:
        restarted.stop()

    counts = _check_instance(app, burst)
    print(f"durability: sent={burst.attempted} answered={len(burst.received)} cut={burst.failed} {counts}")
    # Cases: every answered submission, plus at most those cut off after their commit but before the answer.
    assert len(burst.received) + 1 <= counts["cases"] <= burst.attempted + 1
    assert counts["attachments"] == 2 * (counts["cases"] - 1)


def test_sqlite_runs_in_wal_mode_with_busy_timeout_and_secure_delete(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'pragmas.sqlite3'}")
    try:
        with engine.connect() as conn:
            pragmas = {
                name: conn.exec_driver_sql(f"PRAGMA {name}").scalar()
                for name in ("journal_mode", "busy_timeout", "synchronous", "secure_delete", "foreign_keys")
            }
    finally:
        engine.dispose()
    assert pragmas == {
        "journal_mode": "wal",
        "busy_timeout": 30000,
        "synchronous": 2,  # FULL: a commit is on disk before the token is shown
        "secure_delete": 1,
        "foreign_keys": 1,
    }
