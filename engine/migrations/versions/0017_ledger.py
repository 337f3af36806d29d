"""case ledger: saved filters per user, the subject's phone, an index for the ledger's default order

Revision ID: 0017
Revises: 0016
"""
from alembic import op
import sqlalchemy as sa


revision = '0017'
down_revision = '0016'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("process_instance") as batch:
        batch.add_column(sa.Column("subject_phone", sa.String(32), nullable=True))
        batch.create_index("ix_process_instance_subject_phone", ["subject_phone"])
        batch.create_index("ix_instance_key_created", ["process_key", "created_at"])
    op.create_table(
        "ledger_filter",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("user_id", sa.Integer(), sa.ForeignKey("app_user.id"), nullable=False),
        sa.Column("process_key", sa.String(64), nullable=False),
        sa.Column("name", sa.String(64), nullable=False),
        sa.Column("query", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    )
    with op.batch_alter_table("ledger_filter") as batch:
        batch.create_index("ux_ledger_filter_user_name", ["user_id", "process_key", "name"], unique=True)


def downgrade() -> None:
    with op.batch_alter_table("ledger_filter") as batch:
        batch.drop_index("ux_ledger_filter_user_name")
    op.drop_table("ledger_filter")
    with op.batch_alter_table("process_instance") as batch:
        batch.drop_index("ix_instance_key_created")
        batch.drop_index("ix_process_instance_subject_phone")
        batch.drop_column("subject_phone")
