"""The unit a person acts for when they do something to a case outside a task (抄送, an
admin's suspend or retry, an initiator's withdrawal, an upload from the case page): history
events carry it, so the auditor of that unit sees what its people did (issue 13, point 8).
"""
from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.access import case_unit_ids
from engine.models import HumanTask, OrgUnit, ProcessInstance, TaskStatus
from engine.orgs import has_role, user_grants
from engine.queries import OPEN_STATUSES


def acting_unit(session: Session, user_id: int, instance: ProcessInstance,
                roles: Iterable[str] | None = None) -> int | None:
    """The unit of an open task of the case the user holds; else the unit of the user's grant
    (of `roles`, when given) at one of the case's units, else at the nearest unit above one;
    else their first such grant's unit; None for someone without any."""
    for row in session.scalars(select(HumanTask).where(HumanTask.instance_id == instance.id,
                                                       HumanTask.status.in_(OPEN_STATUSES))
                               .order_by(HumanTask.id)):
        if (row.status != TaskStatus.claimed or row.assignee_id == user_id) \
                and has_role(session, user_id, row.role, row.org_unit_id):
            return row.org_unit_id
    wanted = {str(getattr(r, "value", r)) for r in roles} if roles is not None else None
    grants = [u for r, u in user_grants(session, user_id) if wanted is None or str(getattr(r, "value", r)) in wanted]
    if not grants:
        return None
    case_units = [instance.org_unit_id, *case_unit_ids(instance)]
    for unit in case_units:
        if unit in grants:
            return unit
    paths = dict(session.execute(select(OrgUnit.id, OrgUnit.path).where(OrgUnit.id.in_(case_units))).all())
    above = [(paths[c].index(f"/{g}/"), g) for g in grants for c in case_units
             if c in paths and f"/{g}/" in paths[c]]
    return max(above)[1] if above else grants[0]
