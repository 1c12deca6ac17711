"""Operator commands: setup is idempotent, officer add grants through the recovery key, audit verify."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import select

from intake import db, keyring
from intake.models import AuditEntry, ChannelKey, Officer

from .conftest import PASSWORD, RECOVERY

ENV = {"INTAKE_ADMIN_PASSWORD": PASSWORD, "INTAKE_RECOVERY_PASSPHRASE": RECOVERY}


def test_setup_creates_everything_then_changes_nothing(make_app: Any, tmp_path: Path) -> None:
    app: Flask = make_app(setup=False)
    runner = app.test_cli_runner()
    out = tmp_path / "offline" / "recovery.key"
    first = runner.invoke(args=["setup", "--admin", "chief", "--recovery-key-out", str(out)], env=ENV)
    assert first.exit_code == 0, first.output
    assert "Created administrator chief" in first.output
    assert "move the recovery key offline" in first.output
    assert PASSWORD not in first.output and RECOVERY not in first.output
    assert out.exists() and out.stat().st_mode & 0o077 == 0
    assert b"PRIVATE" not in out.read_bytes()
    keys_dir = Path(app.config["KEYS_DIR"])
    assert (keys_dir / "token.secret").stat().st_mode & 0o077 == 0
    assert (keys_dir / "recovery.pub").exists()
    second = runner.invoke(args=["setup", "--admin", "chief", "--recovery-key-out", str(out)], env=ENV)
    assert second.exit_code == 0
    assert "Nothing to do" in second.output
    with app.app_context():
        session = db.session()
        assert len(session.scalars(select(ChannelKey)).all()) == 3
        chief = session.scalar(select(Officer).where(Officer.username == "chief"))
        assert chief is not None
        assert chief.channels == {"feedback", "question"}  # least privilege (issue 9, finding 12)


def test_setup_without_password_fails_with_one_line(make_app: Any) -> None:
    app: Flask = make_app(setup=False)
    result = app.test_cli_runner().invoke(
        args=["setup", "--admin", "chief"], env={"INTAKE_RECOVERY_PASSPHRASE": "short"}
    )
    assert result.exit_code != 0
    # One line, naming the rule a recovery passphrase really has (not a first, smaller minimum).
    assert "shorter than 16 characters" in result.output and result.output.count("\n") == 1


def test_a_guessable_officer_password_is_refused(app: Flask) -> None:
    result = app.test_cli_runner().invoke(
        args=["officer", "add", "clerk", "--channel", "feedback"],
        env={"INTAKE_OFFICER_PASSWORD": "1234567890", "INTAKE_RECOVERY_PASSPHRASE": RECOVERY},
    )
    assert result.exit_code == 1 and "too easy to guess" in result.output


def test_officer_add_grants_with_recovery_key(app: Flask) -> None:
    runner = app.test_cli_runner()
    env = {"INTAKE_OFFICER_PASSWORD": "new officer pw", "INTAKE_RECOVERY_PASSPHRASE": RECOVERY}
    result = runner.invoke(args=["officer", "add", "legal", "--channel", "corruption"], env=env)
    assert result.exit_code == 0, result.output
    assert "new officer pw" not in result.output
    with app.app_context():
        session = db.session()
        legal = session.scalar(select(Officer).where(Officer.username == "legal"))
        assert legal is not None
        private = keyring.unlock(legal, "new officer pw")
        keyring.channel_private(session, legal, private, "corruption")


def test_officer_add_refuses_wrong_passphrase_and_bad_channel(app: Flask) -> None:
    runner = app.test_cli_runner()
    env = {"INTAKE_OFFICER_PASSWORD": "new officer pw", "INTAKE_RECOVERY_PASSPHRASE": "wrong passphrase"}
    wrong = runner.invoke(args=["officer", "add", "x", "--channel", "feedback"], env=env)
    assert wrong.exit_code != 0
    assert "does not open" in wrong.output
    bad = runner.invoke(args=["officer", "add", "y", "--channel", "gossip"], env=env)
    assert bad.exit_code != 0
    assert "unknown channel" in bad.output


def test_audit_verify_command(app: Flask) -> None:
    result = app.test_cli_runner().invoke(args=["audit", "verify"])
    assert result.exit_code == 0
    assert "intact" in result.output


def test_finding_12_setup_grants_the_admin_feedback_and_question_only(make_app: Any, tmp_path: Path) -> None:
    """Issue 9, finding 12: the account manager does not read corruption complaints by default; the legal
    officer gets that channel with the recovery key; --with-corruption is there for one-person offices."""
    app: Flask = make_app(setup=False)
    runner = app.test_cli_runner()
    out = tmp_path / "offline" / "recovery.key"
    setup = runner.invoke(args=["setup", "--admin", "chief", "--recovery-key-out", str(out)], env=ENV)
    assert setup.exit_code == 0, setup.output
    assert "--channel corruption" in setup.output
    legal_env = {"INTAKE_OFFICER_PASSWORD": "legal officer pw", "INTAKE_RECOVERY_PASSPHRASE": RECOVERY}
    added = runner.invoke(
        args=["officer", "add", "legal", "--channel", "corruption", "--recovery-key", str(out)], env=legal_env
    )
    assert added.exit_code == 0, added.output
    with app.app_context():
        session = db.session()
        chief = session.scalar(select(Officer).where(Officer.username == "chief"))
        legal = session.scalar(select(Officer).where(Officer.username == "legal"))
        assert chief is not None and legal is not None
        assert chief.channels == {"feedback", "question"}
        assert legal.channels == {"corruption"}
        with pytest.raises(keyring.ChannelNotGranted):
            keyring.channel_private(session, chief, keyring.unlock(chief, PASSWORD), "corruption")
        keyring.channel_private(session, legal, keyring.unlock(legal, "legal officer pw"), "corruption")
        created = session.scalars(select(AuditEntry).where(AuditEntry.action == "officer.create")).first()
        assert created is not None and created.detail == "role=admin; channels=feedback,question"


def test_finding_12_with_corruption_grants_every_channel(make_app: Any, tmp_path: Path) -> None:
    app: Flask = make_app(setup=False)
    out = tmp_path / "offline" / "recovery.key"
    args = ["setup", "--admin", "chief", "--with-corruption", "--recovery-key-out", str(out)]
    result = app.test_cli_runner().invoke(args=args, env=ENV)
    assert result.exit_code == 0, result.output
    with app.app_context():
        chief = db.session().scalar(select(Officer).where(Officer.username == "chief"))
        assert chief is not None and chief.channels == {"corruption", "feedback", "question"}


def test_finding_12_demo_keeps_a_legal_unit_officer_for_corruption(make_app: Any) -> None:
    app: Flask = make_app(setup=False)
    result = app.test_cli_runner().invoke(args=["demo"])
    assert result.exit_code == 0, result.output
    with app.app_context():
        session = db.session()
        channels = {o.username: o.channels for o in session.scalars(select(Officer))}
    assert channels["admin"] == {"feedback", "question"}
    assert channels["legal"] == {"corruption"}
    assert "legal" in result.output and "corruption" in result.output


def test_finding_11_setup_writes_the_recovery_key_outside_keys_by_default(
    make_app: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Issue 9, finding 11: by default the recovery key goes to the current folder (printed), never keys/."""
    app: Flask = make_app(setup=False)
    runner = app.test_cli_runner()
    keys = Path(app.config["KEYS_DIR"])
    into_keys = ["setup", "--admin", "chief", "--recovery-key-out", str(keys / "r.key")]
    inside = runner.invoke(args=into_keys, env=ENV)
    assert inside.exit_code != 0 and "--allow-keys-dir" in inside.output
    assert not (keys / "r.key").exists() and not (keys / "recovery.pub").exists()
    here = tmp_path / "usb"
    here.mkdir()
    monkeypatch.chdir(here)
    (here / "recovery.key").write_text("another instance's recovery key")
    taken = runner.invoke(args=["setup", "--admin", "chief"], env=ENV)
    assert taken.exit_code != 0 and "never overwrites" in taken.output
    (here / "recovery.key").unlink()
    done = runner.invoke(args=["setup", "--admin", "chief"], env=ENV)
    assert done.exit_code == 0, done.output
    assert (here / "recovery.key").exists() and str(here / "recovery.key") in done.output
    assert not (keys / "recovery.key").exists()
    # officer add finds it there by default
    env = {"INTAKE_OFFICER_PASSWORD": "legal officer pw", "INTAKE_RECOVERY_PASSPHRASE": RECOVERY}
    added = runner.invoke(args=["officer", "add", "legal", "--channel", "corruption"], env=env)
    assert added.exit_code == 0, added.output


def test_finding_11_setup_may_be_told_to_use_keys(make_app: Any) -> None:
    app: Flask = make_app(setup=False)
    out = Path(app.config["KEYS_DIR"]) / "recovery.key"
    args = ["setup", "--admin", "chief", "--recovery-key-out", str(out), "--allow-keys-dir"]
    result = app.test_cli_runner().invoke(args=args, env=ENV)
    assert result.exit_code == 0, result.output
    assert out.exists()


@pytest.mark.parametrize(
    "weak", ["12345678", "recoverypass1", "Municipality1!", "aaaaaaaaaaaaaaaaaaaaaaaa", "password12345678"]
)
def test_finding_11_setup_refuses_a_recovery_passphrase_guessable_offline(
    make_app: Any, tmp_path: Path, weak: str
) -> None:
    """Issue 9, finding 11: an 8-character recovery passphrase was accepted; now zxcvbn and 16 characters."""
    app: Flask = make_app(setup=False)
    out = tmp_path / "offline" / "recovery.key"
    env = {"INTAKE_ADMIN_PASSWORD": PASSWORD, "INTAKE_RECOVERY_PASSPHRASE": weak}
    result = app.test_cli_runner().invoke(
        args=["setup", "--admin", "chief", "--recovery-key-out", str(out)], env=env
    )
    assert result.exit_code != 0
    assert "recovery passphrase" in result.output.lower() and weak not in result.output
    assert not out.exists() and not (Path(app.config["KEYS_DIR"]) / "recovery.pub").exists()
