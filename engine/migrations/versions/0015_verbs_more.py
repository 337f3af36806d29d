"""督办单 of every process on the engine's order: supervision_order.kind (督办事由) and step_id (its step)

Revision ID: 0015
Revises: 0014
"""
from alembic import op
import sqlalchemy as sa


revision = '0015'
down_revision = '0014'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('supervision_order', schema=None) as batch_op:
        batch_op.add_column(sa.Column('kind', sa.String(length=32), nullable=True))
        batch_op.add_column(sa.Column('step_id', sa.String(length=64), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('supervision_order', schema=None) as batch_op:
        batch_op.drop_column('step_id')
        batch_op.drop_column('kind')
