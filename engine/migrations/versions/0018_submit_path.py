"""one-transaction submit (issue 12): index human_task (instance_id, status) for a case's open rows

Revision ID: 0018
Revises: 0017
"""
from alembic import op  # noqa: F401
import sqlalchemy as sa  # noqa: F401


revision = '0018'
down_revision = '0017'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('human_task', schema=None) as batch_op:
        batch_op.create_index('ix_task_instance_status', ['instance_id', 'status'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('human_task', schema=None) as batch_op:
        batch_op.drop_index('ix_task_instance_status')
