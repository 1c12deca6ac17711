"""`restore --tenant SLUG FILE`: a tenant's export (tenant_move.py) into this deployment, all or nothing.

In one transaction: the tenant is made (or an existing EMPTY one used), every row inserted with new
primary keys and its foreign keys remapped, case numbers kept (every ciphertext is bound to them,
key_contexts) and case ids moved past them (a new case's number is its id), the server secret re-wrapped
under this deployment's master secret, and the tags that cover a row id (officers, audit checkpoints) or
that the source's first tenant kept as pins in keys/ (channel keys) checked under the tenant's secret and
made anew. An officer's TOTP secret stays bound to the id it was enrolled with (`totp_bound_id`). The
objects are written to the store first and removed again if anything fails. Pending notices lose their
dedupe key (it names row ids).
"""

from __future__ import annotations

import contextlib
import enum
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, Table, func, insert, select, text, update

from . import audit, crypto, dates, key_contexts, keyring, tenancy, tenants
from .db import Base
from .models import AuditCheckpoint, AuditEntry, Officer, Role, Tenant, TenantHost
from .storage import StorageError, Store, iter_stream
from .tenant_move import (
    CHUNK,
    EXTRA_REFS,
    LEFT_BY_TENANT_ADD,
    ImportRefused,
    MoveError,
    MoveSummary,
    Opened,
    opened,
    owned_tables,
    rows_of,
    unb64,
)


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
            keyring.write_private(keys_dir / f"audit-{slug}.anchor", str(anchor).encode())
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
                raise ImportRefused(
                    f"tenant {slug} is not empty (its {table.name} has rows): nothing restored"
                )
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
        names = select(attachments.c.stored_name).where(attachments.c.stored_name.in_(chunk))
        taken = conn.execute(names).first()
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
        if table.name == "cases":
            _plan_case_ids(conn, archive, mapping)
        batch: list[dict[str, Any]] = []
        olds: list[int] = []
        for row in rows_of(archive.folder, table):
            row["tenant_id"] = tenant_id
            for column, parent in refs.items():
                if row.get(column) is not None:
                    row[column] = _mapped(ids[parent], row[column], table.name)
            if table.name == "notices":
                row["dedupe_key"] = None  # it names row ids; the worker finds what is still due anew
            if table.name == "cases":
                row["id"] = mapping[row["id"]]
            elif serial:
                old = row.pop("id")
                if table.name in ("officers", "audit_checkpoints"):  # tags that cover the id
                    mapping[old] = _insert_one(conn, table, row, archive.secret, old)
                    continue
                olds.append(old)
            batch.append(row)
            if len(batch) >= 500:
                _insert_batch(conn, table, batch, olds, mapping if table.name in referenced else None)
                batch, olds = [], []
        if batch:
            _insert_batch(conn, table, batch, olds, mapping if table.name in referenced else None)
    if conn.dialect.name == "postgresql":
        conn.execute(text("SELECT setval(pg_get_serial_sequence('cases', 'id'), "
                          "(SELECT coalesce(max(id), 1) FROM cases))"))


def _mapped(mapping: dict[int, int], old: int, table: str) -> int:
    try:
        return mapping[old]
    except KeyError:
        raise ImportRefused(
            f"a row of {table} names a row the export does not hold: nothing restored"
        ) from None


def _insert_batch(
    conn: Connection,
    table: Table,
    rows: list[dict[str, Any]],
    olds: list[int],
    mapping: dict[int, int] | None,
) -> None:
    """Insert `rows`; where other rows refer to these (`mapping`), note each new id against its old one."""
    if mapping is None or not olds:
        conn.execute(insert(table), rows)
        return
    made = conn.execute(insert(table).returning(table.c.id, sort_by_parameter_order=True), rows)
    for old, new in zip(olds, made.scalars(), strict=True):
        mapping[old] = int(new)


def _plan_case_ids(conn: Connection, archive: Opened, mapping: dict[int, int]) -> None:
    """New case ids past every id in use and every number kept, so the next case's number is free."""
    cases = Base.metadata.tables["cases"]
    top = int(conn.execute(select(func.coalesce(func.max(cases.c.id), 0))).scalar_one())
    olds: list[int] = []
    for row in rows_of(archive.folder, cases):
        olds.append(int(row["id"]))
        top = max(top, int(row.get("number") or 0))
    for offset, old in enumerate(olds, start=1):
        mapping[old] = top + offset


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
    pins = {c: unb64(v) for c, v in (manifest.get("channel_pins") or {}).items()}
    rows = select(channels.c.channel, channels.c.public_key, channels.c.tag)
    for channel, public, tag in conn.execute(rows.where(channels.c.tenant_id == tenant_id)):
        value = channel.value if isinstance(channel, enum.Enum) else str(channel)
        expected = keyring.channel_tag_under(channel_key, value, public)
        if not (crypto.verifier_matches(tag or b"", expected) or pins.get(value) == public):
            raise ImportRefused(f"the {value} channel key does not match its tag or pin: nothing restored")
        conn.execute(update(channels).where(channels.c.tenant_id == tenant_id, channels.c.channel == channel)
                     .values(tag=expected))
    recovery = manifest.get("recovery_public")
    wrapped = keyring.wrap_tenant_secret(tenant_id, secret)
    recovery_public = unb64(recovery) if recovery else None
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
    chain = crypto.derive_subkey(secret, key_contexts.AUDIT_CHAIN)
    entry.hash = audit.digest_under(chain, entry.prev_hash, entry)
    conn.execute(insert(entries).values(
        tenant_id=tenant_id, seq=entry.seq, at=entry.at, actor=entry.actor, action=entry.action,
        target=entry.target, detail=entry.detail, prev_hash=entry.prev_hash, hash=entry.hash,
        hash_version=entry.hash_version,
    ))


