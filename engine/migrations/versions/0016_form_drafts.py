"""task form drafts (issue 13): reserved revision, intentionally empty (no schema change was needed; kept so the revision chain stays linear)

Revision ID: 0016
Revises: 0015
"""
from alembic import op  # noqa: F401
import sqlalchemy as sa  # noqa: F401


revision = '0016'
down_revision = '0015'
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
