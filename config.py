"""Configuration: defaults, then INTAKE_* environment variables; production refuses to run without secrets."""

from __future__ import annotations

import ipaddress
import logging
import os
import secrets
from pathlib import Path
from typing import Any

from flask import Flask

ROOT = Path(__file__).resolve().parent  # the checkout (or site-packages when installed from the wheel)
# Where ./instance and ./keys are by default: beside config.py in a checkout (the folder every documented
# command runs from); the working directory when installed from the wheel (config.py then sits in
# site-packages, which is no place for state).
HOME = ROOT if (ROOT / "pyproject.toml").is_file() else Path.cwd()
PACKAGE = ROOT / "intake"
# The folder holding templates/, migrations/ and alembic.ini: beside the package in the repository, inside it
# when installed from the wheel (pyproject.toml maps them there).
ASSETS = PACKAGE if (PACKAGE / "templates").is_dir() else ROOT
TRANSLATIONS = PACKAGE / "translations"  # one folder per area (intake/catalogs.py reads them)


class ConfigError(RuntimeError):
    """The configuration cannot run safely (e.g. production without INTAKE_SECRET_KEY)."""


class Config:
    """Defaults shared by every environment. Every name may be overridden as INTAKE_<NAME>."""

    ENV = "development"
    INSTANCE_DIR = str(HOME / "instance")
    KEYS_DIR = str(HOME / "keys")
    DATABASE_URL = ""  # empty: SQLite file under INSTANCE_DIR
    RATELIMIT_STORAGE_URI = "memory://"
    RATELIMIT_ENABLED = True
    RATELIMIT_HEADERS_ENABLED = False
    # Redis away: each app process counts in its own memory until Redis answers again (flask-limiter checks
    # it with a backoff), so a limiter outage never turns into a 500 nor lifts the limits; errors left are
    # logged, not raised. Bounded waits (seconds) so that a hung Redis costs a request little.
    RATELIMIT_IN_MEMORY_FALLBACK_ENABLED = True
    RATELIMIT_SWALLOW_ERRORS = True
    RATELIMIT_STORAGE_OPTIONS = {"wrap_exceptions": True, "socket_connect_timeout": 1, "socket_timeout": 1}
    RATELIMIT_STRATEGY = "fixed-window"  # extensions.refund and citizen/guessing.py give hits back
    # Submitting: generous for a burst of honest reports, tight for a flood.
    RATELIMIT_SUBMIT = "10 per minute;60 per hour"
    # Tracking (intake/citizen/guessing.py): a right code is never held back for earlier typos.
    # Wrong codes per address before 429 (a right code still opens; a success clears them):
    RATELIMIT_TRACK_FAILURES = "5 per 10 minutes;20 per hour;50 per day"
    # Look-ups per address that were not successes, charged before the look-up (the hard cap on guessing):
    RATELIMIT_TRACK_CEILING = "60 per hour;300 per day"
    # Wrong codes sharing their first group of five symbols, from any address:
    RATELIMIT_TRACK_PREFIX = "10 per day"
    RATELIMIT_LOGIN = "10 per 10 minutes"
    # Decoding pictures costs by the pixel: megapixels decoded for one client address (see intake/budgets.py).
    RATELIMIT_MEGAPIXELS = "600 per hour"
    # Evidence files per client address, in megabytes stored (intake/capacity.py).
    RATELIMIT_UPLOAD_MB = "100 per hour;300 per day"

    # Where each officer session's second secret lives (intake/session_store.py, issue 9 finding 2):
    # "redis://…" or "memory://" (one process only). Empty: RATELIMIT_STORAGE_URI when it is Redis, else
    # memory. Redis for it needs no persistence: losing it signs everyone out, nothing else.
    SESSION_STORE_URI = ""

    # Behind a reverse proxy that sets X-Forwarded-For: number of proxies to trust (0 = none), and the
    # addresses or networks those proxies connect from (comma-separated); anyone else's header is ignored.
    PROXY_FIX_X_FOR = 0
    TRUSTED_PROXIES = "127.0.0.1,::1"
    # ... and X-Forwarded-Host from them (the name a tenant is found by; 0 = the Host header as received).
    PROXY_FIX_X_HOST = 0

    # The site's public address (https://host[:port][/mount-point]), for every absolute link: receipts,
    # the officer's slip, the ITA page, the guideline, robots.txt (intake/urls.py). Required in production,
    # so that no link there is built from the request's Host header; empty in tests and development
    # without it: the address of each request.
    PUBLIC_URL = ""

    BABEL_DEFAULT_LOCALE = "th"
    BABEL_DEFAULT_TIMEZONE = "Asia/Bangkok"
    LANGUAGES = ("th", "en")

    SESSION_COOKIE_NAME = "intake_session"
    SESSION_COOKIE_HTTPONLY = True
    SESSION_COOKIE_SAMESITE = "Lax"
    SESSION_COOKIE_SECURE = True
    PERMANENT_SESSION_LIFETIME = 8 * 3600  # absolute lifetime of an officer session (seconds)
    OFFICER_IDLE_TIMEOUT = 30 * 60  # idle expiry of an officer session (seconds)
    WTF_CSRF_TIME_LIMIT = 4 * 3600  # a citizen may take a long time to write a complaint
    # Pages send Referrer-Policy: no-referrer, so browsers send no Referer: Flask-WTF's HTTPS referrer check
    # would refuse every form. The CSRF token and the SameSite cookie protect the forms.
    WTF_CSRF_SSL_STRICT = False

    # Attachments (bytes). MAX_CONTENT_LENGTH bounds the whole request body.
    ATTACHMENT_MAX_FILE = 10 * 1024 * 1024
    ATTACHMENT_MAX_TOTAL = 25 * 1024 * 1024
    ATTACHMENT_MAX_FILES = 10
    ATTACHMENT_MAX_MEGAPIXELS = 150  # decoded pixels of all the pictures of one submission (JPEGs reduced)
    # Seconds ffmpeg and the PDF cleaner may take over the files of one submission, together: keep it well
    # under gunicorn's worker timeout (INTAKE_WORKER_TIMEOUT, 60).
    ATTACHMENT_TOOL_TIMEOUT = 30
    MAX_CONTENT_LENGTH = 26 * 1024 * 1024
    MAX_FORM_MEMORY_SIZE = 512 * 1024
    # New files are refused while the instance folder's disk has less free space than this (0: no floor).
    STORAGE_MIN_FREE_MB = 1024
    TEXT_MAX_CHARS = 20_000

    # Key derivation for passwords and the recovery passphrase (Argon2id).
    KDF_PROFILE = "interactive"  # "interactive" (production) or "fast" (tests only)

    RETENTION_YEARS = 5

    # Where encrypted attachments live (intake/storage.py): "file:" (INSTANCE_DIR/attachments) or
    # "s3://BUCKET/PREFIX" on an S3-compatible store; empty S3 keys: boto3's own credential chain.
    STORAGE_URL = "file:"
    S3_ENDPOINT_URL = ""
    S3_ACCESS_KEY = ""
    S3_SECRET_KEY = ""
    S3_REGION = "us-east-1"
    S3_ADDRESSING_STYLE = "path"  # "path" (SeaweedFS, Garage, Ceph RGW) or "virtual" / "auto" (AWS)
    # Bounded waits: a store that is away costs a citizen seconds, then a "try again shortly" page.
    S3_CONNECT_TIMEOUT = 3.0
    S3_READ_TIMEOUT = 30.0
    S3_MAX_ATTEMPTS = 3  # botocore's "standard" retries (with backoff), first attempt included

    # Notification mails (intake/notices.py, intake/mailer.py, intake/notify.py). No MAIL_SERVER: no
    # notices are written and the worker has nothing to do. MAIL_PORT 0: 587 (starttls), 465 (ssl), 25 (none).
    MAIL_SERVER = ""
    MAIL_PORT = 0
    MAIL_SECURITY = "starttls"  # "starttls", "ssl" (TLS from the first byte) or "none" (a local relay only)
    MAIL_USERNAME = ""
    MAIL_PASSWORD = ""
    MAIL_FROM = ""
    MAIL_TIMEOUT = 30.0  # seconds for each SMTP step
    MAIL_CA_FILE = ""  # PEM file of the CA that signed the mail server's certificate (default: the system's)
    NOTIFY_POLL_SECONDS = 30.0  # the worker looks for due notices this often
    NOTIFY_SCAN_SECONDS = 300.0  # and for deadline reminders this often
    NOTIFY_RETRY_SECONDS = 60.0  # first retry after a failed attempt; doubled each time, at most 6 hours
    NOTIFY_MAX_ATTEMPTS = 10  # then the notice is failed and shown to administrators
    NOTIFY_LEASE_SECONDS = 300.0  # a worker's claim on the notices it is sending
    # Once a Bangkok day (from the digest hour) the worker runs `audit verify` for each tenant and mails the
    # administrators the anchor (intake/anchors.py); false: only `audit verify` (e.g. from cron) does.
    NOTIFY_AUDIT_DAILY = True

    # Tenants: how long an app server trusts its cache of tenants and their host names (seconds).
    TENANT_CACHE_SECONDS = 30
    # National figures (intake/reports/national_views.py): published at /national on every host of the
    # deployment when the host chooses to (for the NACC or the DLA); whole ended fiscal years only.
    PUBLISH_NATIONAL = False
    # Host names the host administrator's pages (/host) answer on, comma-separated; on any other name, and
    # on a name a tenant claims, /host/* is 404. Keep them off the public internet (docs/deployment.md).
    HOST_ADMIN_HOSTS = "localhost,127.0.0.1,[::1]"

    DEMO = False


class DevelopmentConfig(Config):
    SESSION_COOKIE_SECURE = False


class ProductionConfig(Config):
    ENV = "production"


def load_config(app: Flask, overrides: dict[str, Any] | None = None) -> None:
    """Fill app.config from defaults, the INTAKE_* environment, then explicit overrides."""
    env = (overrides or {}).get("ENV") or os.environ.get("INTAKE_ENV", "development")
    if env not in ("development", "production"):
        raise ConfigError(f"INTAKE_ENV must be development or production, not {env!r}")
    app.config.from_object(ProductionConfig if env == "production" else DevelopmentConfig)
    app.config.from_prefixed_env("INTAKE")
    if overrides:
        app.config.update(overrides)
    app.config["ENV"] = env
    instance = Path(app.config["INSTANCE_DIR"]).resolve()
    app.config["INSTANCE_DIR"] = str(instance)
    app.config["KEYS_DIR"] = str(Path(app.config["KEYS_DIR"]).resolve())
    if not app.config["DATABASE_URL"]:
        app.config["DATABASE_URL"] = f"sqlite:///{instance / 'intake.sqlite3'}"
    app.config["MAX_CONTENT_LENGTH"] = max(
        app.config["MAX_CONTENT_LENGTH"], app.config["ATTACHMENT_MAX_TOTAL"] + 1024 * 1024
    )
    _check_storage(app)
    app.config["SESSION_STORE_URI"] = session_store_uri(
        str(app.config.get("SESSION_STORE_URI") or ""), str(app.config.get("RATELIMIT_STORAGE_URI") or "")
    )
    app.config["TRUSTED_PROXIES"] = trusted_proxies(app.config["TRUSTED_PROXIES"])
    _check_public_url(app)
    _check_mail(app, overrides or {})
    if env == "production":
        _check_production(app)
    elif not app.config.get("SECRET_KEY"):
        app.config["SECRET_KEY"] = _development_secret(instance)
        if not app.config["DATABASE_URL"].startswith("sqlite") or app.config["STORAGE_URL"] != "file:":
            # Shared engines suggest several servers; this secret is per server (docs/deployment.md).
            logging.getLogger(__name__).warning(
                "INTAKE_SECRET_KEY is not set: using this server's own development secret; several "
                "servers need one INTAKE_SECRET_KEY (or sign-ins and forms fail between them)"
            )


def database_url_from_env() -> str:
    """The database URL as the app would compute it, without an app (for Alembic's env.py)."""
    url = os.environ.get("INTAKE_DATABASE_URL", "")
    if url:
        return url
    instance = Path(os.environ.get("INTAKE_INSTANCE_DIR", Config.INSTANCE_DIR)).resolve()
    return f"sqlite:///{instance / 'intake.sqlite3'}"


def _check_storage(app: Flask) -> None:
    from intake.storage import StorageConfigError, for_url

    for name in ("STORAGE_URL", "S3_ENDPOINT_URL", "S3_ACCESS_KEY", "S3_SECRET_KEY", "S3_REGION"):
        app.config[name] = str(app.config.get(name) or "")
    app.config["STORAGE_URL"] = app.config["STORAGE_URL"] or "file:"
    try:
        for_url(app.config["STORAGE_URL"], app.config)
    except StorageConfigError as exc:
        raise ConfigError(str(exc)) from exc
def ratelimit_storage_problem(storage_uri: str, enabled: bool, concurrent: bool, shape: str) -> str | None:
    """Why the rate limits would not hold with this storage and server shape (None when they would).

    `memory://` keeps the counts inside one process: with several worker processes each counts alone (every
    limit multiplied by the number of workers). A server with more than one worker or thread (`concurrent`)
    is refused, so that one rule covers every way a production server is started (issue 9, finding 4);
    Redis is shared by all. `shape` says what the server runs, for the message.
    """
    if not enabled or not concurrent or not storage_uri.strip().lower().startswith("memory://"):
        return None
    return (
        f"INTAKE_RATELIMIT_STORAGE_URI is {storage_uri} but the server runs {shape}: each process would "
        "count alone. Set INTAKE_RATELIMIT_STORAGE_URI=redis://… (docs/deployment.md), or run one worker "
        "with one thread"
    )


SESSION_STORE_SCHEMES = ("redis://", "rediss://", "unix://", "memory://")


def session_store_uri(explicit: str, ratelimit_uri: str) -> str:
    """INTAKE_SESSION_STORE_URI as used: as set, else the rate limiter's Redis, else `memory://`."""
    uri = explicit.strip()
    if not uri:
        limits = ratelimit_uri.strip()
        uri = limits if limits.lower().startswith(("redis://", "rediss://")) else "memory://"
    if not uri.lower().startswith(SESSION_STORE_SCHEMES):
        scheme = uri.split(":", 1)[0]
        raise ConfigError(f"INTAKE_SESSION_STORE_URI must be redis://… or memory://, not {scheme}:…")
    return uri


def session_store_problem(store_uri: str, multiprocess: bool, shape: str) -> str | None:
    """Why officer sessions would not hold with this store and server shape (None when they would).

    `memory://` keeps each session's secret in the process that signed it in: with several worker processes
    a request reaching another one would find no secret and sign the officer out. Threads share the memory.
    """
    if not multiprocess or not store_uri.strip().lower().startswith("memory://"):
        return None
    return (
        f"INTAKE_SESSION_STORE_URI is {store_uri} but the server runs {shape}: each process would hold its "
        "own officer sessions. Set INTAKE_SESSION_STORE_URI=redis://… (or INTAKE_RATELIMIT_STORAGE_URI="
        "redis://…, which it then follows; docs/deployment.md), or run one worker process"
    )


def trusted_proxies(value: object) -> list[str]:
    """INTAKE_TRUSTED_PROXIES as a list of networks (addresses become /32 or /128); ConfigError if bad."""
    items: list[object] = []
    if isinstance(value, str):
        items = list(value.split(","))
    elif isinstance(value, list | tuple):
        items = list(value)
    networks = []
    for item in (str(i).strip() for i in items):
        if not item:
            continue
        try:
            networks.append(str(ipaddress.ip_network(item, strict=False)))
        except ValueError as exc:
            raise ConfigError(f"INTAKE_TRUSTED_PROXIES: {item!r} is not an address or network") from exc
    return networks


def _check_public_url(app: Flask) -> None:
    from intake.urls import check

    try:
        app.config["PUBLIC_URL"] = check(str(app.config.get("PUBLIC_URL") or ""))
    except ValueError as exc:
        raise ConfigError(str(exc)) from exc


MAIL_SECURITY = ("starttls", "ssl", "none")
MAIL_DEFAULT_PORTS = {"starttls": 587, "ssl": 465, "none": 25}


def _check_mail(app: Flask, overrides: dict[str, Any]) -> None:
    """Mail settings as strings and numbers; a mail server without a sender, or an unknown security, is
    refused. The user name and password are taken as typed (from_prefixed_env would turn "1234" into 1234)."""
    for name in ("MAIL_USERNAME", "MAIL_PASSWORD"):
        raw = os.environ.get(f"INTAKE_{name}")
        if raw is not None and name not in overrides:
            app.config[name] = raw
    for name in ("MAIL_SERVER", "MAIL_USERNAME", "MAIL_PASSWORD", "MAIL_FROM", "MAIL_CA_FILE"):
        app.config[name] = str(app.config.get(name) or "").strip()
    security = str(app.config.get("MAIL_SECURITY") or "starttls").strip().lower()
    if security not in MAIL_SECURITY:
        raise ConfigError(f"INTAKE_MAIL_SECURITY must be one of {', '.join(MAIL_SECURITY)}, not {security!r}")
    app.config["MAIL_SECURITY"] = security
    try:
        port = int(app.config.get("MAIL_PORT") or 0)
    except (TypeError, ValueError) as exc:
        raise ConfigError("INTAKE_MAIL_PORT must be a port number") from exc
    app.config["MAIL_PORT"] = port or MAIL_DEFAULT_PORTS[security]
    if app.config["MAIL_SERVER"] and "@" not in app.config["MAIL_FROM"]:
        raise ConfigError("INTAKE_MAIL_FROM (the sender's address) is required with INTAKE_MAIL_SERVER")
    if app.config["MAIL_PASSWORD"] and not app.config["MAIL_USERNAME"]:
        raise ConfigError("INTAKE_MAIL_PASSWORD is set without INTAKE_MAIL_USERNAME")


def _check_production(app: Flask) -> None:
    if not app.config.get("SECRET_KEY"):
        raise ConfigError("INTAKE_SECRET_KEY is required when INTAKE_ENV=production")
    if app.config["KDF_PROFILE"] != "interactive":
        raise ConfigError("INTAKE_KDF_PROFILE must stay 'interactive' in production")
    if not app.config["PUBLIC_URL"]:
        raise ConfigError(
            "INTAKE_PUBLIC_URL is required when INTAKE_ENV=production (the address citizens use, "
            "e.g. https://intake.example.go.th): links in receipts are never built from the Host header"
        )
    app.config["DEBUG"] = False
    app.config["TESTING"] = False


def _development_secret(instance: Path) -> str:
    """A development secret kept in the instance folder, made once."""
    instance.mkdir(parents=True, exist_ok=True)
    path = instance / "secret_key"
    if not path.exists():
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as fh:
            fh.write(secrets.token_urlsafe(48))
    return path.read_text().strip()
