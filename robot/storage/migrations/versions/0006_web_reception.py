"""web reception

The Internet reception's submissions (web forms and the JSON API) and the verbatim wordings of the
personal-data consent they were given with (152-FZ: text version, time and IP are recorded).
Written by hand; works on SQLite and PostgreSQL.

Revision ID: 0006
Revises: 0005
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import robot.storage.types

revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'consent_texts',
        sa.Column('sha256', sa.String(length=64), nullable=False),
        sa.Column('version', sa.String(length=32), nullable=False),
        sa.Column('text', sa.Text(), nullable=False),
        sa.Column('first_used_at', robot.storage.types.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint('sha256'),
    )
    op.create_table(
        'web_submissions',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('token', sa.String(length=64), nullable=False),
        sa.Column('nonce', sa.String(length=128), nullable=False),
        sa.Column('message_id', sa.String(length=255), nullable=False),
        sa.Column('source', sa.String(length=8), nullable=False),
        sa.Column('form', sa.String(length=16), nullable=False),
        sa.Column('created_at', robot.storage.types.UTCDateTime(), nullable=False),
        sa.Column('customer_email', sa.String(length=320), nullable=False),
        sa.Column('fields', sa.JSON(), nullable=False),
        sa.Column('consent_version', sa.String(length=32), nullable=False),
        sa.Column('consent_sha256', sa.String(length=64), nullable=False),
        sa.Column('consent_at', robot.storage.types.UTCDateTime(), nullable=False),
        sa.Column('consent_ip', sa.String(length=64), nullable=True),
        sa.Column('user_agent', sa.String(length=512), nullable=True),
        sa.ForeignKeyConstraint(['consent_sha256'], ['consent_texts.sha256']),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('token'),
        sa.UniqueConstraint('nonce'),
        sa.UniqueConstraint('message_id'),
    )


def downgrade() -> None:
    op.drop_table('web_submissions')
    op.drop_table('consent_texts')
