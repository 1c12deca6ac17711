"""notices: the outbox of mails, the delivery log, officers' e-mail and digest choice (issue 12)

Revision ID: 5c9e2f0eafd2
Revises: 9a93bb5fdbb3
Create Date: 2026-12-02 20:44:44.527284
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import intake.db

revision = '5c9e2f0eafd2'
down_revision = '9a93bb5fdbb3'
branch_labels = None
depends_on = None

# Written out, not read from the models, so that this revision stays what it was.
CHANNEL = ("corruption", "feedback", "question")
NOTICE_STATE = ("pending", "sent", "failed", "dropped")
NOTIFY_MODE = ("immediate", "digest")


def upgrade() -> None:
    op.create_table('deliveries',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('at', intake.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('address', sa.String(length=254), nullable=False),
    sa.Column('kinds', sa.String(length=200), nullable=False),
    sa.Column('notices', sa.Integer(), nullable=False),
    sa.Column('result', sa.String(length=16), nullable=False),
    sa.Column('detail', sa.String(length=200), nullable=False),
    sa.Column('message_id', sa.String(length=160), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_deliveries'))
    )
    with op.batch_alter_table('deliveries', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_deliveries_at'), ['at'], unique=False)

    op.create_table('notices',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=48), nullable=False),
    sa.Column('officer_id', sa.Integer(), nullable=True),
    sa.Column('address', sa.String(length=254), nullable=True),
    sa.Column('channel', sa.String(length=16), nullable=True),
    sa.Column('case_id', sa.Integer(), nullable=True),
    sa.Column('facts', sa.JSON(), nullable=True),
    sa.Column('dedupe_key', sa.String(length=160), nullable=True),
    sa.Column('created_at', intake.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('due_at', intake.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('state', sa.String(length=16), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('lease_until', intake.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('claim', sa.String(length=32), nullable=True),
    sa.Column('message_id', sa.String(length=160), nullable=True),
    sa.Column('sent_at', intake.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('last_error', sa.String(length=200), nullable=True),
    sa.ForeignKeyConstraint(['case_id'], ['cases.id'], name=op.f('fk_notices_case_id_cases'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['officer_id'], ['officers.id'], name=op.f('fk_notices_officer_id_officers'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_notices')),
    sa.UniqueConstraint('dedupe_key', name=op.f('uq_notices_dedupe_key')),
    sa.CheckConstraint(sa.column('channel').in_(CHANNEL), name=op.f('ck_notices_channel')),
    sa.CheckConstraint(sa.column('state').in_(NOTICE_STATE), name=op.f('ck_notices_notice_state')),
    )
    with op.batch_alter_table('notices', schema=None) as batch_op:
        batch_op.create_index('ix_notices_state_due', ['state', 'due_at'], unique=False)

    with op.batch_alter_table('officers', schema=None) as batch_op:
        batch_op.add_column(sa.Column('email', sa.String(length=254), nullable=True))
        batch_op.add_column(sa.Column('notify_mode', sa.String(length=16), server_default='immediate', nullable=False))
        batch_op.create_check_constraint(op.f('ck_officers_notify_mode'), sa.column('notify_mode').in_(NOTIFY_MODE))



def downgrade() -> None:
    with op.batch_alter_table('officers', schema=None) as batch_op:
        batch_op.drop_constraint(op.f('ck_officers_notify_mode'), type_='check')
        batch_op.drop_column('notify_mode')
        batch_op.drop_column('email')

    with op.batch_alter_table('notices', schema=None) as batch_op:
        batch_op.drop_index('ix_notices_state_due')

    op.drop_table('notices')
    with op.batch_alter_table('deliveries', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_deliveries_at'))

    op.drop_table('deliveries')
