"""Create or upgrade the database schema with Alembic (the only way the schema changes)."""
from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config as AlembicConfig
from sqlalchemy.engine import Engine

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"


def alembic_config(url: str) -> AlembicConfig:
    cfg = AlembicConfig()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return cfg


def upgrade(engine: Engine) -> None:
    """Bring the database to the newest schema revision.

    On SQLite a migration that rebuilds a table (batch mode: copy, drop, rename) would trip the
    foreign keys of the rows pointing at it, so they are off while migrating (SQLite ignores that
    pragma inside a transaction: it is set before) and checked, all rows, before the commit."""
    cfg = alembic_config(engine.url.render_as_string(hide_password=False))
    sqlite = engine.dialect.name == "sqlite"
    with engine.connect() as conn:
        raw = conn.connection.dbapi_connection
        assert raw is not None
        enforced = sqlite and raw.execute("PRAGMA foreign_keys").fetchone()[0]
        if enforced:
            raw.execute("PRAGMA foreign_keys=OFF")
        try:
            with conn.begin():
                cfg.attributes["connection"] = conn
                command.upgrade(cfg, "head")
                broken = conn.exec_driver_sql("PRAGMA foreign_key_check").all() if sqlite else []
                if broken:
                    raise RuntimeError(f"migration left {len(broken)} rows with broken references: {broken[:5]}")
        finally:
            if enforced:
                raw.execute("PRAGMA foreign_keys=ON")
