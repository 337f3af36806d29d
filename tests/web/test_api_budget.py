"""Statement budgets of a submit, counted (not timed) with the engine's `before_cursor_execute`
counter on SQLite and PostgreSQL: the API submit and the HTML form POST at task 3 and task 60 of a
looping case cost the same (nothing grows with the case's history), in 1 commit.

The API submit is issue 12's 8 statements on both databases: the token (one statement, no
transaction: `Database.single_read`), SQLite's BEGIN IMMEDIATE, the case with its task rows (on
PostgreSQL the row lock, then the rows: a read before the lock could be stale), the history
event, the case row (state and chain head in one UPDATE: the step needs no SAVEPOINT,
`engine.faststep`), the completed task, the new task and its messages (one INSERT ... SELECT).
"""
from __future__ import annotations

from sqlalchemy import select

from engine.models import HumanTask, TaskStatus
from engine.runtime import complete_task, start_case
from engine.tokens import create_token
from tests.integration.fidelity_runner import deploy_fixture

API_STATEMENTS = {"sqlite": 8, "postgresql": 8}  # issue 12: at most 8
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


# The HTML form POST: the session's user and the step's form (one statement each, no
# transaction), then the same write as the API: 9 statements (issue 12: at most 10), 1 commit.
# The whole browser step (GET the task page, POST, GET the inbox it redirects to) is not within
# issue 12's 30 yet: the task page reads its case, opinions, attachments and verb panel in
# separate transactions. Pinned as measured so it cannot creep up.
HTML_POST = {"sqlite": 9, "postgresql": 9}
HTML_POST_COMMITS = 1
BROWSER_STEP = {"sqlite": 59, "postgresql": 48}  # issue 12 target: 30 (not met yet)


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
    assert post <= HTML_POST[kind] and commits == HTML_POST_COMMITS and step <= BROWSER_STEP[kind], at_60
