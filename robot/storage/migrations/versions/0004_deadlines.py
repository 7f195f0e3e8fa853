"""deadlines: due actions, the deadline rules' fingerprint, the appeal's deadline columns

Revision ID: 0004
Revises: 0003
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import robot.storage.types

revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('appeals', schema=None) as batch_op:
        batch_op.add_column(sa.Column('deadline_kind', sa.String(length=16), nullable=True))
        batch_op.add_column(sa.Column('deadline_version', sa.Integer(), nullable=False, server_default='0'))
        batch_op.add_column(sa.Column('extension_days', sa.Integer(), nullable=False, server_default='0'))
        batch_op.add_column(sa.Column('extended_at', robot.storage.types.UTCDateTime(), nullable=True))
        batch_op.add_column(sa.Column('extended_by', sa.String(length=128), nullable=True))
        batch_op.add_column(sa.Column('extension_reason', sa.Text(), nullable=True))
        batch_op.add_column(sa.Column('escalated_at', robot.storage.types.UTCDateTime(), nullable=True))
        batch_op.add_column(sa.Column('escalated_to', sa.String(length=128), nullable=True))
        batch_op.add_column(sa.Column('answered_at', robot.storage.types.UTCDateTime(), nullable=True))

    op.create_table(
        'due_actions',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('appeal_id', sa.Integer(), nullable=False),
        sa.Column('action', sa.String(length=24), nullable=False),
        sa.Column('due_at', robot.storage.types.UTCDateTime(), nullable=False),
        sa.Column('deadline_at', robot.storage.types.UTCDateTime(), nullable=False),
        sa.Column('version', sa.Integer(), nullable=False),
        sa.Column('state', sa.String(length=16), nullable=False),
        sa.Column('created_at', robot.storage.types.UTCDateTime(), nullable=False),
        sa.Column('done_at', robot.storage.types.UTCDateTime(), nullable=True),
        sa.Column('attempts', sa.Integer(), nullable=False),
        sa.Column('last_error', sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(['appeal_id'], ['appeals.id'], ),
        sa.PrimaryKeyConstraint('id'),
    )
    with op.batch_alter_table('due_actions', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_due_actions_appeal_id'), ['appeal_id'], unique=False)
        batch_op.create_index('ix_due_actions_state_due', ['state', 'due_at'], unique=False)

    op.create_table(
        'deadline_rules',
        sa.Column('id', sa.Integer(), autoincrement=False, nullable=False),
        sa.Column('fingerprint', sa.String(length=128), nullable=False),
        sa.Column('applied_at', robot.storage.types.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint('id'),
    )


def downgrade() -> None:
    op.drop_table('deadline_rules')
    with op.batch_alter_table('due_actions', schema=None) as batch_op:
        batch_op.drop_index('ix_due_actions_state_due')
        batch_op.drop_index(batch_op.f('ix_due_actions_appeal_id'))
    op.drop_table('due_actions')
    with op.batch_alter_table('appeals', schema=None) as batch_op:
        batch_op.drop_column('answered_at')
        batch_op.drop_column('escalated_to')
        batch_op.drop_column('escalated_at')
        batch_op.drop_column('extension_reason')
        batch_op.drop_column('extended_by')
        batch_op.drop_column('extended_at')
        batch_op.drop_column('extension_days')
        batch_op.drop_column('deadline_version')
        batch_op.drop_column('deadline_kind')
