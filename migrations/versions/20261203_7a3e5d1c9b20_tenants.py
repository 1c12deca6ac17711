"""tenants: every municipality's rows carry its tenant; row-level security on PostgreSQL

Revision ID: 7a3e5d1c9b20
Revises: 3f6b2a9d8c41
Create Date: 2026-12-03 12:00:00

A `tenants` table (and `tenant_hosts`); a NOT NULL `tenant_id` on every table a municipality owns,
leading its indexes; names unique per tenant (officers, channel keys, settings). A database that holds
data gets tenant 1, `default`, which answers every host name and keeps using the server secret and the
recovery key in keys/ (its `secret_wrapped` and `recovery_public` stay NULL). Cases get their number in
the tenant (= their id), audit entries their place in the tenant's chain (= their id).
On PostgreSQL every tenant-owned table is then walled by row-level security (intake/tenancy.py).
"""

from __future__ import annotations

from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

revision = "7a3e5d1c9b20"
down_revision = "3f6b2a9d8c41"
branch_labels = None
depends_on = None

# Written out, not read from the models, so that this revision stays what it was.
TENANT_TABLES = (
    "cases", "entries", "attachments", "officers", "grants", "channel_keys", "officer_sessions",
    "audit_entries", "audit_checkpoints", "settings", "published_answers", "site_images", "receipts",
    "imported_rows", "notices", "deliveries",
)
CONDITION = (
    "(tenant_id = NULLIF(current_setting('intake.tenant_id', true), '')::integer"
    " OR current_setting('intake.scope', true) = 'host')"
)


def _has_data(bind: sa.Connection) -> bool:
    for table in ("officers", "cases", "channel_keys", "settings", "audit_entries"):
        if bind.execute(sa.text(f"SELECT 1 FROM {table} LIMIT 1")).first() is not None:  # noqa: S608
            return True
    return False


def upgrade() -> None:
    bind = op.get_bind()
    op.create_table(
        "tenants",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("slug", sa.String(64), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("province", sa.String(100), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("secret_wrapped", sa.LargeBinary(), nullable=True),
        sa.Column("recovery_public", sa.LargeBinary(32), nullable=True),
        sa.Column("record_tag", sa.LargeBinary(32), nullable=False),
        sa.CheckConstraint("status IN ('active', 'suspended')", name="ck_tenants_tenant_status"),
        sa.PrimaryKeyConstraint("id", name="pk_tenants"),
        sa.UniqueConstraint("slug", name="uq_tenants_slug"),
    )
    op.create_table(
        "tenant_hosts",
        sa.Column("host", sa.String(253), nullable=False),
        sa.Column("tenant_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["tenant_id"], ["tenants.id"], name="fk_tenant_hosts_tenant_id_tenants",
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("host", name="pk_tenant_hosts"),
    )
    op.create_index("ix_tenant_hosts_tenant_id", "tenant_hosts", ["tenant_id"])

    existing = _has_data(bind)
    if existing:
        name = bind.execute(sa.text("SELECT value FROM settings WHERE name = 'municipality_name'")).scalar()
        tenants = sa.table(
            "tenants", sa.column("id"), sa.column("slug"), sa.column("name"), sa.column("province"),
            sa.column("status"), sa.column("created_at", sa.DateTime(timezone=True)), sa.column("record_tag"),
        )
        op.bulk_insert(tenants, [{
            "id": 1, "slug": "default", "name": name or "เทศบาลตำบลตัวอย่าง", "province": "",
            "status": "active", "created_at": datetime.now(UTC), "record_tag": b"",
        }])
        if bind.dialect.name == "postgresql":
            op.execute("SELECT setval(pg_get_serial_sequence('tenants', 'id'), 1)")

    for table in TENANT_TABLES:
        with op.batch_alter_table(table) as batch:
            batch.add_column(sa.Column("tenant_id", sa.Integer(), nullable=True))
        if existing:
            op.execute(f"UPDATE {table} SET tenant_id = 1")  # noqa: S608 - a fixed table name

    with op.batch_alter_table("cases") as batch:
        batch.add_column(sa.Column("number", sa.Integer(), nullable=True))
    op.execute("UPDATE cases SET number = id")
    with op.batch_alter_table("audit_entries") as batch:
        batch.add_column(sa.Column("seq", sa.Integer(), nullable=True))
    op.execute("UPDATE audit_entries SET seq = id")
    with op.batch_alter_table("channel_keys") as batch:
        batch.add_column(sa.Column("tag", sa.LargeBinary(32), nullable=True))
    op.execute("UPDATE channel_keys SET tag = ''" if bind.dialect.name == "sqlite"
               else "UPDATE channel_keys SET tag = ''::bytea")

    for table in TENANT_TABLES:
        with op.batch_alter_table(table) as batch:
            batch.alter_column("tenant_id", existing_type=sa.Integer(), nullable=False)
            batch.create_foreign_key(f"fk_{table}_tenant_id_tenants", "tenants", ["tenant_id"], ["id"],
                                     ondelete="CASCADE")

    with op.batch_alter_table("cases") as batch:
        for name in ("ix_cases_channel_status_received", "ix_cases_received_at", "ix_cases_answer_due_at",
                     "ix_cases_channel_received", "ix_cases_next_due", "ix_cases_attention"):
            batch.drop_index(name)
        batch.create_index("ix_cases_channel_status_received", ["tenant_id", "channel", "status", "received_at"])
        batch.create_index("ix_cases_received_at", ["tenant_id", "received_at"])
        batch.create_index("ix_cases_answer_due_at", ["tenant_id", "answer_due_at"])
        batch.create_index("ix_cases_channel_received", ["tenant_id", "channel", "received_at"])
        batch.create_index("ix_cases_next_due", ["tenant_id", "next_due_at", "channel", "status"])
        batch.create_index("ix_cases_attention", ["tenant_id", "needs_attention", "channel", "status"])
        batch.create_unique_constraint("uq_cases_tenant_number", ["tenant_id", "number"])
    for table in ("entries", "attachments", "grants", "officer_sessions", "audit_checkpoints",
                  "published_answers", "receipts", "imported_rows", "notices", "deliveries"):
        with op.batch_alter_table(table) as batch:
            batch.create_index(f"ix_{table}_tenant", ["tenant_id"])
    with op.batch_alter_table("officers") as batch:
        batch.drop_constraint("uq_officers_username", type_="unique")
        batch.create_unique_constraint("uq_officers_tenant_username", ["tenant_id", "username"])
    with op.batch_alter_table("audit_entries") as batch:
        batch.alter_column("seq", existing_type=sa.Integer(), nullable=False)
        batch.drop_index("ix_audit_entries_action")
        batch.create_index("ix_audit_entries_tenant_action", ["tenant_id", "action"])
        batch.create_unique_constraint("uq_audit_entries_tenant_seq", ["tenant_id", "seq"])
    with op.batch_alter_table("channel_keys") as batch:
        batch.alter_column("tag", existing_type=sa.LargeBinary(32), nullable=False)
        batch.drop_constraint("pk_channel_keys", type_="primary")
        batch.create_primary_key("pk_channel_keys", ["tenant_id", "channel"])
    with op.batch_alter_table("settings") as batch:
        batch.drop_constraint("pk_settings", type_="primary")
        batch.create_primary_key("pk_settings", ["tenant_id", "name"])
    with op.batch_alter_table("site_images") as batch:
        batch.drop_constraint("pk_site_images", type_="primary")
        batch.create_primary_key("pk_site_images", ["tenant_id", "name"])

    if bind.dialect.name == "postgresql":
        for table in TENANT_TABLES:
            op.execute(f'ALTER TABLE "{table}" ENABLE ROW LEVEL SECURITY')
            op.execute(f'ALTER TABLE "{table}" FORCE ROW LEVEL SECURITY')
            op.execute(f'CREATE POLICY tenant_wall ON "{table}" USING {CONDITION} WITH CHECK {CONDITION}')


def downgrade() -> None:
    raise NotImplementedError("tenants cannot be taken out again; restore a backup made before")
