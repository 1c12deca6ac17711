"""One tenant's export and import: its rows, files and server secret in one archive, for another deployment.

`backup --tenant SLUG` writes a tar of that tenant only: every tenant-owned table's rows as engine-neutral
JSON lines (one consistent snapshot: a REPEATABLE READ transaction on PostgreSQL, one read transaction on
SQLite; bytes base64, datetimes ISO 8601), the tenant's encrypted objects (streamed from the store), and
its server secret, which the deployment keeps wrapped under its master secret, wrapped instead under a key
derived by Argon2id from an export passphrase. The manifest names every member with its SHA-256 and is
authenticated by an HMAC under a subkey of that same key: nothing in the archive can be changed unseen.
Content stays encrypted as it is: channel keys are sealed to the tenant's officers and recovery key, not
to the host, so the archive opens no case; only the passphrase turns it back into a working tenant.

Never in an export: officer_sessions (each row wraps a signed-in officer's private key) and receipts
(short-lived, and bound to row ids). Pending notices lose their dedupe key (it names row ids).

`restore --tenant SLUG FILE` brings it into this deployment, in one transaction: the tenant is made (or
an existing EMPTY one used), every row inserted with new primary keys and its foreign keys remapped, case
numbers kept (what every ciphertext is bound to, key_contexts), the case ids moved past those numbers (a new
case's number is its id), the server secret re-wrapped under this deployment's master secret, and the tags
that cover a row id (officers, audit checkpoints) or that the first tenant of the source kept as pins in
keys/ (channel keys) checked under the secret and made anew. The objects are written to the store first
and removed again if anything fails. An officer's TOTP secret is bound to their old id: the row keeps it
(`totp_bound_id`).
"""

from __future__ import annotations

import base64
import contextlib
import enum
import hashlib
import io
import json
import os
import re
import shutil
import tarfile
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import IO, Any

from sqlalchemy import Connection, Engine, LargeBinary, Table, event, func, insert, select, text, update

from . import audit, crypto, dates, key_contexts, keyring, tenancy, tenants
from .db import Base, UTCDateTime, make_engine
from .models import AuditCheckpoint, AuditEntry, Officer, Role, Tenant, TenantHost
from .storage import StorageError, Store, iter_stream

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


def _encode(value: Any) -> Any:
    if isinstance(value, bytes | bytearray | memoryview):
        return base64.b64encode(bytes(value)).decode()
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, enum.Enum):
        return value.value
    return value


def _decode(table: Table, name: str, value: Any) -> Any:
    if value is None:
        return None
    kind = table.c[name].type
    if isinstance(kind, LargeBinary):
        return base64.b64decode(value, validate=True)
    if isinstance(kind, UTCDateTime):
        return datetime.fromisoformat(value)
    return value


# --- keys from the export passphrase --------------------------------------------------------------------


def _keys(passphrase: str, salt: bytes, params: dict[str, int]) -> tuple[bytes, bytes, bytes]:
    """(key that wraps the secret, key that authenticates the manifest, passphrase verifier)."""
    kek, verifier = crypto.derive_password_keys(passphrase, salt, params)
    return kek, crypto.derive_subkey(kek, key_contexts.TENANT_EXPORT_MANIFEST), verifier


# --- export -----------------------------------------------------------------------------------------------


@contextlib.contextmanager
def _snapshot(engine: Engine) -> Iterator[Connection]:
    """One read transaction that sees the database as of one moment."""
    if engine.dialect.name == "postgresql":
        with engine.connect() as conn:
            conn = conn.execution_options(isolation_level="REPEATABLE READ")
            with conn.begin():
                tenancy.act_as_host(conn)
                yield conn
        return
    # pysqlite begins no transaction before a read: this engine issues BEGIN itself (SQLAlchemy's recipe).
    own = make_engine(engine.url.render_as_string(hide_password=False))
    event.listen(own, "connect", lambda dbapi, _rec: setattr(dbapi, "isolation_level", None))
    event.listen(own, "begin", lambda conn: conn.exec_driver_sql("BEGIN"))
    try:
        with own.connect() as conn, conn.begin():
            yield conn
    finally:
        own.dispose()


class _HashingReader:
    def __init__(self, fh: IO[bytes]) -> None:
        self.fh = fh
        self.digest = hashlib.sha256()
        self.size = 0

    def read(self, size: int = -1) -> bytes:
        data = self.fh.read(size)
        self.digest.update(data)
        self.size += len(data)
        return data


def _add(tar: tarfile.TarFile, arcname: str, fh: IO[bytes], size: int) -> dict[str, Any]:
    info = tarfile.TarInfo(arcname)
    info.size = size
    info.mode = 0o600
    reader = _HashingReader(fh)
    tar.addfile(info, reader)
    return {"sha256": reader.digest.hexdigest(), "size": size}


def export(
    engine: Engine,
    store: Store,
    keys_dir: Path,
    slug: str,
    passphrase: str,
    profile: str,
    output: Path,
) -> MoveSummary:
    """Write tenant `slug`'s export to `output` (atomically, mode 0600). Needs an app context (the master
    secret opens the tenant's own)."""
    output.parent.mkdir(parents=True, exist_ok=True)
    salt, params = crypto.random_salt(), crypto.kdf_params(profile)
    kek, mac_key, verifier = _keys(passphrase, salt, params)
    part = output.with_name(output.name + ".part")
    counts: dict[str, int] = {}
    files: dict[str, dict[str, Any]] = {}
    try:
        with tempfile.TemporaryDirectory(prefix="intake-export-") as tmp, _snapshot(engine) as conn:
            row = conn.execute(select(Tenant).where(Tenant.slug == slug)).mappings().first()
            if row is None:
                raise MoveError(f"no tenant {slug!r}")
            tenant_id = row["id"]
            info = tenancy.TenantInfo(
                row["id"], row["slug"], row["name"], row["province"], row["status"], row["secret_wrapped"],
                row["recovery_public"], row["record_tag"] or b"",
            )
            secret = keyring.server_secret(info)
            hosts = list(conn.execute(select(TenantHost.host).where(TenantHost.tenant_id == tenant_id))
                         .scalars())
            legacy = row["secret_wrapped"] is None
            recovery_public = keyring.recovery_public(keys_dir, info)
            fd = os.open(part, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            with os.fdopen(fd, "wb") as raw, tarfile.open(fileobj=raw, mode="w", format=tarfile.PAX_FORMAT) as tar:
                names: list[str] = []
                tables: dict[str, list[str]] = {}
                for table in owned_tables():
                    columns = [c.name for c in table.columns if c.name != "tenant_id"]
                    tables[table.name] = columns
                    path = Path(tmp) / f"{table.name}.jsonl"
                    count = 0
                    with open(path, "w", encoding="utf-8") as sink:
                        query = (select(*[table.c[c] for c in columns]).where(table.c.tenant_id == tenant_id)
                                 .order_by(*table.primary_key.columns))
                        for values in conn.execute(query.execution_options(yield_per=1000)):
                            record = {c: _encode(v) for c, v in zip(columns, values, strict=True)}
                            if table.name == "attachments":
                                names.append(record["stored_name"])
                            sink.write(json.dumps(record, ensure_ascii=False, separators=(",", ":")) + "\n")
                            count += 1
                    counts[table.name] = count
                    with open(path, "rb") as fh:
                        files[f"tables/{table.name}.jsonl"] = _add(tar, f"tables/{table.name}.jsonl", fh,
                                                                     path.stat().st_size)
                    path.unlink()
                for name in names:
                    files[f"objects/{name}"] = _add_object(tar, store, name)
                pins = _pins(keys_dir) if legacy else {}
                anchor_file = keys_dir / (audit.ANCHOR_FILE if legacy else f"audit-{slug}.anchor")
                manifest = {
                    "format": FORMAT,
                    "created_at": dates.now().isoformat(),
                    "engine": engine.dialect.name,
                    "tenant": {"slug": slug, "name": row["name"], "province": row["province"], "hosts": hosts},
                    "kdf": {"name": "argon2id", "salt": _b64(salt), **params},
                    "verifier": _b64(verifier),
                    "server_secret": _b64(crypto.encrypt(kek, secret, key_contexts.TENANT_EXPORT_SECRET)),
                    "recovery_public": _b64(recovery_public) if recovery_public else None,
                    "channel_pins": pins,
                    "anchor": anchor_file.read_text() if anchor_file.is_file() else None,
                    "tables": tables,
                    "rows": counts,
                    "not_included": SKIPPED,
                    "files": files,
                }
                data = json.dumps(manifest, indent=2, sort_keys=True).encode()
                _add(tar, MANIFEST, io.BytesIO(data), len(data))
                mac = crypto.keyed_hash(mac_key, data).hex().encode()
                _add(tar, MAC, io.BytesIO(mac), len(mac))
                raw.flush()
                os.fsync(raw.fileno())
        os.replace(part, output)
    except BaseException:
        part.unlink(missing_ok=True)
        raise
    return MoveSummary(output, slug, counts.get("cases", 0), counts.get("attachments", 0),
                       counts.get("officers", 0), output.stat().st_size)


def _pins(keys_dir: Path) -> dict[str, str]:
    path = keys_dir / keyring.CHANNEL_PINS_FILE
    try:
        return {str(k): str(v) for k, v in json.loads(path.read_text()).items()}
    except FileNotFoundError:
        return {}
    except (OSError, ValueError, AttributeError) as exc:
        raise MoveError(f"{path} cannot be read") from exc


def _add_object(tar: tarfile.TarFile, store: Store, name: str) -> dict[str, Any]:
    try:
        info = store.stat(name)
        if info is None:
            raise MoveError(f"attachment object {name} named in the database is missing from the store")
        with store.open(name) as fh:
            return _add(tar, f"objects/{name}", fh, info.size)
    except StorageError as exc:
        raise MoveError(f"the store could not be read: {exc}") from exc
    except OSError as exc:
        raise MoveError(f"attachment object {name} could not be read whole") from exc


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
            present = _extract(tar, folder)
        if not {MANIFEST, MAC} <= present:
            raise ArchiveRejected("not a tenant export (no authenticated manifest)")
        data = (folder / MANIFEST).read_bytes()
        try:
            manifest = json.loads(data)
            kdf = manifest["kdf"]
            params = {k: int(kdf[k]) for k in ("iterations", "lanes", "memory_cost")}
            salt, verifier = _unb64(kdf["salt"]), _unb64(manifest["verifier"])
        except (ValueError, KeyError, TypeError) as exc:
            raise ArchiveRejected("not a tenant export (unreadable manifest)") from exc
        if manifest.get("format") != FORMAT or not crypto.kdf_params_bounded(params):
            raise ArchiveRejected("not a tenant export of this version")
        kek, mac_key, expected = _keys(passphrase, salt, params)
        if not crypto.verifier_matches(verifier, expected):
            raise ArchiveRejected("the passphrase does not open this export")
        mac = (folder / MAC).read_bytes().strip()
        if not crypto.verifier_matches(mac, crypto.keyed_hash(mac_key, data).hex().encode()):
            raise ArchiveRejected("the export was altered: its manifest does not match its HMAC")
        if set(manifest["files"]) != present - {MANIFEST, MAC}:
            raise ArchiveRejected("the export was altered: its members do not match its manifest")
        for name, meta in manifest["files"].items():
            if _sha256(folder / name) != meta.get("sha256"):
                raise ArchiveRejected(f"the export was altered: checksum mismatch in {name}")
        try:
            secret = crypto.decrypt(kek, _unb64(manifest["server_secret"]), key_contexts.TENANT_EXPORT_SECRET)
        except crypto.CryptoError as exc:
            raise ArchiveRejected("the export's secret does not open with this passphrase") from exc
        yield Opened(manifest, folder, secret)


def _extract(tar: tarfile.TarFile, folder: Path) -> set[str]:
    present: set[str] = set()
    for member in tar:
        if member.isdir() and member.name in ("tables", "objects"):
            continue
        if not member.isfile() or not MEMBER.fullmatch(member.name) or member.name in present:
            raise ArchiveRejected(f"unexpected member in the export: {member.name[:80]!r}")
        source = tar.extractfile(member)
        if source is None:
            raise ArchiveRejected(f"unreadable member {member.name}")
        target = folder / member.name
        target.parent.mkdir(mode=0o700, exist_ok=True)
        with source, open(target, "xb") as sink:
            shutil.copyfileobj(source, sink, CHUNK)
        present.add(member.name)
    return present


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        while chunk := fh.read(CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def _rows(folder: Path, table: Table) -> Iterator[dict[str, Any]]:
    path = folder / "tables" / f"{table.name}.jsonl"
    if not path.exists():
        return
    with open(path, encoding="utf-8") as fh:
        for line in fh:
            record = json.loads(line)
            yield {name: _decode(table, name, value) for name, value in record.items()}


# --- import ------------------------------------------------------------------------------------------


@dataclass
class _Target:
    tenant_id: int
    made: bool


def restore(
    engine: Engine,
    store: Store,
    keys_dir: Path,
    path: Path,
    passphrase: str,
    slug: str,
    scratch: Path,
    *,
    hosts: list[str] | None = None,
    name: str | None = None,
) -> MoveSummary:
    """Bring an export into tenant `slug` of this deployment (made, or an existing empty one), all or
    nothing. Needs an app context (the master secret wraps the tenant's secret). Raises ImportRefused or
    ArchiveRejected."""
    with opened(path, passphrase, scratch) as archive:
        manifest = archive.manifest
        _check_schema(manifest)
        objects = sorted(n.removeprefix("objects/") for n in manifest["files"] if n.startswith("objects/"))
        written: list[str] = []
        try:
            with engine.begin() as conn:
                tenancy.act_as_host(conn)
                if conn.dialect.name == "postgresql":
                    # Case ids are given past the numbers kept: no other insert may take one meanwhile.
                    conn.execute(text("LOCK TABLE cases IN EXCLUSIVE MODE"))
                target = _target(conn, manifest, slug, hosts, name)
                _check_objects(conn, store, objects)
                for stored in objects:
                    with open(archive.folder / "objects" / stored, "rb") as fh:
                        size = store.put(stored, iter_stream(fh, CHUNK))
                    written.append(stored)
                    if size != int(manifest["files"][f"objects/{stored}"]["size"]):
                        raise MoveError(f"attachment object {stored} was not stored whole")
                _insert_rows(conn, archive, target.tenant_id)
                _finish_tenant(conn, archive, target.tenant_id, slug)
        except BaseException:
            for stored in written:
                with contextlib.suppress(StorageError):
                    store.delete(stored)
            raise
        tenancy.forget()
        anchor = manifest.get("anchor")
        if anchor:
            _write_private(keys_dir / f"audit-{slug}.anchor", str(anchor))
    rows = manifest["rows"]
    return MoveSummary(path, slug, rows.get("cases", 0), rows.get("attachments", 0), rows.get("officers", 0),
                       path.stat().st_size)


def _check_schema(manifest: dict[str, Any]) -> None:
    known = {t.name: t for t in owned_tables()}
    for table, columns in manifest["tables"].items():
        if table not in known:
            raise ImportRefused(f"the export has a table {table} this version does not know: upgrade first")
        unknown = set(columns) - set(known[table].c.keys())
        if unknown:
            raise ImportRefused(f"the export's {table} has columns this version does not know: upgrade first")


def _target(
    conn: Connection, manifest: dict[str, Any], slug: str, hosts: list[str] | None, name: str | None
) -> _Target:
    """The tenant the rows go to: `slug` if it exists and is empty (else refused, naming why), else made."""
    given = manifest["tenant"]
    wanted_hosts = [tenants.check_host(h) for h in (hosts if hosts is not None else given["hosts"])]
    existing = conn.execute(select(Tenant.id).where(Tenant.slug == slug)).scalar()
    if existing is not None:
        for table in owned_tables():
            if table.name in LEFT_BY_TENANT_ADD:
                continue
            if conn.execute(select(table.c.tenant_id).where(table.c.tenant_id == existing).limit(1)).first():
                raise ImportRefused(f"tenant {slug} is not empty (its {table.name} has rows): nothing restored")
        for table_name in LEFT_BY_TENANT_ADD:
            table = Base.metadata.tables[table_name]
            conn.execute(table.delete().where(table.c.tenant_id == existing))
        tenant_id = int(existing)
        if name:
            conn.execute(update(Tenant).where(Tenant.id == tenant_id).values(name=name.strip()))
    else:
        tenants.check_slug(slug)
        tenant_id = int(conn.execute(
            insert(Tenant).values(
                slug=slug, name=(name or given["name"] or slug).strip(), province=given.get("province", ""),
                status="active", created_at=dates.now(), record_tag=b"",
            ).returning(Tenant.id)
        ).scalar_one())
    for host in wanted_hosts:
        owner = conn.execute(select(TenantHost.tenant_id).where(TenantHost.host == host)).scalar()
        if owner is not None and owner != tenant_id:
            raise ImportRefused(f"host {host} belongs to another tenant of this deployment (--host NAME)")
        if owner is None:
            conn.execute(insert(TenantHost).values(host=host, tenant_id=tenant_id))
    return _Target(tenant_id, existing is None)


def _check_objects(conn: Connection, store: Store, objects: list[str]) -> None:
    attachments = Base.metadata.tables["attachments"]
    for start in range(0, len(objects), 500):
        chunk = objects[start:start + 500]
        taken = conn.execute(select(attachments.c.stored_name).where(attachments.c.stored_name.in_(chunk))).first()
        if taken is not None:
            raise ImportRefused(f"attachment {taken[0]} is here already: this export was restored before")
    for stored in objects:
        if store.stat(stored) is not None:
            raise ImportRefused(f"the store holds object {stored} already: this export was restored before")


def _insert_rows(conn: Connection, archive: Opened, tenant_id: int) -> None:
    """Every row, parents first; new ids, foreign keys remapped; case numbers kept."""
    ids: dict[str, dict[int, int]] = {}
    referenced = {fk.column.table.name for t in owned_tables() for fk in t.foreign_keys} | {"cases"}
    for table in owned_tables():
        refs = {fk.parent.name: fk.column.table.name for fk in table.foreign_keys
                if fk.column.table.name != "tenants"}
        refs.update({col: ref for (tname, col), ref in EXTRA_REFS.items() if tname == table.name})
        serial = "id" in table.c and table.c.id.primary_key and len(table.primary_key.columns) == 1
        mapping = ids.setdefault(table.name, {})
        rows = list(_rows(archive.folder, table)) if table.name == "cases" else _rows(archive.folder, table)
        if table.name == "cases":
            _plan_case_ids(conn, rows, mapping)
        batch: list[dict[str, Any]] = []
        for row in rows:
            row["tenant_id"] = tenant_id
            for column, parent in refs.items():
                if row.get(column) is not None:
                    row[column] = ids[parent][row[column]]
            if table.name == "notices":
                row["dedupe_key"] = None
            if table.name == "cases":
                row["id"] = mapping[row["id"]]
            elif serial:
                old = row.pop("id")
                if table.name in referenced or table.name in ("officers", "audit_checkpoints"):
                    new = _insert_one(conn, table, row, archive.secret, old)
                    mapping[old] = new
                    continue
            batch.append(row)
            if len(batch) >= 500:
                conn.execute(insert(table), batch)
                batch = []
        if batch:
            conn.execute(insert(table), batch)
    if conn.dialect.name == "postgresql":
        conn.execute(text("SELECT setval(pg_get_serial_sequence('cases', 'id'), "
                          "(SELECT coalesce(max(id), 1) FROM cases))"))


def _plan_case_ids(conn: Connection, rows: list[dict[str, Any]], mapping: dict[int, int]) -> None:
    """New case ids past every id in use and every number kept, so the next case's number is free."""
    cases = Base.metadata.tables["cases"]
    top = int(conn.execute(select(func.coalesce(func.max(cases.c.id), 0))).scalar_one())
    top = max([top, *[int(r["number"] or 0) for r in rows]])
    for offset, row in enumerate(rows, start=1):
        mapping[row["id"]] = top + offset


def _insert_one(conn: Connection, table: Table, row: dict[str, Any], secret: bytes, old_id: int) -> int:
    """A row whose new id something needs: officers (checked under the tenant's secret with their old id,
    then tagged with the new one; their TOTP secret stays bound to the id it was enrolled with) and
    audit checkpoints (tagged anew: the tag covers the row id)."""
    if table.name == "officers":
        key = crypto.derive_subkey(secret, key_contexts.OFFICER_RECORD)
        values = {**row, "role": Role(row["role"])}
        before = Officer(id=old_id, **values)
        if not crypto.verifier_matches(row["record_tag"] or b"", keyring.officer_tag_under(key, before)):
            raise ImportRefused(f"officer {row['username']}'s record does not match its tag: the source "
                                "database was edited; nothing restored")
        if row.get("totp_secret") is not None and row.get("totp_bound_id") is None:
            row["totp_bound_id"] = old_id
    new_id = int(conn.execute(insert(table).values(**row).returning(table.c.id)).scalar_one())
    if table.name == "officers":
        after = Officer(id=new_id, **{**row, "role": Role(row["role"])})
        tag = keyring.officer_tag_under(key, after)
        conn.execute(update(table).where(table.c.id == new_id).values(record_tag=tag))
    elif table.name == "audit_checkpoints":
        key = crypto.derive_subkey(secret, key_contexts.AUDIT_CHAIN)
        old = AuditCheckpoint(**{**row, "id": old_id})
        if not crypto.verifier_matches(row["tag"] or b"", audit.checkpoint_tag_under(key, old)):
            raise ImportRefused("an audit checkpoint does not match its tag: the source database was edited")
        tag = audit.checkpoint_tag_under(key, AuditCheckpoint(**{**row, "id": new_id}))
        conn.execute(update(table).where(table.c.id == new_id).values(tag=tag))
    return new_id


def _finish_tenant(conn: Connection, archive: Opened, tenant_id: int, slug: str) -> None:
    """Channel keys checked (tag under the secret, or the source's pins) and tagged; the secret wrapped under
    this deployment's master; the tenant's row tagged; one audit entry says where the tenant came from."""
    manifest, secret = archive.manifest, archive.secret
    channel_key = crypto.derive_subkey(secret, key_contexts.CHANNEL_RECORD)
    channels = Base.metadata.tables["channel_keys"]
    pins = {c: _unb64(v) for c, v in (manifest.get("channel_pins") or {}).items()}
    for channel, public, tag in conn.execute(
        select(channels.c.channel, channels.c.public_key, channels.c.tag).where(channels.c.tenant_id == tenant_id)
    ):
        value = channel.value if isinstance(channel, enum.Enum) else str(channel)
        expected = keyring.channel_tag_under(channel_key, value, public)
        if not (crypto.verifier_matches(tag or b"", expected) or pins.get(value) == public):
            raise ImportRefused(f"the {value} channel key does not match its tag or pin: nothing restored")
        conn.execute(update(channels).where(channels.c.tenant_id == tenant_id, channels.c.channel == channel)
                     .values(tag=expected))
    recovery = manifest.get("recovery_public")
    wrapped = keyring.wrap_tenant_secret(tenant_id, secret)
    recovery_public = _unb64(recovery) if recovery else None
    conn.execute(update(Tenant).where(Tenant.id == tenant_id).values(
        secret_wrapped=wrapped, recovery_public=recovery_public, exported_at=None,
        record_tag=keyring.tenant_tag(tenant_id, slug, wrapped, recovery_public),
    ))
    _record(conn, secret, tenant_id, manifest)


def _record(conn: Connection, secret: bytes, tenant_id: int, manifest: dict[str, Any]) -> None:
    """The `tenant.restore` entry at the end of the tenant's own chain (keyed with its secret)."""
    entries = Base.metadata.tables["audit_entries"]
    last = conn.execute(select(entries.c.seq, entries.c.hash).where(entries.c.tenant_id == tenant_id)
                        .order_by(entries.c.seq.desc()).limit(1)).first()
    rows = manifest["rows"]
    entry = AuditEntry(
        seq=(last.seq + 1) if last else 1, at=dates.now(), actor="cli", action="tenant.restore",
        target=manifest["tenant"]["slug"][:64], prev_hash=last.hash if last else audit.GENESIS,
        detail=f"from={manifest['engine']}; made={manifest['created_at']}; cases={rows.get('cases', 0)}; "
               f"attachments={rows.get('attachments', 0)}",
        hash_version=audit.HASH_VERSION,
    )
    entry.hash = audit.digest_under(crypto.derive_subkey(secret, key_contexts.AUDIT_CHAIN), entry.prev_hash, entry)
    conn.execute(insert(entries).values(
        tenant_id=tenant_id, seq=entry.seq, at=entry.at, actor=entry.actor, action=entry.action,
        target=entry.target, detail=entry.detail, prev_hash=entry.prev_hash, hash=entry.hash,
        hash_version=entry.hash_version,
    ))


def _write_private(path: Path, data: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    part = path.with_name(path.name + ".part")
    fd = os.open(part, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as fh:
        fh.write(data)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(part, path)


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def _unb64(value: str) -> bytes:
    return base64.b64decode(value.encode(), validate=True)
