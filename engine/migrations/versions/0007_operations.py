"""operations: worker_heartbeat, one row per running timer worker (for /readyz and worker lag)

Revision ID: 0007
Revises: 0006
"""
from alembic import op
import sqlalchemy as sa
import engine.models


revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'worker_heartbeat',
        sa.Column('name', sa.String(length=128), nullable=False),
        sa.Column('host', sa.String(length=128), nullable=False),
        sa.Column('pid', sa.Integer(), nullable=False),
        sa.Column('started_at', engine.models.UTCDateTime(timezone=True), nullable=False),
        sa.Column('beat_at', engine.models.UTCDateTime(timezone=True), nullable=False),
        sa.Column('cases_handled', sa.Integer(), nullable=False, server_default='0'),
        sa.Column('stopped_at', engine.models.UTCDateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint('name'),
    )
    with op.batch_alter_table('worker_heartbeat', schema=None) as batch_op:
        batch_op.create_index('ix_worker_heartbeat_beat_at', ['beat_at'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('worker_heartbeat', schema=None) as batch_op:
        batch_op.drop_index('ix_worker_heartbeat_beat_at')
    op.drop_table('worker_heartbeat')
