"""退回: the holder of a task sends the case back to an earlier completed user step of its own path
(or to the initiator's first step), with a required opinion. SpiffWorkflow's `reset_from_task_id`
erases the later tasks from the tree; the history keeps them. The step opens again for whoever
completed it, marked 退回 with the reason."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from SpiffWorkflow.task import Task as SpiffTask
from SpiffWorkflow.util.task import TaskState
from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.commands import StepResult, finish_step, load_task_case, require_open, require_running, run_tx
from engine.env import Env
from engine.errors import InvalidState, PermissionDenied
from engine.history import append_event
from engine.models import HumanTask, ProcessInstance, TaskStatus, User
from engine.notify.centre import post, task_holders
from engine.ops.logs import logged_command
from engine.orgs import Actor, has_role
from engine.stepper import Case, find_spiff_task, process_config
from engine.verbs.common import (ancestors, descendants, in_multi_instance, new_row_for, read_case,
                                 read_task_case, require_holder, require_reason, step_setting)
from engine.verbs.proxy import route_returned
from engine.verbs.signers import lead_sign


@dataclass(frozen=True)
class ReturnTarget:
    """An earlier step of the task's path that it may be returned to."""
    step_id: str
    step_name: str
    spiff_task_id: str
    completed_by_id: int | None
    completed_by_name: str


def _completed_rows(session: Session, instance_id: int) -> dict[str, tuple[HumanTask, str]]:
    """The newest completed task row per SpiffWorkflow task id, with its completer's name."""
    rows = session.execute(select(HumanTask, User.full_name)
                           .outerjoin(User, User.id == HumanTask.completed_by_id).where(
        HumanTask.instance_id == instance_id, HumanTask.status == TaskStatus.completed)
        .order_by(HumanTask.id)).all()
    return {r.spiff_task_id: (r, name or "") for r, name in rows}


def _targets(session: Session, case: Case, task: SpiffTask) -> list[ReturnTarget]:
    done = _completed_rows(session, case.instance.id)
    out: dict[str, ReturnTarget] = {}
    for t in ancestors(task):
        row, name = done.get(str(t.id), (None, ""))
        if not t.task_spec.manual or t.state != TaskState.COMPLETED or row is None:
            continue
        if row.step_id not in out:  # the nearest completion of a step
            out[row.step_id] = ReturnTarget(row.step_id, row.step_name, str(t.id), row.completed_by_id, name)
    return list(reversed(out.values()))  # in path order, the initiator's step first


def _refusal(session: Session, case: Case, row: HumanTask, task: SpiffTask, step_id: str) -> str | None:
    """Why the task cannot be returned to `step_id` (Chinese), or None."""
    if in_multi_instance(task):
        return "会签（多实例）中的单个任务不能退回，请待会签结束后由下一步骤退回"
    if step_id in {t.step_id for t in _targets(session, case, task)}:
        return None
    ever = session.scalar(select(HumanTask.id).where(
        HumanTask.instance_id == case.instance.id, HumanTask.step_id == step_id,
        HumanTask.status == TaskStatus.completed).limit(1))
    if ever is None:
        return "该步骤尚未办理过，不能退回到该步骤"
    in_tree = [t for t in case.workflow.get_tasks(state=TaskState.COMPLETED, manual=True)
               if t.task_spec.bpmn_id == step_id]
    if not in_tree:
        return "该步骤的办理记录已归档（流程已多次往返），不能退回到该步骤"
    return "该步骤在另一并行分支或会签中，不能从本任务退回到该步骤"


def return_targets(env: Env, task_id: int, user_id: int) -> list[ReturnTarget]:
    """The steps this user may return this task to now (empty: no 退回 offered)."""
    with env.db.read() as session:
        case, row, granted = read_task_case(env, session, task_id, user_id)
        return return_targets_in(env, session, row, case.instance, user_id, granted)


def return_targets_in(env: Env, session: Session, row: HumanTask, instance: ProcessInstance,
                      user_id: int, granted: bool) -> list[ReturnTarget]:
    """return_targets in the caller's read session (the task page's); the workflow is read only
    when the user may return this task."""
    if not granted or row.status not in (TaskStatus.open, TaskStatus.claimed):
        return []
    if row.status == TaskStatus.claimed and row.assignee_id != user_id:
        return []
    if not step_setting(env, process_config(env, instance.process_key), row.step_id, "return"):
        return []
    case = read_case(env, session, instance)
    task = find_spiff_task(case, row.spiff_task_id)
    if in_multi_instance(task):
        return []
    return _targets(session, case, task)


def _check_branches(case: Case, row: HumanTask, target: SpiffTask) -> None:
    """Refuse a return that would take open tasks of other parallel branches with it."""
    below = {str(t.id) for t in descendants(target)}
    others = [r for r in case.open_rows or [] if r.id != row.id and r.spiff_task_id in below]
    if others:
        raise InvalidState(
            f"returning to {target.task_spec.bpmn_id} would remove the open tasks "
            f"{[r.step_id for r in others]} of parallel branches",
            f"其他并行分支仍在办理（{'、'.join(r.step_name for r in others)}），不能退回到分支之前的步骤")


@logged_command
def return_task(env: Env, task_id: int, actor: Actor, step_id: str, opinion: str) -> StepResult:
    """Return the case from this task to an earlier step of its path (退回), with an opinion."""
    reason = require_reason(opinion, "opinion", "退回时请填写退回意见")

    def body(session: Session) -> StepResult:
        case, row, granted = load_task_case(env, session, task_id, actor)
        require_open(row)
        require_running(case)
        require_holder(session, row, actor, granted)
        if not step_setting(env, case.config, row.step_id, "return"):
            raise PermissionDenied(f"step {row.step_id} does not allow returning", "本步骤不允许退回")
        if step_setting(env, case.config, row.step_id, "return_mode") == "direct":
            return _return_direct(env, case, row, step_id, reason, actor)
        return return_in_case(env, case, row, step_id, reason, actor)
    return run_tx(env, body)  # type: ignore[no-any-return]


def _return_direct(env: Env, case: Case, row: HumanTask, step_id: str, reason: str, actor: Actor) -> StepResult:
    """退回 where the fix comes straight back (setting "return_mode": "direct" on the returner's step):
    the workflow stays at this task; a fix row with the earlier step's form opens for its completer
    on this same SpiffWorkflow task, and this task waits for it (engine.verbs.signers)."""
    session = case.session
    task = find_spiff_task(case, row.spiff_task_id)
    refusal = _refusal(session, case, row, task, step_id)
    if refusal:
        raise InvalidState(f"task {row.id} cannot be returned to step {step_id!r}", refusal)
    target = next(t for t in _targets(session, case, task) if t.step_id == step_id)
    done, _name = _completed_rows(session, case.instance.id)[target.spiff_task_id]
    now = env.clock.now()
    current = lead_sign(row, "added")
    fix = HumanTask(spiff_task_id=row.spiff_task_id, instance_id=row.instance_id, process_key=row.process_key,
                    case_no=row.case_no, title=row.title, step_id=done.step_id, step_name=done.step_name,
                    role=done.role, org_unit_id=done.org_unit_id, due_at=row.due_at, status=TaskStatus.open,
                    created_at=now, sign={"round": current["round"], "mode": "fix"},
                    mark="returned", mark_note=reason, mark_by_id=actor.id)
    if target.completed_by_id and has_role(session, target.completed_by_id, done.role, done.org_unit_id):
        fix.status, fix.assignee_id = TaskStatus.claimed, target.completed_by_id
    session.add(fix)
    session.flush()
    row.sign = {**current, "wait_for": [*current.get("wait_for", []), fix.id]}
    row.status, row.assignee_id = TaskStatus.claimed, actor.id
    append_event(session, case.instance, at=now, action="return", actor_id=actor.id, actor_name=actor.name,
                 step_id=row.step_id, step_name=row.step_name, task_id=row.id, org_unit_id=row.org_unit_id,
                 opinion=reason, data={"to_step": step_id, "to_step_name": target.step_name,
                                       "to_user": target.completed_by_id, "direct": True})
    route_returned(session, case, fix, now)  # the completer away: to their proxy
    post(session, task_holders(session, fix), "returned",
         f"退回：{fix.step_name}（{fix.case_no}），{actor.name}：{reason}（改后直接交回）", now,
         instance_id=fix.instance_id, task_id=fix.id)
    case.instance.updated_at = now
    return StepResult(case.instance.id, case.instance.status, [fix.id])


def return_in_case(env: Env, case: Case, row: HumanTask, step_id: str, reason: str,
                   actor: Actor | None) -> StepResult:
    """Return a locked case from `row` to `step_id` (by `actor`, or the system's timeout policy)."""
    session = case.session
    task = find_spiff_task(case, row.spiff_task_id)
    refusal = _refusal(session, case, row, task, step_id)
    if refusal:
        raise InvalidState(f"task {row.id} cannot be returned to step {step_id!r}", refusal)
    target_info = next(t for t in _targets(session, case, task) if t.step_id == step_id)
    target = find_spiff_task(case, target_info.spiff_task_id)
    _check_branches(case, row, target)
    now = env.clock.now()
    by = actor.id if actor else None
    row.status, row.assignee_id, row.completed_at, row.completed_by_id = TaskStatus.completed, by, now, by
    case.completed_row = row
    append_event(session, case.instance, at=now, action="return", actor_id=by,
                 actor_name=actor.name if actor else "系统", step_id=row.step_id, step_name=row.step_name,
                 task_id=row.id, org_unit_id=row.org_unit_id, opinion=reason,
                 data={"to_step": step_id, "to_step_name": target_info.step_name,
                       "to_user": target_info.completed_by_id})
    data = dict(target.data)
    result = finish_step(env, case, now, lambda: case.workflow.reset_from_task_id(target.id, data=data))
    _open_for_completer(session, case, target_info, actor or Actor(0, "系统"), reason, now)
    return result


def nearest_target(env: Env, case: Case, row: HumanTask) -> str | None:
    """The step just before this task on its path (for an automatic return), or None."""
    targets = _targets(case.session, case, find_spiff_task(case, row.spiff_task_id))
    return targets[-1].step_id if targets else None


def _open_for_completer(session: Session, case: Case, target: ReturnTarget, actor: Actor, reason: str,
                        now: datetime) -> None:
    """The returned step's new task: claimed for whoever completed it (if they still may), marked."""
    new = new_row_for(case, target.spiff_task_id)
    if new is None:
        return
    new.mark, new.mark_note, new.mark_by_id = "returned", reason, actor.id or None
    if target.completed_by_id and has_role(session, target.completed_by_id, new.role, new.org_unit_id):
        new.status, new.assignee_id = TaskStatus.claimed, target.completed_by_id
    session.flush()
    route_returned(session, case, new, now)  # the completer away: to their proxy
    post(session, task_holders(session, new), "returned",
         f"退回：{new.step_name}（{new.case_no}），{actor.name}：{reason}", now,
         instance_id=new.instance_id, task_id=new.id)
