"""`backup --tenant SLUG`: one tenant's export (the format: tenant_move.py), from one consistent snapshot.

A REPEATABLE READ transaction on PostgreSQL; on SQLite one read transaction (BEGIN issued by a
dedicated engine, since pysqlite begins none before a read). Objects are streamed from the store into
the tar, never held in memory.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import json
import os
import tarfile
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

from sqlalchemy import Connection, Engine, event, select

from . import audit, crypto, dates, key_contexts, keyring, tenancy
from .db import make_engine
from .models import Tenant, TenantHost
from .storage import StorageError, Store
from .tenant_move import (
    FORMAT,
    MAC,
    MANIFEST,
    SKIPPED,
    MoveError,
    MoveSummary,
    b64,
    encode,
    owned_tables,
    passphrase_keys,
)


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
    kek, mac_key, verifier = passphrase_keys(passphrase, salt, params)
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
            with (
                os.fdopen(fd, "wb") as raw,
                tarfile.open(fileobj=raw, mode="w", format=tarfile.PAX_FORMAT) as tar,
            ):
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
                            record = {c: encode(v) for c, v in zip(columns, values, strict=True)}
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
                    "tenant": {
                        "slug": slug, "name": row["name"], "province": row["province"], "hosts": hosts,
                    },
                    "kdf": {"name": "argon2id", "salt": b64(salt), **params},
                    "verifier": b64(verifier),
                    "server_secret": b64(crypto.encrypt(kek, secret, key_contexts.TENANT_EXPORT_SECRET)),
                    "recovery_public": b64(recovery_public) if recovery_public else None,
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


