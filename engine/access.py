"""Object-level authorization: who may see which case, task and attachment; who may start what.

A user may see a case when they
- started it (initiator), or
- received a copy of it (抄送), or
- hold any role but admin at a unit the case has been routed to (`ProcessInstance.unit_ids`,
  e.g. "/3/17/"): caseworker, reviewer, leader, auditor, or a role an admin added to the role
  catalogue (whose tasks are routed there), or
- are a reviewer, leader or auditor at a unit whose subtree contains one of those units (an
  added role supervises nothing above its own units).

The admin role alone grants nothing here: administrators see no case content unless they are
also auditors. Callers turn a refusal into 404 ("does not exist"), never 403, so a guessed id
does not reveal that a case exists.
"""
from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import exists, select
from sqlalchemy.orm import Session

from engine.absence import stand_in
from engine.env import Env
from engine.errors import NotFound
from engine.models import (Attachment, CaseCopy, HumanTask, OrgLevel, OrgUnit, ProcessDefinition,
                           ProcessInstance, Role)
from engine.orgs import Actor, RolesBut, path_ids, user_grants
from engine.process_api import ProcessConfig

CASE_ROLES = RolesBut(Role.admin)  # caseworker, reviewer, leader, auditor and every added role
SUBTREE_ROLES = frozenset({Role.reviewer, Role.leader, Role.auditor})
HIDDEN_CASE = "案件不存在或您无权查看"
HIDDEN_TASK = "任务不存在或您无权查看"


def case_unit_ids(instance: ProcessInstance) -> list[int]:
    """The units a case has been routed to, from its "/3/17/" list (None: no unit yet)."""
    return path_ids(instance.unit_ids)


def can_view_case(session: Session, user_id: int, instance: ProcessInstance) -> bool:
    """Whether the user may see this case (its data, history, diagram and attachments)."""
    if instance.initiator_id == user_id:
        return True
    units = set(case_unit_ids(instance)) | {instance.org_unit_id}
    grants = [(r, u) for r, u in user_grants(session, user_id) if r in CASE_ROLES]
    if any(u in units for _r, u in grants):
        return True
    if _in_subtree(session, [u for r, u in grants if r in SUBTREE_ROLES], units):
        return True
    return _has_copy(session, user_id, instance.id)


def _in_subtree(session: Session, grant_units: list[int], case_units: Iterable[int]) -> bool:
    if not grant_units:
        return False
    paths = session.scalars(select(OrgUnit.path).where(OrgUnit.id.in_(list(case_units)))).all()
    return any(f"/{g}/" in path for g in grant_units for path in paths)


def subtree_ids(session: Session, unit_id: int) -> set[int]:
    """The unit and every unit below it."""
    return set(session.scalars(select(OrgUnit.id).where(OrgUnit.path.like(f"%/{int(unit_id)}/%"))))


def case_ids_under(session: Session, process_key: str, unit_id: int) -> list[int]:
    """Ids of the process's cases registered at, or routed through, a unit of `unit_id`'s
    subtree: the same reach a supervisor there has over cases (for scoped indicators)."""
    subtree = subtree_ids(session, unit_id)
    rows = session.execute(select(ProcessInstance.id, ProcessInstance.org_unit_id,
                                  ProcessInstance.unit_ids)
                           .where(ProcessInstance.process_key == process_key)).all()
    return [r.id for r in rows if subtree & ({r.org_unit_id} | set(case_unit_ids(r)))]  # type: ignore[arg-type]


def _has_copy(session: Session, user_id: int, instance_id: int) -> bool:
    return bool(session.scalar(select(exists().where(CaseCopy.instance_id == instance_id,
                                                     CaseCopy.user_id == user_id))))


def visible_case(session: Session, user_id: int, instance_id: int) -> ProcessInstance:
    """The case, or NotFound when it does not exist or the user may not see it."""
    instance = session.get(ProcessInstance, instance_id)
    if instance is None or not can_view_case(session, user_id, instance):
        raise NotFound(f"case {instance_id} not visible to user {user_id}", HIDDEN_CASE)
    return instance


def _case_visible(session: Session, user_id: int, instance_id: int) -> bool:
    instance = session.get(ProcessInstance, instance_id)
    return instance is not None and can_view_case(session, user_id, instance)


def visible_task(session: Session, user_id: int, task_id: int, at: datetime | None = None) -> HumanTask:
    """The task row, or NotFound when it does not exist or its case is hidden from the user. Given
    `at`, an open task the user may act on as the proxy in force of an absent user (代理) is visible
    too, whatever their own roles."""
    row = session.get(HumanTask, task_id)
    if row is not None and _case_visible(session, user_id, row.instance_id):
        return row
    if row is not None and at is not None and stand_in(session, row, Actor(user_id, ""), at) is not None:
        return row
    raise NotFound(f"task {task_id} not visible to user {user_id}", HIDDEN_TASK)


def visible_attachment(session: Session, user_id: int, attachment_id: int) -> Attachment:
    att = session.get(Attachment, attachment_id)
    if att is None or not _case_visible(session, user_id, att.instance_id):
        raise NotFound(f"attachment {attachment_id} not visible to user {user_id}", "附件不存在或您无权查看")
    return att


def check_case_visible(env: Env, user_id: int, instance_id: int) -> None:
    with env.db.read() as session:
        visible_case(session, user_id, instance_id)


# ----------------------------------------------------------------------------- starting

@dataclass(frozen=True)
class StartOption:
    key: str
    name: str
    units: list[tuple[int, str]]  # (unit id, unit name) where this user may start it


def startable_processes(env: Env, user_id: int, keys: Iterable[str]) -> list[StartOption]:
    """The processes (of `keys`, and every deployed declarative package: engine.packages) the user
    may start, each with the units they may start it at."""
    with env.db.read() as session:
        grants = user_grants(session, user_id)
        units = {u.id: u for u in session.scalars(select(OrgUnit).where(
            OrgUnit.id.in_({u for _r, u in grants}), OrgUnit.active.is_(True)))}
        deployed = set(session.scalars(select(ProcessDefinition.key).distinct()))
        packaged = set(session.scalars(select(ProcessDefinition.key).where(
            ProcessDefinition.package.is_not(None)).distinct()))
        options = []
        keys = list(keys)
        for key in [*keys, *sorted(packaged - set(keys))]:
            config = _config_or_none(env, key) if key in deployed else None
            if config is None:
                continue
            allowed = _start_units(config, grants, units)
            if allowed:
                options.append(StartOption(key, config.name, allowed))
        return options


def _config_or_none(env: Env, key: str) -> ProcessConfig | None:
    try:
        return env.process(key)
    except KeyError:
        return None


def _start_units(config: ProcessConfig, grants: list[tuple[str, int]],
                 units: dict[int, OrgUnit]) -> list[tuple[int, str]]:
    out: dict[int, str] = {}
    for role, unit_id in grants:
        unit = units.get(unit_id)
        if unit is None or role not in config.start_roles:
            continue
        if config.start_levels and OrgLevel(unit.level).value not in config.start_levels:
            continue
        if config.start_units and unit.code not in config.start_units:
            continue
        out[unit.id] = unit.name
    return sorted(out.items())


def check_task_visible(env: Env, user_id: int, task_id: int) -> None:
    with env.db.read() as session:
        visible_task(session, user_id, task_id, env.clock.now())
