"""personal access tokens for the JSON API

Revision ID: 0013
Revises: 0012
"""
from alembic import op
import sqlalchemy as sa


revision = '0013'
down_revision = '0012'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "api_token",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("user_id", sa.Integer(), sa.ForeignKey("app_user.id"), nullable=False),
        sa.Column("name", sa.String(64), nullable=False),
        sa.Column("token_hash", sa.String(64), nullable=False),
        sa.Column("prefix", sa.String(16), nullable=False),
        sa.Column("scope", sa.String(8), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("revoked_by", sa.Integer(), sa.ForeignKey("app_user.id"), nullable=True),
    )
    with op.batch_alter_table("api_token") as batch:
        batch.create_index("ux_api_token_hash", ["token_hash"], unique=True)
        batch.create_index("ix_api_token_user", ["user_id"])


def downgrade() -> None:
    with op.batch_alter_table("api_token") as batch:
        batch.drop_index("ix_api_token_user")
        batch.drop_index("ux_api_token_hash")
    op.drop_table("api_token")
