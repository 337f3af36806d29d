"""Everything the task page shows, read in one transaction: the task with its case facts and
earlier opinions (engine.casefile), the verbs the user may use on it (engine.verbs.panel), their
暂存 draft and the header's list counts. The signed-in user's grants come from the caller (the
session user read them this request), so the access checks ask nothing more of the database.
The statements do not grow with the case's history (tests/web/test_api_budget.py)."""
from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from engine.casefile import TaskPage, head_page, visible_head
from engine.drafts import Draft, draft_in
from engine.env import Env
from engine.orgs import know_grants
from engine.queries import ListCounts, list_counts_in
from engine.verbs.panel import VerbPanel, panel_in


@dataclass(frozen=True)
class TaskScreen:
    page: TaskPage
    verbs: VerbPanel
    draft: Draft | None  # the user's own 暂存 of this task, if any
    counts: ListCounts   # the header's numbers (待办, unread messages, ...)


def task_screen(env: Env, user_id: int, task_id: int, grants: Iterable[tuple[str, int]]) -> TaskScreen:
    """The task page of `task_id` for the user holding `grants` (their own (role, unit) pairs, as
    read this request); NotFound when they may not see the task."""
    with env.db.read() as session:
        know_grants(session, user_id, grants)
        head = visible_head(env, session, user_id, task_id)  # held: its unit serves the verbs too
        return TaskScreen(head_page(env, session, user_id, head),
                          panel_in(env, session, user_id, head.row, head.instance),
                          draft_in(session, user_id, head.row), list_counts_in(env, session, user_id))
