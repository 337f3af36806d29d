"""approval verbs and the message centre: human_task marks (退回/撤回/转办 with reason and who) and
signer rounds (会签/或签/依次, 加签), app_message (站内消息 with read marks), absence_proxy (代理), supervision_order (督办)

Revision ID: 0011
Revises: 0010
"""
from alembic import op
import sqlalchemy as sa
import engine.models


revision = '0011'
down_revision = '0010'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('human_task', schema=None) as batch_op:
        batch_op.add_column(sa.Column('mark', sa.String(length=16), nullable=True))
        batch_op.add_column(sa.Column('mark_note', sa.Text(), nullable=True))
        batch_op.add_column(sa.Column('mark_by_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('sign', sa.JSON(), nullable=True))
        batch_op.create_foreign_key('fk_human_task_mark_by', 'app_user', ['mark_by_id'], ['id'])
    op.create_table(
        'app_message',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('user_id', sa.Integer(), nullable=False),
        sa.Column('kind', sa.String(length=16), nullable=False),
        sa.Column('title', sa.String(length=255), nullable=False),
        sa.Column('body', sa.Text(), nullable=True),
        sa.Column('instance_id', sa.Integer(), nullable=True),
        sa.Column('task_id', sa.Integer(), nullable=True),
        sa.Column('at', engine.models.UTCDateTime(timezone=True), nullable=False),
        sa.Column('read_at', engine.models.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(['user_id'], ['app_user.id'], ),
        sa.ForeignKeyConstraint(['instance_id'], ['process_instance.id'], ),
        sa.PrimaryKeyConstraint('id'),
    )
    op.create_index('ix_app_message_user_read', 'app_message', ['user_id', 'read_at'])
    op.create_table(
        'absence_proxy',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('user_id', sa.Integer(), nullable=False),
        sa.Column('proxy_id', sa.Integer(), nullable=False),
        sa.Column('starts_at', engine.models.UTCDateTime(timezone=True), nullable=False),
        sa.Column('ends_at', engine.models.UTCDateTime(timezone=True), nullable=False),
        sa.Column('created_at', engine.models.UTCDateTime(timezone=True), nullable=False),
        sa.Column('ended_at', engine.models.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(['user_id'], ['app_user.id'], ),
        sa.ForeignKeyConstraint(['proxy_id'], ['app_user.id'], ),
        sa.PrimaryKeyConstraint('id'),
    )
    op.create_index('ix_absence_proxy_user', 'absence_proxy', ['user_id', 'ends_at'])
    op.create_table(
        'supervision_order',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('instance_id', sa.Integer(), nullable=False),
        sa.Column('org_unit_id', sa.Integer(), nullable=False),
        sa.Column('requirement', sa.Text(), nullable=False),
        sa.Column('due_at', engine.models.UTCDateTime(timezone=True), nullable=False),
        sa.Column('opened_by_id', sa.Integer(), nullable=False),
        sa.Column('opened_at', engine.models.UTCDateTime(timezone=True), nullable=False),
        sa.Column('feedback', sa.Text(), nullable=True),
        sa.Column('fed_back_by_id', sa.Integer(), nullable=True),
        sa.Column('fed_back_at', engine.models.UTCDateTime(timezone=True), nullable=True),
        sa.Column('on_time', sa.Boolean(), nullable=True),
        sa.ForeignKeyConstraint(['instance_id'], ['process_instance.id'], ),
        sa.ForeignKeyConstraint(['org_unit_id'], ['org_unit.id'], ),
        sa.ForeignKeyConstraint(['opened_by_id'], ['app_user.id'], ),
        sa.ForeignKeyConstraint(['fed_back_by_id'], ['app_user.id'], ),
        sa.PrimaryKeyConstraint('id'),
    )
    op.create_index('ix_supervision_order_instance', 'supervision_order', ['instance_id'])


def downgrade() -> None:
    op.drop_index('ix_supervision_order_instance', table_name='supervision_order')
    op.drop_table('supervision_order')
    op.drop_index('ix_absence_proxy_user', table_name='absence_proxy')
    op.drop_table('absence_proxy')
    op.drop_index('ix_app_message_user_read', table_name='app_message')
    op.drop_table('app_message')
    with op.batch_alter_table('human_task', schema=None) as batch_op:
        batch_op.drop_constraint('fk_human_task_mark_by', type_='foreignkey')
        batch_op.drop_column('sign')
        batch_op.drop_column('mark_by_id')
        batch_op.drop_column('mark_note')
        batch_op.drop_column('mark')
