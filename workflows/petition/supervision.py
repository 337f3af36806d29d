"""督办单 (formal supervision, 《信访工作条例》Art.39–40): a written order to the unit that has the
matter in hand, with its own deadline, answered by written feedback — the engine's 督办
(engine.verbs.supervision), one mechanism for every process. The petition gives it:
- the unit: the one responsible for the matter now (`order_unit`, assignment.responsible_unit);
- who may: the leaders above the case (`supervision_roles`) and the petition section that took
  the intake decision (`supervision_section_step`), as 《信访工作条例》 has it;
- its 督办事由 (`supervision_kinds`) and the feedback deadline (`supervision_feedback_working_days`);
- the missed legal deadlines: the boundary timer opens a `supervise_*` task for the section chief,
  whose answers become the 督办单 when the step completes (`overdue_request`).
Whether feedback came in time is read from the orders (indicators.py).
"""
from __future__ import annotations

from collections.abc import Callable
from datetime import date
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.access import case_unit_ids
from engine.env import Env
from engine.errors import InvalidState, NotFound
from engine.models import InstanceStatus, OrgUnit, ProcessInstance, Role
from engine.orgs import Actor, user_grants
from engine.process_api import HookContext
from engine.verbs.supervision import open_order
from workflows.petition.assignment import responsible_unit

KEY = "petition"
DEFAULT_FEEDBACK_WORKING_DAYS = 3
KINDS = ["超期未办结", "久拖未决", "群众反映强烈", "领导批示", "其他"]
OVERDUE_KINDS = {"intake": ("受理超期", "intake_unit_id"), "handling": ("办理超期", "handling_unit_id"),
                 "first_review": ("复查超期", "first_review_unit_id"),
                 "second_review": ("复核超期", "second_review_unit_id")}
SETTINGS = {"supervision_feedback_working_days": DEFAULT_FEEDBACK_WORKING_DAYS,
            "supervision_roles": ["leader"], "supervision_section_step": "intake",
            "supervision_kinds": [*KINDS, *(k for k, _u in OVERDUE_KINDS.values())]}


def order_unit(data: dict[str, Any], ctx: HookContext) -> int:
    """The unit a 督办单 asks for feedback (ProcessConfig.supervision_unit)."""
    return responsible_unit(data)


def overdue_request(clock: str) -> Callable[[dict[str, Any], HookContext], dict[str, Any]]:
    """supervise_<clock> (ProcessConfig.supervision_steps): the section chief's answers become the
    督办单 to the unit whose clock ran out."""
    kind, unit_key = OVERDUE_KINDS[clock]

    def request(data: dict[str, Any], ctx: HookContext) -> dict[str, Any]:
        return {"kind": kind, "unit_id": int(data[unit_key]),
                "requirement": str(data[f"{clock}_supervision_note"])}
    return request


SUPERVISION_STEPS = {f"supervise_{clock}": overdue_request(clock) for clock in OVERDUE_KINDS}


# ----------------------------------------------------------------------------- in-flight cases
# A case started on a petition definition from before the engine's 督办 runs on its own BPMN: its
# supervise_* steps throw `supervision_request` as the message `supervision` to that definition's
# 督办单 sub-process, whose supervision_feedback task goes to `supervision_unit_id`. These keep
# such cases running to their end (the engine's order is opened for them too).

def legacy_request(clock: str) -> Callable[[dict[str, Any], HookContext], dict[str, Any]]:
    """on_complete of supervise_<clock>: the old definition's message payload."""
    kind, unit_key = OVERDUE_KINDS[clock]

    def hook(data: dict[str, Any], ctx: HookContext) -> dict[str, Any]:
        days = int(ctx.settings.get("supervision_feedback_working_days", DEFAULT_FEEDBACK_WORKING_DAYS))
        due = ctx.calendar.add_working_days(ctx.today, days)
        return {"supervision_request": {
            "supervision_kind": kind, "supervision_unit_id": int(data[unit_key]),
            "supervision_requirement": str(data[f"{clock}_supervision_note"]),
            "supervision_measure": str(data.get(f"{clock}_supervision_measure") or ""),
            "supervision_opened_on": ctx.today.isoformat(), "supervision_due_on": due.due.isoformat(),
            "supervision_due_at": ctx.calendar.deadline_end(due.due).isoformat(),
            "supervision_due_at_provisional": due.provisional}}
    return hook


LEGACY_HOOKS = {f"supervise_{clock}": legacy_request(clock) for clock in OVERDUE_KINDS}
LEGACY_ANSWERS = {"supervision_feedback": {"supervision_feedback": "已按督办要求加快办理，预计本周内办结。"}}


def open_supervision(env: Env, instance_id: int, actor: Actor, form: dict[str, Any]) -> int:
    """开具督办单 on a petition from its old form's fields (督办事由, 督办要求, 反馈期限): the engine's
    order (engine.verbs.supervision.open_order); returns its id."""
    with env.db.read() as session:
        instance = session.get(ProcessInstance, instance_id)
        if instance is None or instance.process_key != KEY:
            raise NotFound(f"petition {instance_id} does not exist", "案件不存在")
    due = form.get("supervision_due_on")
    return open_order(env, instance_id, actor, str(form.get("supervision_requirement") or ""),
                      date.fromisoformat(str(due)) if due else None, form.get("supervision_kind"))


def open_petition(session: Session, instance_id: int) -> ProcessInstance:
    instance = session.get(ProcessInstance, instance_id)
    if instance is None or instance.process_key != KEY:
        raise NotFound(f"petition {instance_id} does not exist", "案件不存在")
    if instance.status != InstanceStatus.running:
        raise InvalidState(f"case {instance.case_no} is {instance.status.value}", "案件已结束，不能督办或包案")
    return instance


def leader_over(session: Session, user_id: int, instance: ProcessInstance) -> bool:
    """Whether the user is a leader at a unit the case went through, or above one (领导包案)."""
    leader_units = [u for r, u in user_grants(session, user_id) if r == Role.leader]
    if not leader_units:
        return False
    units = set(case_unit_ids(instance)) | {instance.org_unit_id}
    paths = session.scalars(select(OrgUnit.path).where(OrgUnit.id.in_(units))).all()
    return any(f"/{g}/" in path for g in leader_units for path in paths)
