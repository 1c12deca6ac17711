"""The key hierarchy (docs/security.md): the server secret, recovery key, channel keys, officer keys, grants.

recovery keypair ──seals──▶ channel private keys ◀──sealed to── officer public keys
officer private key ◀── wrapped by Argon2id(password)
channel public key ──seals──▶ each case's content + internal keys
"""

from __future__ import annotations

import base64
import hmac
import json
import os
from pathlib import Path

from flask import current_app
from sqlalchemy import select
from sqlalchemy.orm import Session, object_session

from . import crypto, db, key_contexts, tenancy
from .models import Channel, ChannelKey, Grant, Officer, Role, Tenant

# The server secret's file was named when token lookup was its only use; the name stays so that existing
# keys/ folders, backups and scripts keep working.
SERVER_SECRET_FILE = "token.secret"  # noqa: S105 - a file name
RECOVERY_PUBLIC_FILE = "recovery.pub"
RECOVERY_PRIVATE_FILE = "recovery.key"
CHANNEL_PINS_FILE = "channels.pub"


class KeyringError(Exception):
    """Base of the key hierarchy's named failures."""


class KeysMissing(KeyringError):
    """The server's keys have not been made: run `flask --app wsgi setup`."""


class WrongPassword(KeyringError):
    """The password does not open this officer's key."""


class WrongPassphrase(KeyringError):
    """The passphrase does not open the recovery key."""


class ChannelNotGranted(KeyringError):
    """This officer holds no key for the channel."""


class ChannelKeyChanged(KeyringError):
    """The channel's public key in the database is not the one pinned in keys/: the database was edited."""


class OfficerTampered(KeyringError):
    """An officer's row no longer matches its tag: someone edited the database (public key, role, 2FA)."""


class TenantTampered(KeyringError):
    """A tenant's row no longer matches its tag: someone edited the database (its secret or recovery key)."""


class OfficerExists(KeyringError):
    """An officer with this username exists already."""


# --- files in keys/ ----------------------------------------------------------------------------


def keys_dir() -> Path:
    return Path(current_app.config["KEYS_DIR"])


def write_private(path: Path, data: bytes) -> None:
    """Write `data` atomically, readable by the owner only (what keys/ holds)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as fh:
        fh.write(data)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)


def ensure_server_secret(directory: Path) -> bool:
    """Make the server secret if missing (32 random bytes, base64, mode 0600). True when it was made."""
    path = directory / SERVER_SECRET_FILE
    if path.exists():
        return False
    write_private(path, base64.b64encode(crypto.random_key()) + b"\n")
    return True


def master_secret() -> bytes:
    """The deployment's master secret, kept outside the database (keys/token.secret), read once per app.

    It wraps each tenant's own server secret (stored in the tenants table), and it is the server secret of
    the tenant that an older single-municipality deployment became (`Tenant.secret_wrapped` is NULL).
    """
    cached: bytes | None = current_app.extensions.get("intake.master_secret")
    if cached is None:
        path = keys_dir() / SERVER_SECRET_FILE
        try:
            cached = base64.b64decode(path.read_bytes().strip())
        except FileNotFoundError as exc:
            raise KeysMissing(str(path)) from exc
        current_app.extensions["intake.master_secret"] = cached
    return cached


def server_secret(tenant: tenancy.TenantInfo | None = None) -> bytes:
    """The server secret of `tenant` (default: the tenant this request or command acts for).

    It is the root of token lookup, the audit chain, the officer-record tags, the channel-key tags and the
    /stats shuffle of that tenant (intake/key_contexts.py lists them); use it through `server_key` or
    `tokens.lookup_hash`. Each tenant's is its own random secret, wrapped under the master secret.
    """
    tenant = tenant or tenancy.current()
    _check_tenant(tenant)
    if tenant.secret_wrapped is None:
        return master_secret()
    # Cached by id and wrapped secret: a removed tenant's id given again (SQLite) never finds its secret.
    secrets: dict[tuple[int, bytes], bytes] = current_app.extensions.setdefault("intake.tenant_secrets", {})
    entry = (tenant.id, tenant.secret_wrapped)
    if entry not in secrets:
        try:
            secrets[entry] = crypto.decrypt(
                _wrapping_key(), tenant.secret_wrapped, key_contexts.tenant_secret(tenant.id)
            )
        except crypto.CryptoError as exc:
            raise KeyringError(f"tenant {tenant.slug}: its secret does not open with this master") from exc
    return secrets[entry]


def tenant_tag(
    tenant_id: int, slug: str, secret_wrapped: bytes | None, recovery_public: bytes | None
) -> bytes:
    """The HMAC (master secret) a tenant's row carries over what a database editor must not change: its
    wrapped server secret and its recovery public key (both fixed when the tenant is made)."""
    record = {
        "id": tenant_id,
        "slug": slug,
        "secret_wrapped": (secret_wrapped or b"").hex(),
        "recovery_public": (recovery_public or b"").hex(),
    }
    key = host_key(key_contexts.TENANT_RECORD)
    return crypto.keyed_hash(key, key_contexts.TENANT_RECORD + json.dumps(record, sort_keys=True).encode())


def stamp_tenant(tenant: Tenant) -> None:
    """Tag a tenant's row (it must have its id)."""
    tenant.record_tag = tenant_tag(tenant.id, tenant.slug, tenant.secret_wrapped, tenant.recovery_public)


def check_tenant_row(tenant: Tenant) -> None:
    """Raise TenantTampered unless a tenant's row matches its tag."""
    expected = tenant_tag(tenant.id, tenant.slug, tenant.secret_wrapped, tenant.recovery_public)
    if not crypto.verifier_matches(tenant.record_tag or b"", expected):
        raise TenantTampered(tenant.slug)


def _check_tenant(tenant: tenancy.TenantInfo) -> None:
    checked: set[tuple[int, bytes]] = current_app.extensions.setdefault("intake.tenants_checked", set())
    if (tenant.id, tenant.record_tag) in checked:
        return
    if not tenant.record_tag and tenant.secret_wrapped is None and tenant.recovery_public is None:
        return  # the tenant an older deployment became (migration): its row holds nothing to swap
    expected = tenant_tag(tenant.id, tenant.slug, tenant.secret_wrapped, tenant.recovery_public)
    if not crypto.verifier_matches(tenant.record_tag or b"", expected):
        raise TenantTampered(tenant.slug)
    checked.add((tenant.id, tenant.record_tag))


def host_key(purpose: bytes) -> bytes:
    """A subkey of the deployment's master secret for one of key_contexts.HOST_SUBKEYS: the host's own
    keys, which open no tenant's content."""
    if purpose not in key_contexts.HOST_SUBKEYS:
        raise KeyringError(f"not a purpose of the master secret: {purpose!r}")
    return crypto.derive_subkey(master_secret(), purpose)


def _wrapping_key() -> bytes:
    return host_key(key_contexts.TENANT_SECRET_WRAP)


def wrap_tenant_secret(tenant_id: int, secret: bytes) -> bytes:
    """A tenant's server secret encrypted under the master secret, bound to the tenant's id."""
    return crypto.encrypt(_wrapping_key(), secret, key_contexts.tenant_secret(tenant_id))


def server_key(purpose: bytes, tenant: tenancy.TenantInfo | None = None) -> bytes:
    """The subkey of a tenant's server secret for one of key_contexts.SERVER_SUBKEYS (cached)."""
    if purpose not in key_contexts.SERVER_SUBKEYS:
        raise KeyringError(f"not a purpose of the server secret: {purpose!r}")
    tenant = tenant or tenancy.current()
    keys: dict[tuple[int, bytes, bytes], bytes] = current_app.extensions.setdefault("intake.server_keys", {})
    entry = (tenant.id, tenant.secret_wrapped or b"", purpose)
    if entry not in keys:
        keys[entry] = crypto.derive_subkey(server_secret(tenant), purpose)
    return keys[entry]


# --- recovery key ------------------------------------------------------------------------------


def recovery_public(directory: Path, tenant: tenancy.TenantInfo | None = None) -> bytes | None:
    """The tenant's recovery public key: in its tenants row, or (an older deployment) keys/recovery.pub."""
    if tenant is not None and tenant.recovery_public is not None:
        return tenant.recovery_public
    if tenant is not None and tenant.secret_wrapped is not None:
        return None  # a tenant of its own: keys/recovery.pub is another tenant's
    path = directory / RECOVERY_PUBLIC_FILE
    return base64.b64decode(path.read_bytes().strip()) if path.exists() else None


def recovery_file_name(tenant: tenancy.TenantInfo | Tenant) -> str:
    """The usual file name of a tenant's encrypted recovery key: recovery.key for the deployment's first
    tenant, recovery-SLUG.key for the others (so that no tenant's file overwrites another's)."""
    return RECOVERY_PRIVATE_FILE if tenant.secret_wrapped is None else f"recovery-{tenant.slug}.key"


def create_recovery(passphrase: str, out: Path, profile: str, public_dir: Path | None = None) -> bytes:
    """Make a recovery keypair: the private key under the passphrase at `out`; returns the public key.
    With `public_dir` (the deployment's first tenant) the public key is written to recovery.pub there, as
    it always was; other tenants keep theirs in their tenants row (the caller's job)."""
    public, blob = recovery_file(passphrase, profile)
    write_private(out, blob)
    if public_dir is not None:
        pub = public_dir / RECOVERY_PUBLIC_FILE
        pub.parent.mkdir(parents=True, exist_ok=True)
        pub.write_bytes(base64.b64encode(public) + b"\n")
    return public


def recovery_file(passphrase: str, profile: str) -> tuple[bytes, bytes]:
    """A new recovery keypair: (public key, the file's bytes with the private key under the passphrase).
    The host's web page hands the bytes to its administrator once and keeps nothing (intake/host)."""
    pair = crypto.generate_keypair()
    salt = crypto.random_salt()
    params = crypto.kdf_params(profile)
    kek, _ = crypto.derive_password_keys(passphrase, salt, params)
    blob = {
        "format": "intake-recovery-key-v1",
        "kdf": {"name": "argon2id", "salt": _b64(salt), **params},
        "public": _b64(pair.public),
        "ciphertext": _b64(crypto.encrypt(kek, pair.private, key_contexts.RECOVERY_KEY)),
    }
    return pair.public, json.dumps(blob, indent=2).encode() + b"\n"


def open_recovery(path: Path, passphrase: str) -> bytes:
    """The recovery private key from its file; raises WrongPassphrase."""
    try:
        blob = json.loads(path.read_text())
        kdf = blob["kdf"]
        params = {k: int(kdf[k]) for k in ("iterations", "lanes", "memory_cost")}
        kek, _ = crypto.derive_password_keys(passphrase, _unb64(kdf["salt"]), params)
        return crypto.decrypt(kek, _unb64(blob["ciphertext"]), key_contexts.RECOVERY_KEY)
    except (OSError, ValueError, KeyError, crypto.CryptoError) as exc:
        raise WrongPassphrase(str(path)) from exc


# --- channel keys ------------------------------------------------------------------------------


def _channel_row(session: Session, channel: str) -> ChannelKey | None:
    return session.scalar(select(ChannelKey).where(ChannelKey.channel == channel))


def ensure_channel_keys(session: Session, recovery_pub: bytes) -> dict[str, bytes]:
    """Make the tenant's channel keypairs that do not exist. Returns {channel: private key} of those made."""
    made: dict[str, bytes] = {}
    for channel in Channel:
        if _channel_row(session, channel.value) is not None:
            continue
        pair = crypto.generate_keypair()
        session.add(
            ChannelKey(
                channel=channel,
                public_key=pair.public,
                sealed_for_recovery=crypto.seal(
                    recovery_pub, pair.private, key_contexts.channel_key(channel)
                ),
                tag=_channel_tag(channel.value, pair.public),
            )
        )
        made[channel.value] = pair.private
    session.flush()
    return made


def channel_public(session: Session, channel: str) -> bytes:
    """The channel's public key from the database, checked against its pin in keys/ (the deployment's
    first tenant, as always) or its tag under the tenant's own server secret (every other tenant)."""
    row = _channel_row(session, channel)
    if row is None:
        raise KeysMissing(channel)
    if tenancy.current().secret_wrapped is None:
        _check_pin(channel, row.public_key)
    elif not crypto.verifier_matches(row.tag or b"", _channel_tag(channel, row.public_key)):
        raise ChannelKeyChanged(channel)
    return row.public_key


# Whoever can edit the database could swap a channel's public key for one of their own and read every
# later case. So each channel public key is held against something outside the database: for the
# deployment's first tenant a pin in keys/ written when first used (normally by `setup`); for every other
# tenant an HMAC in the row under that tenant's server secret (which the database holds only wrapped
# under the master secret in keys/). A key that differs is refused. Channel keys are never rotated.


def _channel_tag(channel: str, public: bytes) -> bytes:
    return channel_tag_under(server_key(key_contexts.CHANNEL_RECORD), channel, public)


def channel_tag_under(key: bytes, channel: str, public: bytes) -> bytes:
    """A channel key's tag under `key` (the CHANNEL_RECORD subkey of a tenant's server secret)."""
    return crypto.keyed_hash(key, key_contexts.channel_record(channel, public.hex()))


def _pins() -> dict[str, bytes]:
    cached: dict[str, bytes] | None = current_app.extensions.get("intake.channel_pins")
    if cached is None:
        path = keys_dir() / CHANNEL_PINS_FILE
        try:
            cached = {str(c): _unb64(str(v)) for c, v in json.loads(path.read_text()).items()}
        except FileNotFoundError:
            cached = {}
        except (OSError, ValueError, AttributeError) as exc:
            raise KeyringError(f"{path} cannot be read") from exc
        current_app.extensions["intake.channel_pins"] = cached
    return cached


def _check_pin(channel: str, public: bytes) -> None:
    pinned = _pins().get(channel)
    if pinned is None:
        current_app.extensions.pop("intake.channel_pins", None)  # another process may have pinned it
        pins = _pins()
        pinned = pins.get(channel)
        if pinned is None:
            pins[channel] = public
            path = keys_dir() / CHANNEL_PINS_FILE
            path.parent.mkdir(parents=True, exist_ok=True)
            part = path.with_name(f"{path.name}.{os.getpid()}.part")
            part.write_text(json.dumps({c: _b64(k) for c, k in sorted(pins.items())}, indent=2) + "\n")
            os.replace(part, path)
            return
    if not hmac.compare_digest(pinned, public):
        raise ChannelKeyChanged(channel)


def channel_private_by_recovery(session: Session, channel: str, recovery_private: bytes) -> bytes:
    row = _channel_row(session, channel)
    if row is None:
        raise KeysMissing(channel)
    return crypto.unseal(recovery_private, row.sealed_for_recovery, key_contexts.channel_key(channel))


def channel_private(session: Session, officer: Officer, officer_private: bytes, channel: str) -> bytes:
    """Open the channel key an officer was granted; raises ChannelNotGranted."""
    grant = session.scalar(select(Grant).where(Grant.officer_id == officer.id, Grant.channel == channel))
    if grant is None or not officer.active:
        raise ChannelNotGranted(channel)
    try:
        return crypto.unseal(officer_private, grant.sealed_private_key, key_contexts.channel_key(channel))
    except crypto.CryptoError as exc:
        raise ChannelNotGranted(channel) from exc


def grant(
    session: Session,
    officer: Officer,
    channel: str,
    channel_private_key: bytes,
    by: Officer | None = None,
) -> Grant:
    """Seal a channel's private key to an officer (replacing an earlier grant)."""
    if crypto.public_key_of(channel_private_key) != channel_public(session, channel):
        raise KeyringError("that is not this channel's key")
    check_officer(officer)
    revoke(session, officer, channel)
    row = Grant(
        officer_id=officer.id,
        channel=Channel(channel),
        sealed_private_key=crypto.seal(
            officer.public_key, channel_private_key, key_contexts.channel_key(channel)
        ),
        granted_by_id=by.id if by else None,
    )
    session.add(row)
    session.flush()
    session.refresh(officer, ["grants"])
    return row


def grant_by_recovery(session: Session, officer: Officer, channel: str, recovery_private: bytes) -> Grant:
    """Grant a channel on the recovery key's authority (command line: setup, or nobody holding it is left)."""
    return grant(session, officer, channel, channel_private_by_recovery(session, channel, recovery_private))


def revoke(session: Session, officer: Officer, channel: str) -> bool:
    row = session.scalar(select(Grant).where(Grant.officer_id == officer.id, Grant.channel == channel))
    if row is None:
        return False
    session.delete(row)
    session.flush()
    session.refresh(officer, ["grants"])
    return True


# --- officers ----------------------------------------------------------------------------------


def create_officer(
    session: Session,
    username: str,
    password: str,
    role: Role = Role.OFFICER,
    *,
    must_change_password: bool = False,
) -> Officer:
    if session.scalar(select(Officer).where(Officer.username == username)) is not None:
        raise OfficerExists(username)
    pair = crypto.generate_keypair()
    officer = Officer(
        username=username,
        role=role,
        public_key=pair.public,
        must_change_password=must_change_password,
        wrapped_private_key=b"",
        password_salt=b"",
        password_kdf={},
        password_verifier=b"",
    )
    set_password(officer, pair.private, password)
    session.add(officer)
    session.flush()
    stamp_officer(officer)
    return officer


def _officer_tag(officer: Officer) -> bytes:
    return officer_tag_under(server_key(key_contexts.OFFICER_RECORD), officer)


def officer_tag_under(key: bytes, officer: Officer) -> bytes:
    """An officer's tag under `key` (the OFFICER_RECORD subkey of a tenant's server secret).

    Every column whose change would hand over keys, skip a factor, revive an account or slow sign-in
    down: a JSON list under its own prefix (version 2). Not covered: the failed-sign-in counter and lock
    (counted atomically in SQL, docs/security.md), the last TOTP step and the last sign-in time."""
    fields = [
        officer.id,
        officer.username,
        str(officer.role),
        officer.public_key.hex(),
        officer.wrapped_private_key.hex(),
        officer.password_salt.hex(),
        officer.password_verifier.hex(),
        sorted((str(k), v) for k, v in (officer.password_kdf or {}).items()),
        None if officer.totp_secret is None else officer.totp_secret.hex(),
        bool(officer.active),
        bool(officer.must_change_password),
    ]
    encoded = json.dumps(fields, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
    return crypto.keyed_hash(key, key_contexts.OFFICER_RECORD_V2 + encoded)


def _officer_tag_v1(officer: Officer) -> bytes:
    """The tag before version 2 (username, role, public key, TOTP or not): read by restamp_legacy only."""
    fields = [
        str(officer.id),
        officer.username,
        officer.role,
        officer.public_key.hex(),
        "totp" if officer.totp_secret is not None else "-",
    ]
    key = server_key(key_contexts.OFFICER_RECORD)
    return crypto.keyed_hash(key, "\x1f".join(fields).encode("utf-8"))


def stamp_officer(officer: Officer) -> None:
    """Record the officer's security-relevant fields under the server secret (after any change to them)."""
    officer.record_tag = _officer_tag(officer)


def restamp_legacy(session: Session) -> int:
    """Once, when `db upgrade` crosses revision 3f6b2a9d8c41: re-tag (version 2) every officer whose row
    still matches its version-1 tag; a row that does not stays refused. Returns how many were re-tagged.

    Only `db upgrade` calls this, only across that revision: a version-1 tag is never accepted at sign-in,
    so an old tag copied back from a backup cannot vouch for a reactivated account afterwards.
    """
    done = 0
    for officer in session.scalars(select(Officer)):
        if crypto.verifier_matches(officer.record_tag or b"", _officer_tag_v1(officer)):
            stamp_officer(officer)
            done += 1
    return done


def check_officer(officer: Officer) -> None:
    """Raise OfficerTampered unless the row still matches its tag.

    Whoever can write the database but not read keys/ cannot swap an officer's public key (so that the
    next grant seals a channel key to them), raise a role, clear a TOTP secret to skip the second factor,
    reactivate an account, put back an old password's wrap or raise the KDF cost. Checked at sign-in and
    each time a session loads its officer (sessions.current).
    """
    if not crypto.verifier_matches(officer.record_tag or b"", _officer_tag(officer)):
        raise OfficerTampered(officer.username)


# The password wrap's version, kept in the (tagged) KDF parameters as "wrap" (issue 9, finding 2). Version 1
# (no "wrap"): the private key under Argon2id's key alone, so an old password and an old row (a PostgreSQL
# dead tuple, a backup) opened it. Version 2: under crypto.password_wrap_key(Argon2id's key, the tenant's
# server secret). Version-1 rows still open and are rewrapped at the next sign-in (unlock_and_upgrade).
WRAP_KEY = "wrap"
PASSWORD_WRAP_VERSION = 2


def _wrap_key(kek: bytes, version: int) -> bytes:
    return kek if version == 1 else crypto.password_wrap_key(kek, server_secret())


def _wrap(officer: Officer, kek: bytes, private_key: bytes, params: dict[str, int]) -> None:
    officer.password_kdf = {**params, WRAP_KEY: PASSWORD_WRAP_VERSION}
    key = _wrap_key(kek, PASSWORD_WRAP_VERSION)
    officer.wrapped_private_key = crypto.encrypt(key, private_key, key_contexts.officer_key(officer.username))
    session = object_session(officer)
    if session is not None:  # the previous password's wrap must not stay in the WAL
        db.forget_after_commit(session)


def set_password(officer: Officer, private_key: bytes, password: str) -> None:
    """(Re)wrap the officer's private key under a new password (wrap version 2)."""
    salt = crypto.random_salt()
    params = crypto.kdf_params(current_app.config["KDF_PROFILE"])
    kek, verifier = crypto.derive_password_keys(password, salt, params)
    officer.password_salt = salt
    officer.password_verifier = verifier
    _wrap(officer, kek, private_key, params)


def _open(officer: Officer, password: str) -> tuple[bytes, bytes, int]:
    """(Argon2id's key, the private key, the wrap's version) or WrongPassword / OfficerTampered."""
    stored = dict(officer.password_kdf or {}) if isinstance(officer.password_kdf, dict) else {}
    version = stored.pop(WRAP_KEY, 1)
    if version not in (1, PASSWORD_WRAP_VERSION) or not crypto.kdf_params_bounded(stored):
        raise OfficerTampered(officer.username)
    kek, verifier = crypto.derive_password_keys(password, officer.password_salt, stored)
    if not crypto.verifier_matches(officer.password_verifier, verifier):
        raise WrongPassword
    key = _wrap_key(kek, version)
    try:
        private = crypto.decrypt(key, officer.wrapped_private_key, key_contexts.officer_key(officer.username))
    except crypto.CryptoError as exc:
        raise WrongPassword from exc
    return kek, private, version


def unlock(officer: Officer, password: str) -> bytes:
    """The officer's private key; raises WrongPassword (same for an unknown or inactive account), or
    OfficerTampered when the row asks for KDF parameters outside crypto.KDF_BOUNDS (never derived)."""
    return _open(officer, password)[1]


def unlock_and_upgrade(officer: Officer, password: str) -> bytes:
    """`unlock`, and a version-1 password wrap rewrapped as version 2 (same salt, no second derivation)
    and re-tagged: the caller commits it with the sign-in."""
    kek, private, version = _open(officer, password)
    if version != PASSWORD_WRAP_VERSION:
        stored = {k: v for k, v in officer.password_kdf.items() if k != WRAP_KEY}
        _wrap(officer, kek, private, stored)
        stamp_officer(officer)
    return private


def burn_password_time(password: str) -> None:
    """Spend what a real check costs, so an unknown username is not told apart by timing."""
    params = crypto.kdf_params(current_app.config["KDF_PROFILE"])
    crypto.derive_password_keys(password, b"\x00" * 16, params)


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def _unb64(text: str) -> bytes:
    return base64.b64decode(text.encode(), validate=True)
