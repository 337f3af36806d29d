"""admin: admin_event, the append-only log of administrative actions

Revision ID: 0003
Revises: 0002
"""
from alembic import op
import sqlalchemy as sa
import engine.models


revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'admin_event',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('at', engine.models.UTCDateTime(timezone=True), nullable=False),
        sa.Column('actor_id', sa.Integer(), nullable=True),
        sa.Column('actor_name', sa.String(length=64), nullable=False),
        sa.Column('action', sa.String(length=32), nullable=False),
        sa.Column('target_type', sa.String(length=32), nullable=False),
        sa.Column('target_id', sa.Integer(), nullable=True),
        sa.Column('target', sa.String(length=255), nullable=False),
        sa.Column('details', sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(['actor_id'], ['app_user.id'], ),
        sa.PrimaryKeyConstraint('id'),
    )
    with op.batch_alter_table('admin_event', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_admin_event_at'), ['at'], unique=False)
        batch_op.create_index(batch_op.f('ix_admin_event_actor_id'), ['actor_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_admin_event_action'), ['action'], unique=False)
        batch_op.create_index('ix_admin_event_target', ['target_type', 'target_id'], unique=False)
    _append_only()


def _append_only() -> None:
    """The database itself refuses to change or remove an admin event."""
    if op.get_bind().dialect.name == "postgresql":
        op.execute("""
            CREATE FUNCTION admin_event_refuse_change() RETURNS trigger AS $$
            BEGIN RAISE EXCEPTION 'admin_event is append-only'; END;
            $$ LANGUAGE plpgsql""")
        op.execute("""CREATE TRIGGER admin_event_no_update BEFORE UPDATE OR DELETE ON admin_event
                      FOR EACH ROW EXECUTE FUNCTION admin_event_refuse_change()""")
    else:
        for verb in ("UPDATE", "DELETE"):
            op.execute(f"""CREATE TRIGGER admin_event_no_{verb.lower()} BEFORE {verb} ON admin_event
                           BEGIN SELECT RAISE(ABORT, 'admin_event is append-only'); END""")


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS admin_event_no_update ON admin_event")
        op.execute("DROP FUNCTION IF EXISTS admin_event_refuse_change()")
    with op.batch_alter_table('admin_event', schema=None) as batch_op:
        batch_op.drop_index('ix_admin_event_target')
        batch_op.drop_index(batch_op.f('ix_admin_event_action'))
        batch_op.drop_index(batch_op.f('ix_admin_event_actor_id'))
        batch_op.drop_index(batch_op.f('ix_admin_event_at'))
    op.drop_table('admin_event')
