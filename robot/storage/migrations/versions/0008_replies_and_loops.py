"""replies and loops: unread replies on appeals, bouncing addresses, the per-sender count's index

Revision ID: 0008
Revises: 0007
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import robot.storage.types

revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('appeals', schema=None) as batch_op:
        batch_op.add_column(sa.Column('unread_replies', sa.Integer(), server_default='0', nullable=False))
    op.create_table(
        'bouncing_addresses',
        sa.Column('address', sa.String(length=320), nullable=False),
        sa.Column('first_bounce_at', robot.storage.types.UTCDateTime(), nullable=False),
        sa.Column('last_bounce_at', robot.storage.types.UTCDateTime(), nullable=False),
        sa.Column('bounces', sa.Integer(), nullable=False),
        sa.Column('last_outbound_id', sa.Integer(), nullable=True),
        sa.Column('last_status', sa.String(length=32), nullable=True),
        sa.Column('last_diagnostic', sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(['last_outbound_id'], ['outbound_mail.id']),
        sa.PrimaryKeyConstraint('address'),
    )
    op.create_index('ix_outbound_rcpt_created', 'outbound_mail', ['rcpt_to', 'created_at'])


def downgrade() -> None:
    op.drop_index('ix_outbound_rcpt_created', table_name='outbound_mail')
    op.drop_table('bouncing_addresses')
    with op.batch_alter_table('appeals', schema=None) as batch_op:
        batch_op.drop_column('unread_replies')
