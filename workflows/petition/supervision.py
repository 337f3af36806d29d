"""督办单 (formal supervision, 《信访工作条例》Art.39–40): a written order to the unit that has the
matter in hand, with its own deadline, answered by written feedback.

One mechanism, two ways in, both ending in the BPMN message `supervision` caught by the event
sub-process "督办单", whose task `supervision_feedback` goes to the named unit's caseworkers with
the 督办单's deadline as its due date:
- a missed legal deadline: the boundary timer opens a `supervise_*` task for the section chief of
  the responsible unit, whose answers become the 督办单 (hook `overdue_order`), thrown by the BPMN;
- at any time on an open case: a leader above the case, or the petition section's staff, opens
  one (`open_supervision`), delivered as the same message.
The feedback deadline defaults to `supervision_feedback_working_days` working days (setting).
Whether feedback came in time is read from the task rows (indicators.py).
"""
from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.access import case_unit_ids
from engine.calendar import BusinessCalendar, Deadline, is_overdue, to_local_date
from engine.env import Env
from engine.errors import FormInvalid, InvalidState, NotFound, PermissionDenied
from engine.forms import load_form, validate_form
from engine.models import InstanceStatus, OrgUnit, ProcessInstance, Role
from engine.orgs import Actor, user_grants
from engine.process_api import HookContext
from engine.runtime import StepResult, case_data, deliver_message
from workflows.petition.assignment import responsible_unit

KEY = "petition"
MESSAGE = "supervision"
DEFAULT_FEEDBACK_WORKING_DAYS = 3
OVERDUE_KINDS = {"intake": ("受理超期", "intake_unit_id"), "handling": ("办理超期", "handling_unit_id"),
                 "first_review": ("复查超期", "first_review_unit_id"),
                 "second_review": ("复核超期", "second_review_unit_id")}


def order(kind: str, unit_id: int, requirement: str, measure: str, today: date,
          calendar: BusinessCalendar, settings: dict[str, Any], due_on: date | None = None) -> dict[str, Any]:
    """The 督办单 (the message payload): whom it asks, what, and by when."""
    if due_on is not None and due_on < today:
        raise FormInvalid({"supervision_due_on": "反馈期限不能早于今天"})
    days = int(settings.get("supervision_feedback_working_days", DEFAULT_FEEDBACK_WORKING_DAYS))
    due = Deadline(due_on, False) if due_on else calendar.add_working_days(today, days)
    return {"supervision_kind": kind, "supervision_unit_id": unit_id,
            "supervision_requirement": requirement, "supervision_measure": measure,
            "supervision_opened_on": today.isoformat(), "supervision_due_on": due.due.isoformat(),
            "supervision_due_at": calendar.deadline_end(due.due).isoformat(),
            "supervision_due_at_provisional": due.provisional}


def overdue_order(clock: str) -> Callable[[dict[str, Any], HookContext], dict[str, Any]]:
    """Hook of supervise_<clock>: the section chief's answers become the 督办单 to throw."""
    kind, unit_key = OVERDUE_KINDS[clock]

    def hook(data: dict[str, Any], ctx: HookContext) -> dict[str, Any]:
        request = order(kind, int(data[unit_key]), str(data[f"{clock}_supervision_note"]),
                        str(data[f"{clock}_supervision_measure"]), ctx.today, ctx.calendar,
                        ctx.settings)
        return {"supervision_request": request}
    return hook


def feedback(data: dict[str, Any], ctx: HookContext) -> dict[str, Any]:
    """Hook of supervision_feedback: when the written feedback came, and whether in time."""
    due = data.get("supervision_due_at")
    on_time = due is not None and not is_overdue(ctx.now, datetime.fromisoformat(str(due)))
    return {"supervision_fed_back_on": ctx.today.isoformat(), "supervision_on_time": on_time}


def open_supervision(env: Env, instance_id: int, actor: Actor, form: dict[str, Any]) -> StepResult:
    """A leader above the case or the petition section opens a 督办单 on an open petition.
    Who may is checked before the form, so a refusal never depends on what was typed."""
    with env.db.read() as session:
        open_petition(session, instance_id)
    data = case_data(env, instance_id)
    with env.db.read() as session:
        instance = open_petition(session, instance_id)
        if not may_supervise(session, actor.id, instance, int(data["intake_unit_id"])):
            raise PermissionDenied(f"user {actor.id} may not supervise case {instance.case_no}",
                                   "只有本案上级领导或信访科室可以开具督办单")
    schema = load_form(env.process(KEY).forms_dir, "open_supervision")
    if schema is not None:
        validate_form(schema, form)
    today = to_local_date(env.clock.now())
    due_on = date.fromisoformat(form["supervision_due_on"]) if form.get("supervision_due_on") else None
    settings = {**env.process(KEY).settings, **env.settings.get(KEY, {})}
    payload = order(str(form["supervision_kind"]), responsible_unit(data),
                    str(form["supervision_requirement"]), "书面督办", today, env.calendar, settings,
                    due_on)
    return deliver_message(env, instance_id, MESSAGE, payload, actor, step_name="开具督办单")


def open_petition(session: Session, instance_id: int) -> ProcessInstance:
    instance = session.get(ProcessInstance, instance_id)
    if instance is None or instance.process_key != KEY:
        raise NotFound(f"petition {instance_id} does not exist", "案件不存在")
    if instance.status != InstanceStatus.running:
        raise InvalidState(f"case {instance.case_no} is {instance.status.value}", "案件已结束，不能督办或包案")
    return instance


def leader_over(session: Session, user_id: int, instance: ProcessInstance) -> bool:
    """Whether the user is a leader at a unit the case went through, or above one."""
    leader_units = [u for r, u in user_grants(session, user_id) if r == Role.leader]
    if not leader_units:
        return False
    units = set(case_unit_ids(instance)) | {instance.org_unit_id}
    paths = session.scalars(select(OrgUnit.path).where(OrgUnit.id.in_(units))).all()
    return any(f"/{g}/" in path for g in leader_units for path in paths)


def may_supervise(session: Session, user_id: int, instance: ProcessInstance,
                  section_id: int) -> bool:
    section_staff = any(u == section_id and r in (Role.caseworker, Role.reviewer)
                        for r, u in user_grants(session, user_id))
    return section_staff or leader_over(session, user_id, instance)
