"""documents issued by the system: an attachment may have no uploading user

A document issued when a timer, an automatic step or the timeout policy's auto-act completes a
step has no user behind it (its history event says 系统), so its two attachments name no uploader.

Revision ID: 0019
Revises: 0018
"""
from alembic import op
import sqlalchemy as sa


revision = '0019'
down_revision = '0018'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("attachment") as batch:
        batch.alter_column("uploaded_by_id", existing_type=sa.Integer(), nullable=True)


def downgrade() -> None:
    with op.batch_alter_table("attachment") as batch:
        batch.alter_column("uploaded_by_id", existing_type=sa.Integer(), nullable=False)
