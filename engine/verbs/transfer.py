"""转办 and 委派: the holder hands a task to another person who may act on it. 转办 is for good (the
receiver finishes it); 委派 lends it (the delegate proposes the answers, and the task comes back to
the delegator, who confirms by completing it). Receivers hold the task's role at its unit."""
from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.commands import load_task_case, require_open, require_running, run_tx, touch
from engine.env import Env
from engine.errors import InvalidState, PermissionDenied
from engine.forms import load_form, validate_form
from engine.history import append_event
from engine.models import HistoryEvent, HumanTask, RoleGrant, TaskStatus, User
from engine.notify.centre import post
from engine.ops.logs import logged_command
from engine.orgs import Actor, has_role
from engine.persistence import to_json_safe
from engine.verbs.common import holds, require_holder, require_reason, step_setting


def receivers(env: Env, task_id: int, user_id: int) -> list[tuple[int, str]]:
    """(id, name) of who may receive this task from this user: the active holders of its role at
    its unit, the user excluded (the person picker lists only these)."""
    with env.db.read() as session:
        row = session.get(HumanTask, task_id)
        return [] if row is None else receivers_in(session, row, user_id)


def receivers_in(session: Session, row: HumanTask, user_id: int) -> list[tuple[int, str]]:
    """receivers in the caller's read session (the task page's)."""
    if not holds(session, user_id, row):
        return []
    return [(i, n) for i, n in session.execute(
        select(User.id, User.full_name).join(RoleGrant, RoleGrant.user_id == User.id).where(
            RoleGrant.role == row.role, RoleGrant.org_unit_id == row.org_unit_id,
            User.active.is_(True), User.id != user_id).order_by(User.id))]


def _check_receiver(session: Session, row: HumanTask, actor: Actor, to_user_id: int) -> User:
    user = session.get(User, to_user_id)
    if to_user_id == actor.id:
        raise InvalidState(f"user {actor.id} cannot hand task {row.id} to themself", "不能转给自己")
    if user is None or not user.active or not has_role(session, to_user_id, row.role, row.org_unit_id):
        raise PermissionDenied(f"user {to_user_id} lacks role {row.role.value} at unit {row.org_unit_id}",
                               "接收人不具备办理该任务的角色和单位")
    return user


def _hand_over(env: Env, task_id: int, actor: Actor, to_user_id: int, reason: str, action: str) -> None:
    def body(session: Session) -> None:
        case, row, granted = load_task_case(env, session, task_id, actor)
        require_open(row)
        require_running(case)
        require_holder(session, row, actor, granted)
        if action == "transfer" and not step_setting(env, case.config, row.step_id, "transfer"):
            raise PermissionDenied(f"step {row.step_id} does not allow transfer", "本步骤不允许转办")
        if row.mark == "delegated":
            raise InvalidState(f"task {task_id} is delegated", "委派中的任务不能再转交，请先办完交回")
        user = _check_receiver(session, row, actor, to_user_id)
        now = env.clock.now()
        before = row.assignee_id
        row.status, row.assignee_id = TaskStatus.claimed, to_user_id
        row.mark, row.mark_note, row.mark_by_id = ("transferred" if action == "transfer" else "delegated",
                                                   reason, actor.id)
        touch(case, env)
        append_event(session, case.instance, at=now, action=action, actor_id=actor.id, actor_name=actor.name,
                     step_id=row.step_id, step_name=row.step_name, task_id=row.id, org_unit_id=row.org_unit_id,
                     opinion=reason, data={"assignee": [before, to_user_id], "to_name": user.full_name})
        label = "转办" if action == "transfer" else "委派"
        post(session, [to_user_id], "transferred", f"{label}：{actor.name}将{row.step_name}（{row.case_no}）交给您办理",
             now, body=reason, instance_id=row.instance_id, task_id=row.id)
    run_tx(env, body)


@logged_command
def transfer_task(env: Env, task_id: int, actor: Actor, to_user_id: int, reason: str) -> None:
    """Hand the task over for good (转办), with a reason."""
    _hand_over(env, task_id, actor, to_user_id, require_reason(reason, "reason", "请填写转办原因"), "transfer")


@logged_command
def delegate_task(env: Env, task_id: int, actor: Actor, to_user_id: int, reason: str) -> None:
    """Lend the task to a colleague (委派); it comes back to you to confirm."""
    _hand_over(env, task_id, actor, to_user_id, require_reason(reason, "reason", "请填写委派说明"), "delegate")


@logged_command
def return_delegation(env: Env, task_id: int, actor: Actor, data: dict[str, Any], note: str = "") -> None:
    """The delegate hands the task back with the proposed answers (validated like a completion);
    the delegator finds them filled in and confirms by completing the task."""
    def body(session: Session) -> None:
        case, row, granted = load_task_case(env, session, task_id, actor)
        require_open(row)
        require_running(case)
        if row.mark != "delegated" or row.assignee_id != actor.id or row.mark_by_id is None:
            raise PermissionDenied(f"task {task_id} is not delegated to user {actor.id}", "该任务未委派给您")
        schema = load_form(case.config.forms_dir, row.step_id)
        if schema is not None:
            validate_form(schema, data, session)
        now = env.clock.now()
        delegator = row.mark_by_id
        row.assignee_id, row.mark, row.mark_note, row.mark_by_id = delegator, "delegate_done", note or None, actor.id
        touch(case, env)
        append_event(session, case.instance, at=now, action="delegate_done", actor_id=actor.id,
                     actor_name=actor.name, step_id=row.step_id, step_name=row.step_name, task_id=row.id,
                     org_unit_id=row.org_unit_id, opinion=note or None,
                     data={"proposed": to_json_safe(data), "assignee": [actor.id, delegator]})
        title = f"委派办回：{actor.name}已办好{row.step_name}（{row.case_no}），请确认"
        post(session, [delegator], "transferred", title, now, body=note or None,
             instance_id=row.instance_id, task_id=row.id)
    run_tx(env, body)


def proposed_answers(env: Env, task_id: int) -> dict[str, Any]:
    """The delegate's proposed answers of a task handed back (prefill for the delegator), or {}."""
    with env.db.read() as session:
        return proposed_in(session, task_id)


def proposed_in(session: Session, task_id: int) -> dict[str, Any]:
    """proposed_answers in the caller's read session."""
    event = session.scalars(select(HistoryEvent).where(
        HistoryEvent.task_id == task_id, HistoryEvent.action == "delegate_done")
        .order_by(HistoryEvent.id.desc()).limit(1)).first()
    return dict(event.data.get("proposed", {})) if event is not None else {}
