"""process packages and the role catalogue

Revision ID: 0010
Revises: 0009

A definition version may hold a declarative package (manifest text and forms) next to its BPMN
files; the role catalogue lists the roles packages may name, seeded with the five built-in ones.
"""
from alembic import op
import sqlalchemy as sa


revision = '0010'
down_revision = '0009'
branch_labels = None
depends_on = None

SEED = [("caseworker", "经办人"), ("reviewer", "审核人"), ("leader", "领导"),
        ("auditor", "审计人员"), ("admin", "系统管理员")]


def upgrade() -> None:
    with op.batch_alter_table("process_definition") as batch:
        batch.add_column(sa.Column("package", sa.JSON(), nullable=True))
    table = op.create_table(
        "role_catalogue",
        sa.Column("key", sa.String(32), primary_key=True),
        sa.Column("name", sa.String(64), nullable=False),
        sa.Column("builtin", sa.Boolean(), nullable=False, server_default=sa.false()),
    )
    op.bulk_insert(table, [{"key": k, "name": n, "builtin": True} for k, n in SEED])


def downgrade() -> None:
    op.drop_table("role_catalogue")
    with op.batch_alter_table("process_definition") as batch:
        batch.drop_column("package")
