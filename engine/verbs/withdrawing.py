"""撤回: whoever completed a step takes it back while the next step is untouched (open, not claimed,
no data saved on it — no 暂存 draft, no attachment — nothing completed after it). The step opens
again for them, marked 撤回; the next step's task is withdrawn and its holders are told. Allowed per
step (`step_setting(..., "withdraw")`)."""
from __future__ import annotations

from uuid import UUID

from SpiffWorkflow.task import Task as SpiffTask
from SpiffWorkflow.util.task import TaskState
from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from engine.commands import StepResult, finish_step, require_running, run_tx
from engine.env import Env
from engine.errors import InvalidState, NotFound, PermissionDenied
from engine.history import append_event
from engine.models import Attachment, FormDraft, HumanTask, TaskStatus
from engine.notify.centre import post, task_holders
from engine.ops.logs import logged_command
from engine.orgs import Actor
from engine.stepper import OPEN_STATUSES, Case, lock_case
from engine.verbs.common import descendants, in_multi_instance, new_row_for, read_task_case, step_setting


NOT_YOURS = "只有该步骤的办理人可以撤回"   # who may not: PermissionDenied
FORBIDDEN = "本步骤不允许撤回"             # the step's setting: PermissionDenied; the rest: InvalidState
CLAIMED = "下一步骤已被认领办理，不能撤回"
SAVED = "下一步骤已保存办理内容（暂存或附件），不能撤回"


def _next_rows(case: Case, task: SpiffTask) -> list[HumanTask]:
    below = {str(t.id) for t in descendants(task)}
    return [r for r in case.open_rows or [] if r.spiff_task_id in below]


def withdraw_refusal(env: Env, session: Session, case: Case, row: HumanTask, user_id: int) -> str | None:
    """Why the user may not take this completed task back now (Chinese), or None."""
    if row.status != TaskStatus.completed or row.completed_by_id != user_id:
        return NOT_YOURS
    if case.instance.status.value != "running":
        return "案件当前状态不允许撤回"
    if not step_setting(env, case.config, row.step_id, "withdraw"):
        return FORBIDDEN
    newer = session.scalar(select(HumanTask.id).where(  # the step reopened since (a 加签 row shares its id)
        HumanTask.instance_id == row.instance_id, HumanTask.spiff_task_id == row.spiff_task_id,
        HumanTask.id > row.id, or_(HumanTask.mark.is_(None), HumanTask.mark != "signer")).limit(1))
    task = _tree_task(case, row)
    if newer is not None or task is None or task.state != TaskState.COMPLETED:
        return "流程已继续办理，不能撤回"
    if in_multi_instance(task):
        return "会签（多实例）中的单个任务不能撤回"
    if any(t.task_spec.manual and t.state == TaskState.COMPLETED for t in descendants(task)):
        return "下一步骤已办理，不能撤回"
    nxt = _next_rows(case, task)
    if not nxt:
        return "流程已继续办理，不能撤回"
    if any(r.status != TaskStatus.open for r in nxt):
        return CLAIMED
    ids = [r.id for r in nxt]
    drafted = [r.id for r in nxt if r.has_draft]  # the flag outlives a discarded draft: ask the table
    if (drafted and session.scalar(select(FormDraft.task_id).where(FormDraft.task_id.in_(drafted)).limit(1))
            is not None) or session.scalar(select(Attachment.id).where(
            Attachment.instance_id == row.instance_id, Attachment.task_id.in_(ids)).limit(1)) is not None:
        return SAVED
    return None


def _tree_task(case: Case, row: HumanTask) -> SpiffTask | None:
    """The row's task in the workflow, or None once pruned or reset away."""
    try:
        return case.workflow.get_task_from_id(UUID(row.spiff_task_id))  # type: ignore[no-any-return]
    except Exception:  # noqa: BLE001 - TaskNotFoundException and bad ids alike
        return None


def _load(env: Env, session: Session, task_id: int) -> tuple[Case, HumanTask]:
    row = session.get(HumanTask, task_id)
    if row is None:
        raise NotFound(f"task {task_id} does not exist", "任务不存在")
    case = lock_case(env, session, row.instance_id)
    session.refresh(row)  # as of the lock
    case.open_rows = list(session.scalars(select(HumanTask).where(
        HumanTask.instance_id == row.instance_id, HumanTask.status.in_(OPEN_STATUSES))))
    return case, row


def can_withdraw(env: Env, task_id: int, user_id: int) -> bool:
    """Whether the user may take this completed task back now (for the 已办 list and case page)."""
    with env.db.read() as session:
        row = session.get(HumanTask, task_id)
        if row is None or row.completed_by_id != user_id or row.status != TaskStatus.completed:
            return False
        case, row, _granted = read_task_case(env, session, task_id, user_id)
        return withdraw_refusal(env, session, case, row, user_id) is None


@logged_command
def withdraw_task(env: Env, task_id: int, actor: Actor, reason: str = "") -> StepResult:
    """Take back a step you completed while the next step is untouched (撤回)."""
    def body(session: Session) -> StepResult:
        case, row = _load(env, session, task_id)
        require_running(case)
        refusal = withdraw_refusal(env, session, case, row, actor.id)
        if refusal:
            kind = PermissionDenied if refusal in (NOT_YOURS, FORBIDDEN) else InvalidState
            raise kind(f"task {task_id} cannot be withdrawn by user {actor.id}", refusal)
        task = _tree_task(case, row)
        assert task is not None  # withdraw_refusal found it
        nxt = _next_rows(case, task)
        now = env.clock.now()
        append_event(session, case.instance, at=now, action="withdraw", actor_id=actor.id, actor_name=actor.name,
                     step_id=row.step_id, step_name=row.step_name, task_id=row.id, org_unit_id=row.org_unit_id,
                     opinion=reason.strip() or None, data={"withdrawn": [r.step_name for r in nxt]})
        told = {r.id: task_holders(session, r) for r in nxt}
        data = dict(task.data)
        result = finish_step(env, case, now, lambda: case.workflow.reset_from_task_id(task.id, data=data))
        back = new_row_for(case, row.spiff_task_id)
        if back is not None:
            back.status, back.assignee_id = TaskStatus.claimed, actor.id
            back.mark, back.mark_note, back.mark_by_id = "withdrawn", reason.strip() or None, actor.id
        for r in nxt:
            post(session, told[r.id], "withdrawn", f"撤回：{actor.name}撤回了{row.step_name}（{row.case_no}），"
                 f"{r.step_name}无需办理", now, instance_id=row.instance_id, task_id=r.id)
        return result
    return run_tx(env, body)  # type: ignore[no-any-return]
