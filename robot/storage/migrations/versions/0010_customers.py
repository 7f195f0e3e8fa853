"""customers

Revision ID: 0010
Revises: 0009
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import robot.storage.types

revision = '0010'
down_revision = '0009'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'customers',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('account_number', sa.String(length=32), nullable=False),
        sa.Column('name', sa.String(length=255), nullable=False),
        sa.Column('email', sa.String(length=320), nullable=True),
        sa.Column('email_consent_at', robot.storage.types.UTCDateTime(), nullable=True),
        sa.Column('phone', sa.String(length=32), nullable=True),
        sa.Column('address', sa.Text(), nullable=True),
        sa.Column('unit', sa.String(length=64), nullable=True),
        sa.Column('territory', sa.String(length=255), nullable=True),
        sa.Column('source', sa.String(length=512), nullable=True),
        sa.Column('imported_at', robot.storage.types.UTCDateTime(), nullable=False),
        sa.Column('updated_at', robot.storage.types.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('account_number'),
    )
    op.create_index('ix_customers_email', 'customers', ['email'])
    op.create_index('ix_customers_unit', 'customers', ['unit'])


def downgrade() -> None:
    op.drop_index('ix_customers_unit', table_name='customers')
    op.drop_index('ix_customers_email', table_name='customers')
    op.drop_table('customers')
