"""A tenant's export: its archive format, the keys from the export passphrase, and reading one back.

`backup --tenant SLUG` (tenant_export.py) writes a tar of one tenant: every tenant-owned table's rows as
engine-neutral JSON lines (`tables/NAME.jsonl`, one consistent snapshot; bytes base64, datetimes ISO 8601),
its encrypted objects (`objects/NAME`), and `manifest.json`: its name, host names, recovery public key,
the pins of its channel keys where the source kept them in keys/, its audit anchor, the SHA-256 of every
member, and its server secret, which a deployment keeps wrapped under its master secret, wrapped instead
under a key derived by Argon2id from an export passphrase. `manifest.mac` is an HMAC of the manifest under
a subkey of that same key: nothing in the archive can be changed unseen, and a wrong passphrase is told
apart from an altered archive (the manifest keeps the passphrase's verifier).

Content stays encrypted as it is: channel keys are sealed to the tenant's officers and its recovery key,
never to the host, so the archive opens no case; only the passphrase makes it a working tenant again
(`restore --tenant`, tenant_import.py). Never in an export: officer_sessions (each row wraps a signed-in
officer's private key) and receipts (short-lived, bound to row ids).
"""

from __future__ import annotations

import base64
import contextlib
import enum
import json
import re
import tarfile
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import LargeBinary, Table

from . import archives, crypto, key_contexts
from .db import Base, UTCDateTime

FORMAT = "intake-tenant-export-v1"
MANIFEST = "manifest.json"
MAC = "manifest.mac"
CHUNK = 1024 * 1024
SKIPPED = {
    "officer_sessions": "each row wraps a signed-in officer's private key",
    "receipts": "short-lived, bound to row ids: a form sent again after the move makes a new case",
    "tenant_hosts": "the host names are in the manifest",
}
LEFT_BY_TENANT_ADD = ("channel_keys", "settings")  # what a cut-short `tenant add` leaves: replaced
MEMBER = re.compile(r"manifest\.(json|mac)|tables/[a-z_]{1,64}\.jsonl|objects/[0-9a-f]{32}")
EXTRA_REFS = {("cases", "duplicate_of_id"): "cases"}  # row ids held without a foreign key


class MoveError(Exception):
    """An export or import could not be done (the message is safe to print: it holds no secret)."""


class ImportRefused(MoveError):
    """The target tenant or deployment cannot take this export (the message says why)."""


class ArchiveRejected(MoveError):
    """Wrong passphrase, or not a complete and unaltered tenant export."""


@dataclass(frozen=True)
class MoveSummary:
    path: Path
    slug: str
    cases: int
    attachments: int
    officers: int
    size: int


def owned_tables() -> list[Table]:
    """The tenant-owned tables an export carries, parents before children."""
    return [t for t in Base.metadata.sorted_tables if "tenant_id" in t.c and t.name not in SKIPPED]


# --- engine-neutral values ----------------------------------------------------------------------------


def encode(value: Any) -> Any:
    if isinstance(value, bytes | bytearray | memoryview):
        return base64.b64encode(bytes(value)).decode()
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, enum.Enum):
        return value.value
    return value


def decode(table: Table, name: str, value: Any) -> Any:
    if value is None:
        return None
    kind = table.c[name].type
    if isinstance(kind, LargeBinary):
        return base64.b64decode(value, validate=True)
    if isinstance(kind, UTCDateTime):
        return datetime.fromisoformat(value)
    return value


# --- keys from the export passphrase --------------------------------------------------------------------


def passphrase_keys(passphrase: str, salt: bytes, params: dict[str, int]) -> tuple[bytes, bytes, bytes]:
    """(key that wraps the secret, key that authenticates the manifest, passphrase verifier)."""
    kek, verifier = crypto.derive_password_keys(passphrase, salt, params)
    return kek, crypto.derive_subkey(kek, key_contexts.TENANT_EXPORT_MANIFEST), verifier


# --- reading an export ---------------------------------------------------------------------------------


@dataclass
class Opened:
    manifest: dict[str, Any]
    folder: Path
    secret: bytes


@contextlib.contextmanager
def opened(path: Path, passphrase: str, scratch: Path) -> Iterator[Opened]:
    """Unpack an export into a private folder; check the passphrase, the manifest's HMAC and every
    member's checksum before anything of it is trusted. Raises ArchiveRejected."""
    scratch.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="intake-import-", dir=scratch) as tmp:
        folder = Path(tmp)
        try:
            tar = tarfile.open(path, mode="r:")  # noqa: SIM115 - closed by the `with tar` below
        except (OSError, tarfile.TarError) as exc:
            raise ArchiveRejected(f"{path} is not a readable tenant export") from exc
        with tar:
            present = archives.extract(tar, folder, MEMBER, ("tables", "objects"), ArchiveRejected, "export")
        if not {MANIFEST, MAC} <= present:
            raise ArchiveRejected("not a tenant export (no authenticated manifest)")
        data = (folder / MANIFEST).read_bytes()
        try:
            manifest = json.loads(data)
            kdf = manifest["kdf"]
            params = {k: int(kdf[k]) for k in ("iterations", "lanes", "memory_cost")}
            salt, verifier = unb64(kdf["salt"]), unb64(manifest["verifier"])
        except (ValueError, KeyError, TypeError) as exc:
            raise ArchiveRejected("not a tenant export (unreadable manifest)") from exc
        if manifest.get("format") != FORMAT or not crypto.kdf_params_bounded(params):
            raise ArchiveRejected("not a tenant export of this version")
        kek, mac_key, expected = passphrase_keys(passphrase, salt, params)
        if not crypto.verifier_matches(verifier, expected):
            raise ArchiveRejected("the passphrase does not open this export")
        mac = (folder / MAC).read_bytes().strip()
        if not crypto.verifier_matches(mac, crypto.keyed_hash(mac_key, data).hex().encode()):
            raise ArchiveRejected("the export was altered: its manifest does not match its HMAC")
        if set(manifest["files"]) != present - {MANIFEST, MAC}:
            raise ArchiveRejected("the export was altered: its members do not match its manifest")
        for name, meta in manifest["files"].items():
            if archives.sha256_of(folder / name) != meta.get("sha256"):
                raise ArchiveRejected(f"the export was altered: checksum mismatch in {name}")
        try:
            secret = crypto.decrypt(kek, unb64(manifest["server_secret"]), key_contexts.TENANT_EXPORT_SECRET)
        except crypto.CryptoError as exc:
            raise ArchiveRejected("the export's secret does not open with this passphrase") from exc
        yield Opened(manifest, folder, secret)


def rows_of(folder: Path, table: Table) -> Iterator[dict[str, Any]]:
    path = folder / "tables" / f"{table.name}.jsonl"
    if not path.exists():
        return
    with open(path, encoding="utf-8") as fh:
        for line in fh:
            record = json.loads(line)
            yield {name: decode(table, name, value) for name, value in record.items()}


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def unb64(value: str) -> bytes:
    return base64.b64decode(value.encode(), validate=True)
