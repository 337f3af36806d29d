"""Fixtures of the operations drills: the last release's demo city, built once per database by
that release's own code (git), at that release's schema."""
from __future__ import annotations

import os
from collections.abc import Iterator

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
