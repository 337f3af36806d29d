"""task form drafts (issue 13, 暂存): the form_draft table and human_task.has_draft

One row per user and task keeps that user's unsent input (engine.drafts); human_task.has_draft
tells the task page and the step's end whether any draft rows exist, so tasks without drafts
cost nothing extra.

Revision ID: 0016
Revises: 0015
"""
from alembic import op
import sqlalchemy as sa


revision = '0016'
down_revision = '0015'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("human_task") as batch:
        batch.add_column(sa.Column("has_draft", sa.Boolean(), nullable=False, server_default=sa.false()))
    op.create_table(
        "form_draft",
        sa.Column("user_id", sa.Integer(), sa.ForeignKey("app_user.id"), primary_key=True),
        sa.Column("task_id", sa.Integer(), sa.ForeignKey("human_task.id"), primary_key=True),
        sa.Column("values", sa.JSON(), nullable=False),
        sa.Column("opinion", sa.Text(), nullable=False),
        sa.Column("saved_at", sa.DateTime(timezone=True), nullable=False),
    )
    with op.batch_alter_table("form_draft") as batch:
        batch.create_index("ix_form_draft_task", ["task_id"])


def downgrade() -> None:
    with op.batch_alter_table("form_draft") as batch:
        batch.drop_index("ix_form_draft_task")
    op.drop_table("form_draft")
    with op.batch_alter_table("human_task") as batch:
        batch.drop_column("has_draft")
