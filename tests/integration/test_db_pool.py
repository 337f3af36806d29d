"""The PostgreSQL pool pings a connection only when it has been idle long enough for the server to
have dropped it: an idle one that died is replaced before use, without the user seeing an error;
one used moments ago is not pinged (no round trip on the hot path). The pool's idle clock is
injected; the server really kills the connection (pg_terminate_backend)."""
from __future__ import annotations

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.exc import OperationalError

from engine.db import PING_AFTER_IDLE_S, Database


class IdleClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def _backend_pid(db: Database) -> int:
    with db.single_read() as conn:
        return int(conn.execute(text("SELECT pg_backend_pid()")).scalar_one())


def _kill(url: str, pid: int) -> None:
    admin = create_engine(url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        assert conn.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid}).scalar_one()
    admin.dispose()


@pytest.fixture
def pooled(pg_ready: str):
    clock = IdleClock()
    db = Database(pg_ready, monotonic=clock)
    yield db, clock
    db.dispose()


def test_a_connection_idle_past_the_window_that_died_is_replaced_before_use(pooled, pg_ready):
    db, clock = pooled
    first = _backend_pid(db)
    _kill(pg_ready, first)
    clock.now += PING_AFTER_IDLE_S + 1
    assert _backend_pid(db) != first  # pinged, found dead, replaced: the read itself never failed


def test_a_connection_used_moments_ago_is_not_pinged(pooled, pg_ready):
    db, clock = pooled
    first = _backend_pid(db)
    _kill(pg_ready, first)
    clock.now += PING_AFTER_IDLE_S - 1
    with pytest.raises(OperationalError) as caught:  # no ping: the statement meets the dead connection
        _backend_pid(db)
    assert caught.value.connection_invalidated
    assert _backend_pid(db) != first  # and the pool was replaced for the next one


def test_a_live_idle_connection_is_kept_after_its_ping(pooled):
    db, clock = pooled
    first = _backend_pid(db)
    clock.now += PING_AFTER_IDLE_S * 100
    assert _backend_pid(db) == first
