"""Configuration: INTAKE_* environment, production refuses to run without its secret."""

from __future__ import annotations

from pathlib import Path

import pytest

from config import ConfigError
from intake import create_app


def test_production_requires_secret_key(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("INTAKE_SECRET_KEY", raising=False)
    monkeypatch.setenv("INTAKE_ENV", "production")
    monkeypatch.setenv("INTAKE_INSTANCE_DIR", str(tmp_path))
    with pytest.raises(ConfigError, match="INTAKE_SECRET_KEY"):
        create_app()


def test_production_refuses_fast_kdf(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("INTAKE_ENV", "production")
    monkeypatch.setenv("INTAKE_SECRET_KEY", "x" * 40)
    monkeypatch.setenv("INTAKE_KDF_PROFILE", "fast")
    monkeypatch.setenv("INTAKE_INSTANCE_DIR", str(tmp_path))
    with pytest.raises(ConfigError, match="KDF"):
        create_app()


def test_prefixed_environment_applies(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("INTAKE_INSTANCE_DIR", str(tmp_path / "inst"))
    monkeypatch.setenv("INTAKE_RATELIMIT_ENABLED", "false")
    monkeypatch.setenv("INTAKE_ATTACHMENT_MAX_FILE", "1234")
    app = create_app()
    assert app.config["RATELIMIT_ENABLED"] is False
    assert app.config["ATTACHMENT_MAX_FILE"] == 1234
    assert app.config["DATABASE_URL"].endswith("inst/intake.sqlite3")
    # development keeps a generated secret in the instance folder, the same on the next start
    assert app.config["SECRET_KEY"] == create_app().config["SECRET_KEY"]
    assert (tmp_path / "inst" / "secret_key").stat().st_mode & 0o077 == 0


def test_finding_04_production_app_refuses_memory_limits_on_a_concurrent_server(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """Issue 9, finding 4: servers other than gunicorn tell the app in the WSGI environment."""
    monkeypatch.setenv("INTAKE_ENV", "production")
    monkeypatch.setenv("INTAKE_SECRET_KEY", "x" * 40)
    monkeypatch.setenv("INTAKE_INSTANCE_DIR", str(tmp_path))
    monkeypatch.setenv("INTAKE_PUBLIC_URL", "https://intake.example.go.th")
    client = create_app().test_client()
    for shape in ({"wsgi.multithread": True}, {"wsgi.multiprocess": True}):
        refused = client.get("/", environ_overrides=shape)
        assert refused.status_code == 503
        assert "INTAKE_RATELIMIT_STORAGE_URI" not in refused.get_data(as_text=True)  # the log says it
    assert any("INTAKE_RATELIMIT_STORAGE_URI is memory://" in r.getMessage() for r in caplog.records)
    alone = client.get("/", environ_overrides={"wsgi.multithread": False, "wsgi.multiprocess": False})
    assert alone.status_code != 503
    monkeypatch.setenv("INTAKE_RATELIMIT_STORAGE_URI", "redis://127.0.0.1:1/0")
    shared = create_app().test_client().get("/", environ_overrides={"wsgi.multithread": True})
    assert shared.status_code != 503
