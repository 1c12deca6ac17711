"""Configuration: defaults, then INTAKE_* environment variables; production refuses to run without secrets."""

from __future__ import annotations

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
    # Submitting: generous for a burst of honest reports, tight for a flood.
    RATELIMIT_SUBMIT = "10 per minute;60 per hour"
    # Tracking: wrong tokens only count; a few typos are fine, guessing is not.
    RATELIMIT_TRACK_FAILURES = "5 per 10 minutes"
    RATELIMIT_LOGIN = "10 per 10 minutes"
    # Decoding pictures costs by the pixel: megapixels decoded for one client address (see intake/budgets.py).
    RATELIMIT_MEGAPIXELS = "600 per hour"

    # Behind a reverse proxy that sets X-Forwarded-For: number of proxies to trust (0 = none).
    PROXY_FIX_X_FOR = 0
    # ... and X-Forwarded-Host (the name a tenant is found by; 0 = trust the Host header as received).
    PROXY_FIX_X_HOST = 0

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

    # Tenants: how long an app server trusts its cache of tenants and their host names (seconds).
    TENANT_CACHE_SECONDS = 30

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
    if env == "production":
        _check_production(app)
    elif not app.config.get("SECRET_KEY"):
        app.config["SECRET_KEY"] = _development_secret(instance)


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


def _check_production(app: Flask) -> None:
    if not app.config.get("SECRET_KEY"):
        raise ConfigError("INTAKE_SECRET_KEY is required when INTAKE_ENV=production")
    if app.config["KDF_PROFILE"] != "interactive":
        raise ConfigError("INTAKE_KDF_PROFILE must stay 'interactive' in production")
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
