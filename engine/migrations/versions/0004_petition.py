"""petition: rate_limit_hit, the failed-attempt counter of the public case query

Revision ID: 0004
Revises: 0003
"""
from alembic import op
import sqlalchemy as sa
import engine.models


revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'rate_limit_hit',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('bucket', sa.String(length=96), nullable=False),
        sa.Column('at', engine.models.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint('id'),
    )
    with op.batch_alter_table('rate_limit_hit', schema=None) as batch_op:
        batch_op.create_index('ix_rate_limit_hit_bucket_at', ['bucket', 'at'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('rate_limit_hit', schema=None) as batch_op:
        batch_op.drop_index('ix_rate_limit_hit_bucket_at')
    op.drop_table('rate_limit_hit')
