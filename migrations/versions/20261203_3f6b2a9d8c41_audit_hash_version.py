"""audit entries name how their hash encodes the fields

Revision ID: 3f6b2a9d8c41
Revises: 5c9e2f0eafd2
Create Date: 2026-12-03 07:10:00

Entries written before this revision keep hash_version 1 (fields joined by \\x1f, verified as they were
written); every new entry is hashed over a length-unambiguous JSON list (hash_version 2, audit.py), so
text can no longer move from one field to the next without breaking the chain (issue 9, finding 7).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "3f6b2a9d8c41"
down_revision = "5c9e2f0eafd2"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("audit_entries", schema=None) as batch_op:
        batch_op.add_column(sa.Column("hash_version", sa.SmallInteger(), server_default="1", nullable=False))


def downgrade() -> None:
    with op.batch_alter_table("audit_entries", schema=None) as batch_op:
        batch_op.drop_column("hash_version")
