"""Fixtures of the operations drills (the last release's demo city, built once per database by that
release's own code from git, at that release's schema) and today's demo city, built once per run."""
from __future__ import annotations

import contextlib
import io
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import make_url

from tests.integration.ops_support import (build_release_demo, drop_database, empty_database,
                                           extract_release)


@pytest.fixture(scope="session", params=["sqlite", "postgresql"])
def release_db(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """URL of a database holding the last release's demo city (cases open at every step of every
    process, closed ones, overdue ones). Tests copy it (ops_support.copy_database), never change it."""
    folder = tmp_path_factory.mktemp("release")
    if request.param == "sqlite":
        url = f"sqlite:///{folder / 'release.db'}"
    else:
        pg = os.environ.get("TEST_DATABASE_URL")
        if not pg:
            pytest.skip("PostgreSQL tests need TEST_DATABASE_URL")
        url = empty_database(pg, f"rongflow_release_{os.getpid()}", folder)
    build_release_demo(extract_release(folder / "code"), url)
    yield url
    if not make_url(url).drivername.startswith("sqlite"):
        drop_database(url)


@dataclass
class DemoBuild:
    env: Any       # engine.env.Env on the demo database
    city: Any      # workflows.demo_city.DemoCity
    printed: str   # what `rongflow demo` printed while building


@pytest.fixture(scope="session")
def demo_city(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DemoBuild]:
    """The demo city, built ONCE for the whole run (the suite's slowest fixture) on SQLite the way
    `rongflow demo` builds it (webapp.cli.build_demo), with what it printed. Tests only read it."""
    from engine.env import make_env
    from engine.scripting import ScriptLimits
    from webapp.cli import build_demo

    root = Path(__file__).resolve().parents[2]
    env = make_env(f"sqlite:///{tmp_path_factory.mktemp('demo_city') / 'demo.db'}", bpmn_dir=root / "bpmn")
    env.script_limits = ScriptLimits(time_ms=30_000)  # as tests/conftest.py: a backstop on a loaded machine
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        city = build_demo(env)
    yield DemoBuild(env, city, printed.getvalue())
    env.db.dispose()
