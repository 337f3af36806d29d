"""What the task page offers one user on one task: the verbs they may use now, with their choices
(return targets, receivers), asked of the verb modules (the views never decide)."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.env import Env
from engine.models import HumanTask, InstanceStatus, ProcessInstance, SupervisionOrder, TaskStatus, User
from engine.orgs import has_role
from engine.verbs.returning import ReturnTarget, return_targets_in
from engine.verbs.signers import signer_choices_in
from engine.stepper import process_config
from engine.verbs.supervision import kinds_of, may_answer, may_supervise, settings_of
from engine.verbs.transfer import proposed_in, receivers_in
from engine.verbs.urging import can_urge, may_urge
from engine.verbs.withdrawing import can_withdraw

MARK_LABELS = {"returned": "退回", "withdrawn": "撤回", "transferred": "转办", "delegated": "委派",
               "delegate_done": "委派办回",
               "signer": "加签", "proxy": "代理"}


@dataclass(frozen=True)
class VerbPanel:
    targets: list[ReturnTarget] = field(default_factory=list)
    receivers: list[tuple[int, str]] = field(default_factory=list)
    can_urge: bool = False
    can_withdraw: bool = False
    delegated_to_me: bool = False
    proposed: dict[str, Any] = field(default_factory=dict)
    mark_label: str | None = None
    mark_note: str | None = None
    mark_by: str | None = None
    signers: list[tuple[int, str]] = field(default_factory=list)       # 加签 candidates
    removable: list[tuple[int, str]] = field(default_factory=list)     # 减签: (task row, name)


def verb_panel(env: Env, user_id: int, task_id: int) -> VerbPanel:
    """The verbs of this task for this user (the caller has checked the task is visible)."""
    with env.db.read() as session:
        row = session.get(HumanTask, task_id)
        instance = session.get(ProcessInstance, row.instance_id) if row is not None else None
        if row is None or instance is None:
            return VerbPanel()
        return panel_in(env, session, user_id, row, instance)


def panel_in(env: Env, session: Session, user_id: int, row: HumanTask, instance: ProcessInstance) -> VerbPanel:
    """verb_panel in the caller's read session (the task page's, which has read the task's row,
    case and unit): the holder question is asked once, the workflow read only for 退回."""
    label = MARK_LABELS.get(row.mark or "")
    if row.status == TaskStatus.completed:
        return VerbPanel(can_withdraw=can_withdraw(env, row.id, user_id), mark_label=label)
    if row.status not in (TaskStatus.open, TaskStatus.claimed):
        return VerbPanel()
    by = session.scalar(select(User.full_name).where(User.id == row.mark_by_id)) if row.mark_by_id else None
    delegated = row.mark == "delegated" and row.assignee_id == user_id
    granted = has_role(session, user_id, row.role, row.org_unit_id)
    signers, removable = signer_choices_in(session, row, instance, user_id, granted)
    return VerbPanel(signers=signers, removable=removable,
        targets=[] if delegated else return_targets_in(env, session, row, instance, user_id, granted),
        receivers=[] if row.mark == "delegated" else receivers_in(session, row, user_id),
        can_urge=may_urge(session, user_id, row, instance), delegated_to_me=delegated,
        proposed=proposed_in(session, row.id) if row.mark == "delegate_done" else {},
        mark_label=label, mark_note=row.mark_note, mark_by=by)


@dataclass(frozen=True)
class CaseVerbs:
    """The case page's verbs for one user: steps they may take back, pending tasks they may urge,
    whether they may open a 督办单, and the case's orders with those they may answer."""
    withdrawable: list[tuple[int, str]] = field(default_factory=list)
    urgeable: list[tuple[int, str]] = field(default_factory=list)
    can_supervise: bool = False
    orders: list[tuple[SupervisionOrder, bool]] = field(default_factory=list)
    kinds: list[str] = field(default_factory=list)  # the process's 督办事由 to choose from


def case_verbs(env: Env, instance_id: int, user_id: int) -> CaseVerbs:
    """(the caller has checked the case is visible)"""
    with env.db.read() as session:
        mine = list(session.execute(select(HumanTask.id, HumanTask.step_name).where(
            HumanTask.instance_id == instance_id, HumanTask.completed_by_id == user_id,
            HumanTask.status == TaskStatus.completed).order_by(HumanTask.id.desc()).limit(5)))
        pending = list(session.execute(select(HumanTask.id, HumanTask.step_name).where(
            HumanTask.instance_id == instance_id,
            HumanTask.status.in_((TaskStatus.open, TaskStatus.claimed))).order_by(HumanTask.id)))
        instance = session.get(ProcessInstance, instance_id)
        config = process_config(env, instance.process_key) if instance is not None else None
        supervise = instance is not None and config is not None and instance.status == InstanceStatus.running \
            and may_supervise(session, user_id, instance, settings_of(env, config))
        orders = [(o, o.fed_back_at is None and may_answer(session, user_id, o)) for o in session.scalars(
            select(SupervisionOrder).where(SupervisionOrder.instance_id == instance_id).order_by(SupervisionOrder.id))]
    return CaseVerbs([(i, n) for i, n in mine if can_withdraw(env, i, user_id)],
                     [(i, n) for i, n in pending if can_urge(env, i, user_id)], supervise, orders,
                     kinds_of(env, config) if supervise and config is not None else [])
