"""phone calls: the auto-informer's phone channel (issue 9)

A phone attempt is a campaign attempt whose result is the call's outcome; it also keeps when the
dialler took it, on which line, baresip's call id and the reason the call closed.

Revision ID: 0012
Revises: 0011
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import robot.storage.types

revision = '0012'
down_revision = '0011'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('campaign_attempts', schema=None) as batch_op:
        batch_op.add_column(sa.Column('started_at', robot.storage.types.UTCDateTime(), nullable=True))
        batch_op.add_column(sa.Column('line', sa.String(length=32), nullable=True))
        batch_op.add_column(sa.Column('call_id', sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column('detail', sa.String(length=255), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('campaign_attempts', schema=None) as batch_op:
        batch_op.drop_column('detail')
        batch_op.drop_column('call_id')
        batch_op.drop_column('line')
        batch_op.drop_column('started_at')
