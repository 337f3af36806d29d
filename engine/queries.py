"""Read models for the lists and pickers: case lists, tab counts, due dates, legal clocks.

Reads only (one read session each); nothing here deserializes a workflow. One case's page and
its task pages are read by engine/casefile.py.
"""
from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from functools import lru_cache
from typing import Any

from sqlalchemy import Integer, and_, bindparam, func, or_, select
from sqlalchemy.orm import Session, defer
from sqlalchemy.sql.elements import ColumnElement

from engine.calendar import is_overdue, to_local_date
from engine.env import Env
from engine.inbox import inbox_count_query
from engine.paging import Page
from engine.models import (AppMessage, CaseCopy, HumanTask, InstanceStatus, OrgUnit, ProcessDefinition,
                           ProcessInstance, Role, RoleGrant, TaskStatus, User)
from engine.orgs import tree_order
from engine.stepper import OPEN_STATUSES

STATUS_LABELS = {InstanceStatus.running: "办理中", InstanceStatus.suspended: "已挂起",
                 InstanceStatus.error: "运行出错", InstanceStatus.completed: "已办结",
                 InstanceStatus.cancelled: "已撤销", InstanceStatus.terminated: "已终止"}
TASK_STATUS_LABELS = {TaskStatus.open: "待认领", TaskStatus.claimed: "已认领",
                      TaskStatus.completed: "已完成", TaskStatus.cancelled: "已取消"}


# ----------------------------------------------------------------------------- due dates

@dataclass(frozen=True)
class Due:
    """A deadline as users read it: the last day, days left, and a colour state."""
    due_at: datetime
    day: date          # the deadline day (due_at is the instant after it ends)
    days_left: int     # 0 = due today, negative = overdue by that many days
    state: str         # "ok" | "soon" | "overdue"
    provisional: bool


def due_info(due_at: datetime | None, now: datetime, soon_days: int,
             provisional: bool = False) -> Due | None:
    if due_at is None:
        return None
    day = to_local_date(due_at - timedelta(microseconds=1))
    days_left = (day - to_local_date(now)).days
    state = "overdue" if is_overdue(now, due_at) else ("soon" if days_left <= soon_days else "ok")
    return Due(due_at, day, days_left, state, provisional)


# ----------------------------------------------------------------------------- case lists

@dataclass(frozen=True)
class CaseFilter:
    process_key: str | None = None
    status: InstanceStatus | None = None
    due_before: datetime | None = None   # has an open task due by then
    search: str | None = None            # case number, petitioner name or ID number


@dataclass(frozen=True)
class CaseRow:
    instance: ProcessInstance
    current_steps: list[str]
    due_at: datetime | None
    due_provisional: bool
    copy: CaseCopy | None = None
    copied_by: str | None = None
    due_step_id: str | None = None  # the step of the earliest due, for a window's neutral label


def _case_filter(stmt: Any, f: CaseFilter) -> Any:
    if f.process_key:
        stmt = stmt.where(ProcessInstance.process_key == f.process_key)
    if f.status:
        stmt = stmt.where(ProcessInstance.status == f.status)
    if f.due_before:
        due = select(HumanTask.instance_id).where(HumanTask.status.in_(OPEN_STATUSES),
                                                  HumanTask.due_at <= f.due_before)
        stmt = stmt.where(ProcessInstance.id.in_(due))
    if f.search and f.search.strip():
        term = f.search.strip()
        stmt = stmt.where(or_(ProcessInstance.case_no == term, ProcessInstance.subject_name == term,
                              ProcessInstance.subject_id_no == term.upper()))
    return stmt


def _open_tasks_by_case(session: Session, ids: list[int]) -> dict[int, list[HumanTask]]:
    out: dict[int, list[HumanTask]] = defaultdict(list)
    if ids:
        for row in session.scalars(select(HumanTask).where(
                HumanTask.instance_id.in_(ids), HumanTask.status.in_(OPEN_STATUSES))
                .order_by(HumanTask.id)):
            out[row.instance_id].append(row)
    return out


def _case_row(instance: ProcessInstance, rows: list[HumanTask], **extra: Any) -> CaseRow:
    dues = sorted((r for r in rows if r.due_at is not None), key=lambda r: r.due_at)  # type: ignore[arg-type,return-value]
    first = dues[0] if dues else None
    return CaseRow(instance, [r.step_name for r in rows], first.due_at if first else None,
                   bool(first and first.due_provisional), due_step_id=first.step_id if first else None,
                   **extra)


def started_cases(env: Env, user_id: int, f: CaseFilter = CaseFilter(), page: int = 1,
                  per_page: int = 20) -> Page[CaseRow]:
    """我发起的: cases this user started, newest first."""
    with env.db.read() as session:
        base = _case_filter(select(ProcessInstance).where(ProcessInstance.initiator_id == user_id), f)
        total = session.scalar(select(func.count()).select_from(base.subquery())) or 0
        cases = session.scalars(base.options(defer(ProcessInstance.state))
                                .order_by(ProcessInstance.created_at.desc(), ProcessInstance.id.desc())
                                .limit(per_page).offset((page - 1) * per_page)).all()
        tasks = _open_tasks_by_case(session, [c.id for c in cases])
        return Page([_case_row(c, tasks[c.id]) for c in cases], total, page, per_page)


def copied_cases(env: Env, user_id: int, f: CaseFilter = CaseFilter(), page: int = 1,
                 per_page: int = 20) -> Page[CaseRow]:
    """抄送我的: cases copied to this user, newest copy first, with read marks."""
    with env.db.read() as session:
        base = _case_filter(select(ProcessInstance, CaseCopy, User.full_name)
                            .join(CaseCopy, CaseCopy.instance_id == ProcessInstance.id)
                            .join(User, User.id == CaseCopy.by_id)
                            .where(CaseCopy.user_id == user_id), f)
        total = session.scalar(select(func.count()).select_from(base.subquery())) or 0
        rows = session.execute(base.options(defer(ProcessInstance.state))
                               .order_by(CaseCopy.at.desc(), CaseCopy.id.desc())
                               .limit(per_page).offset((page - 1) * per_page)).all()
        tasks = _open_tasks_by_case(session, [r[0].id for r in rows])
        items = [_case_row(c, tasks[c.id], copy=cc, copied_by=by) for c, cc, by in rows]
        return Page(items, total, page, per_page)


@dataclass(frozen=True)
class ListCounts:
    todo: int
    done: int
    started: int
    copied: int
    copied_unread: int
    unread_messages: int = 0  # 站内消息 not yet read (the header's bell)


def list_counts(env: Env, user_id: int, todo: int | None = None) -> ListCounts:
    """The numbers on the four tabs of the home page and the header's unread messages. `todo`:
    the 待办 count when the caller has just read it (the inbox's own total): the rest is then one
    statement, without a transaction."""
    if todo is not None:
        with env.db.single_read() as conn:
            row = conn.execute(_COUNTS_BUT_TODO, {"todo": todo, "user_id": user_id}).one()
        return ListCounts(*(int(n or 0) for n in row))
    with env.db.read() as session:
        return list_counts_in(env, session, user_id)


def list_counts_in(env: Env, session: Session, user_id: int) -> ListCounts:
    """list_counts in the caller's read session: the user's acting grants, then the six counts
    in one statement."""
    inbox, params = inbox_count_query(env, session, user_id)
    row = session.execute(_counts(inbox), params).one()
    return ListCounts(*(int(n or 0) for n in row))


def _other_counts() -> list[Any]:
    """已办, 已发起, 抄送 (all, unread) and unread messages of `user_id` (bound)."""
    user_id = bindparam("user_id")
    return [select(func.count()).select_from(HumanTask).where(
                HumanTask.completed_by_id == user_id, HumanTask.status == TaskStatus.completed).scalar_subquery(),
            select(func.count()).select_from(ProcessInstance)
            .where(ProcessInstance.initiator_id == user_id).scalar_subquery(),
            select(func.count()).select_from(CaseCopy).where(CaseCopy.user_id == user_id).scalar_subquery(),
            select(func.count()).select_from(CaseCopy).where(
                CaseCopy.user_id == user_id, CaseCopy.read_at.is_(None)).scalar_subquery(),
            select(func.count()).select_from(AppMessage).where(
                AppMessage.user_id == user_id, AppMessage.read_at.is_(None)).scalar_subquery()]


# Built once (every page reads them): with the 待办 count just read, or with its own statement
# (engine.inbox's, one per number of grants).
_COUNTS_BUT_TODO = select(bindparam("todo", type_=Integer), *_other_counts())


@lru_cache(maxsize=64)
def _counts(inbox: Any) -> Any:
    return select(inbox.scalar_subquery(), *_other_counts())


def actionable(user_id: int, grants: list[tuple[str, int]],
               roles: frozenset[Role] = frozenset({Role.caseworker, Role.reviewer, Role.leader})
               ) -> ColumnElement[bool]:
    """Tasks the user may act on: claimed by them, or open for a role they hold at its unit."""
    pool = [and_(HumanTask.role == r, HumanTask.org_unit_id == u) for r, u in grants if r in roles]
    mine = and_(HumanTask.status == TaskStatus.claimed, HumanTask.assignee_id == user_id,
                HumanTask.role.in_(roles))
    return or_(mine, and_(HumanTask.status == TaskStatus.open, or_(*pool))) if pool else mine


# ----------------------------------------------------------------------------- legal clocks

@dataclass(frozen=True)
class LegalClock:
    step_id: str
    step_name: str
    due: Due
    state: str          # "running" | "overdue" | "met" | "missed" | "stopped" | "lapsed"
    finished_at: datetime | None
    lapse_label: str | None = None  # the neutral label of a window that closed unused


CLOCK_LABELS = {"running": "计时中", "overdue": "已超期", "met": "按期完成", "missed": "超期完成",
                "stopped": "已停止", "lapsed": "期满"}


def legal_clocks(rows: list[HumanTask], now: datetime, soon_days: int,
                 lapse_labels: dict[str, str] | None = None) -> list[LegalClock]:
    """One clock per (step, deadline) of the case's task rows: running, met or missed; an
    option window (`lapse_labels`, ProcessConfig) that ended unused is "lapsed", whether its
    timer has closed it or its task stays open for a late request."""
    latest: dict[tuple[str, datetime], HumanTask] = {}
    for row in sorted(rows, key=lambda r: r.id):
        if row.due_at is not None:
            latest[(row.step_id, row.due_at)] = row
    clocks = []
    for row in latest.values():
        due = due_info(row.due_at, now, soon_days, row.due_provisional)
        assert due is not None
        state = _clock_state(row, now)
        label = (lapse_labels or {}).get(row.step_id)
        if label and ((state == "missed" and row.status == TaskStatus.cancelled)
                      or (state == "overdue" and row.status in OPEN_STATUSES)):
            # a citizen's window that ended unused: neutral, not the organ's failure; while its
            # task is still open (the `late_request_days` grace) a late request may be registered
            state = "lapsed"
        clocks.append(LegalClock(row.step_id, row.step_name, due, state, row.completed_at,
                                 label if state == "lapsed" else None))
    return sorted(clocks, key=lambda c: c.due.due_at)


def _clock_state(row: HumanTask, now: datetime) -> str:
    assert row.due_at is not None
    if row.status in OPEN_STATUSES:
        return "overdue" if is_overdue(now, row.due_at) else "running"
    finished = row.completed_at or now
    if row.status == TaskStatus.completed:
        return "missed" if is_overdue(finished, row.due_at) else "met"
    return "missed" if is_overdue(finished, row.due_at) else "stopped"


# ----------------------------------------------------------------------------- pickers

def unit_choices(env: Env, levels: list[str] | None = None) -> list[tuple[int, str, int]]:
    """(id, name, depth) of the active org units in tree order, for the "unit" form widget."""
    with env.db.read() as session:
        stmt = select(OrgUnit).where(OrgUnit.active.is_(True))
        if levels:
            stmt = stmt.where(OrgUnit.level.in_(levels))
        return tree_order(session.scalars(stmt).all())


def user_choices(env: Env, exclude_id: int | None = None) -> list[tuple[int, str, str]]:
    """(id, full name, first unit name) of active users, for the 抄送 picker."""
    with env.db.read() as session:
        rows = session.execute(select(User.id, User.full_name, func.min(OrgUnit.name))
                               .outerjoin(RoleGrant, RoleGrant.user_id == User.id)
                               .outerjoin(OrgUnit, OrgUnit.id == RoleGrant.org_unit_id)
                               .where(User.active.is_(True))
                               .group_by(User.id, User.full_name).order_by(User.id)).all()
        return [(r[0], r[1], r[2] or "") for r in rows if r[0] != exclude_id]


def process_name(env: Env, key: str) -> str:
    try:
        return env.process(key).name
    except KeyError:
        return key


def deployed_processes(env: Env) -> list[tuple[str, str]]:
    """(key, name) of every deployed process, for list filters."""
    with env.db.single_read() as conn:  # one statement: no transaction
        keys = sorted(set(conn.scalars(select(ProcessDefinition.key).distinct())))
    return [(k, process_name(env, k)) for k in keys]
