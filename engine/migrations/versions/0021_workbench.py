"""stock opinions (issue 13, 常用意见 of the leader workbench): the stock_opinion table

One row per user and opinion text (engine.opinions); a user reads, adds and removes only their own.

Revision ID: 0021
Revises: 0020
"""
from alembic import op
import sqlalchemy as sa


revision = '0021'
down_revision = '0020'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "stock_opinion",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("user_id", sa.Integer(), sa.ForeignKey("app_user.id"), nullable=False),
        sa.Column("text", sa.String(200), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.UniqueConstraint("user_id", "text", name="uq_stock_opinion_user_text"),
    )
    with op.batch_alter_table("stock_opinion") as batch:
        batch.create_index("ix_stock_opinion_user_id", ["user_id"])


def downgrade() -> None:
    with op.batch_alter_table("stock_opinion") as batch:
        batch.drop_index("ix_stock_opinion_user_id")
    op.drop_table("stock_opinion")
