"""Security review: someone who can edit the database cannot redirect new cases to a key of their own.

Each case's keys are sealed to its channel's public key, read from the database. An editor of the database
who swapped in a public key of their own would read every later case. The channel public keys are pinned
in keys/ (outside the database) when first used, and a key that differs from its pin is refused.
"""

from __future__ import annotations

import base64
import json
from pathlib import Path

import pytest
from flask import Flask
from sqlalchemy import func, select

from intake import crypto, keyring
from intake.models import Case, ChannelKey

from .conftest import ADMIN, PASSWORD
from .officer_helpers import officer_named, world


def test_channel_public_keys_are_pinned_outside_the_database_at_setup(app: Flask) -> None:
    pins = json.loads((Path(app.config["KEYS_DIR"]) / keyring.CHANNEL_PINS_FILE).read_text())
    with world(app) as (s, _f):
        stored = {row.channel: row.public_key for row in s.scalars(select(ChannelKey))}
    assert {c: base64.b64decode(v) for c, v in pins.items()} == stored


def test_a_swapped_channel_key_is_refused_and_nothing_is_sealed_to_it(app: Flask) -> None:
    thief = crypto.generate_keypair()
    with world(app) as (s, factory):
        row = s.get(ChannelKey, "corruption")
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
        row = s.get(ChannelKey, "feedback")
        assert row is not None
        row.public_key = crypto.generate_keypair().public
        s.commit()
        with pytest.raises(keyring.ChannelKeyChanged):
            keyring.channel_public(s, "feedback")
        with pytest.raises(keyring.KeyringError):
            keyring.grant(s, admin, "feedback", private)
