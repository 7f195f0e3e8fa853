"""imap and postgresql

Where the IMAP intake stands in each mailbox folder it reads: the folder's UIDVALIDITY and the
highest UID already stored. Written by hand; works on SQLite and PostgreSQL (UIDs are unsigned
32-bit numbers, hence BIGINT).

Revision ID: 0005
Revises: 0004
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import robot.storage.types

revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'imap_mailboxes',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('host', sa.String(length=255), nullable=False),
        sa.Column('username', sa.String(length=255), nullable=False),
        sa.Column('folder', sa.String(length=255), nullable=False),
        sa.Column('uidvalidity', sa.BigInteger(), nullable=True),
        sa.Column('last_uid', sa.BigInteger(), nullable=False),
        sa.Column('updated_at', robot.storage.types.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('host', 'username', 'folder', name='uq_imap_mailboxes_folder'),
    )


def downgrade() -> None:
    op.drop_table('imap_mailboxes')
