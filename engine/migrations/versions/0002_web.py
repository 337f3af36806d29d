"""web: case_copy (抄送) with read marks

Revision ID: 0002
Revises: 0001
"""
from alembic import op
import sqlalchemy as sa
import engine.models


revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'case_copy',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('instance_id', sa.Integer(), nullable=False),
        sa.Column('user_id', sa.Integer(), nullable=False),
        sa.Column('by_id', sa.Integer(), nullable=False),
        sa.Column('at', engine.models.UTCDateTime(timezone=True), nullable=False),
        sa.Column('read_at', engine.models.UTCDateTime(timezone=True), nullable=True),
        sa.Column('note', sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(['instance_id'], ['process_instance.id'], ),
        sa.ForeignKeyConstraint(['user_id'], ['app_user.id'], ),
        sa.ForeignKeyConstraint(['by_id'], ['app_user.id'], ),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('instance_id', 'user_id'),
    )
    with op.batch_alter_table('case_copy', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_case_copy_instance_id'), ['instance_id'], unique=False)
        batch_op.create_index('ix_case_copy_user_read', ['user_id', 'read_at'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('case_copy', schema=None) as batch_op:
        batch_op.drop_index('ix_case_copy_user_read')
        batch_op.drop_index(batch_op.f('ix_case_copy_instance_id'))
    op.drop_table('case_copy')
