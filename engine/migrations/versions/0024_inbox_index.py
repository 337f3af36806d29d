"""inbox index in due-date order: human_task (status, org_unit_id, role, due_at, id) replaces
ix_task_inbox, so each (role, unit) grant's part of the inbox is one ordered index range
(engine.inbox)

Revision ID: 0024
Revises: 0023
"""
from alembic import op


revision = '0024'
down_revision = '0023'
branch_labels = None
depends_on = None


def upgrade() -> None:
    # the new index starts with the old one's columns, so every query the old one served it serves
    op.create_index("ix_task_inbox_due", "human_task", ["status", "org_unit_id", "role", "due_at", "id"])
    op.drop_index("ix_task_inbox", table_name="human_task")


def downgrade() -> None:
    op.create_index("ix_task_inbox", "human_task", ["status", "org_unit_id", "role"])
    op.drop_index("ix_task_inbox_due", table_name="human_task")
