"""Upgrade drill: a database of the last release (schema 0004), filled by that release's own
code with its demo city — cases open at every step of every process, closed, overdue — upgraded
with today's migrations: every row of the old schema is still there unchanged, the history still
verifies and is still guarded, and a case from each waiting point runs to its end on today's code."""
from __future__ import annotations

import os
from collections import Counter

import pytest
from sqlalchemy import select, text

from engine.clock import ManualClock, SystemClock
from engine.env import make_env
from engine.history import verify_chain
from engine.models import HistoryEvent, ProcessInstance
from engine.ops.status import current_revision, head_revision
from engine.schema import upgrade
from engine.sandbox.limits import ScriptLimits
from tests.integration.ops_support import (RELEASE_REVISION, ROOT, columns_of, copy_database, drop_database,
                                           run_to_end, snapshot, waiting_points)
from workflows import process_keys

CLOSED = {"completed", "cancelled", "terminated"}


@pytest.fixture
def upgraded(release_db, tmp_path):
    """A copy of the release database, its old rows (by old column), then upgraded to head."""
    url = copy_database(release_db, f"rongflow_up_{os.getpid()}", tmp_path)
    clock = ManualClock(SystemClock().now())
    env = make_env(url, clock=clock, bpmn_dir=ROOT / "bpmn")
    env.script_limits = ScriptLimits(time_ms=30_000)  # as tests/conftest.py: a backstop on a loaded machine
    try:
        assert current_revision(env) == RELEASE_REVISION
        old_columns = columns_of(url)
        old_rows = snapshot(url)
        points = waiting_points(env)
        upgrade(env.db.engine)
        yield env, clock, old_columns, old_rows, points
    finally:
        env.db.dispose()
        drop_database(url)


def test_the_upgrade_keeps_every_row_and_the_guards(upgraded):
    env, _clock, old_columns, old_rows, points = upgraded
    assert current_revision(env) == head_revision()
    assert {key for key, _ in points} == set(process_keys()), "the release data covers every process"
    assert len(points) >= 20, sorted(points)
    kept = snapshot(env.db.url, old_columns)
    lost = {t: (len(old_rows[t]), len(kept[t])) for t in old_rows if t != "alembic_version" and kept[t] != old_rows[t]}
    assert lost == {}, f"the migrations changed or lost rows (table: before, after): {lost}"
    with env.db.read() as s:
        ids = s.scalars(select(ProcessInstance.id)).all()
        broken = [i for i in ids if not verify_chain(s, i).ok]
        event_id = s.scalar(select(HistoryEvent.id).limit(1))
    assert len(ids) >= 150 and broken == []
    with pytest.raises(Exception):  # the append-only triggers survived every table rebuild
        with env.db.write() as s:
            s.execute(text("UPDATE history_event SET opinion = 'x' WHERE id = :i"), {"i": event_id})


def test_a_case_from_every_waiting_point_runs_to_its_end_after_the_upgrade(upgraded):
    env, clock, _columns, _rows, points = upgraded
    ends = run_to_end(env, clock, only=sorted(points.values()))
    with env.db.read() as s:
        errors = dict(s.execute(select(ProcessInstance.id, ProcessInstance.error_message)
                                .where(ProcessInstance.error_message.is_not(None))).all())
    unfinished = {where: (ends[case], errors.get(case)) for where, case in points.items() if ends[case] not in CLOSED}
    assert unfinished == {}, f"{len(unfinished)} of {len(points)} waiting points did not end: {unfinished}"
    assert Counter(ends.values())["completed"] > len(points) // 2
