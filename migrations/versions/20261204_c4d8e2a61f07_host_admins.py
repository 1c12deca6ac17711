"""host administrators: accounts, sessions and their audit (the host's own tables, not a tenant's)

Revision ID: c4d8e2a61f07
Revises: b4e81c0d2f57
Create Date: 2026-12-04 19:00:00

The /host pages' sign-in (username, password, TOTP code), their sessions, and what each host
administrator did to which tenant. None of the three carries a tenant_id: no tenant filter, no
row-level security, and `tenant remove` leaves them.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import intake.db

revision = "c4d8e2a61f07"
down_revision = "b4e81c0d2f57"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "host_admins",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("username", sa.String(length=64), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("created_at", intake.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("password_salt", sa.LargeBinary(length=16), nullable=False),
        sa.Column("password_kdf", sa.JSON(), nullable=False),
        sa.Column("password_verifier", sa.LargeBinary(length=32), nullable=False),
        sa.Column("totp_secret", sa.LargeBinary(), nullable=True),
        sa.Column("totp_last_counter", sa.Integer(), nullable=True),
        sa.Column("failed_logins", sa.Integer(), nullable=False),
        sa.Column("locked_until", intake.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("last_login_at", intake.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("record_tag", sa.LargeBinary(length=32), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_host_admins")),
        sa.UniqueConstraint("username", name=op.f("uq_host_admins_username")),
    )
    op.create_table(
        "host_sessions",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("admin_id", sa.Integer(), nullable=False),
        sa.Column("created_at", intake.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("last_seen_at", intake.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("totp_done", sa.Boolean(), nullable=False),
        sa.Column("pending_totp", sa.LargeBinary(), nullable=True),
        sa.ForeignKeyConstraint(["admin_id"], ["host_admins.id"],
                                name=op.f("fk_host_sessions_admin_id_host_admins"), ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_host_sessions")),
    )
    op.create_index(op.f("ix_host_sessions_admin_id"), "host_sessions", ["admin_id"])
    op.create_table(
        "host_audit_entries",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("at", intake.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("actor", sa.String(length=64), nullable=False),
        sa.Column("action", sa.String(length=32), nullable=False),
        sa.Column("tenant_slug", sa.String(length=64), nullable=True),
        sa.Column("detail", sa.String(length=200), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_host_audit_entries")),
    )
    op.create_index(op.f("ix_host_audit_entries_at"), "host_audit_entries", ["at"])


def downgrade() -> None:
    op.drop_index(op.f("ix_host_audit_entries_at"), table_name="host_audit_entries")
    op.drop_table("host_audit_entries")
    op.drop_index(op.f("ix_host_sessions_admin_id"), table_name="host_sessions")
    op.drop_table("host_sessions")
    op.drop_table("host_admins")
