"""The PostgreSQL role the app runs under: it may only SELECT and INSERT on the logs.

Migrations run as the schema owner (MIGRATION_DATABASE_URL); the app connects as this role
(DATABASE_URL). Not being the owner, it can neither disable the logs' triggers nor TRUNCATE,
UPDATE or DELETE them; elsewhere it has the ordinary rights of an application. Run again after
each migration that adds tables (the grants are idempotent).
"""
from __future__ import annotations

import re

from sqlalchemy import text
from sqlalchemy.engine import Connection

LOG_TABLES = ("history_event", "admin_event")
ROLE_RE = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")


def grant_statements(role: str) -> list[str]:
    """The GRANT/REVOKE statements for an existing role (the name is checked, then quoted)."""
    if not ROLE_RE.match(role):
        raise ValueError(f"role name {role!r} must match {ROLE_RE.pattern}")
    logs = ", ".join(LOG_TABLES)
    return [
        f'GRANT USAGE ON SCHEMA public TO "{role}"',
        f'GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO "{role}"',
        f'REVOKE UPDATE, DELETE, TRUNCATE, REFERENCES, TRIGGER ON {logs} FROM "{role}"',
        f'REVOKE INSERT, UPDATE, DELETE, TRUNCATE ON alembic_version FROM "{role}"',
        f'GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO "{role}"',
    ]


def create_app_role(conn: Connection, role: str, password: str | None) -> bool:
    """Create the role if missing (LOGIN, no other powers) and grant its rights in this database.
    Returns True when the role was created. Run as the schema owner or a superuser."""
    grants = grant_statements(role)
    exists = conn.scalar(text("SELECT 1 FROM pg_roles WHERE rolname = :r"), {"r": role}) is not None
    if not exists:
        conn.execute(text(f'CREATE ROLE "{role}" LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOINHERIT'))
    if password:
        statement = conn.scalar(text("SELECT format('ALTER ROLE %I PASSWORD %L', :r, :p)"),
                                {"r": role, "p": password})
        conn.execute(text(str(statement)))
    database = conn.scalar(text("SELECT current_database()"))
    conn.execute(text(f'GRANT CONNECT ON DATABASE "{database}" TO "{role}"'))
    for statement in grants:
        conn.execute(text(statement))
    return not exists
