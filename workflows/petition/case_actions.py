"""What the case page of a petition offers besides its tasks: who owns the case (领导包案), and
whether the reader may open a 督办单 or take the case — by the same rules the commands apply
(supervision.may_supervise, supervision.leader_over). Reads only; no workflow is loaded."""
from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select

from engine.access import visible_case
from engine.env import Env
from engine.models import HumanTask, InstanceStatus
from workflows.petition.ownership import Owner, case_owner
from workflows.petition.supervision import KEY, leader_over, may_supervise

INTAKE_STEP = "intake"


@dataclass(frozen=True)
class PetitionActions:
    instance_id: int
    case_no: str
    title: str
    running: bool
    owner: Owner | None
    may_supervise: bool  # 开具督办单: a leader above the case or the petition section's staff
    may_take: bool       # 领导包案: a leader above the case who does not own it yet


def petition_actions(env: Env, user_id: int, instance_id: int) -> PetitionActions | None:
    """The petition panel of a case the user may see (NotFound otherwise); None for a case of
    another process."""
    with env.db.read() as session:
        instance = visible_case(session, user_id, instance_id)
        if instance.process_key != KEY:
            return None
        running = instance.status == InstanceStatus.running
        # the intake task's unit is the case's intake_unit_id (assignment.UNIT_KEYS)
        section = session.scalar(select(HumanTask.org_unit_id).where(
            HumanTask.instance_id == instance.id, HumanTask.step_id == INTAKE_STEP)
            .order_by(HumanTask.id).limit(1))
        leader = leader_over(session, user_id, instance)
        supervise = running and (leader or (section is not None and
                                            may_supervise(session, user_id, instance, section)))
        case_no, title = instance.case_no, instance.title
    owner = case_owner(env, instance_id)
    owns = owner is not None and owner.user_id == user_id
    return PetitionActions(instance_id, case_no, title, running, owner, supervise,
                           running and leader and not owns)
