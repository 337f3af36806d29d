"""领导包案: a leader takes personal ownership of a petition (recorded, shown, listed).

Taking ownership delivers the BPMN message `leader_ownership` (caught by the event sub-process
"领导包案" at any time while the case runs), so the case's own history records who took it, when
and why; the latest such event names the owner. A leader may take a case that went through their
unit or a unit below it.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select

from engine.env import Env
from engine.errors import PermissionDenied
from engine.forms import load_form, validate_form
from engine.models import HistoryEvent, InstanceStatus, ProcessInstance
from engine.orgs import Actor
from engine.runtime import StepResult, deliver_message
from workflows.petition.supervision import KEY, open_petition, leader_over

MESSAGE = "leader_ownership"


@dataclass(frozen=True)
class Owner:
    user_id: int
    name: str
    since: datetime
    note: str | None


@dataclass(frozen=True)
class OwnedCase:
    instance_id: int
    case_no: str
    title: str
    status: InstanceStatus
    since: datetime


def take_ownership(env: Env, instance_id: int, actor: Actor, form: dict[str, Any]) -> StepResult:
    """The acting leader takes the case (包案); a later leader's taking replaces the earlier."""
    with env.db.read() as session:
        instance = open_petition(session, instance_id)
        if not leader_over(session, actor.id, instance):
            raise PermissionDenied(f"user {actor.id} is no leader over case {instance.case_no}",
                                   "只有本案所经单位或其上级单位的领导可以包案")
    schema = load_form(env.process(KEY).forms_dir, "take_ownership")
    if schema is not None:
        validate_form(schema, form)
    # who and when are the history event's own actor and time
    payload = {"ownership_note": str(form.get("ownership_note") or "").strip() or None}
    return deliver_message(env, instance_id, MESSAGE, payload, actor, step_name="领导包案")


def _ownership_events(session: Any, instance_ids: list[int] | None = None) -> dict[int, HistoryEvent]:
    """The latest ownership event of each case (of `instance_ids`, or of every case)."""
    stmt = select(HistoryEvent).where(HistoryEvent.action == "message",
                                      HistoryEvent.step_id == MESSAGE).order_by(HistoryEvent.seq)
    if instance_ids is not None:
        stmt = stmt.where(HistoryEvent.instance_id.in_(instance_ids))
    return {e.instance_id: e for e in session.scalars(stmt)}


def case_owner(env: Env, instance_id: int) -> Owner | None:
    """The leader who owns the case now, if any (for the case page)."""
    with env.db.read() as session:
        event = _ownership_events(session, [instance_id]).get(instance_id)
    if event is None or event.actor_id is None:
        return None
    note = (event.data.get("ownership_note") or [None, None])[1]
    return Owner(event.actor_id, event.actor_name, event.at, note)


def owned_cases(env: Env, leader_id: int) -> list[OwnedCase]:
    """The cases a leader owns now: open ones first, then by the time they were taken."""
    with env.db.read() as session:
        candidates = session.scalars(select(HistoryEvent.instance_id).where(
            HistoryEvent.action == "message", HistoryEvent.step_id == MESSAGE,
            HistoryEvent.actor_id == leader_id).distinct()).all()
        latest = _ownership_events(session, list(candidates))
        mine = {i: e for i, e in latest.items() if e.actor_id == leader_id}
        rows = session.execute(select(ProcessInstance.id, ProcessInstance.case_no,
                                      ProcessInstance.title, ProcessInstance.status)
                               .where(ProcessInstance.id.in_(list(mine)))).all()
    cases = [OwnedCase(r.id, r.case_no, r.title, r.status, mine[r.id].at) for r in rows]
    return sorted(cases, key=lambda c: (c.status != InstanceStatus.running, c.since))
