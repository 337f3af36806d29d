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


# The HTML form POST (sign-in loader, the task's form, the write) and the whole browser step
# (GET the task page, POST, GET the inbox it redirects to). Issue 12 targets: 10 and 30, not met:
# the POST is the loader (1 statement), the step's form (1) and the write transaction (11), plus
# SQLite's BEGINs; the GET of the task page rebuilds the whole page. Pinned as measured.
HTML_POST = {"sqlite": 16, "postgresql": 13}
HTML_POST_COMMITS = 3  # the two reads end with a (read-only) commit, then the write's one
BROWSER_STEP = {"sqlite": 78, "postgresql": 59}


def _html_costs(env, client, iid: int, n: int) -> tuple[tuple[int, int], int]:
    task_id = _open_task(env, iid)
    env.db.counter.reset()
    page = client.get(f"/tasks/{task_id}")
    assert page.status_code == 200
    before_post, commits_before = env.db.counter.statements, env.db.counter.commits
    r = client.post(f"/tasks/{task_id}", data={"decision": "again", "round": str(n)})
    assert r.status_code == 302, r.text[:500]
    post = (env.db.counter.statements - before_post, env.db.counter.commits - commits_before)
    assert client.get(r.location).status_code == 200
    return post, env.db.counter.statements


def test_html_submit_budget_does_not_grow_with_history(env, client, org):
    deploy_fixture(env, KEY)
    actor = org.actor("t1_cw")
    iid = start_case(env, KEY, actor, org.units["t1"], {}).instance_id
    assert client.post("/login", data={"username": "t1_cw", "password": "secret-pass"}).status_code == 302
    for n in range(1, 3):
        complete_task(env, _open_task(env, iid), actor, {"decision": "again", "round": n})
    at_3 = _html_costs(env, client, iid, 3)
    for n in range(4, 60):
        complete_task(env, _open_task(env, iid), actor, {"decision": "again", "round": n})
    at_60 = _html_costs(env, client, iid, 60)
    assert at_3 == at_60, (at_3, at_60)
    kind = "sqlite" if env.db.is_sqlite else "postgresql"
    (post, commits), step = at_60
    assert post <= HTML_POST[kind] and commits <= HTML_POST_COMMITS and step <= BROWSER_STEP[kind], at_60
