"""The person picker: who may receive a 抄送 of a case or a 转办 of a task, in the org tree and
searchable. The candidates are the engine's own (engine.copies for 抄送, engine.verbs.transfer's
`receivers` for 转办); this module only checks who asks, groups by unit and filters.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.access import visible_case, visible_task
from engine.copies import _require_acting_staff
from engine.env import Env
from engine.errors import PermissionDenied
from engine.models import OrgUnit, RoleGrant, User
from engine.orgs import Actor, path_ids
from engine.verbs.common import holds
from engine.verbs.transfer import receivers

MAX_QUERY = 32


@dataclass(frozen=True)
class Person:
    id: int
    name: str


@dataclass
class UnitGroup:
    """One unit of the tree with the candidates who hold a role there (depth 0 = the top)."""
    id: int
    name: str
    depth: int
    people: list[Person] = field(default_factory=list)


def _matches(term: str, person: tuple[int, str, str], unit_names: list[str]) -> bool:
    _uid, name, username = person
    return not term or term in name or term.lower() == username.lower() or any(term in u for u in unit_names)


def _tree(session: Session, people: list[tuple[int, str, str]], term: str) -> list[UnitGroup]:
    """The candidates grouped under each unit where they hold a role, units in tree order; a
    person without a role at any unit is under 其他人员. `term` keeps those whose name, exact
    username or unit name matches."""
    ids = [p[0] for p in people]
    rows = session.execute(select(RoleGrant.user_id, OrgUnit.id, OrgUnit.name, OrgUnit.path)
                           .join(OrgUnit, OrgUnit.id == RoleGrant.org_unit_id)
                           .where(RoleGrant.user_id.in_(ids)).distinct()).all() if ids else []
    units: dict[int, tuple[str, str]] = {}
    where: dict[int, list[int]] = {}
    for user_id, unit_id, unit_name, path in rows:
        units[unit_id] = (unit_name, path)
        where.setdefault(user_id, [])
        if unit_id not in where[user_id]:
            where[user_id].append(unit_id)
    groups: dict[int, UnitGroup] = {}
    for person in people:
        if not _matches(term, person, [units[u][0] for u in where.get(person[0], [])]):
            continue
        for unit_id in where.get(person[0], [0]):
            name, path = units.get(unit_id, ("其他人员", "/~"))
            group = groups.setdefault(unit_id, UnitGroup(unit_id, name, max(path.count("/") - 2, 0)))
            group.people.append(Person(person[0], person[1]))

    def order(g: UnitGroup) -> list[int]:
        path = units.get(g.id, ("", ""))[1]
        return path_ids(path) or [1 << 31]
    return sorted(groups.values(), key=order)


def _named(session: Session, ids: list[int]) -> list[tuple[int, str, str]]:
    rows = session.execute(select(User.id, User.full_name, User.username).where(User.id.in_(ids))).all()
    by_id = {r[0]: (r[0], r[1], r[2]) for r in rows}
    return [by_id[i] for i in ids if i in by_id]


def copy_candidates(env: Env, user_id: int, instance_id: int, term: str = "") -> list[UnitGroup]:
    """Who the user may copy the case to: every active user but themself (engine.copies refuses
    nobody else), for a user who may copy it at all (NotFound / PermissionDenied otherwise)."""
    with env.db.read() as session:
        instance = visible_case(session, user_id, instance_id)
        _require_acting_staff(session, Actor(user_id, ""), instance)
        ids = list(session.scalars(select(User.id).where(User.active.is_(True), User.id != user_id)
                                   .order_by(User.id)))
        return _tree(session, _named(session, ids), term.strip()[:MAX_QUERY])


def transfer_candidates(env: Env, user_id: int, task_id: int, term: str = "") -> list[UnitGroup]:
    """Who the user may hand the task to (转办/委派): engine.verbs.transfer.receivers, for the
    user who holds the task (NotFound when hidden, PermissionDenied when not theirs)."""
    with env.db.read() as session:
        row = visible_task(session, user_id, task_id, env.clock.now())
        if not holds(session, user_id, row):
            raise PermissionDenied(f"user {user_id} does not hold task {task_id}", "只有当前办理人可以转办该任务")
    ids = [uid for uid, _name in receivers(env, task_id, user_id)]
    with env.db.read() as session:
        return _tree(session, _named(session, ids), term.strip()[:MAX_QUERY])
