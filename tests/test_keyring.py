"""Key hierarchy: recovery key, grants, channel keys pinned outside the database, and officer rows that an
editor of the database cannot subvert."""

from __future__ import annotations

import base64
import json
from pathlib import Path

import pytest
from flask import Flask
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from intake import crypto, keyring
from intake.models import Case, ChannelKey, Role
from intake.officer import signin

from .conftest import ADMIN, PASSWORD, RECOVERY
from .factories import Factory
from .officer_helpers import officer_named, world


def test_grant_refuses_a_swapped_public_key(factory: Factory, session: Session) -> None:
    """Whoever writes the database puts their own public key on an officer before an admin grants them."""
    pr = factory.officer("pr", channels=())
    attacker = crypto.generate_keypair()
    pr.public_key = attacker.public
    session.commit()
    holder = factory.legal()  # holds corruption (the administrator does not)
    private = keyring.channel_private(session, holder, keyring.unlock(holder, PASSWORD), "corruption")
    with pytest.raises(keyring.OfficerTampered):
        keyring.grant(session, pr, "corruption", private, by=holder)


@pytest.mark.parametrize("field", ["role", "public_key"])
def test_sign_in_refuses_an_altered_officer_row(factory: Factory, session: Session, field: str) -> None:
    pr = factory.officer("pr", channels=("feedback",))
    if field == "role":
        pr.role = Role.ADMIN
    else:
        pr.public_key = crypto.generate_keypair().public
    session.commit()
    with pytest.raises(signin.SignInFailed) as caught:
        signin.password_step(session, "pr", "officer password 1")
    assert caught.value.reason == "tampered"


def test_clearing_a_totp_secret_does_not_skip_the_second_factor(factory: Factory, session: Session) -> None:
    admin = factory.admin()
    admin.totp_secret = b"enrolled"
    keyring.stamp_officer(admin)  # as enrolment does
    session.commit()
    admin.totp_secret = None  # an editor of the database clears it to enrol their own authenticator
    session.commit()
    with pytest.raises(signin.SignInFailed):
        signin.password_step(session, "admin", PASSWORD)


def test_untouched_officer_passes_the_check(app: Flask, factory: Factory, session: Session) -> None:
    pr = factory.officer("pr", channels=("feedback",))
    keyring.check_officer(pr)
    officer, private = signin.password_step(session, "pr", "officer password 1")
    assert officer.id == pr.id
    assert crypto.public_key_of(private) == pr.public_key


def test_recovery_key_opens_with_its_passphrase_only(app: Flask, session: Session) -> None:
    path = Path(app.config["KEYS_DIR"]) / keyring.RECOVERY_PRIVATE_FILE
    private = keyring.open_recovery(path, RECOVERY)
    assert crypto.public_key_of(private) == keyring.recovery_public(Path(app.config["KEYS_DIR"]))
    with pytest.raises(keyring.WrongPassphrase):
        keyring.open_recovery(path, "not the passphrase")


def test_channel_public_keys_are_pinned_outside_the_database_at_setup(app: Flask) -> None:
    pins = json.loads((Path(app.config["KEYS_DIR"]) / keyring.CHANNEL_PINS_FILE).read_text())
    with world(app) as (s, _f):
        stored = {row.channel: row.public_key for row in s.scalars(select(ChannelKey))}
    assert {c: base64.b64decode(v) for c, v in pins.items()} == stored


def test_a_swapped_channel_key_is_refused_and_nothing_is_sealed_to_it(app: Flask) -> None:
    thief = crypto.generate_keypair()
    with world(app) as (s, factory):
        row = s.scalar(select(ChannelKey).where(ChannelKey.channel == "corruption"))
        assert row is not None
        row.public_key = thief.public
        s.commit()
        with pytest.raises(keyring.ChannelKeyChanged):
            factory.case("corruption", "new complaint")
        s.rollback()
        assert s.scalar(select(func.count()).select_from(Case)) == 0
        # Other channels are untouched and keep working.
        factory.case("feedback", "fine")


def test_a_swapped_key_cannot_be_granted_from_the_web_either(app: Flask) -> None:
    with world(app) as (s, _f):
        admin = officer_named(s, ADMIN)
        private = keyring.channel_private(s, admin, keyring.unlock(admin, PASSWORD), "feedback")
        row = s.scalar(select(ChannelKey).where(ChannelKey.channel == "feedback"))
        assert row is not None
        row.public_key = crypto.generate_keypair().public
        s.commit()
        with pytest.raises(keyring.ChannelKeyChanged):
            keyring.channel_public(s, "feedback")
        with pytest.raises(keyring.KeyringError):
            keyring.grant(s, admin, "feedback", private)
