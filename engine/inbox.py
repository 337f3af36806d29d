"""Task lists read from the human_task mirror only: no workflow is ever deserialized here."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from typing import Any

from sqlalchemy import Integer, Select, bindparam, func, or_, select, union_all
from sqlalchemy.orm import Session

from engine.absence import acting_grants
from engine.env import Env
from engine.errors import NotFound
from engine.forms import load_form
from engine.lapses import deployed_window_steps, overdue
from engine.models import HumanTask, ProcessInstance, Role, TaskStatus
from engine.orgs import RolesBut
from engine.paging import Page

# Roles that act on tasks: caseworker, reviewer, leader and every role an admin added to the
# catalogue (auditors and admins only read).
ACTING_ROLES = RolesBut(Role.auditor, Role.admin)


@dataclass(frozen=True)
class TaskFilter:
    process_key: str | None = None
    due_before: datetime | None = None
    overdue_at: datetime | None = None  # only tasks already overdue at this instant
    search: str | None = None  # case number, petitioner name or ID number


# The inbox's totals (its pages and the 待办 badge) are exact up to here and "超过1000" / "1000+"
# above: a bounded read, where an exact count of a user's 100,000 open tasks reads them all (issue 12).
COUNT_CAP = 1000


def _pool(grants: list[tuple[str, int]]) -> list[tuple[str, int]]:
    """The (role, unit) grants of acting roles, once each, in order."""
    return sorted({(role, unit) for role, unit in grants if role in ACTING_ROLES})


def _arms(user_id: Any, pool: list[tuple[Any, Any]], *cols: Any) -> list[Select[Any]]:
    """The inbox as disjoint parts, each one range of an index: one per (role, unit) of `pool`
    (open tasks, ix_task_inbox_due, ordered by due date), plus the tasks claimed by me
    (ix_task_assignee). Disjoint (a task has one status, role and unit), so their UNION ALL
    holds each task once: claimed by me, or open for a role I act in at its unit. The user and
    the pool are values, or bound parameters in a statement built once (`_unfiltered`)."""
    arms = [select(*cols).where(HumanTask.status == TaskStatus.open, HumanTask.org_unit_id == unit,
                                HumanTask.role == role) for role, unit in pool]
    arms.append(select(*cols).where(HumanTask.status == TaskStatus.claimed, HumanTask.assignee_id == user_id))
    return arms


def _union(arms: list[Select[Any]]) -> Any:
    """One subquery of the arms (each kept as a subquery: SQLite takes no ORDER BY / LIMIT on a
    member of a compound select)."""
    wrapped = [select(arm.subquery()) for arm in arms]
    return (wrapped[0] if len(wrapped) == 1 else union_all(*wrapped)).subquery()


def _by_due(due: Any, ident: Any) -> tuple[Any, Any]:
    """Due date first, tasks without one last, then id (the order of the index on PostgreSQL)."""
    return due.asc().nulls_last(), ident.asc()


def _apply_filter(stmt: Any, f: TaskFilter, windows: dict[str, list[str]] | None = None) -> Any:
    """`windows`: the option-window steps (engine.lapses), which the overdue filter leaves out."""
    if f.process_key:
        stmt = stmt.where(HumanTask.process_key == f.process_key)
    if f.due_before:
        stmt = stmt.where(HumanTask.due_at <= f.due_before)
    if f.overdue_at:
        stmt = stmt.where(overdue(windows or {}, f.overdue_at))
    if f.search:
        term = f.search.strip()
        sub = select(ProcessInstance.id).where(or_(
            ProcessInstance.case_no == term, ProcessInstance.subject_name == term,
            ProcessInstance.subject_id_no == term.upper()))
        stmt = stmt.where(or_(HumanTask.case_no == term, HumanTask.instance_id.in_(sub)))
    return stmt


def _count_upto(arms: list[Select[Any]], over: Any) -> Select[Any]:
    """count(*) of the arms' rows, reading no more than `over` of them: at `over` it only says
    "more" (`over` a number or a bound parameter)."""
    cut = [arm.limit(over) for arm in arms]
    return select(func.count()).select_from(select(_union(cut)).limit(over).subquery())


def _statements(user_id: Any, pool: list[tuple[Any, Any]], f: TaskFilter, windows: dict[str, list[str]] | None,
                over: Any, end: Any, per_page: Any, offset: Any) -> tuple[Select[Any], Select[Any]]:
    """The inbox's count (up to `over`) and its page of rows: each arm read up to the page's
    `end` in due order, their union ordered again, the page cut from it."""
    count = _count_upto([_apply_filter(a, f, windows) for a in _arms(user_id, pool, HumanTask.id)], over)
    arms = [_apply_filter(a, f, windows).order_by(*_by_due(HumanTask.due_at, HumanTask.id)).limit(end)
            for a in _arms(user_id, pool, HumanTask.id, HumanTask.due_at)]
    top = _union(arms)
    rows = (select(HumanTask).join(top, HumanTask.id == top.c.id).order_by(*_by_due(top.c.due_at, top.c.id))
            .limit(per_page).offset(offset))
    return count, rows


@lru_cache(maxsize=64)
def _unfiltered(grants: int) -> tuple[Select[Any], Select[Any]]:
    """The unfiltered inbox (every page's list and the API's) of a user with this many acting
    grants, built once: its construction cost more than its run. Bound: `user_id`, `role0`,
    `unit0`, … , `over`, `end`, `per_page`, `offset`."""
    pool = [(bindparam(f"role{i}"), bindparam(f"unit{i}")) for i in range(grants)]
    numbers = [bindparam(name, type_=Integer) for name in ("over", "end", "per_page", "offset")]
    return _statements(bindparam("user_id"), pool, TaskFilter(), None, *numbers)


def _bound(user_id: int, pool: list[tuple[str, int]], **numbers: int) -> dict[str, Any]:
    """The values of `_unfiltered`'s parameters for this user and their pool."""
    params: dict[str, Any] = {"user_id": user_id, **numbers}
    for i, (role, unit) in enumerate(pool):
        params[f"role{i}"], params[f"unit{i}"] = role, unit
    return params


def inbox(env: Env, user_id: int, f: TaskFilter = TaskFilter(), page: int = 1,
          per_page: int = 20) -> Page[HumanTask]:
    """待办: tasks claimed by me, plus open tasks for a role I hold at the task's unit, or that
    someone I stand in for (代理, in force now) holds there. Each arm of `_arms` reads at most
    the rows up to this page's end from its index; the total is capped at COUNT_CAP (or this
    page's end, whichever is further), `Page.capped` saying so."""
    with env.db.read() as session:
        pool = _pool(acting_grants(session, user_id, env.clock.now()))
        offset = (page - 1) * per_page
        end = offset + per_page
        limit = max(COUNT_CAP, end)  # the pager can always offer the next page
        if f == TaskFilter():
            count, rows = _unfiltered(len(pool))
            params = _bound(user_id, pool, over=limit + 1, end=end, per_page=per_page, offset=offset)
        else:
            windows = deployed_window_steps(env, session) if f.overdue_at else None
            count, rows = _statements(user_id, pool, f, windows, limit + 1, end, per_page, offset)
            params = {}
        n = session.scalar(count, params) or 0
        return Page(list(session.scalars(rows, params).all()), min(n, limit), page, per_page, capped=n > limit)


def done_list(env: Env, user_id: int, f: TaskFilter = TaskFilter(), page: int = 1,
              per_page: int = 20) -> Page[HumanTask]:
    """已办: tasks I completed, newest first."""
    with env.db.read() as session:
        windows = deployed_window_steps(env, session) if f.overdue_at else None
        base = _apply_filter(select(HumanTask).where(HumanTask.completed_by_id == user_id,
                                                     HumanTask.status == TaskStatus.completed), f, windows)
        total = session.scalar(select(func.count()).select_from(base.subquery())) or 0
        rows = session.scalars(base.order_by(HumanTask.completed_at.desc())
                               .limit(per_page).offset((page - 1) * per_page)).all()
        return Page(list(rows), total, page, per_page)


def inbox_count(env: Env, user_id: int) -> int:
    """The 待办 badge: exact up to COUNT_CAP, COUNT_CAP + 1 for "more" (shown "1000+")."""
    with env.db.read() as session:
        count, params = inbox_count_query(env, session, user_id)
        return session.scalar(count, params) or 0


def inbox_count_query(env: Env, session: Session, user_id: int) -> tuple[Any, dict[str, Any]]:
    """The 待办 count as a statement and its parameters (reads the user's acting grants first),
    so a page can read it together with its other counts: exact up to COUNT_CAP, COUNT_CAP + 1
    for "more". The statement is the unfiltered inbox's count, built once per number of grants."""
    pool = _pool(acting_grants(session, user_id, env.clock.now()))
    return _unfiltered(len(pool))[0], _bound(user_id, pool, over=COUNT_CAP + 1)


@dataclass(frozen=True)
class StepForm:
    """What a submit needs before the write: the task's case number, step name and form schema."""
    case_no: str
    step_name: str
    schema: dict[str, Any] | None


_STEP_FORM = select(HumanTask.case_no, HumanTask.step_name, HumanTask.step_id, HumanTask.process_key).where(
    HumanTask.id == bindparam("task_id"))  # built once: every HTML submit reads it


def step_form(env: Env, task_id: int) -> StepForm:
    """The form of a task's step, from its row alone (the write checks who may act; a refused
    submit rebuilds the page, which checks who may see it)."""
    with env.db.single_read() as conn:
        row = conn.execute(_STEP_FORM, {"task_id": task_id}).first()
    if row is None:
        raise NotFound(f"task {task_id} does not exist", "任务不存在")
    return StepForm(row.case_no, row.step_name, load_form(env.process(row.process_key).forms_dir, row.step_id))
