"""tenant export: when a tenant was last exported, and the id an officer's TOTP secret is bound to

Revision ID: b4e81c0d2f57
Revises: 7a3e5d1c9b20
Create Date: 2026-12-04 19:10:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import intake.db

revision = 'b4e81c0d2f57'
down_revision = '7a3e5d1c9b20'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column('tenants', sa.Column('exported_at', intake.db.UTCDateTime(timezone=True), nullable=True))
    op.add_column('officers', sa.Column('totp_bound_id', sa.Integer(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('officers', schema=None) as batch_op:
        batch_op.drop_column('totp_bound_id')
    with op.batch_alter_table('tenants', schema=None) as batch_op:
        batch_op.drop_column('exported_at')
