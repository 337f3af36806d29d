"""催办: the initiator, or a reviewer or leader at the task's unit or above it, urges a pending task;
its holders get a message. At most one per task within `urge_interval_hours` (a history event each)."""
from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.commands import load_task_case, require_open, require_running, run_tx, touch
from engine.env import Env
from engine.errors import InvalidState, PermissionDenied
from engine.history import append_event
from engine.models import HistoryEvent, HumanTask, ProcessInstance, Role
from engine.notify.centre import post, task_holders
from engine.ops.logs import logged_command
from engine.orgs import Actor, has_role_in, unit_and_above
from engine.stepper import OPEN_STATUSES
from engine.verbs.common import step_setting

SUPERVISING = (Role.reviewer, Role.leader)


def may_urge(session: Session, user_id: int, row: HumanTask, instance: ProcessInstance) -> bool:
    """Initiator of the case, or a reviewer/leader at the task's unit or a unit above it."""
    if row.status not in OPEN_STATUSES:
        return False
    if instance.initiator_id == user_id:
        return True
    return has_role_in(session, user_id, SUPERVISING, unit_and_above(session, row.org_unit_id))


def can_urge(env: Env, task_id: int, user_id: int) -> bool:
    with env.db.read() as session:
        row = session.get(HumanTask, task_id)
        return row is not None and may_urge(session, user_id, row, session.get(ProcessInstance, row.instance_id))


@logged_command
def urge_task(env: Env, task_id: int, actor: Actor, note: str = "") -> None:
    """Remind the holders of a pending task (催办), rate-limited per task."""
    def body(session: Session) -> None:
        case, row, _granted = load_task_case(env, session, task_id)
        require_open(row)
        require_running(case)
        if not may_urge(session, actor.id, row, case.instance):
            raise PermissionDenied(f"user {actor.id} may not urge task {task_id}",
                                   "只有发起人或上级审核人、领导可以催办")
        now = env.clock.now()
        hours = step_setting(env, case.config, row.step_id, "urge_interval_hours")
        last = session.scalar(select(HistoryEvent.at).where(
            HistoryEvent.instance_id == row.instance_id, HistoryEvent.task_id == row.id,
            HistoryEvent.action == "urge").order_by(HistoryEvent.seq.desc()).limit(1))
        if last is not None and now - last < timedelta(hours=hours):
            raise InvalidState(f"task {task_id} was urged at {last.isoformat()}",
                               f"该任务{hours}小时内已催办过，请稍后再催")
        touch(case, env)
        append_event(session, case.instance, at=now, action="urge", actor_id=actor.id, actor_name=actor.name,
                     step_id=row.step_id, step_name=row.step_name, task_id=row.id, org_unit_id=row.org_unit_id,
                     opinion=note.strip() or None)
        post(session, task_holders(session, row), "urged", f"催办：{actor.name}催办{row.step_name}（{row.case_no}）",
             now, body=note.strip() or None, instance_id=row.instance_id, task_id=row.id)
    run_tx(env, body)
