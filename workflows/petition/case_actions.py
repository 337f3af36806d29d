"""What the case page of a petition offers besides its tasks and verbs: who owns the case (领导包案),
and whether the reader may take the case — by the rule the command applies
(supervision.leader_over). The 督办单 is the engine's 督办 (engine.verbs.panel). Reads only; no
workflow is loaded."""
from __future__ import annotations

from dataclasses import dataclass

from engine.access import visible_case
from engine.env import Env
from engine.models import InstanceStatus
from workflows.petition.ownership import Owner, case_owner
from workflows.petition.supervision import KEY, leader_over


@dataclass(frozen=True)
class PetitionActions:
    instance_id: int
    case_no: str
    title: str
    running: bool
    owner: Owner | None
    may_take: bool       # 领导包案: a leader above the case who does not own it yet


def petition_actions(env: Env, user_id: int, instance_id: int) -> PetitionActions | None:
    """The petition panel of a case the user may see (NotFound otherwise); None for a case of
    another process."""
    with env.db.read() as session:
        instance = visible_case(session, user_id, instance_id)
        if instance.process_key != KEY:
            return None
        running = instance.status == InstanceStatus.running
        leader = leader_over(session, user_id, instance)
        case_no, title = instance.case_no, instance.title
    owner = case_owner(env, instance_id)
    owns = owner is not None and owner.user_id == user_id
    return PetitionActions(instance_id, case_no, title, running, owner, running and leader and not owns)
