"""Key contexts: every derivation and associated-data string stays exactly what existing data was made with.

A change here would make every stored token hash, audit hash, officer tag and ciphertext unreadable: the
values are pinned, and the server secret's subkeys are checked to come from the secret through them.
"""

from __future__ import annotations

import json

import pytest
from flask import Flask

from intake import audit, crypto, db, key_contexts, keyring
from intake.models import Channel

PINNED = {
    "TOKEN_LOOKUP": b"intake token v1:",
    "AUDIT_CHAIN": b"audit chain",
    "OFFICER_RECORD": b"officer record",
    "AUDIT_CHECKPOINT": b"intake audit checkpoint:",
    "AUDIT_ENTRY_V2": b"intake audit entry v2:",
    "AUDIT_ANCHOR": b"intake audit anchor:",
    "OFFICER_RECORD_V2": b"intake officer record v2:",
    "STATS_SHUFFLE": b"public statistics: secondary suppression",
    "RECEIPT_LOOKUP": b"receipt lookup",
    "RECEIPT_CONTENT": b"receipt content",
    "TRACKING_PREFIX": b"tracking prefix limit",
    "REGISTER_ROWS": b"register import rows",
    "RATE_LIMIT": b"intake rate limit:",
    "SUBKEY": b"intake subkey ",
    "SEAL": b"intake seal v1",
    "CITIZEN_KEY": b"intake citizen key v1",
    "CITIZEN_TOKEN": b"intake citizen v1:",
    "PASSWORD_VERIFIER": b"intake verifier",
    "TOTP": b"totp",
    "OFFICER_SESSION_WRAP": b"intake officer session wrap v1",
    "PASSWORD_WRAP": b"intake password wrap v2",
    "RECOVERY_KEY": b"intake recovery key",
    "TENANT_EXPORT_SECRET": b"intake tenant export: server secret",
    "TENANT_EXPORT_MANIFEST": b"intake tenant export manifest",
    "HOST_ADMIN_TOTP": b"host admin totp",
    "HOST_ADMIN_RECORD": b"intake host admin record:",
}
PINNED_BUILDERS = [
    (key_contexts.channel_key, ("feedback",), b"intake channel key:feedback"),
    (key_contexts.officer_key, ("pr",), b"intake officer key:pr"),
    (key_contexts.case_keys, (7,), b"intake case keys:7"),
    (key_contexts.case_citizen_key, (7,), b"intake case citizen key:7"),
    (key_contexts.entry, (7, "reply"), b"intake entry:7:reply"),
    (key_contexts.attachment, (7, "ab12"), b"intake attachment:7:ab12"),
    (key_contexts.attachment_meta, (7,), b"intake attachment meta:7"),
    (key_contexts.officer_session, ("f00d",), b"intake officer session:f00d"),
    (key_contexts.totp_secret, (3,), b"intake totp:3"),
    (key_contexts.totp_pending, ("f00d",), b"intake totp pending:f00d"),
    (key_contexts.host_totp, (3,), b"intake host totp:3"),
    (key_contexts.host_totp_pending, ("f00d",), b"intake host totp pending:f00d"),
]


@pytest.mark.parametrize(("name", "value"), PINNED.items())
def test_constant_contexts_are_pinned(name: str, value: bytes) -> None:
    assert getattr(key_contexts, name) == value


@pytest.mark.parametrize(("build", "args", "value"), PINNED_BUILDERS)
def test_associated_data_is_pinned(build: object, args: tuple[object, ...], value: bytes) -> None:
    assert callable(build) and build(*args) == value


def test_a_channel_enum_gives_the_same_context_as_its_value() -> None:
    assert key_contexts.channel_key(Channel.CORRUPTION) == key_contexts.channel_key("corruption")


def test_server_subkeys_come_from_the_server_secret(app: Flask) -> None:
    with app.app_context():
        secret = keyring.server_secret()
        for purpose in key_contexts.SERVER_SUBKEYS:
            assert keyring.server_key(purpose) == crypto.derive_subkey(secret, purpose)
        subkeys = key_contexts.SERVER_SUBKEYS
        assert len(set(map(keyring.server_key, subkeys))) == len(subkeys)
        with pytest.raises(keyring.KeyringError):
            keyring.server_key(b"something else")


def test_the_audit_chain_is_keyed_by_its_subkey(app: Flask) -> None:
    with app.app_context():
        entry = audit.record(db.session(), "tester", "case.view", 1)
        key = keyring.server_key(key_contexts.AUDIT_CHAIN)
        fields = [entry.prev_hash, entry.id, entry.at.isoformat(timespec="microseconds"), entry.actor,
                  entry.action, entry.target, entry.detail]
        encoded = json.dumps(fields, ensure_ascii=False, separators=(",", ":")).encode()
        assert entry.hash_version == 2
        assert entry.hash == crypto.keyed_hash(key, key_contexts.AUDIT_ENTRY_V2 + encoded).hex()
        # Entries written before hash_version 2 still verify with the join they were written with.
        joined = [entry.prev_hash, str(entry.id), entry.at.isoformat(timespec="microseconds"), entry.actor,
                  entry.action, entry.target or "", entry.detail or ""]
        entry.hash_version = 1
        entry.hash = crypto.keyed_hash(key, "\x1f".join(joined).encode()).hex()
        db.session().flush()
        assert audit.verify_entries(db.session(), [entry]) is None
