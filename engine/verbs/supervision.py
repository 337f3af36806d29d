"""督办 for every process: a leader or reviewer (the setting `supervision_roles` may narrow this, e.g.
to leaders) at or above a unit the case went through — and, where a process names one with the
setting `supervision_section_step`, the staff of the unit that took that step, e.g. the petition
section — opens a supervision order to the unit that has the case in
hand (`ProcessConfig.supervision_unit`, else the unit of its oldest open task), with its own
deadline (default `supervision_feedback_working_days` working days, a process setting) and, where
the process lists `supervision_kinds`, its 督办事由; a step named in
`ProcessConfig.supervision_steps` (a missed deadline's 超期督办) opens one when it completes, in
that step's transaction. The unit's staff answer it once in writing; the on-time rate is read from
the orders. Each is one transaction with its history event and messages."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

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
from engine.process_api import ProcessConfig
from engine.stepper import OPEN_STATUSES, Case, case_context, lock_case, workflow_data
from engine.verbs.common import require_reason

DEFAULT_WORKING_DAYS = 3
SUPERVISORS = (Role.leader, Role.reviewer)
ANSWERING = (Role.caseworker, Role.reviewer)
KIND_MAX = 32


def settings_of(env: Env, config: ProcessConfig) -> dict[str, Any]:
    return {**config.settings, **env.settings.get(config.key, {})}


def kinds_of(env: Env, config: ProcessConfig) -> list[str]:
    """The process's 督办事由 to choose from (empty: none asked)."""
    return [str(k) for k in settings_of(env, config).get("supervision_kinds", [])]


def may_supervise(session: Session, user_id: int, instance: ProcessInstance,
                  settings: dict[str, Any] | None = None) -> bool:
    """A leader or reviewer (`supervision_roles`) at a unit the case went through, or above one; or
    a caseworker or reviewer of the unit that took the step named in `supervision_section_step`."""
    grants = user_grants(session, user_id)
    section_step = (settings or {}).get("supervision_section_step")
    if section_step and _section_staff(session, grants, instance.id, str(section_step)):
        return True
    roles = {_key(r) for r in (settings or {}).get("supervision_roles", SUPERVISORS)}
    units = [u for r, u in grants if _key(r) in roles]
    if not units:
        return False
    case_units = set(case_unit_ids(instance)) | {instance.org_unit_id}
    paths = session.scalars(select(OrgUnit.path).where(OrgUnit.id.in_(case_units))).all()
    return any(f"/{g}/" in path for g in units for path in paths)


def _key(role: object) -> str:
    return role.value if isinstance(role, Role) else str(role)


def _section_staff(session: Session, grants: list[tuple[str, int]], instance_id: int, step_id: str) -> bool:
    staff_units = {u for r, u in grants if r in ANSWERING}
    if not staff_units:
        return False
    section = session.scalar(select(HumanTask.org_unit_id).where(
        HumanTask.instance_id == instance_id, HumanTask.step_id == step_id).order_by(HumanTask.id).limit(1))
    return section in staff_units


def may_answer(session: Session, user_id: int, order: SupervisionOrder) -> bool:
    return any(has_role(session, user_id, r, order.org_unit_id) for r in ANSWERING)


def _unit_in_hand(session: Session, instance: ProcessInstance) -> int:
    """The unit of the case's oldest open task, else the unit it was registered at."""
    unit = session.scalar(select(HumanTask.org_unit_id).where(
        HumanTask.instance_id == instance.id, HumanTask.status.in_(OPEN_STATUSES)).order_by(HumanTask.id).limit(1))
    return int(unit or instance.org_unit_id)


def _order_unit(env: Env, case: Case) -> int:
    if case.config.supervision_unit is None:
        return _unit_in_hand(case.session, case.instance)
    return int(case.config.supervision_unit(workflow_data(case.workflow), case_context(env, case)))


def _kind(env: Env, config: ProcessConfig, kind: str | None) -> str | None:
    kinds = kinds_of(env, config)
    text = (kind or "").strip() or None
    if kinds and text not in kinds:
        raise FormInvalid({"kind": "请选择督办事由"})
    if text is not None and len(text) > KIND_MAX:
        raise FormInvalid({"kind": f"督办事由不能超过{KIND_MAX}个字"})
    return text


def _open(env: Env, case: Case, actor: Actor, text: str, due_on: date | None, unit_id: int,
          kind: str | None, step_id: str | None) -> SupervisionOrder:
    """Write the order, its `supervise` event and the unit's messages (inside the caller's transaction)."""
    session, i = case.session, case.instance
    now = env.clock.now()
    today = to_local_date(now)
    if due_on is not None and due_on < today:
        raise FormInvalid({"due_on": "反馈期限不能早于今天"})
    days = int(settings_of(env, case.config).get("supervision_feedback_working_days", DEFAULT_WORKING_DAYS))
    last_day = due_on or env.calendar.add_working_days(today, days).due
    order = SupervisionOrder(instance_id=i.id, org_unit_id=unit_id, requirement=text, kind=kind, step_id=step_id,
                             due_at=env.calendar.deadline_end(last_day), opened_by_id=actor.id, opened_at=now)
    session.add(order)
    session.flush()
    append_event(session, i, at=now, action="supervise", actor_id=actor.id, actor_name=actor.name,
                 org_unit_id=unit_id, opinion=text, step_id=step_id,
                 data={"order": order.id, "due_on": last_day.isoformat(), "kind": kind})
    staff = session.scalars(select(RoleGrant.user_id).join(User, User.id == RoleGrant.user_id).where(
        RoleGrant.org_unit_id == unit_id, RoleGrant.role.in_(ANSWERING), User.active.is_(True)))
    what = f"（{kind}）" if kind else ""
    post(session, list(dict.fromkeys(staff)), "supervision",
         f"督办{what}：{i.case_no}，{last_day.month}月{last_day.day}日前书面反馈", now, body=text, instance_id=i.id)
    i.updated_at = now
    return order


@logged_command
def open_order(env: Env, instance_id: int, actor: Actor, requirement: str, due_on: date | None = None,
               kind: str | None = None) -> int:
    """Open a 督办单 on a running case; returns its id. Who may is checked before the form."""
    def body(session: Session) -> int:
        case = lock_case(env, session, instance_id)
        i = case.instance
        if not may_supervise(session, actor.id, i, settings_of(env, case.config)):
            raise PermissionDenied(f"user {actor.id} may not supervise case {i.case_no}",
                                   "只有本案上级领导、审核人或信访科室可以督办")
        if i.status != InstanceStatus.running:
            raise InvalidState(f"case {i.case_no} is {i.status.value}", "案件已结束，不能督办")
        text = require_reason(requirement, "requirement", "请填写督办要求")
        chosen = _kind(env, case.config, kind)
        return _open(env, case, actor, text, due_on, _order_unit(env, case), chosen, None).id
    return run_tx(env, body)  # type: ignore[no-any-return]


def open_step_order(env: Env, case: Case, step_id: str, actor: Actor, data: dict[str, Any]) -> None:
    """After a step named in `ProcessConfig.supervision_steps` completes (inside its transaction):
    the order its hook asks for, opened by whoever completed the step."""
    hook = case.config.supervision_steps.get(step_id)
    if hook is None:
        return
    request = hook(data, case_context(env, case))
    if not request:
        return
    due = request.get("due_on")
    unit = request.get("unit_id")
    _open(env, case, actor, require_reason(str(request.get("requirement") or ""), "requirement", "请填写督办要求"),
          date.fromisoformat(str(due)) if due else None, int(unit) if unit else _order_unit(env, case),
          _kind(env, case.config, request.get("kind")), step_id)


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


def counts(order: SupervisionOrder, now: datetime, closed_at: datetime | None = None) -> tuple[bool, bool]:
    """(due, on time) of one order for 督办按期反馈率: an answered order is due, on time or not; an
    unanswered one is due (late) once its deadline passed while its case was still open."""
    if order.fed_back_at is not None:
        return True, bool(order.on_time)
    cutoff = min(now, closed_at) if closed_at is not None else now
    return is_overdue(cutoff, order.due_at), False


def on_time_rate(env: Env, process_key: str | None = None, at: datetime | None = None) -> OnTimeRate:
    """督办按期反馈率 over the orders whose answer is in or overdue."""
    now = at or env.clock.now()
    with env.db.read() as session:
        stmt = select(SupervisionOrder, ProcessInstance.closed_at).join(
            ProcessInstance, ProcessInstance.id == SupervisionOrder.instance_id)
        if process_key:
            stmt = stmt.where(ProcessInstance.process_key == process_key)
        rows = [counts(o, now, closed) for o, closed in session.execute(stmt).all()]
    return OnTimeRate(sum(1 for due, ok in rows if due and ok), sum(1 for due, _ok in rows if due))


def case_orders(env: Env, instance_id: int) -> list[SupervisionOrder]:
    with env.db.read() as session:
        return list(session.scalars(select(SupervisionOrder).where(SupervisionOrder.instance_id == instance_id)
                                    .order_by(SupervisionOrder.id)))
