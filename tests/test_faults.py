"""Faults under load: two app servers behind HAProxy on one PostgreSQL, Redis and SeaweedFS, each taken away.

Everything is started here on 127.0.0.1 free ports and stopped at the end: a PostgreSQL cluster, Redis and
SeaweedFS of the test's own (the suite's shared ones must stay up), two gunicorn app servers, each with an
instance folder of its own (nothing in one is read by the other: issue 15 item 3) and the same keys/
folder and INTAKE_SECRET_KEY (deployed configuration), and HAProxy in front with health checks, retries
and redispatch, serving the app's own 503 page when no server can answer. Through HAProxy, a bounded load
(tests/fault_load.py) of citizens submitting with files and tracking, and officers signed in with TOTP
opening cases and downloading files, while, one after the other:

  1. one app server is killed with SIGKILL, then started again;
  2. a rolling restart: each app server stopped gracefully and started again, one at a time;
  3. PostgreSQL is stopped as a crash would stop it (immediate) and started again;
  4. Redis (the rate limiter's counts) is stopped for a while, then started;
  5. SeaweedFS (the files) is stopped for a while, then started;
  6. the Redis of the officers' session secrets is stopped and started again, empty: it keeps no copy on
     disk by design (a secret must die with it), so every officer is signed out; they sign in again and
     go on. Before this fault any sign-out is a failure.

Then: every token a client received opens its case, with every file it was sent with, decryptable; no
answer was a 500 or held a trace; every 503 was one of our "try again shortly" pages; the audit chain is
whole; the servers' logs hold no unhandled error. The figures are printed (README "Faults survived").
Runs once, in the PostgreSQL pass of the suite (`make check`), not once per engine: it brings its own.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import shutil
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from intake import attachments, audit, create_app, crypto, db, keyring, migrate, proxy_page, storage
from intake.cli import run_setup
from intake.db import make_engine
from intake.models import CHANNELS, Role
from intake.officer import signin

from . import engines, fault_load, seaweed
from .servers import Client, Server, create_database, env_for, free_port, start_gunicorn

pytestmark = pytest.mark.slow

CITIZENS = 3
BUDGET = 2500  # requests at most
LOAD_DEADLINE = 240.0  # seconds at most, whatever happens
AWAY = 4.0  # seconds an engine stays away
SETTLE = 2.5  # seconds of ordinary load between faults
ADMIN_PASSWORD = "faults admin password"
RECOVERY = "faults recovery passphrase"
OFFICER_PASSWORD = "faults officer password"


@dataclass
class AppServer:
    """One gunicorn app server on a fixed port (HAProxy knows it by that port)."""

    env: dict[str, str]
    log: Path
    port: int
    server: Server | None = None

    def start(self) -> None:
        self.server = start_gunicorn(self.env, self.log, workers=2, port=self.port, timeout=120)

    def kill(self) -> None:
        if self.server is not None:
            self.server.kill()
            self.server = None

    def stop(self) -> None:
        if self.server is not None:
            self.server.stop()
            self.server = None

    def unhandled(self) -> list[str]:
        """Errors no handler took: the app's own "unhandled error" (a 500 page) and gunicorn's "Error
        handling request" (an exception that left the app: a bare 500). Handled errors may log a trace."""
        text = self.log.read_text(errors="replace") if self.log.exists() else ""
        return [line for line in text.splitlines()
                if "unhandled error" in line or "Error handling request" in line]


def make_instance(
    folder: Path, database_url: str, s3: seaweed.SeaweedS3
) -> tuple[dict[str, Any], list[fault_load.Officer]]:
    """Schema, keys, administrator and two officers holding every channel with TOTP enrolled."""
    config: dict[str, Any] = {
        "DATABASE_URL": database_url,
        "INSTANCE_DIR": str(folder / "instance-setup"),
        "KEYS_DIR": str(folder / "keys"),
        "SECRET_KEY": secrets.token_urlsafe(32),
        "KDF_PROFILE": "fast",
        "SESSION_COOKIE_SECURE": False,
        **s3.config("faults"),
    }
    engine = make_engine(database_url)
    migrate.create_from_models(engine)
    engine.dispose()
    app = create_app(config)
    os.environ["INTAKE_ADMIN_PASSWORD"] = ADMIN_PASSWORD
    os.environ["INTAKE_RECOVERY_PASSPHRASE"] = RECOVERY
    officers = []
    try:
        with app.app_context():
            recovery_file = folder / keyring.RECOVERY_PRIVATE_FILE  # offline, not in keys/ (setup insists)
            run_setup("admin", recovery_file)
            session = db.session()
            recovery = keyring.open_recovery(recovery_file, RECOVERY)
            for name in ("faults1", "faults2"):
                officer = keyring.create_officer(session, name, OFFICER_PASSWORD, Role.OFFICER)
                for channel in CHANNELS:
                    keyring.grant_by_recovery(session, officer, channel, recovery)
                session.flush()
                private = keyring.unlock(officer, OFFICER_PASSWORD)
                secret = crypto.new_totp_secret()
                officer.totp_secret = crypto.encrypt(
                    signin._totp_key(private), secret, signin._totp_aad(officer)
                )
                keyring.stamp_officer(officer)
                officers.append(fault_load.Officer(name, OFFICER_PASSWORD, secret))
            session.commit()
        (folder / "intake-503.http").write_bytes(proxy_page.http_response(app))
    finally:
        os.environ.pop("INTAKE_ADMIN_PASSWORD", None)
        os.environ.pop("INTAKE_RECOVERY_PASSPHRASE", None)
        app.extensions["intake.engine"].dispose()
    return config, officers


def server_folders(folder: Path, config: dict[str, Any], n: int) -> tuple[Path, Path]:
    """App server n's own instance folder (empty) and its own copy of keys/, as a deployment copies it to
    each server (the recovery key is never there: it belongs offline)."""
    keys = folder / f"keys-{n}"
    shutil.copytree(config["KEYS_DIR"], keys)
    assert not (keys / keyring.RECOVERY_PRIVATE_FILE).exists()
    return folder / f"instance-{n}", keys


def snapshot(folder: Path) -> dict[str, bytes]:
    """Every file under `folder` (absent: none) and its bytes."""
    if not folder.exists():
        return {}
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def server_env(
    config: dict[str, Any], folders: tuple[Path, Path], redis_url: str, sessions_url: str
) -> dict[str, str]:
    instance, keys = folders
    limits = {
        "RATELIMIT_SUBMIT": "10000 per minute", "RATELIMIT_TRACK_FAILURES": "10000 per minute",
        "RATELIMIT_LOGIN": "1000 per minute", "RATELIMIT_MEGAPIXELS": "100000 per hour",
        "RATELIMIT_UPLOAD_MB": "100000 per hour", "RATELIMIT_TRACK_CEILING": "100000 per hour",
        "RATELIMIT_TRACK_PREFIX": "100000 per day",
    }
    return env_for({**config, "INSTANCE_DIR": str(instance), "KEYS_DIR": str(keys),
                    "RATELIMIT_STORAGE_URI": redis_url},
                   PROXY_FIX_X_FOR=1, WORKER_TIMEOUT=60, SESSION_STORE_URI=sessions_url, **limits)


def _stop_once_started(starting: Future[seaweed.SeaweedS3]) -> None:
    with contextlib.suppress(Exception):
        starting.result(timeout=seaweed.START_TIMEOUT + 30).stop()


def test_faults_under_load_lose_nothing_and_show_no_500(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    if not os.environ.get("INTAKE_TEST_DATABASE_URL"):
        pytest.skip("runs once, in the suite's PostgreSQL pass (it starts a PostgreSQL of its own)")
    assert engines.haproxy_binary(), "haproxy is missing: .ci/apt-packages.txt (make system-deps)"
    with contextlib.ExitStack() as stack:
        pool = ThreadPoolExecutor(max_workers=2)  # start what takes seconds side by side
        stack.callback(pool.shutdown)
        starting = pool.submit(seaweed.start, tmp_path / "seaweed")
        stack.callback(_stop_once_started, starting)
        cluster = stack.enter_context(engines.postgres_cluster())
        (tmp_path / "redis").mkdir()
        redis = engines.RedisServer(tmp_path / "redis")
        redis.start()
        stack.callback(redis.stop)
        (tmp_path / "redis-sessions").mkdir()
        sessions_redis = engines.RedisServer(tmp_path / "redis-sessions")
        sessions_redis.start()
        stack.callback(sessions_redis.stop)
        s3 = starting.result(timeout=seaweed.START_TIMEOUT + 30)
        database_url = create_database(cluster.url(), "intake")
        config, officers = make_instance(tmp_path, database_url, s3)
        folders = [server_folders(tmp_path, config, n) for n in (1, 2)]
        keys_before = [snapshot(keys) for _instance, keys in folders]
        apps = [AppServer(server_env(config, f, redis.url, sessions_redis.url), tmp_path / f"app{n}.log",
                          free_port())
                for n, f in enumerate(folders, 1)]
        for app_server in apps:
            stack.callback(app_server.stop)
        list(pool.map(AppServer.start, apps))
        haproxy_port = free_port()
        config_file = tmp_path / "haproxy.cfg"
        runtime = tmp_path / "haproxy.sock"
        config_file.write_text(engines.haproxy_config(haproxy_port, [a.port for a in apps],
                                                      tmp_path / "intake-503.http", runtime))
        balancer = engines.HAProxy(config_file, haproxy_port, tmp_path / "haproxy.log", runtime)
        balancer.start()
        stack.callback(balancer.stop)
        for n in (1, 2):
            balancer.wait_up(f"app{n}")

        tally = fault_load.Tally(budget=BUDGET, deadline=time.monotonic() + LOAD_DEADLINE)
        stack.callback(tally.stop.set)  # the clients stop whatever happens below
        started = time.monotonic()
        threads = fault_load.start(tally, balancer.url, officers, CITIZENS)
        timeline = run_faults(tally, balancer, apps, cluster, redis, s3, sessions_redis, len(officers))
        tally.stop.set()
        for thread in threads:
            thread.join(timeout=60)
        elapsed = time.monotonic() - started
        assert not any(t.is_alive() for t in threads), "a client did not stop"

        # With no server able to answer, HAProxy itself serves the app's page (intake/proxy_page.py).
        for n in (1, 2):
            balancer.command(f"set server app/app{n} state maint")
        nobody = Client(balancer.url).get("/report/feedback")
        lost, files_checked = check_every_token(config, tally)
        unhandled = [line for a in apps for line in a.unhandled()]
        # No state on an app server: nothing was written to its instance folder or its keys/ copy.
        instance_files = [name for instance, _keys in folders for name in snapshot(instance)]
        keys_after = [snapshot(keys) for _instance, keys in folders]
        figures = report(tally, elapsed, timeline, lost, files_checked)
        with capsys.disabled():
            print("\n" + figures)
        with create_app({**config, "INSTANCE_DIR": str(tmp_path / "instance-check")}).app_context() as ctx:
            broken = audit.verify(db.session())
            ctx.app.extensions["intake.engine"].dispose()

    assert lost == 0, figures
    assert nobody.status == 503 and fault_load.PROXY_PAGE in nobody.body, nobody.body[:300]
    headers = {name.lower(): value for name, value in nobody.headers.items()}  # HAProxy lowercases them
    assert headers.get("retry-after") == "30" and fault_load.TRY_AGAIN in nobody.body
    assert not instance_files, f"an app server kept state in its instance folder: {instance_files}"
    assert keys_after == keys_before, "an app server wrote to its keys/ folder"
    assert not tally.failures, figures + "\n" + "\n".join(tally.examples)
    assert tally.by_status.get(500, 0) == 0
    assert not unhandled, "\n".join(unhandled[:20])
    assert broken is None, f"the audit chain is broken at {broken}"
    assert tally.signed_in_again == len(officers), figures  # each, once: after the sessions' Redis restart
    assert len(tally.received) >= 20, figures  # the load did submit, through the faults
    assert tally.downloads >= 5 and tally.tracked >= 10, figures
    assert sum(tally.away.values()) > 0, "no fault was seen by any client: the faults did not happen"
    quiet = [name for name, _s in timeline if not tally.by_phase[name]]
    assert not quiet, f"no request was made during {quiet}: the load stopped too early"


def run_faults(tally: fault_load.Tally, balancer: engines.HAProxy, apps: list[AppServer],
               cluster: engines.PostgresCluster, redis: engines.RedisServer,
               s3: seaweed.SeaweedS3, sessions_redis: engines.RedisServer,
               officers: int) -> list[tuple[str, float]]:
    """The faults, one after the other, with ordinary load between them; (what, seconds it took)."""
    timeline: list[tuple[str, float]] = []

    def step(name: str, do: Callable[[], None]) -> None:
        tally.phase = "between the faults"
        time.sleep(SETTLE)
        tally.phase = name
        began = time.monotonic()
        do()
        timeline.append((name, time.monotonic() - began))
        time.sleep(1.0)  # answers still in flight belong to this fault
        tally.phase = "between the faults"

    def kill_and_restart() -> None:
        apps[0].kill()  # no warning: HAProxy finds out from the refused connections and its health checks
        time.sleep(AWAY / 2)
        apps[0].start()
        balancer.wait_up("app1")

    def rolling_restart() -> None:
        # As an operator does it: drain a server in HAProxy, stop it gracefully, start it, put it back.
        for n, app_server in enumerate(apps, 1):
            balancer.drain(f"app{n}")
            app_server.stop()
            app_server.start()
            balancer.ready(f"app{n}")

    def restart_postgres() -> None:
        cluster.stop("immediate")
        time.sleep(AWAY / 2)
        cluster.start()

    def redis_away() -> None:
        redis.stop()
        time.sleep(AWAY)
        redis.start()

    def store_away() -> None:
        s3.stop()
        time.sleep(AWAY)
        seaweed.launch(s3)

    def sessions_lost() -> None:
        sessions_redis.stop()
        tally.sessions_lost = True
        time.sleep(AWAY / 2)
        sessions_redis.start()
        # Officers sign in again with a code of a new TOTP step: keep the load on until they have.
        until = time.monotonic() + 2 * crypto.TOTP_STEP + AWAY
        while tally.signed_in_again < officers and time.monotonic() < until and tally.running():
            time.sleep(0.5)

    step(fault_load.KILL_PHASE, kill_and_restart)
    step("rolling restart of both app servers", rolling_restart)
    step("PostgreSQL crashed (immediate stop), restarted", restart_postgres)
    step("Redis stopped, started", redis_away)
    step("SeaweedFS stopped, started", store_away)
    step(fault_load.SESSIONS_PHASE, sessions_lost)
    time.sleep(SETTLE)
    return timeline


def check_every_token(config: dict[str, Any], tally: fault_load.Tally) -> tuple[int, int]:
    """(tokens that do not open a whole case, files read and decrypted) after the faults."""
    from intake import cases

    app = create_app({**config, "INSTANCE_DIR": config["INSTANCE_DIR"] + "-verify"})
    lost = files = 0
    with app.app_context():
        session = db.session()
        for token, sent in tally.received.items():
            try:
                found = cases.find_by_token(session, token)
            except cases.TokenNotFound:
                lost += 1
                continue
            if len(found.case.attachments) != sent.files:
                lost += 1
                continue
            for att in found.case.attachments:
                chunks = attachments.open_plain(storage.current(), att, found.keys.content)
                plain = attachments.read_all(chunks)
                meta = attachments.read_meta(att, found.keys.content)
                if str(meta.get("name", "")).endswith(".txt") and sent.label.encode() not in plain:
                    lost += 1
                files += 1
    app.extensions["intake.engine"].dispose()
    return lost, files


def report(tally: fault_load.Tally, elapsed: float, timeline: list[tuple[str, float]], lost: int,
           files: int) -> str:
    statuses = ", ".join(f"{code}: {n}" for code, n in sorted(tally.by_status.items()))
    kinds = ", ".join(f"{kind} {n}" for kind, n in sorted(tally.by_kind.items()))
    away = ", ".join(f"{kind} {n}" for kind, n in sorted(tally.away.items())) or "none"
    elsewhere = sum(n for name, n in tally.away_by_phase.items() if name not in dict(timeline))
    failures = ", ".join(f"{kind} {n}" for kind, n in sorted(tally.failures.items())) or "none"
    lines = [
        f"== faults under load: 2 app servers (2 workers each) behind HAProxy, {CITIZENS} citizens, "
        f"2 officers, {elapsed:.0f} s",
        *(f"   {name}: {seconds:.1f} s, {tally.by_phase[name]} requests meanwhile, "
          f"{tally.away_by_phase[name]} of them 503" for name, seconds in timeline),
        f"   requests {tally.requests} ({kinds})",
        f"   by status: {statuses}",
        f"   503 'try again shortly' while an engine was away: {away}",
        f"   503s between the faults (answers to requests sent during one): {elsewhere}",
        f"   failures by kind: {failures}",
        f"   submissions accepted {len(tally.received)}, given up after {fault_load.PATIENCE} tries "
        f"{tally.gave_up}; tracked {tally.tracked}; officer downloads {tally.downloads}; "
        f"officers signed in again after the sessions' Redis restart {tally.signed_in_again}",
        f"   afterwards: every token checked, {files} files decrypted; lost = {lost}",
    ]
    return "\n".join(lines)
