"""roles are data: grants and task rows name a role_catalogue key (any role an admin added)

Revision ID: 0014
Revises: 0013

role_grant.role and human_task.role were a fixed enum of five (VARCHAR(16)); they become the key
of a role_catalogue row (VARCHAR(32), the catalogue's key length) with a foreign key each, so a
role an admin adds to the catalogue can be granted and can hold tasks, and no grant or task names
a role outside it. The five built-in roles stay seeded (migration 0010) with the same keys.
"""
from alembic import op
import sqlalchemy as sa


revision = '0014'
down_revision = '0013'
branch_labels = None
depends_on = None

SEED = [("caseworker", "经办人"), ("reviewer", "审核人"), ("leader", "领导"),
        ("auditor", "审计人员"), ("admin", "系统管理员")]
OLD = sa.Enum('caseworker', 'reviewer', 'leader', 'auditor', 'admin', name='role', native_enum=False, length=16)
FKS = (("role_grant", "fk_role_grant_role"), ("human_task", "fk_human_task_role"))


def upgrade() -> None:
    catalogue = sa.table("role_catalogue", sa.column("key", sa.String), sa.column("name", sa.String),
                         sa.column("builtin", sa.Boolean))
    present = {r[0] for r in op.get_bind().execute(sa.select(catalogue.c.key))}
    missing = [{"key": k, "name": n, "builtin": True} for k, n in SEED if k not in present]
    if missing:  # every built-in key a grant or task row may hold must be there before the keys
        op.bulk_insert(catalogue, missing)
    for table, fk in FKS:
        with op.batch_alter_table(table) as batch:
            batch.alter_column("role", existing_type=OLD, type_=sa.String(32), existing_nullable=False)
            batch.create_foreign_key(fk, "role_catalogue", ["role"], ["key"])


def downgrade() -> None:
    for table, fk in FKS:
        with op.batch_alter_table(table) as batch:
            batch.drop_constraint(fk, type_="foreignkey")
            batch.alter_column("role", existing_type=sa.String(32), type_=OLD, existing_nullable=False)
