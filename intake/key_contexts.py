"""Every key derived from the server secret, and every HKDF info and associated-data string, in one list.

Each context binds a key or a ciphertext to one purpose and one place, so that nothing made for one use
can be replayed in another: a sealed channel key cannot pass for a case key, an entry of case 7 cannot be
moved to case 8, a subkey of the audit chain is not the officer-record key. The property each one serves
is named (the numbers of docs/security.md). Call sites use these names only; nobody spells a context.

CHANGING A VALUE BREAKS EVERY EXISTING DEPLOYMENT (stored hashes, tags and ciphertexts would no longer
open): tests/test_key_contexts.py pins each one. A new purpose gets a new name here.

The server secret (keyring.server_secret(), the file keys/token.secret) is the root of four keys that
have nothing to do with each other but that it lives outside the database:

    TOKEN_LOOKUP    HMAC(server secret, TOKEN_LOOKUP | normalised token)   token lookup (3)
    AUDIT_CHAIN     HKDF(server secret, SUBKEY | AUDIT_CHAIN)              audit chain (7)
    OFFICER_RECORD  HKDF(server secret, SUBKEY | OFFICER_RECORD)           officer row tags (2, 5)
    STATS_SHUFFLE   HKDF(server secret, SUBKEY | STATS_SHUFFLE)            /stats secondary suppression (4)

Flask's SECRET_KEY (signs the cookie) also keys one hash: RATE_LIMIT (4: no client address in the
limiter's store).
"""

from __future__ import annotations

# --- keys derived from the server secret -------------------------------------------------------------

TOKEN_LOOKUP = b"intake token v1:"  # (3) prefix of the HMAC input: the database keeps the hash, never a token
AUDIT_CHAIN = b"audit chain"  # (7) subkey that chains the audit log: a database editor cannot recompute it
OFFICER_RECORD = b"officer record"  # (2, 5) subkey tagging username, role, public key and 2FA state
STATS_SHUFFLE = b"public statistics: secondary suppression"  # (4) subkey choosing the month hidden second
RECEIPT_LOOKUP = b"receipt lookup"  # (3) subkey hashing a form's one-time value (receipts.py)
RECEIPT_CONTENT = b"receipt content"  # (3) subkey hashing what a form said, to know it again (receipts.py)
TRACKING_PREFIX = b"tracking prefix limit"  # (3) subkey keying the per-prefix tracking limit (guessing.py)
REGISTER_ROWS = b"register import rows"  # subkey hashing an imported register row (register_import.py)

OFFICER_RECORD_V2 = b"intake officer record v2:"  # (2, 5) prefix of an officer tag's JSON fields

AUDIT_CHECKPOINT = b"intake audit checkpoint:"  # (7) prefix of a verification row's tag (audit chain key)
AUDIT_ENTRY_V2 = b"intake audit entry v2:"  # (7) prefix of an entry's JSON-encoded fields (hash_version 2)
AUDIT_ANCHOR = b"intake audit anchor:"  # (7) prefix of the tag of keys/audit.anchor (audit chain key)

CHANNEL_RECORD = b"channel record"  # (2) subkey tagging each channel's public key in the database

SERVER_SUBKEYS = (  # keyring.server_key() derives only these (from the tenant's server secret)
    AUDIT_CHAIN, OFFICER_RECORD, STATS_SHUFFLE,
    RECEIPT_LOOKUP, RECEIPT_CONTENT, TRACKING_PREFIX, REGISTER_ROWS, CHANNEL_RECORD,
)  # fmt: skip

# --- the deployment's master secret (keys/token.secret) -----------------------------------------------

TENANT_RECORD = b"intake tenant record:"  # (8) subkey and prefix of a tenant row's tag (keyring.tenant_tag)
TENANT_SECRET_WRAP = b"tenant secret wrap"  # (8) subkey of the master that encrypts each tenant's secret
NATIONAL_SHUFFLE = b"national figures: secondary suppression"  # (8) subkey choosing the cells hidden second
HOST_ADMIN_TOTP = b"host admin totp"  # (8) subkey of the master that encrypts each host admin's TOTP secret
HOST_ADMIN_RECORD = b"intake host admin record:"  # (8) subkey and prefix of a host admin row's tag
HOST_SUBKEYS = (  # what keyring.host_key derives
    TENANT_RECORD, TENANT_SECRET_WRAP, NATIONAL_SHUFFLE, HOST_ADMIN_TOTP, HOST_ADMIN_RECORD,
)  # fmt: skip

# --- a tenant's export (tenant_move.py): keyed by Argon2id of the export passphrase -------------------

TENANT_EXPORT_SECRET = b"intake tenant export: server secret"  # (8) the tenant's secret in an export
TENANT_EXPORT_MANIFEST = b"intake tenant export manifest"  # (8) subkey whose HMAC authenticates the manifest

# --- keyed with Flask's SECRET_KEY --------------------------------------------------------------------

RATE_LIMIT = b"intake rate limit:"  # (4) prefix of the HMAC of a client address: the limiter never holds one

# --- HKDF info and fixed inputs (crypto.py) ----------------------------------------------------------

SUBKEY = b"intake subkey "  # prefix of every subkey's HKDF info (crypto.derive_subkey)
SEAL = b"intake seal v1"  # (1, 2) HKDF info of a sealed box's ephemeral X25519 key
CITIZEN_KEY = b"intake citizen key v1"  # (3) HKDF info of the key derived from a token
CITIZEN_TOKEN = b"intake citizen v1:"  # (3) prefix of the token as key material (not the lookup input)
PASSWORD_VERIFIER = b"intake verifier"  # (5) prefix hashed with the second half of Argon2id's output
TOTP = b"totp"  # (5) subkey of the officer's private key that encrypts their TOTP secret
OFFICER_SESSION_WRAP = b"intake officer session wrap v1"  # (2, 5) HKDF info: cookie key + session secret
PASSWORD_WRAP = b"intake password wrap v2"  # (2, 5) HKDF info: Argon2id's key + the tenant's server secret

# --- associated data: where each ciphertext belongs ----------------------------------------------------

RECOVERY_KEY = b"intake recovery key"  # (2) the recovery private key under its passphrase


def channel_key(channel: str) -> bytes:
    """(2) A channel's private key sealed to an officer or to the recovery key."""
    return f"intake channel key:{channel}".encode()


def tenant_secret(tenant_id: int) -> bytes:
    """(8) A tenant's server secret under the master secret's wrapping key: bound to that tenant."""
    return f"intake tenant secret:{tenant_id}".encode()


def channel_record(channel: str, public_hex: str) -> bytes:
    """(2) What a channel key's tag covers."""
    return f"intake channel record:{channel}:{public_hex}".encode()


def officer_key(username: str) -> bytes:
    """(5) An officer's private key under their password."""
    return f"intake officer key:{username}".encode()


def case_keys(case_id: int) -> bytes:
    """(1, 2) A case's content and internal keys sealed to its channel."""
    return f"intake case keys:{case_id}".encode()


def case_citizen_key(case_id: int) -> bytes:
    """(3) A case's content key under the key derived from its token."""
    return f"intake case citizen key:{case_id}".encode()


def entry(case_id: int, kind: str) -> bytes:
    """(1) An entry's body: its case and its kind (a reply cannot pass for an internal note)."""
    return f"intake entry:{case_id}:{kind}".encode()


def attachment(case_id: int, stored_name: str) -> bytes:
    """(1) An attachment's chunks: its case and its stored file."""
    return f"intake attachment:{case_id}:{stored_name}".encode()


def attachment_meta(case_id: int) -> bytes:
    """(1) An attachment's name, type and size."""
    return f"intake attachment meta:{case_id}".encode()


def officer_session(row_id: str) -> bytes:
    """(5) An officer's private key under the key only their session cookie carries."""
    return f"intake officer session:{row_id}".encode()


def totp_secret(officer_id: int) -> bytes:
    """(5) An officer's TOTP secret under the TOTP subkey of their private key."""
    return f"intake totp:{officer_id}".encode()


def totp_pending(row_id: str) -> bytes:
    """(5) A TOTP secret being enrolled, under the session key, until a first code confirms it."""
    return f"intake totp pending:{row_id}".encode()


def host_totp(admin_id: int) -> bytes:
    """(8) A host administrator's TOTP secret under the host TOTP subkey of the master secret."""
    return f"intake host totp:{admin_id}".encode()


def host_totp_pending(row_id: str) -> bytes:
    """(8) A host administrator's TOTP secret being enrolled, bound to the session it is enrolled in."""
    return f"intake host totp pending:{row_id}".encode()
