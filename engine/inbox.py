"""Task lists read from the human_task mirror only: no workflow is ever deserialized here."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import and_, func, or_, select
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import ColumnElement

from engine.absence import acting_grants
from engine.env import Env
from engine.errors import NotFound
from engine.forms import load_form
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


def _actionable(user_id: int, grants: list[tuple[str, int]]) -> ColumnElement[bool]:
    pool = [and_(HumanTask.role == role, HumanTask.org_unit_id == unit)
            for role, unit in grants if role in ACTING_ROLES]
    mine = and_(HumanTask.status == TaskStatus.claimed, HumanTask.assignee_id == user_id)
    if not pool:
        return mine
    return or_(mine, and_(HumanTask.status == TaskStatus.open, or_(*pool)))


def _apply_filter(stmt: Any, f: TaskFilter) -> Any:
    if f.process_key:
        stmt = stmt.where(HumanTask.process_key == f.process_key)
    if f.due_before:
        stmt = stmt.where(HumanTask.due_at <= f.due_before)
    if f.overdue_at:
        stmt = stmt.where(HumanTask.due_at <= f.overdue_at)  # engine.calendar.is_overdue, in SQL
    if f.search:
        term = f.search.strip()
        sub = select(ProcessInstance.id).where(or_(
            ProcessInstance.case_no == term, ProcessInstance.subject_name == term,
            ProcessInstance.subject_id_no == term.upper()))
        stmt = stmt.where(or_(HumanTask.case_no == term, HumanTask.instance_id.in_(sub)))
    return stmt


def inbox(env: Env, user_id: int, f: TaskFilter = TaskFilter(), page: int = 1,
          per_page: int = 20) -> Page[HumanTask]:
    """待办: tasks claimed by me, plus open tasks for a role I hold at the task's unit, or that
    someone I stand in for (代理, in force now) holds there."""
    with env.db.read() as session:
        grants = acting_grants(session, user_id, env.clock.now())
        cond = _actionable(user_id, grants)
        base = _apply_filter(select(HumanTask).where(cond), f)
        total = session.scalar(select(func.count()).select_from(base.subquery())) or 0
        rows = session.scalars(base.order_by(HumanTask.due_at.is_(None), HumanTask.due_at,
                                             HumanTask.id)
                               .limit(per_page).offset((page - 1) * per_page)).all()
        return Page(list(rows), total, page, per_page)


def done_list(env: Env, user_id: int, f: TaskFilter = TaskFilter(), page: int = 1,
              per_page: int = 20) -> Page[HumanTask]:
    """已办: tasks I completed, newest first."""
    with env.db.read() as session:
        base = _apply_filter(select(HumanTask).where(HumanTask.completed_by_id == user_id,
                                                     HumanTask.status == TaskStatus.completed), f)
        total = session.scalar(select(func.count()).select_from(base.subquery())) or 0
        rows = session.scalars(base.order_by(HumanTask.completed_at.desc())
                               .limit(per_page).offset((page - 1) * per_page)).all()
        return Page(list(rows), total, page, per_page)


def inbox_count(env: Env, user_id: int) -> int:
    with env.db.read() as session:
        return session.scalar(inbox_count_query(env, session, user_id)) or 0


def inbox_count_query(env: Env, session: Session, user_id: int) -> Any:
    """The 待办 count as a statement (reads the user's acting grants first), so a page can read
    it together with its other counts."""
    cond = _actionable(user_id, acting_grants(session, user_id, env.clock.now()))
    return select(func.count()).select_from(HumanTask).where(cond)


@dataclass(frozen=True)
class StepForm:
    """What a submit needs before the write: the task's case number, step name and form schema."""
    case_no: str
    step_name: str
    schema: dict[str, Any] | None


def step_form(env: Env, task_id: int) -> StepForm:
    """The form of a task's step, from its row alone (the write checks who may act; a refused
    submit rebuilds the page, which checks who may see it)."""
    with env.db.single_read() as conn:
        row = conn.execute(select(HumanTask.case_no, HumanTask.step_name, HumanTask.step_id,
                                     HumanTask.process_key).where(HumanTask.id == task_id)).first()
    if row is None:
        raise NotFound(f"task {task_id} does not exist", "任务不存在")
    return StepForm(row.case_no, row.step_name, load_form(env.process(row.process_key).forms_dir, row.step_id))
