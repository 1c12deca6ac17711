"""Key hierarchy: recovery key, grants, channel keys pinned outside the database, and officer rows that an
editor of the database cannot subvert."""

from __future__ import annotations

import base64
import json
from pathlib import Path

import pytest
from flask import Flask
from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from intake import crypto, keyring, migrate
from intake.models import AuditEntry, Case, ChannelKey, Officer, Role
from intake.officer import signin

from .conftest import ADMIN, PASSWORD, RECOVERY
from .factories import Factory
from .officer_helpers import OfficerActions, officer_named, world


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


def _sql(app: Flask, **values: object) -> None:
    """Change the officer "pr" behind the app's back (an editor of the database)."""
    with world(app) as (s, _f):
        s.execute(update(Officer).where(Officer.username == "pr").values(**values))
        s.commit()


def test_finding_08_a_role_raised_in_the_database_ends_the_live_session(app: Flask) -> None:
    with world(app) as (s, factory):
        factory.officer("pr", channels=("feedback",))
    client = app.test_client()
    OfficerActions(client).login("pr", "officer password 1")
    assert client.get("/officer/queue").status_code == 200
    assert client.get("/officer/admin/officers").status_code == 403
    _sql(app, role=Role.ADMIN)
    response = client.get("/officer/admin/officers")
    assert response.status_code == 302 and response.headers["Location"].startswith("/officer/login")
    _sql(app, role=Role.OFFICER)  # put back: the session is gone all the same
    assert client.get("/officer/queue").status_code == 302
    with world(app) as (s, _f):
        assert s.scalar(select(AuditEntry).where(AuditEntry.action == "session.refused")) is not None


@pytest.mark.parametrize(
    "change",
    [
        {"active": True},
        {"must_change_password": False},
        {"password_kdf": {"iterations": 3, "lanes": 4, "memory_cost": 4 * 1024 * 1024}},
    ],
)
def test_finding_08_every_security_column_is_tagged(app: Flask, change: dict[str, object]) -> None:
    with world(app) as (s, factory):
        pr = factory.officer("pr", channels=("feedback",))
        pr.must_change_password = True
        if "active" in change:
            pr.active = False
        keyring.stamp_officer(pr)
        s.commit()
    _sql(app, **change)
    with world(app) as (s, _f):
        pr = officer_named(s, "pr")
        with pytest.raises(keyring.OfficerTampered):
            keyring.check_officer(pr)
        with pytest.raises(signin.SignInFailed):
            signin.password_step(s, "pr", "officer password 1")


def test_finding_08_kdf_parameters_from_a_row_are_bounded(factory: Factory, session: Session) -> None:
    pr = factory.officer("pr")
    assert crypto.kdf_params_bounded(crypto.kdf_params("interactive"))
    for bad in (
        {"iterations": 3, "lanes": 4, "memory_cost": 2**30},
        {"iterations": 10**6, "lanes": 1, "memory_cost": 8},
        {"iterations": 1, "lanes": 1},
        {"iterations": "1", "lanes": 1, "memory_cost": 8},
    ):
        pr.password_kdf = bad  # type: ignore[assignment]
        with pytest.raises(keyring.OfficerTampered):
            keyring.unlock(pr, "officer password 1")  # refused before any derivation


def test_finding_08_old_tags_are_retagged_once_by_db_upgrade(factory: Factory, session: Session) -> None:
    pr = factory.officer("pr")
    other = factory.officer("other")
    pr.record_tag = keyring._officer_tag_v1(pr)  # as written before version 2
    other.record_tag = keyring._officer_tag_v1(other)
    other.active = False  # and then revived/changed in the database: not re-tagged
    other.role = Role.ADMIN
    with pytest.raises(keyring.OfficerTampered):
        keyring.check_officer(pr)  # a version-1 tag is never accepted as such
    assert keyring.restamp_legacy(session) == 1
    keyring.check_officer(pr)
    with pytest.raises(keyring.OfficerTampered):
        keyring.check_officer(other)
    assert migrate.crossed("9a93bb5fdbb3", migrate.OFFICER_TAG_V2)
    assert not migrate.crossed(migrate.OFFICER_TAG_V2, migrate.OFFICER_TAG_V2)
    assert not migrate.crossed(None, migrate.OFFICER_TAG_V2)
