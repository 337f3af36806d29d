"""Fixtures shared by every test: databases (SQLite and PostgreSQL), the engine env, an org tree.

DB-backed tests take the `env` fixture, which runs each test once on SQLite and once on
PostgreSQL. PostgreSQL runs when TEST_DATABASE_URL is set; without it those tests skip with a
reason; set but unreachable, they fail.
"""
from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from datetime import datetime, timezone
from pathlib import Path

import pytest
from sqlalchemy import create_engine, insert, make_url, text

from engine.clock import ManualClock
from engine.env import Env, make_env
from engine.models import Base, RoleCatalogue
from engine.orgs import ROLE_LABELS, set_hash_cost
from engine.sandbox.limits import ScriptLimits
from engine.schema import upgrade

set_hash_cost(time_cost=1, memory_cost_kib=64)  # real argon2, cheap enough for hundreds of logins

ROOT = Path(__file__).resolve().parent.parent
DATA = Path(__file__).resolve().parent / "data"
# Monday 2026-03-02 09:00 Beijing time: a plain working week, far from holidays.
DEFAULT_START = datetime(2026, 3, 2, 1, 0, tzinfo=timezone.utc)

_PG_URL = os.environ.get("TEST_DATABASE_URL")


def pytest_report_header(config: pytest.Config) -> list[str]:
    pg = (f"PostgreSQL: on ({make_url(_PG_URL).render_as_string(hide_password=True)})" if _PG_URL else
          "PostgreSQL: OFF — database tests run on SQLite only; set TEST_DATABASE_URL to run them "
          "on PostgreSQL too (the [postgresql] variants are skipped)")
    return ["RongFlow test databases: SQLite on; " + pg]


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("template") / "template.db"
    engine = create_engine(f"sqlite:///{path}")
    upgrade(engine)
    engine.dispose()
    return path


@pytest.fixture(scope="session")
def pg_ready() -> Iterator[str]:
    """A database of this test run's own, created beside TEST_DATABASE_URL's and dropped after,
    so parallel runs on one server never see each other's rows."""
    if not _PG_URL:
        pytest.skip("PostgreSQL tests need TEST_DATABASE_URL (e.g. postgresql+psycopg://postgres@127.0.0.1/test)")
    admin = create_engine(_PG_URL, isolation_level="AUTOCOMMIT")
    name = f"rongflow_test_{os.getpid()}"
    with admin.connect() as conn:  # an unreachable server fails here, loudly
        conn.execute(text(f"DROP DATABASE IF EXISTS {name}"))
        conn.execute(text(f"CREATE DATABASE {name}"))
    url = make_url(_PG_URL).set(database=name).render_as_string(hide_password=False)
    engine = create_engine(url)
    upgrade(engine)
    engine.dispose()
    yield url
    with admin.connect() as conn:
        conn.execute(text(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
    admin.dispose()


def _truncate_pg(url: str) -> None:
    engine = create_engine(url)
    names = ", ".join(t.name for t in Base.metadata.sorted_tables)
    with engine.begin() as conn:
        # The logs refuse TRUNCATE with a trigger; as superuser, skip triggers for this reset only.
        conn.execute(text("SET LOCAL session_replication_role = replica"))
        conn.execute(text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))
        conn.execute(insert(RoleCatalogue), [{"key": r.value, "name": n, "builtin": True}  # the seed (0010)
                                             for r, n in ROLE_LABELS.items()])
        for table in Base.metadata.sorted_tables:  # a test may have disabled a guard trigger
            conn.execute(text(f"ALTER TABLE {table.name} ENABLE TRIGGER USER"))
    engine.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        target = tmp_path / "test.db"
        shutil.copy(request.getfixturevalue("sqlite_template"), target)
        return f"sqlite:///{target}"
    url: str = request.getfixturevalue("pg_ready")
    _truncate_pg(url)
    return url


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(DEFAULT_START)


@pytest.fixture
def env(db_url: str, clock: ManualClock) -> Iterator[Env]:
    environment = make_env(db_url, clock=clock, bpmn_dir=ROOT / "bpmn")
    # runaway scripts are stopped by the (deterministic) step budget; wall time only as a backstop
    environment.script_limits = ScriptLimits(time_ms=30_000)
    yield environment
    environment.db.dispose()


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    """Say how many database tests passed on each database."""
    counts: dict[str, dict[str, int]] = {}
    for outcome in ("passed", "failed", "skipped"):
        for report in terminalreporter.stats.get(outcome, []):
            nodeid = getattr(report, "nodeid", "")
            for db in ("sqlite", "postgresql"):
                if f"[{db}" in nodeid or f"-{db}]" in nodeid or f"-{db}-" in nodeid:
                    counts.setdefault(db, {}).setdefault(outcome, 0)
                    counts[db][outcome] += 1
    for db, by_outcome in counts.items():
        text = ", ".join(f"{n} {o}" for o, n in sorted(by_outcome.items()))
        terminalreporter.write_line(f"RongFlow database tests on {db}: {text}")
