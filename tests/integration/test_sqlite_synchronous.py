"""SQLITE_SYNCHRONOUS: how long a SQLite commit waits for the disk. FULL unless an admin chooses
otherwise; NORMAL and EXTRA when asked; OFF (which a power cut could turn into a corrupt database)
and anything else refused before the app starts, with the allowed values named."""
from __future__ import annotations

from pathlib import Path

import pytest

from engine.db import Database
from webapp import create_app

# What `PRAGMA synchronous` reports for each mode.
PRAGMA_VALUE = {"NORMAL": 1, "FULL": 2, "EXTRA": 3}


def _synchronous(db: Database) -> int:
    """The mode of a write transaction's connection and of a single read's (both from the pool)."""
    with db.write() as session:
        in_write = session.connection().exec_driver_sql("PRAGMA synchronous").scalar()
    with db.single_read() as conn:
        in_read = conn.exec_driver_sql("PRAGMA synchronous").scalar()
    assert in_write == in_read
    return int(in_write)


@pytest.fixture
def url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'sync.db'}"


def test_full_is_the_default(url):
    db = Database(url)
    try:
        assert db.sqlite_synchronous == "FULL"
        assert _synchronous(db) == PRAGMA_VALUE["FULL"]
    finally:
        db.dispose()


@pytest.mark.parametrize("given, mode", [("NORMAL", "NORMAL"), ("EXTRA", "EXTRA"), (" normal ", "NORMAL"),
                                         ("Full", "FULL")])
def test_each_allowed_mode_reaches_every_connection(url, given, mode):
    db = Database(url, sqlite_synchronous=given)
    try:
        assert db.sqlite_synchronous == mode
        assert _synchronous(db) == PRAGMA_VALUE[mode]
        db.engine.dispose()  # a connection opened anew gets it too
        assert _synchronous(db) == PRAGMA_VALUE[mode]
    finally:
        db.dispose()


@pytest.mark.parametrize("given", ["OFF", "off", "0", "1", "", "FULL; PRAGMA foreign_keys=OFF"])
def test_anything_else_is_refused_with_the_allowed_values(url, given):
    with pytest.raises(ValueError) as caught:
        Database(url, sqlite_synchronous=given)
    assert "SQLITE_SYNCHRONOUS must be one of FULL, EXTRA, NORMAL" in str(caught.value)
    assert repr(given) in str(caught.value)


def test_the_setting_reaches_the_app_and_a_bad_one_stops_it(tmp_path, url):
    base = {"ENV_NAME": "test", "DATABASE_URL": url, "UPLOAD_DIR": str(tmp_path / "uploads")}
    app = create_app({**base, "SQLITE_SYNCHRONOUS": "NORMAL"})
    db = app.extensions["rongflow_env"].db
    try:
        assert _synchronous(db) == PRAGMA_VALUE["NORMAL"]
    finally:
        db.dispose()
    app = create_app(base)  # not set: the config's default
    db = app.extensions["rongflow_env"].db
    try:
        assert _synchronous(db) == PRAGMA_VALUE["FULL"]
    finally:
        db.dispose()
    with pytest.raises(ValueError, match="SQLITE_SYNCHRONOUS"):
        create_app({**base, "SQLITE_SYNCHRONOUS": "OFF"})


def test_a_bulk_load_relaxes_and_then_restores_the_chosen_mode(url):
    db = Database(url, sqlite_synchronous="EXTRA")
    try:
        with db.bulk_load():
            assert _synchronous(db) == PRAGMA_VALUE["NORMAL"]
        assert _synchronous(db) == PRAGMA_VALUE["EXTRA"]
    finally:
        db.dispose()
