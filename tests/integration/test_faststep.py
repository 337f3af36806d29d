"""A step without a savepoint (engine.faststep): a step that needs no SQL rolls back in Python and
writes the case row once; a step that reads a table with this transaction's pending changes runs
the command again under the savepoint, with the same outcome and still one commit."""
from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest

from sqlalchemy import event, select

from engine.history import verify_chain
from engine.models import HistoryEvent, HumanTask, InstanceStatus, ProcessInstance, TaskStatus
from engine.runtime import complete_task, start_case
from tests.factories import Org, build_org, deploy_files
from tests.integration.fidelity_runner import fixture_config, fixture_files

KEY = "loop_backflow"


@pytest.fixture
def org(env: Any) -> Org:
    return build_org(env)


def _statements(env: Any) -> list[str]:
    seen: list[str] = []

    @event.listens_for(env.db.engine, "before_cursor_execute")
    def _log(_conn: Any, _cur: Any, statement: str, *_args: Any) -> None:
        seen.append(statement.split(None, 1)[0].upper())
    return seen


def _deploy(env: Any, assign: Any = None) -> None:
    env.extra_processes[KEY] = replace(fixture_config(KEY), assign=assign)
    deploy_files(env, KEY, fixture_files(KEY))


def _open_task(env: Any, iid: int) -> HumanTask:
    with env.db.read() as s:
        return s.scalars(select(HumanTask).where(HumanTask.instance_id == iid,
                                                 HumanTask.status == TaskStatus.open)).one()


def test_a_pure_python_step_takes_no_savepoint_and_writes_the_case_row_once(env, org):
    _deploy(env)
    actor = org.actor("t1_cw")
    iid = start_case(env, KEY, actor, org.units["t1"], {}).instance_id
    task = _open_task(env, iid)
    seen = _statements(env)
    complete_task(env, task.id, actor, {"decision": "again", "round": 1})
    assert "SAVEPOINT" not in seen and seen.count("UPDATE") == 2, seen  # the case row and the task row
    with env.db.read() as s:
        assert verify_chain(s, iid).ok and s.get(ProcessInstance, iid).status == InstanceStatus.running


def test_a_step_reading_pending_rows_runs_again_under_the_savepoint(env, org):
    def assign(step_id: str, data: dict[str, Any], ctx: Any) -> int:
        assert ctx.cases.by_case_no(ctx.case_no) is not None  # reads process_instance: pending changes
        return ctx.case_unit_id
    _deploy(env, assign)
    actor = org.actor("t1_cw")
    iid = start_case(env, KEY, actor, org.units["t1"], {}).instance_id
    task = _open_task(env, iid)
    seen = _statements(env)
    env.db.counter.reset()
    result = complete_task(env, task.id, actor, {"decision": "again", "round": 1})
    assert "SAVEPOINT" in seen and env.db.counter.commits == 1 and len(result.new_task_ids) == 1
    with env.db.read() as s:
        actions = list(s.scalars(select(HistoryEvent.action).where(HistoryEvent.instance_id == iid)
                                 .order_by(HistoryEvent.seq)))
        assert actions == ["start", "complete"] and verify_chain(s, iid).ok


def test_a_failing_step_rolls_back_in_python_and_keeps_the_completion(env, org):
    calls = []

    def assign(step_id: str, data: dict[str, Any], ctx: Any) -> int:
        calls.append(step_id)
        if len(calls) > 1:
            raise RuntimeError("a bug in the process package")
        return ctx.case_unit_id
    _deploy(env, assign)
    actor = org.actor("t1_cw")
    iid = start_case(env, KEY, actor, org.units["t1"], {}).instance_id
    task = _open_task(env, iid)
    seen = _statements(env)
    result = complete_task(env, task.id, actor, {"decision": "again", "round": 1})
    assert result.error and "SAVEPOINT" not in seen
    with env.db.read() as s:
        instance = s.get(ProcessInstance, iid)
        actions = list(s.scalars(select(HistoryEvent.action).where(HistoryEvent.instance_id == iid)
                                 .order_by(HistoryEvent.seq)))
        rows = list(s.scalars(select(HumanTask.status).where(HumanTask.instance_id == iid)))
        assert instance.status == InstanceStatus.error and actions == ["start", "complete", "error"]
        assert rows == [TaskStatus.completed] and verify_chain(s, iid).ok
