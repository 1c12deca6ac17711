"""Issue 9, finding 2, read as an attacker holding a copy of the database: PostgreSQL keeps a deleted row as a
dead tuple (and in its WAL) after sign-out; that row and the old cookie must still open nothing, because the
session's second secret lived only in the session store (Redis under .ci/with-services.sh, else memory).

Also: the store away gives a clear 503 page and loses nothing; production refuses `memory://` sessions with
several worker processes (each would hold its own sessions).
"""

from __future__ import annotations

import base64
import hashlib
import importlib.util
import logging
import os
import subprocess
import sys
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import insert

from intake import crypto, dates, key_contexts, keyring, session_store
from intake.models import OfficerSession
from intake.sessions import SESSION_ID, SESSION_KEY

from .officer_helpers import PR_PASSWORD, OfficerActions, officer_named, session_count, with_pr, world

REDIS_URL = os.environ.get("INTAKE_TEST_REDIS_URL", "")
STORE_URI = REDIS_URL or "memory://"  # real Redis with the services, this process's memory without
AWAY = "redis://127.0.0.1:1/0"  # nothing listens on port 1: refused at once
ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def app(make_app: Any) -> Flask:
    made: Flask = make_app(SESSION_STORE_URI=STORE_URI)
    with_pr(made)
    return made


def _signed_in(app: Flask) -> tuple[FlaskClient, dict[str, Any], dict[str, str]]:
    """A client signed in as pr, its officer_sessions row as it was (a copy of the database), its cookie."""
    client = app.test_client()
    OfficerActions(client).login("pr", PR_PASSWORD)
    with client.session_transaction() as cookie:
        old_cookie = {SESSION_ID: cookie[SESSION_ID], SESSION_KEY: cookie[SESSION_KEY]}
    row_id = hashlib.sha256(old_cookie[SESSION_ID].encode()).hexdigest()
    with world(app) as (s, _f):
        row = s.get(OfficerSession, row_id)
        assert row is not None
        saved = {c.key: getattr(row, c.key) for c in OfficerSession.__table__.columns}
    return client, saved, old_cookie


def _opens(app: Flask, saved: dict[str, Any], old_cookie: dict[str, str]) -> bytes | None:
    """What an attacker gets from the saved row and the old cookie (with whatever the store still holds)."""
    cookie_key = base64.urlsafe_b64decode(old_cookie[SESSION_KEY])
    aad = key_contexts.officer_session(saved["id"])
    with app.app_context():
        secret = session_store.secret_of(saved["id"])
    candidates = [cookie_key, crypto.session_wrap_key(cookie_key, b"\x00" * 32)]
    if secret is not None:
        candidates.append(crypto.session_wrap_key(cookie_key, secret))
    for key in candidates:
        try:
            return crypto.decrypt(key, saved["wrapped_private_key"], aad)
        except crypto.CryptoError:
            continue
    return None


def _restore(app: Flask, saved: dict[str, Any], client: FlaskClient, old_cookie: dict[str, str]) -> None:
    """Put the row back as the copy had it (a dead tuple brought back) and the old cookie into the browser."""
    with world(app) as (s, _f):
        s.execute(insert(OfficerSession).values(**saved))
        s.commit()
    with client.session_transaction() as cookie:
        cookie.update(old_cookie)


def _pr_private(app: Flask) -> bytes:
    with world(app) as (s, _f):
        return keyring.unlock(officer_named(s, "pr"), PR_PASSWORD)


def test_finding_02_pg_dead_session_row_and_old_cookie_open_nothing(app: Flask) -> None:
    """Sign in, copy the session row, sign out: the copy and the old cookie open nothing (the secret is gone),
    and the row put back with the old cookie is no session."""
    client, saved, old_cookie = _signed_in(app)
    assert _opens(app, saved, old_cookie) == _pr_private(app)  # the control: while signed in, it opens
    if REDIS_URL:
        import redis

        ttl = int(redis.Redis.from_url(REDIS_URL).ttl(session_store.KEY_PREFIX + saved["id"]))  # type: ignore[arg-type]
        assert 0 < ttl <= app.config["OFFICER_IDLE_TIMEOUT"] + 1  # dies with idle expiry at the latest
    OfficerActions(client).logout()
    assert session_count(app) == 0
    assert _opens(app, saved, old_cookie) is None
    _restore(app, saved, client, old_cookie)
    assert client.get("/officer/queue").status_code == 302
    assert session_count(app) == 0  # and the restored row went at once


def test_finding_02_pg_expired_session_row_and_old_cookie_open_nothing(
    app: Flask, monkeypatch: pytest.MonkeyPatch
) -> None:
    client, saved, old_cookie = _signed_in(app)
    start = dates.now()
    monkeypatch.setattr(dates, "now", lambda: start + timedelta(hours=9))  # past the absolute lifetime
    assert client.get("/officer/queue").status_code == 302
    monkeypatch.setattr(dates, "now", lambda: start)
    assert _opens(app, saved, old_cookie) is None
    _restore(app, saved, client, old_cookie)  # the copy's timestamps say it is still fresh
    assert client.get("/officer/queue").status_code == 302


def test_finding_02_swept_and_ended_sessions_lose_their_secrets(
    app: Flask, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An abandoned session swept at someone's sign-in, and the other sessions a password change ends."""
    _client, abandoned, abandoned_cookie = _signed_in(app)
    start = dates.now()
    monkeypatch.setattr(dates, "now", lambda: start + timedelta(minutes=31))  # idle expiry
    mine, kept, kept_cookie = _signed_in(app)  # this sign-in sweeps the abandoned row
    assert _opens(app, abandoned, abandoned_cookie) is None
    _other, other, other_cookie = _signed_in(app)
    assert _opens(app, other, other_cookie) is not None
    new = "a brand new password 3"
    form = {"current": PR_PASSWORD, "new": new, "confirm": new}
    changed = OfficerActions(mine).post("/officer/password", form)
    assert changed.status_code == 303
    assert _opens(app, other, other_cookie) is None
    assert _opens(app, kept, kept_cookie) is not None  # the session that changed it goes on


def test_a_lost_secret_ends_the_session_without_an_error(app: Flask) -> None:
    """Redis restarted (its secrets gone): the officer signs in again, nothing worse."""
    client, saved, _cookie = _signed_in(app)
    with app.app_context():
        session_store.forget([saved["id"]])
    answer = client.get("/officer/queue")
    assert answer.status_code == 302 and answer.headers["Location"].startswith("/officer/login")
    assert session_count(app) == 0
    OfficerActions(client).login("pr", PR_PASSWORD)
    assert client.get("/officer/queue").status_code == 200


def test_session_store_away_is_a_clear_503_and_nothing_is_lost(app: Flask) -> None:
    client, saved, old_cookie = _signed_in(app)
    working = app.extensions["intake.session_store"]
    app.extensions["intake.session_store"] = session_store.for_uri(AWAY)
    try:
        away = client.get("/officer/queue")
        assert away.status_code == 503 and away.headers["Retry-After"]
        page = away.get_data(as_text=True)
        assert "ระบบเข้าสู่ระบบของเจ้าหน้าที่ขัดข้องชั่วคราว" in page and "Traceback" not in page
        client.set_cookie("lang", "en")
        english = client.get("/officer/queue")
        assert english.status_code == 503 and "Officer sign-in is briefly unavailable" in english.text
        client.delete_cookie("lang")
        assert session_count(app) == 1  # the session was not ended for it
        fresh = app.test_client()
        refused = OfficerActions(fresh).post("/officer/login", {"username": "pr", "password": PR_PASSWORD})
        assert refused.status_code == 503
        assert session_count(app) == 1  # no half-made session
    finally:
        app.extensions["intake.session_store"] = working
    assert client.get("/officer/queue").status_code == 200  # back: the same session goes on
    assert _opens(app, saved, old_cookie) == _pr_private(app)


def test_the_store_follows_the_rate_limiter_redis_unless_told(make_app: Any) -> None:
    from config import ConfigError, session_store_uri

    assert session_store_uri("", "memory://") == "memory://"
    assert session_store_uri("", "redis://r:6379/1") == "redis://r:6379/1"
    assert session_store_uri("memory://", "redis://r:6379/1") == "memory://"
    assert session_store_uri("", "memcached://m:11211") == "memory://"
    with pytest.raises(ConfigError, match="INTAKE_SESSION_STORE_URI"):
        session_store_uri("memcached://m:11211", "")


# --- production refuses memory sessions with several worker processes ----------------------------------


def _gunicorn_conf() -> Any:
    spec = importlib.util.spec_from_file_location("gunicorn_conf_sessions", ROOT / "gunicorn.conf.py")
    assert spec is not None and spec.loader is not None
    conf = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(conf)
    return conf


def _production_env(tmp_path: Path) -> dict[str, str]:
    keys = tmp_path / "keys"
    keys.mkdir(exist_ok=True)
    (keys / "token.secret").write_text("x")
    (keys / "recovery.pub").write_text("x")
    return {
        "INTAKE_ENV": "production",
        "INTAKE_SECRET_KEY": "s" * 40,
        "INTAKE_KEYS_DIR": str(keys),
        "INTAKE_PUBLIC_URL": "https://intake.example.go.th",
        "INTAKE_RATELIMIT_ENABLED": "false",  # so that only the session store is in question
    }


def test_finding_02_production_refuses_memory_sessions_with_several_workers(tmp_path: Path) -> None:
    conf = _gunicorn_conf()
    env = _production_env(tmp_path)
    [problem] = conf.production_problems(env, 3, 1)
    assert "INTAKE_SESSION_STORE_URI is memory://" in problem and "3 worker processes" in problem
    assert conf.production_problems(env, 1, 4) == []  # threads share one process's memory
    assert conf.production_problems({**env, "INTAKE_SESSION_STORE_URI": AWAY}, 3, 1) == []
    assert conf.production_problems({**env, "INTAKE_RATELIMIT_STORAGE_URI": AWAY}, 3, 1) == []  # followed
    full = {k: v for k, v in os.environ.items() if not k.startswith("INTAKE_")}
    full.update(env, INTAKE_BIND="127.0.0.1:0", INTAKE_WORKERS="2")
    result = subprocess.run(
        [sys.executable, "-m", "gunicorn", "-c", str(ROOT / "gunicorn.conf.py"), "wsgi:app"],
        cwd=ROOT, env=full, capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert result.returncode != 0
    assert "refusing to start: INTAKE_SESSION_STORE_URI is memory://" in result.stderr
    assert "Booting worker" not in result.stderr


def test_finding_02_production_app_refuses_memory_sessions_in_several_processes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """Servers other than gunicorn say so in the WSGI environment; one process with threads is served."""
    from intake import create_app

    for name, value in _production_env(tmp_path).items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("INTAKE_INSTANCE_DIR", str(tmp_path))
    client = create_app().test_client()
    with caplog.at_level(logging.ERROR):
        refused = client.get("/", environ_overrides={"wsgi.multiprocess": True, "wsgi.multithread": False})
    assert refused.status_code == 503
    assert any("INTAKE_SESSION_STORE_URI is memory://" in r.getMessage() for r in caplog.records)
    threads = client.get("/", environ_overrides={"wsgi.multiprocess": False, "wsgi.multithread": True})
    assert threads.status_code != 503


# --- the password wrap (wrap version 2: Argon2id's key and the tenant's server secret) -------------------


def _argon(kdf: dict[str, int]) -> dict[str, int]:
    return {k: v for k, v in kdf.items() if k != keyring.WRAP_KEY}


def test_finding_02_pg_old_password_wrap_and_old_password_open_nothing_after_change(app: Flask) -> None:
    """The row as it was before a password change (a dead tuple, a backup) and the old password: Argon2id
    gives the attacker its key, but the wrap also needs the server secret, which no database copy holds."""
    client, _saved, _cookie = _signed_in(app)
    with world(app) as (s, _f):
        pr = officer_named(s, "pr")
        old_wrap, old_salt, old_kdf = pr.wrapped_private_key, pr.password_salt, dict(pr.password_kdf)
        server_secret = keyring.server_secret()
    assert old_kdf[keyring.WRAP_KEY] == keyring.PASSWORD_WRAP_VERSION
    new = "a brand new password 4"
    form = {"current": PR_PASSWORD, "new": new, "confirm": new}
    assert OfficerActions(client).post("/officer/password", form).status_code == 303
    kek, _verifier = crypto.derive_password_keys(PR_PASSWORD, old_salt, _argon(old_kdf))
    aad = key_contexts.officer_key("pr")
    for key in (kek, crypto.password_wrap_key(kek, b""), crypto.password_wrap_key(kek, b"\x00" * 32)):
        with pytest.raises(crypto.CryptoError):
            crypto.decrypt(key, old_wrap, aad)
    # The control: the one piece missing is the secret kept outside the database (keys/token.secret).
    opened = crypto.decrypt(crypto.password_wrap_key(kek, server_secret), old_wrap, aad)
    assert opened == _pr_private_with(app, new)


def _pr_private_with(app: Flask, password: str) -> bytes:
    with world(app) as (s, _f):
        return keyring.unlock(officer_named(s, "pr"), password)


def test_a_version_1_password_wrap_still_opens_and_is_rewrapped_at_sign_in(app: Flask) -> None:
    with world(app) as (s, _f):
        pr = officer_named(s, "pr")
        private = keyring.unlock(pr, PR_PASSWORD)
        params = _argon(pr.password_kdf)
        kek, _verifier = crypto.derive_password_keys(PR_PASSWORD, pr.password_salt, params)
        pr.password_kdf = params  # as every row was made before wrap version 2
        pr.wrapped_private_key = crypto.encrypt(kek, private, key_contexts.officer_key("pr"))
        keyring.stamp_officer(pr)
        s.commit()
        legacy = pr.wrapped_private_key
    client = app.test_client()
    OfficerActions(client).login("pr", PR_PASSWORD)
    assert client.get("/officer/queue").status_code == 200
    with world(app) as (s, _f):
        pr = officer_named(s, "pr")
        assert pr.password_kdf[keyring.WRAP_KEY] == keyring.PASSWORD_WRAP_VERSION
        assert pr.wrapped_private_key != legacy
        with pytest.raises(crypto.CryptoError):  # Argon2id's key alone no longer opens the row
            crypto.decrypt(kek, pr.wrapped_private_key, key_contexts.officer_key("pr"))
        keyring.check_officer(pr)  # re-tagged
        assert keyring.unlock(pr, PR_PASSWORD) == private
    with world(app) as (s, _f):
        pr = officer_named(s, "pr")
        pr.password_kdf = {**_argon(pr.password_kdf), keyring.WRAP_KEY: 3}  # no such version: refused
        with pytest.raises(keyring.OfficerTampered):
            keyring.unlock(pr, PR_PASSWORD)
