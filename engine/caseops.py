"""Case operations: the initiator withdraws a case; an admin terminates, suspends, resumes,
retries (after a step failed) or reassigns. Each is one transaction with its history event.
"""
from __future__ import annotations

from typing import Any

from SpiffWorkflow.util.task import TaskState
from sqlalchemy.orm import Session

from engine.acting import acting_unit
from engine.commands import (StepResult, finish_step, load_task_case, require_case_role, require_open,
                             run_tx, touch)
from engine.env import Env
from engine.errors import FormInvalid, InvalidState, PermissionDenied
from engine.history import append_event
from engine.models import InstanceStatus, Role, TaskStatus
from engine.ops.logs import logged_command
from engine.orgs import Actor, has_role
from engine.stepguard import keep_fix, rerun_failed
from engine.stepper import Case, lock_case, save_case


def _case_op(env: Env, instance_id: int, actor: Actor, reason: str, action: str,
             allowed: tuple[InstanceStatus, ...], role: Role | None, op: Any) -> None:
    if not reason or not reason.strip():
        raise FormInvalid({"reason": "请填写原因"})

    def body(session: Session) -> None:
        case = lock_case(env, session, instance_id)
        if case.instance.status not in allowed:
            raise InvalidState(f"case {case.instance.case_no} is {case.instance.status.value}",
                               "案件当前状态不允许此操作")
        require_case_role(session, case, actor, role)
        now = env.clock.now()
        op(case, now)
        case.instance.status_reason = reason
        append_event(session, case.instance, at=now, action=action, actor_id=actor.id,
                     actor_name=actor.name, opinion=reason,
                     org_unit_id=acting_unit(session, actor.id, case.instance, [role] if role else None),
                     data={"status": case.instance.status.value})
        save_case(env, case, now)
    run_tx(env, body)


def _close(status: InstanceStatus) -> Any:
    def op(case: Case, now: Any) -> None:
        case.workflow.cancel()
        case.instance.status = status
        case.instance.closed_at = now
    return op


@logged_command
def cancel_case(env: Env, instance_id: int, actor: Actor, reason: str) -> None:
    """The initiator withdraws a running case (撤销), with a reason."""
    _case_op(env, instance_id, actor, reason, "cancel", (InstanceStatus.running,), None,
             _close(InstanceStatus.cancelled))


@logged_command
def terminate_case(env: Env, instance_id: int, actor: Actor, reason: str) -> None:
    """An admin ends a case for good (终止), with a reason."""
    _case_op(env, instance_id, actor, reason, "terminate",
             (InstanceStatus.running, InstanceStatus.suspended, InstanceStatus.error), Role.admin,
             _close(InstanceStatus.terminated))


@logged_command
def suspend_case(env: Env, instance_id: int, actor: Actor, reason: str) -> None:
    def op(case: Case, now: Any) -> None:
        case.instance.status = InstanceStatus.suspended
    _case_op(env, instance_id, actor, reason, "suspend", (InstanceStatus.running,), Role.admin, op)


@logged_command
def resume_case(env: Env, instance_id: int, actor: Actor, reason: str) -> None:
    def op(case: Case, now: Any) -> None:
        case.instance.status = InstanceStatus.running
    _case_op(env, instance_id, actor, reason, "resume", (InstanceStatus.suspended,), Role.admin, op)


@logged_command
def retry_case(env: Env, instance_id: int, actor: Actor, data_fix: dict[str, Any],
               reason: str = "管理员重试") -> StepResult:
    """Re-run the failed step of a case in error, after setting corrected data on it."""
    def body(session: Session) -> StepResult:
        case = lock_case(env, session, instance_id)
        if case.instance.status != InstanceStatus.error:
            raise InvalidState(f"case {case.instance.case_no} is not in error", "案件未处于出错状态")
        require_case_role(session, case, actor, Role.admin)
        failed = case.workflow.get_tasks(state=TaskState.ERROR)
        now = env.clock.now()
        case.instance.status = InstanceStatus.running
        case.instance.error_message = case.instance.error_step = None
        case.instance.error_line = None
        append_event(session, case.instance, at=now, action="retry", actor_id=actor.id,
                     actor_name=actor.name, opinion=reason,
                     org_unit_id=acting_unit(session, actor.id, case.instance, [Role.admin]),
                     step_id=failed[0].task_spec.bpmn_id if failed else None,
                     data={k: [None, v] for k, v in data_fix.items()})
        return finish_step(env, case, now, lambda: rerun_failed(env, case, failed, data_fix),
                            keep_fix(data_fix))
    return run_tx(env, body)  # type: ignore[no-any-return]


@logged_command
def reassign_task(env: Env, task_id: int, actor: Actor, to_user_id: int, reason: str) -> None:
    """An admin hands a task to a named user who holds its role at its unit (转派)."""
    if not reason.strip():
        raise FormInvalid({"reason": "请填写原因"})

    def body(session: Session) -> None:
        case, row, _granted = load_task_case(env, session, task_id)
        require_open(row)
        require_case_role(session, case, actor, Role.admin)
        if not has_role(session, to_user_id, row.role, row.org_unit_id):
            raise PermissionDenied(f"user {to_user_id} lacks role {row.role.value} at unit {row.org_unit_id}",
                                   "被指派人不具备该任务所需的角色和单位")
        before = row.assignee_id
        row.status, row.assignee_id = TaskStatus.claimed, to_user_id
        touch(case, env)
        append_event(session, case.instance, at=env.clock.now(), action="reassign", actor_id=actor.id,
                     actor_name=actor.name, step_id=row.step_id, step_name=row.step_name,
                     task_id=row.id, org_unit_id=row.org_unit_id, opinion=reason,
                     data={"assignee": [before, to_user_id]})
    run_tx(env, body)
