"""Backup and restore: one tar file with a consistent database snapshot, the encrypted attachments and keys.

A backup holds only what the server holds at rest, so only ciphertext: the database (every submission,
contact, note and file name encrypted; docs/security.md property 1), the attachment files (encrypted),
and from keys/ the server secret (keys/token.secret: keys token lookup, the audit chain and officer tags;
it decrypts nothing) and the recovery PUBLIC key. The recovery PRIVATE key (keys/recovery.key) is never
included: it belongs offline.

Consistency while the app runs: SQLite is copied with its online backup API; PostgreSQL is dumped with
`pg_dump -Fc` on a snapshot exported from a transaction that also lists the attachment rows, so the
files copied are exactly the ones the dumped rows name (attachment objects never change once written).

Either storage (intake/storage.py): the encrypted objects are read from the configured store, whichever
it is, into the tar as they are; a restore writes them into the store the restoring instance is
configured with, so a backup of a `file:` instance can be restored onto `s3:` and the other way round.

Layout of the tar: database.sqlite3 or database.pgdump, attachments/<stored name>, keys/<file>, and
manifest.json last (format, engine, schema revision, counts, SHA-256 and size of every other member).
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import json
import os
import re
import shutil
import sqlite3
import subprocess
import tarfile
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from sqlalchemy import Engine, inspect, text
from sqlalchemy.engine import make_url

from . import archives, dates, tenancy
from .db import Base
from .storage import StorageError, Store, iter_stream

FORMAT = "intake-backup-v1"
MANIFEST = "manifest.json"
KEY_FILES = ("token.secret", "recovery.pub", "channels.pub")
NOT_INCLUDED = {
    "recovery.key": "the recovery private key is kept offline, never on the server or in a backup",
}
CHUNK = 1024 * 1024
MEMBER = re.compile(
    r"manifest\.json|database\.(sqlite3|pgdump)|attachments/[0-9a-f]{32}|keys/(token\.secret|recovery\.pub|channels\.pub)"
)


class BackupError(Exception):
    """A backup could not be made or read (the message is safe to print: it holds no secret)."""


class RestoreRefused(BackupError):
    """The target instance is not empty, or the backup does not fit it."""


class BackupCorrupt(BackupError):
    """The file is not a complete, unaltered intake backup."""


@dataclass(frozen=True)
class BackupSummary:
    path: Path
    engine: str
    cases: int
    attachments: int
    size: int


@dataclass(frozen=True)
class Snapshot:
    engine: str
    revision: str | None
    cases: int
    stored_names: list[str]


# --- making a backup -----------------------------------------------------------------------------


def create(engine: Engine, store: Store, keys_dir: str | Path, output: str | Path) -> BackupSummary:
    """Write a backup of the running instance to `output` (atomically, mode 0600)."""
    output = Path(output)
    output.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="intake-backup-") as tmp:
        work = Path(tmp)
        if engine.dialect.name == "sqlite":
            db_file = work / "database.sqlite3"
            snap = _sqlite_snapshot(engine, db_file)
        elif engine.dialect.name == "postgresql":
            db_file = work / "database.pgdump"
            snap = _postgres_snapshot(engine, db_file)
        else:
            raise BackupError(f"unsupported database engine {engine.dialect.name}")
        part = output.with_name(output.name + ".part")
        fd = os.open(part, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        files: dict[str, dict[str, Any]] = {}
        try:
            with (
                os.fdopen(fd, "wb") as raw,
                tarfile.open(fileobj=raw, mode="w", format=tarfile.PAX_FORMAT) as tar,
            ):
                files[db_file.name] = _add_file(tar, db_file, db_file.name)
                for name in snap.stored_names:
                    files[f"attachments/{name}"] = _add_object(tar, store, name)
                for name in KEY_FILES:
                    path = Path(keys_dir) / name
                    if not path.is_file():
                        raise BackupError(f"{path} is missing: run setup first")
                    files[f"keys/{name}"] = _add_file(tar, path, f"keys/{name}")
                manifest = {
                    "format": FORMAT,
                    "created_at": dates.now().isoformat(),
                    "engine": snap.engine,
                    "alembic_revision": snap.revision,
                    "cases": snap.cases,
                    "attachments": len(snap.stored_names),
                    "storage": store.identity.split(":", 1)[0],
                    "not_included": NOT_INCLUDED,
                    "files": files,
                }
                data = json.dumps(manifest, indent=2, sort_keys=True).encode()
                info = tarfile.TarInfo(MANIFEST)
                info.size = len(data)
                info.mode = 0o600
                tar.addfile(info, io.BytesIO(data))
                raw.flush()
                os.fsync(raw.fileno())
            os.replace(part, output)
        except BaseException:
            part.unlink(missing_ok=True)
            raise
    return BackupSummary(output, snap.engine, snap.cases, len(snap.stored_names), output.stat().st_size)


class _HashingReader:
    def __init__(self, fh: IO[bytes]) -> None:
        self.fh = fh
        self.digest = hashlib.sha256()

    def read(self, size: int = -1) -> bytes:
        data = self.fh.read(size)
        self.digest.update(data)
        return data


def _add_file(tar: tarfile.TarFile, path: Path, arcname: str) -> dict[str, Any]:
    size = path.stat().st_size
    info = tarfile.TarInfo(arcname)
    info.size = size
    info.mode = 0o600
    with open(path, "rb") as fh:
        reader = _HashingReader(fh)
        tar.addfile(info, reader)
    return {"sha256": reader.digest.hexdigest(), "size": size}


def _add_object(tar: tarfile.TarFile, store: Store, name: str) -> dict[str, Any]:
    """One encrypted object, streamed from the store into the tar as it is."""
    arcname = f"attachments/{name}"
    try:
        info = store.stat(name)
        if info is None:
            raise BackupError(f"attachment object {name} named in the database is missing from the store")
        member = tarfile.TarInfo(arcname)
        member.size = info.size
        member.mode = 0o600
        with store.open(name) as fh:
            reader = _HashingReader(fh)
            tar.addfile(member, reader)
    except StorageError as exc:
        raise BackupError(f"the store could not be read: {exc}") from exc
    except OSError as exc:  # tarfile's "unexpected end of data": the object changed size under us
        raise BackupError(f"attachment object {name} could not be read whole") from exc
    return {"sha256": reader.digest.hexdigest(), "size": info.size}


def _sqlite_path(engine: Engine) -> Path:
    database = engine.url.database
    if not database or database == ":memory:":
        raise BackupError("an in-memory SQLite database cannot be backed up")
    return Path(database)


def _sqlite_snapshot(engine: Engine, target: Path) -> Snapshot:
    source = sqlite3.connect(_sqlite_path(engine), timeout=30)
    try:
        dest = sqlite3.connect(target)
        try:
            source.backup(dest)  # one step: a consistent copy, even with writers in WAL mode
            dest.execute("PRAGMA journal_mode=DELETE")
            snap = _sqlite_contents(dest)
            _drop_sessions(dest)
        finally:
            dest.close()
    finally:
        source.close()
    return snap


SESSION_TABLE = "officer_sessions"  # never in a backup: each row wraps a signed-in officer's private key


def _drop_sessions(conn: sqlite3.Connection) -> None:
    """Empty the sessions table of the copy and rebuild the file, so that no freed page keeps a row."""
    tables = {row[0] for row in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    if SESSION_TABLE in tables:
        conn.execute(f"DELETE FROM {SESSION_TABLE}")  # noqa: S608 - a constant
        conn.commit()
    conn.execute("VACUUM")


def _sqlite_contents(conn: sqlite3.Connection) -> Snapshot:
    tables = {row[0] for row in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    if "cases" not in tables:
        raise BackupError("the database has no schema: nothing to back up")
    revision = None
    if "alembic_version" in tables:
        row = conn.execute("SELECT version_num FROM alembic_version").fetchone()
        revision = row[0] if row else None
    cases = int(conn.execute("SELECT count(*) FROM cases").fetchone()[0])
    names = [row[0] for row in conn.execute("SELECT stored_name FROM attachments ORDER BY id")]
    return Snapshot("sqlite", revision, cases, names)


def _libpq_env(url: str) -> dict[str, str]:
    """libpq's environment for a SQLAlchemy URL (keeps the password out of the command line)."""
    parsed = make_url(url)
    env = dict(os.environ)
    values = {
        "PGHOST": parsed.host,
        "PGPORT": str(parsed.port) if parsed.port else None,
        "PGUSER": parsed.username,
        "PGPASSWORD": parsed.password,
        "PGDATABASE": parsed.database,
    }
    for key, value in values.items():
        if value:
            env[key] = str(value)
    env["PGOPTIONS"] = f"{env.get('PGOPTIONS', '')} {tenancy.HOST_PGOPTIONS}".strip()
    sslmode = parsed.query.get("sslmode")
    if isinstance(sslmode, str):
        env["PGSSLMODE"] = sslmode
    return env


def _run(args: list[str], env: dict[str, str], what: str) -> None:
    if shutil.which(args[0]) is None:
        raise BackupError(f"{args[0]} is not installed (Debian: postgresql-client)")
    proc = subprocess.run(args, env=env, capture_output=True, text=True, check=False, timeout=6 * 3600)  # noqa: S603
    if proc.returncode != 0:
        last = (proc.stderr.strip().splitlines() or ["no message"])[-1]
        raise BackupError(f"{what} failed: {last}")


def _postgres_snapshot(engine: Engine, target: Path) -> Snapshot:
    url = engine.url.render_as_string(hide_password=False)
    with engine.connect() as conn:
        conn = conn.execution_options(isolation_level="REPEATABLE READ")
        with conn.begin():
            tenancy.act_as_host(conn)  # the backup holds every tenant (row-level security, tenancy.py)
            snapshot_id = conn.execute(text("SELECT pg_export_snapshot()")).scalar_one()
            tables = set(inspect(conn).get_table_names())
            if "cases" not in tables:
                raise BackupError("the database has no schema: nothing to back up")
            revision = None
            if "alembic_version" in tables:
                revision = conn.execute(text("SELECT version_num FROM alembic_version")).scalar()
            cases = int(conn.execute(text("SELECT count(*) FROM cases")).scalar_one())
            names = list(conn.execute(text("SELECT stored_name FROM attachments ORDER BY id")).scalars())
            # The dump runs while this transaction holds the exported snapshot open.
            _run(
                ["pg_dump", "--format=custom", "--no-owner", "--no-privileges", "--enable-row-security",
                 f"--exclude-table-data={SESSION_TABLE}", f"--snapshot={snapshot_id}", f"--file={target}"],
                _libpq_env(url),
                "pg_dump",
            )
    return Snapshot("postgresql", revision, cases, names)


# --- reading and restoring -------------------------------------------------------------------------


@dataclass
class Opened:
    manifest: dict[str, Any]
    folder: Path


@contextlib.contextmanager
def opened(path: str | Path, scratch: str | Path | None = None) -> Iterator[Opened]:
    """Unpack a backup into a private temporary folder and check every member against the manifest."""
    with tempfile.TemporaryDirectory(prefix="intake-restore-", dir=scratch) as tmp:
        folder = Path(tmp)
        try:
            tar = tarfile.open(path, mode="r:")  # noqa: SIM115 - closed by the `with tar` below
        except (OSError, tarfile.TarError) as exc:
            raise BackupCorrupt(f"{path} is not a readable backup") from exc
        with tar:
            present = archives.extract(tar, folder, MEMBER, ("attachments", "keys"), BackupCorrupt, "backup")
        if MANIFEST not in present:
            raise BackupCorrupt("the backup has no manifest")
        try:
            manifest = json.loads((folder / MANIFEST).read_text())
        except ValueError as exc:
            raise BackupCorrupt("the manifest is not JSON") from exc
        if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
            raise BackupCorrupt("not an intake backup (unknown format)")
        if set(manifest.get("files", {})) != present - {MANIFEST}:
            raise BackupCorrupt("the backup's files do not match its manifest")
        for name, meta in manifest["files"].items():
            if archives.sha256_of(folder / name) != meta.get("sha256"):
                raise BackupCorrupt(f"checksum mismatch: {name}")
        yield Opened(manifest, folder)


def emptiness_problems(engine: Engine, store: Store | None, keys_dir: str | Path) -> list[str]:
    """Why the target is not an empty instance (an empty list when it is); `store` None: skip the store."""
    problems = []
    with engine.connect() as conn:
        tenancy.act_as_host(conn)
        existing = set(inspect(conn).get_table_names())
        for table in Base.metadata.sorted_tables:
            if table.name in existing and conn.execute(table.select().limit(1)).first() is not None:
                problems.append(f"the database table {table.name} is not empty")
                break
    if store is not None and not store.is_empty():
        problems.append(f"the storage {store.identity} is not empty")
    for name in KEY_FILES:
        if (Path(keys_dir) / name).exists():
            problems.append(f"{Path(keys_dir) / name} exists")
    return problems


def restore(
    engine: Engine, store: Store, keys_dir: str | Path, path: str | Path, scratch: str | Path
) -> dict[str, Any]:
    """Bring a backup back into an EMPTY instance; returns its manifest. Raises RestoreRefused.

    The backup is unpacked and checked in `scratch` (the instance folder: a disk, not tmpfs), then its
    objects go into `store`, then the database, then keys/. The store may already hold objects of this
    same backup (a restore cut short and run again), nothing else."""
    try:
        problems = emptiness_problems(engine, None, keys_dir)
        if problems:
            raise RestoreRefused("the target instance is not empty: " + "; ".join(problems))
        Path(scratch).mkdir(parents=True, exist_ok=True)
        with opened(path, scratch=scratch) as backup:
            manifest = backup.manifest
            if manifest["engine"] != engine.dialect.name:
                raise RestoreRefused(
                    f"the backup is of a {manifest['engine']} database; this instance uses "
                    f"{engine.dialect.name}"
                )
            wanted = {name.removeprefix("attachments/") for name in manifest["files"]
                      if name.startswith("attachments/")}
            foreign = [info.name for info in store.list_objects() if info.name not in wanted]
            if foreign:
                raise RestoreRefused(f"the target instance is not empty: the storage {store.identity} "
                                     f"holds {len(foreign)} objects that are not in this backup")
            _install_objects(backup.folder / "attachments", store, manifest["files"])
            if engine.dialect.name == "sqlite":
                _restore_sqlite(engine, backup.folder / "database.sqlite3")
            else:
                _restore_postgres(engine, backup.folder / "database.pgdump")
            _install_files(backup.folder / "keys", Path(keys_dir), 0o600, only=KEY_FILES)
            for public in ("recovery.pub", "channels.pub"):
                if (Path(keys_dir) / public).exists():
                    (Path(keys_dir) / public).chmod(0o644)
    except StorageError as exc:
        raise BackupError(f"the store could not be written: {exc}") from exc
    return manifest


def _install_objects(source: Path, store: Store, files: dict[str, Any]) -> int:
    """Every object of the backup into the store (again, if a cut-short restore had put it already)."""
    count = 0
    if not source.is_dir():
        return count
    for path in sorted(source.iterdir()):
        expected = int(files[f"attachments/{path.name}"]["size"])
        with open(path, "rb") as fh:
            written = store.put(path.name, iter_stream(fh, CHUNK))
        if written != expected:
            raise BackupError(f"attachment object {path.name} was not stored whole")
        path.unlink()
        count += 1
    return count


def _restore_sqlite(engine: Engine, snapshot: Path) -> None:
    engine.dispose()
    target = _sqlite_path(engine)
    target.parent.mkdir(parents=True, exist_ok=True)
    source = sqlite3.connect(snapshot)
    try:
        dest = sqlite3.connect(target, timeout=30)
        try:
            source.backup(dest)
            dest.execute("PRAGMA journal_mode=WAL")
        finally:
            dest.close()
    finally:
        source.close()


def _restore_postgres(engine: Engine, dump: Path) -> None:
    engine.dispose()
    url = engine.url.render_as_string(hide_password=False)
    # --clean drops the (empty) schema that `db upgrade` may have made before recreating it.
    _run(
        ["pg_restore", "--clean", "--if-exists", "--no-owner", "--no-privileges", "--exit-on-error",
         "--single-transaction", f"--dbname={make_url(url).database}", str(dump)],
        _libpq_env(url),
        "pg_restore",
    )


def _install_files(source: Path, target: Path, mode: int, only: tuple[str, ...] | None = None) -> int:
    target.mkdir(parents=True, exist_ok=True)
    count = 0
    if not source.is_dir():
        return count
    for path in sorted(source.iterdir()):
        if only is not None and path.name not in only:
            continue
        final = target / path.name
        part = target / (path.name + ".restore")
        with open(path, "rb") as src, open(part, "xb") as dst:
            shutil.copyfileobj(src, dst, CHUNK)
            dst.flush()
            os.fsync(dst.fileno())
        part.chmod(mode)
        os.replace(part, final)
        path.unlink()
        count += 1
    fd = os.open(target, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
    return count
