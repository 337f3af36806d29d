"""role catalogue roles grantable (issue 10): reserved revision, intentionally empty (no schema change was needed; kept so the revision chain stays linear)

Revision ID: 0014
Revises: 0013
"""
from alembic import op  # noqa: F401
import sqlalchemy as sa  # noqa: F401


revision = '0014'
down_revision = '0013'
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
