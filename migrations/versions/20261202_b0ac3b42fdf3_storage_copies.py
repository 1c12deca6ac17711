"""storage copies: the progress of migrate-storage, recorded in the database

Revision ID: b0ac3b42fdf3
Revises: e466585fdb73
Create Date: 2026-12-02 19:47:10.463430
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import intake.db

revision = 'b0ac3b42fdf3'
down_revision = 'e466585fdb73'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('storage_copies',
    sa.Column('target', sa.String(length=512), nullable=False),
    sa.Column('stored_name', sa.String(length=64), nullable=False),
    sa.Column('size', sa.BigInteger(), nullable=False),
    sa.Column('sha256', sa.String(length=64), nullable=False),
    sa.Column('copied_at', intake.db.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('target', 'stored_name', name=op.f('pk_storage_copies'))
    )


def downgrade() -> None:
    op.drop_table('storage_copies')
