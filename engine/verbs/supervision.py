"""督办 for every process: a leader or reviewer at or above a unit the case went through opens a
supervision order to the unit that has the case in hand, with its own deadline (default
`supervision_feedback_working_days` working days, a process setting); that unit's staff answer it
once in writing; the on-time rate is read from the orders. Each is one transaction with its
history event and messages."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.access import case_unit_ids
from engine.calendar import is_overdue, to_local_date
from engine.commands import run_tx
from engine.env import Env
from engine.errors import FormInvalid, InvalidState, NotFound, PermissionDenied
from engine.history import append_event
from engine.models import (HumanTask, InstanceStatus, OrgUnit, ProcessInstance, Role, RoleGrant, SupervisionOrder,
                           User)
from engine.notify.centre import post
from engine.ops.logs import logged_command
from engine.orgs import Actor, has_role, user_grants
from engine.stepper import OPEN_STATUSES, lock_case
from engine.verbs.common import require_reason

DEFAULT_WORKING_DAYS = 3
SUPERVISORS = (Role.leader, Role.reviewer)
ANSWERING = (Role.caseworker, Role.reviewer)


def may_supervise(session: Session, user_id: int, instance: ProcessInstance) -> bool:
    """A leader or reviewer at a unit the case went through, or above one."""
    units = [u for r, u in user_grants(session, user_id) if r in SUPERVISORS]
    if not units:
        return False
    case_units = set(case_unit_ids(instance)) | {instance.org_unit_id}
    paths = session.scalars(select(OrgUnit.path).where(OrgUnit.id.in_(case_units))).all()
    return any(f"/{g}/" in path for g in units for path in paths)


def may_answer(session: Session, user_id: int, order: SupervisionOrder) -> bool:
    return any(has_role(session, user_id, r, order.org_unit_id) for r in ANSWERING)


def _unit_in_hand(session: Session, instance: ProcessInstance) -> int:
    """The unit of the case's oldest open task, else the unit it was registered at."""
    unit = session.scalar(select(HumanTask.org_unit_id).where(
        HumanTask.instance_id == instance.id, HumanTask.status.in_(OPEN_STATUSES)).order_by(HumanTask.id).limit(1))
    return int(unit or instance.org_unit_id)


@logged_command
def open_order(env: Env, instance_id: int, actor: Actor, requirement: str, due_on: date | None = None) -> int:
    """Open a 督办单 on a running case; returns its id. Who may is checked before the form."""
    def body(session: Session) -> int:
        case = lock_case(env, session, instance_id)
        i = case.instance
        if not may_supervise(session, actor.id, i):
            raise PermissionDenied(f"user {actor.id} may not supervise case {i.case_no}",
                                   "只有本案上级领导或审核人可以督办")
        if i.status != InstanceStatus.running:
            raise InvalidState(f"case {i.case_no} is {i.status.value}", "案件已结束，不能督办")
        text = require_reason(requirement, "requirement", "请填写督办要求")
        now = env.clock.now()
        today = to_local_date(now)
        if due_on is not None and due_on < today:
            raise FormInvalid({"due_on": "反馈期限不能早于今天"})
        settings = {**case.config.settings, **env.settings.get(case.config.key, {})}
        days = int(settings.get("supervision_feedback_working_days", DEFAULT_WORKING_DAYS))
        last_day = due_on or env.calendar.add_working_days(today, days).due
        unit_id = _unit_in_hand(session, i)
        order = SupervisionOrder(instance_id=i.id, org_unit_id=unit_id, requirement=text,
                                 due_at=env.calendar.deadline_end(last_day), opened_by_id=actor.id, opened_at=now)
        session.add(order)
        session.flush()
        append_event(session, i, at=now, action="supervise", actor_id=actor.id, actor_name=actor.name,
                     org_unit_id=unit_id, opinion=text, data={"order": order.id, "due_on": last_day.isoformat()})
        staff = session.scalars(select(RoleGrant.user_id).join(User, User.id == RoleGrant.user_id).where(
            RoleGrant.org_unit_id == unit_id, RoleGrant.role.in_(ANSWERING), User.active.is_(True)))
        post(session, list(staff), "supervision", f"督办：{i.case_no}，{last_day.month}月{last_day.day}日前书面反馈",
             now, body=text, instance_id=i.id)
        i.updated_at = now
        return order.id
    return run_tx(env, body)  # type: ignore[no-any-return]


@logged_command
def answer_order(env: Env, order_id: int, actor: Actor, feedback: str, instance_id: int | None = None) -> bool:
    """Answer a 督办单 in writing, once; returns whether it was on time. `instance_id`, when given,
    must be the order's case (a page answers only orders of the case it shows)."""
    def body(session: Session) -> bool:
        order = session.get(SupervisionOrder, order_id)
        if order is None or (instance_id is not None and order.instance_id != instance_id):
            raise NotFound(f"supervision order {order_id} does not exist", "督办单不存在")
        case = lock_case(env, session, order.instance_id)
        session.refresh(order)
        if not may_answer(session, actor.id, order):
            raise PermissionDenied(f"user {actor.id} may not answer order {order_id}", "只有被督办单位可以反馈")
        if order.fed_back_at is not None:
            raise InvalidState(f"order {order_id} was answered", "该督办单已反馈")
        text = require_reason(feedback, "feedback", "请填写书面反馈")
        now = env.clock.now()
        order.feedback, order.fed_back_by_id, order.fed_back_at = text, actor.id, now
        order.on_time = not is_overdue(now, order.due_at)
        append_event(session, case.instance, at=now, action="supervise_feedback", actor_id=actor.id,
                     actor_name=actor.name, org_unit_id=order.org_unit_id, opinion=text,
                     data={"order": order.id, "on_time": order.on_time})
        post(session, [order.opened_by_id], "supervision", f"督办反馈：{case.instance.case_no}", now, body=text,
             instance_id=case.instance.id)
        case.instance.updated_at = now
        return bool(order.on_time)
    return run_tx(env, body)  # type: ignore[no-any-return]


@dataclass(frozen=True)
class OnTimeRate:
    on_time: int
    due: int   # orders answered, plus those unanswered past their deadline

    @property
    def rate(self) -> float | None:
        return self.on_time / self.due if self.due else None


def on_time_rate(env: Env, process_key: str | None = None, at: datetime | None = None) -> OnTimeRate:
    """督办按期反馈率 over the orders whose answer is in or overdue."""
    now = at or env.clock.now()
    with env.db.read() as session:
        stmt = select(SupervisionOrder)
        if process_key:
            stmt = stmt.join(ProcessInstance, ProcessInstance.id == SupervisionOrder.instance_id).where(
                ProcessInstance.process_key == process_key)
        orders = list(session.scalars(stmt))
    due = [o for o in orders if o.fed_back_at is not None or is_overdue(now, o.due_at)]
    return OnTimeRate(sum(1 for o in due if o.on_time), len(due))


def case_orders(env: Env, instance_id: int) -> list[SupervisionOrder]:
    with env.db.read() as session:
        return list(session.scalars(select(SupervisionOrder).where(SupervisionOrder.instance_id == instance_id)
                                    .order_by(SupervisionOrder.id)))
