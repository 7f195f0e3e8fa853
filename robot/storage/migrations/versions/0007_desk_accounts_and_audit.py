"""desk accounts and audit

Staff accounts, the audit log of who saw or changed what (R26), publications (R17), and the
indexes the desk's queue page reads through.

Revision ID: 0007
Revises: 0006
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import robot.storage.types

revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'users',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('login', sa.String(length=128), nullable=False),
        sa.Column('name', sa.String(length=255), nullable=False),
        sa.Column('email', sa.String(length=320), nullable=True),
        sa.Column('role', sa.String(length=32), nullable=False),
        sa.Column('queues', sa.JSON(), nullable=False),
        sa.Column('password_hash', sa.String(length=255), nullable=True),
        sa.Column('active', sa.Boolean(), nullable=False),
        sa.Column('created_at', robot.storage.types.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('login'),
    )
    op.create_table(
        'audit_log',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('at', robot.storage.types.UTCDateTime(), nullable=False),
        sa.Column('actor', sa.String(length=128), nullable=False),
        sa.Column('action', sa.String(length=64), nullable=False),
        sa.Column('appeal_id', sa.Integer(), nullable=True),
        sa.Column('target', sa.String(length=255), nullable=True),
        sa.Column('ip', sa.String(length=64), nullable=True),
        sa.Column('detail', sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(['appeal_id'], ['appeals.id']),
        sa.PrimaryKeyConstraint('id'),
    )
    op.create_index('ix_audit_log_at', 'audit_log', ['at'])
    op.create_index('ix_audit_log_appeal_id', 'audit_log', ['appeal_id'])
    op.create_index('ix_audit_log_action_target_at', 'audit_log', ['action', 'target', 'at'])
    op.create_table(
        'publications',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('appeal_id', sa.Integer(), nullable=False),
        sa.Column('kind', sa.String(length=16), nullable=False),
        sa.Column('title', sa.String(length=255), nullable=False),
        sa.Column('text', sa.Text(), nullable=False),
        sa.Column('at', robot.storage.types.UTCDateTime(), nullable=False),
        sa.Column('actor', sa.String(length=128), nullable=False),
        sa.ForeignKeyConstraint(['appeal_id'], ['appeals.id']),
        sa.PrimaryKeyConstraint('id'),
    )
    op.create_index('ix_publications_appeal_id', 'publications', ['appeal_id'])
    # The queue page: a queue's open appeals by due date; the dashboard and journal: by due date.
    op.create_index('ix_appeals_queue_status_due', 'appeals', ['queue', 'status', 'due_at'])
    op.create_index('ix_appeals_due_at', 'appeals', ['due_at'])


def downgrade() -> None:
    op.drop_index('ix_appeals_due_at', table_name='appeals')
    op.drop_index('ix_appeals_queue_status_due', table_name='appeals')
    op.drop_index('ix_publications_appeal_id', table_name='publications')
    op.drop_table('publications')
    op.drop_index('ix_audit_log_action_target_at', table_name='audit_log')
    op.drop_index('ix_audit_log_appeal_id', table_name='audit_log')
    op.drop_index('ix_audit_log_at', table_name='audit_log')
    op.drop_table('audit_log')
    op.drop_table('users')
