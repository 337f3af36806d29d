"""Statement budgets of a submit, counted (not timed) with the engine's `before_cursor_execute`
counter on SQLite and PostgreSQL: the API submit at task 3 and task 60 of a looping case costs
the same (nothing grows with the case's history), in 1 commit and within today's ceiling.

Issue 12 asks for at most 8 statements; today's write transaction alone takes 11 (lock, task rows,
history insert, two updates of the case row around the step's savepoint, the new task row, the
new-task message lookup and insert), plus the token lookup (and SQLite's BEGIN for it). The
ceilings below pin what is measured so it cannot creep up; lowering them to 8 is open work."""
from __future__ import annotations

from sqlalchemy import select

from engine.models import HumanTask, TaskStatus
from engine.runtime import complete_task, start_case
from engine.tokens import create_token
from tests.integration.fidelity_runner import deploy_fixture

API_STATEMENTS = {"sqlite": 14, "postgresql": 12}  # issue 12 target: 8 (not met yet)
API_COMMITS = 1
KEY = "loop_backflow"


def _open_task(env, iid: int) -> int:
    with env.db.read() as s:
        return s.scalar(select(HumanTask.id).where(HumanTask.instance_id == iid, HumanTask.status == TaskStatus.open))


def _api_submit_cost(env, client, headers, iid: int, n: int) -> tuple[int, int]:
    task_id = _open_task(env, iid)
    env.db.counter.reset()
    r = client.post(f"/api/v1/tasks/{task_id}/complete", headers=headers,
                    json={"data": {"decision": "again", "round": n}})
    assert r.status_code == 200, r.json
    return env.db.counter.statements, env.db.counter.commits


def test_api_submit_budget_does_not_grow_with_history(env, client, org):
    deploy_fixture(env, KEY)
    actor = org.actor("t1_cw")
    iid = start_case(env, KEY, actor, org.units["t1"], {}).instance_id
    headers = {"Authorization": f"Bearer {create_token(env, actor.id, actor.id, 'budget', 'act', 30).secret}"}
    for n in range(1, 3):
        complete_task(env, _open_task(env, iid), actor, {"decision": "again", "round": n})
    at_3 = _api_submit_cost(env, client, headers, iid, 3)
    for n in range(4, 60):
        complete_task(env, _open_task(env, iid), actor, {"decision": "again", "round": n})
    at_60 = _api_submit_cost(env, client, headers, iid, 60)
    assert at_3 == at_60, (at_3, at_60)
    statements, commits = at_60
    kind = "sqlite" if env.db.is_sqlite else "postgresql"
    assert statements <= API_STATEMENTS[kind] and commits == API_COMMITS, at_60
