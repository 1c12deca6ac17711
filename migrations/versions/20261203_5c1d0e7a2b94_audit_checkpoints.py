"""audit checkpoints in the database

Revision ID: 5c1d0e7a2b94
Revises: e469820fba67
Create Date: 2026-12-03 10:00:00

Each run of `flask audit verify` records its result and the newest entry it saw here, instead of in the
instance folder (several app servers share one database; no request may read a file another wrote).
The first run after this upgrade still reads the old instance/audit.checkpoint once, if there is one.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import intake.db

revision = "5c1d0e7a2b94"
down_revision = "e469820fba67"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "audit_checkpoints",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("at", intake.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("entry_count", sa.Integer(), nullable=False),
        sa.Column("tail_id", sa.Integer(), nullable=True),
        sa.Column("tail_hash", sa.String(length=64), nullable=True),
        sa.Column("broken_entry_id", sa.Integer(), nullable=True),
        sa.Column("broken_reason", sa.String(length=16), nullable=True),
        sa.Column("tag", sa.LargeBinary(length=32), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_checkpoints")),
    )


def downgrade() -> None:
    op.drop_table("audit_checkpoints")
