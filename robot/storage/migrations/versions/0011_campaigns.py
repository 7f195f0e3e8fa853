"""campaigns: the auto-informer's campaigns, their recipients and every send (R21–R25)

Revision ID: 0011
Revises: 0010
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import robot.storage.types

revision = '0011'
down_revision = '0010'
branch_labels = None
depends_on = None


def upgrade() -> None:
    moment = robot.storage.types.UTCDateTime
    op.create_table(
        'campaigns',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('name', sa.String(length=255), nullable=False),
        sa.Column('kind', sa.String(length=16), nullable=False),
        sa.Column('channel', sa.String(length=16), nullable=False),
        sa.Column('subject', sa.Text(), nullable=False),
        sa.Column('body', sa.Text(), nullable=False),
        sa.Column('variables', sa.JSON(), nullable=False),
        sa.Column('audience', sa.JSON(), nullable=False),
        sa.Column('starts_at', moment(), nullable=False),
        sa.Column('ends_at', moment(), nullable=False),
        sa.Column('decided_at', moment(), nullable=True),
        sa.Column('outage_starts_at', moment(), nullable=True),
        sa.Column('outage_ends_at', moment(), nullable=True),
        sa.Column('state', sa.String(length=16), nullable=False),
        sa.Column('recipients_hash', sa.String(length=64), nullable=False),
        sa.Column('approved_hash', sa.String(length=64), nullable=True),
        sa.Column('approved_by', sa.String(length=128), nullable=True),
        sa.Column('approved_at', moment(), nullable=True),
        sa.Column('created_at', moment(), nullable=False),
        sa.Column('created_by', sa.String(length=128), nullable=False),
        sa.Column('updated_at', moment(), nullable=False),
        sa.Column('started_at', moment(), nullable=True),
        sa.Column('ended_at', moment(), nullable=True),
        sa.Column('source', sa.String(length=512), nullable=True),
        sa.PrimaryKeyConstraint('id'),
    )
    op.create_index('ix_campaigns_state', 'campaigns', ['state'])
    op.create_table(
        'campaign_recipients',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('campaign_id', sa.Integer(), nullable=False),
        sa.Column('customer_id', sa.Integer(), nullable=False),
        sa.Column('variables', sa.JSON(), nullable=False),
        sa.Column('state', sa.String(length=16), nullable=False),
        sa.Column('reason', sa.String(length=64), nullable=True),
        sa.Column('attempts', sa.Integer(), nullable=False),
        sa.Column('next_due_at', moment(), nullable=True),
        sa.Column('last_sent_at', moment(), nullable=True),
        sa.Column('positive_at', moment(), nullable=True),
        sa.Column('added_at', moment(), nullable=False),
        sa.Column('source', sa.String(length=512), nullable=True),
        sa.ForeignKeyConstraint(['campaign_id'], ['campaigns.id']),
        sa.ForeignKeyConstraint(['customer_id'], ['customers.id']),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('campaign_id', 'customer_id'),
    )
    op.create_index('ix_campaign_recipients_customer_id', 'campaign_recipients', ['customer_id'])
    op.create_index('ix_campaign_recipients_due', 'campaign_recipients', ['campaign_id', 'state', 'next_due_at'])
    op.create_table(
        'campaign_attempts',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('campaign_id', sa.Integer(), nullable=False),
        sa.Column('recipient_id', sa.Integer(), nullable=False),
        sa.Column('seq', sa.Integer(), nullable=False),
        sa.Column('channel', sa.String(length=16), nullable=False),
        sa.Column('address', sa.String(length=320), nullable=False),
        sa.Column('outbound_id', sa.Integer(), nullable=True),
        sa.Column('created_at', moment(), nullable=False),
        sa.Column('result', sa.String(length=16), nullable=False),
        sa.Column('result_at', moment(), nullable=True),
        sa.ForeignKeyConstraint(['campaign_id'], ['campaigns.id']),
        sa.ForeignKeyConstraint(['recipient_id'], ['campaign_recipients.id']),
        sa.ForeignKeyConstraint(['outbound_id'], ['outbound_mail.id']),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('recipient_id', 'seq'),
        sa.UniqueConstraint('outbound_id'),
    )
    op.create_index('ix_campaign_attempts_campaign_result', 'campaign_attempts', ['campaign_id', 'result'])
    op.create_index('ix_campaign_attempts_created_at', 'campaign_attempts', ['created_at'])


def downgrade() -> None:
    op.drop_index('ix_campaign_attempts_created_at', table_name='campaign_attempts')
    op.drop_index('ix_campaign_attempts_campaign_result', table_name='campaign_attempts')
    op.drop_table('campaign_attempts')
    op.drop_index('ix_campaign_recipients_due', table_name='campaign_recipients')
    op.drop_index('ix_campaign_recipients_customer_id', table_name='campaign_recipients')
    op.drop_table('campaign_recipients')
    op.drop_index('ix_campaigns_state', table_name='campaigns')
    op.drop_table('campaigns')
