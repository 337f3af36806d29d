"""The org tree, users, passwords and role grants."""
from __future__ import annotations

from collections.abc import Container, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.errors import EngineError, NotFound
from engine.models import OrgLevel, OrgUnit, Role, RoleCatalogue, RoleGrant, User

_HASHER = PasswordHasher()
LEVEL_ORDER = {OrgLevel.city: 0, OrgLevel.district: 1, OrgLevel.town: 2, OrgLevel.village: 3}
# The built-in roles' seeded names (migration 0010); the role catalogue's names win (role_names).
ROLE_LABELS = {Role.caseworker: "经办人", Role.reviewer: "审核人", Role.leader: "领导",
               Role.auditor: "审计人员", Role.admin: "系统管理员"}
LEVEL_LABELS = {OrgLevel.city: "市", OrgLevel.district: "区县", OrgLevel.town: "镇街",
                OrgLevel.village: "村社区"}


class RolesBut:
    """Every role of the catalogue, built-in or added, except the named ones (`role in ...`)."""

    def __init__(self, *excluded: Role) -> None:
        self.excluded = frozenset(excluded)

    def __contains__(self, role: object) -> bool:
        return isinstance(role, str) and role not in self.excluded


@dataclass(frozen=True)
class Actor:
    """Who is acting: passed into every engine command by the caller. `token_id`: an API token
    the caller has not checked this request (webapp.api.auth keeps who a token is); a command that
    loads its task by `engine.commands.load_task_case` then finds it live in its own transaction,
    in the same statement, or refuses (Unauthenticated)."""
    id: int
    name: str
    token_id: int | None = None


def set_hash_cost(time_cost: int, memory_cost_kib: int) -> None:
    """Tune argon2 (tests use a cheap setting; production keeps the library's defaults)."""
    global _HASHER
    _HASHER = PasswordHasher(time_cost=time_cost, memory_cost=memory_cost_kib, parallelism=1)


def hash_password(password: str) -> str:
    return _HASHER.hash(password)


def check_password(stored_hash: str, password: str) -> bool:
    try:
        return _HASHER.verify(stored_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def create_unit(session: Session, code: str, name: str, level: OrgLevel,
                parent: OrgUnit | None = None, is_section: bool = False) -> OrgUnit:
    if parent is not None and LEVEL_ORDER[level] < LEVEL_ORDER[parent.level]:
        raise EngineError(f"a {level.value} unit cannot sit under a {parent.level.value} unit",
                          "下级单位的层级不能高于上级单位")
    unit = OrgUnit(code=code, name=name, level=level, is_section=is_section,
                   parent_id=parent.id if parent else None)
    session.add(unit)
    session.flush()
    unit.path = f"{parent.path if parent else '/'}{unit.id}/"
    return unit


def create_user(session: Session, username: str, full_name: str, password: str,
                now: datetime, grants: list[tuple[str, OrgUnit]] = (),  # type: ignore[assignment]
                phone: str | None = None, password_hash: str | None = None) -> User:
    """Create a user; pass `password_hash` to reuse one hash for many (demo data)."""
    user = User(username=username, full_name=full_name,
                password_hash=password_hash or hash_password(password),
                created_at=now, phone=phone)
    session.add(user)
    session.flush()
    for role, unit in grants:
        grant_role(session, user, role, unit)
    return user


def role_names(session: Session) -> dict[str, str]:
    """role key -> Chinese name: every role of the catalogue (built-in and added), as named there."""
    found = {str(r.key): r.name for r in session.scalars(select(RoleCatalogue))}
    return {**{role.value: label for role, label in ROLE_LABELS.items()}, **found}


def role_names_of(env: Any) -> dict[str, str]:
    """role_names for the pages: one statement, outside a transaction (Database.single_read)."""
    with env.db.single_read() as conn:
        found = {str(k): n for k, n in conn.execute(select(RoleCatalogue.key, RoleCatalogue.name))}
    return {**{role.value: label for role, label in ROLE_LABELS.items()}, **found}


def grant_role(session: Session, user: User, role: str, unit: OrgUnit) -> RoleGrant:
    grant = RoleGrant(user_id=user.id, role=role, org_unit_id=unit.id)
    session.add(grant)
    session.flush()
    return grant


def path_ids(path: str | None) -> list[int]:
    """The unit ids of a "/1/3/17/" path (a unit's path, a case's unit list), root first."""
    return [int(p) for p in (path or "").split("/") if p.isdigit()]


def unit_and_above(session: Session, unit_id: int) -> list[int]:
    """The unit and every unit above it, root first (the unit alone when it has no row)."""
    unit = session.get(OrgUnit, unit_id)
    return path_ids(unit.path if unit else None) or [unit_id]


def tree_order(units: Sequence[OrgUnit]) -> list[tuple[int, str, int]]:
    """(id, name, depth) of the units in tree order, each after its parent (the unit pickers)."""
    key = {u.id: path_ids(u.path) for u in units}
    return [(u.id, u.name, len(key[u.id]) - 1) for u in sorted(units, key=lambda u: key[u.id])]


_KNOWN_GRANTS = "rongflow_known_grants"


def know_grants(session: Session, user_id: int, grants: Iterable[tuple[str, int]]) -> None:
    """Tell a read session the (role, unit) grants of a user already read in this request (the
    signed-in user's, engine.auth.session_user), so that user_grants, has_role and
    has_role_in answer for that user without another statement in this session."""
    session.info.setdefault(_KNOWN_GRANTS, {})[user_id] = [(r, u) for r, u in grants]


def _known(session: Session, user_id: int) -> list[tuple[str, int]] | None:
    """The user's grants told to this session by know_grants, or None."""
    known: list[tuple[str, int]] | None = session.info.get(_KNOWN_GRANTS, {}).get(user_id)
    return known


def user_grants(session: Session, user_id: int) -> list[tuple[str, int]]:
    known = _known(session, user_id)
    if known is not None:
        return list(known)
    rows = session.execute(select(RoleGrant.role, RoleGrant.org_unit_id)
                           .where(RoleGrant.user_id == user_id)).all()
    return [(r.role, r.org_unit_id) for r in rows]


def granted_subtrees(session: Session, user_id: int, roles: Container[str]) -> list[tuple[int, str, int]]:
    """(id, name, depth), in tree order, of the units in the subtrees of the units where the user
    holds one of `roles` (the ledger's and the indicators' unit pickers); empty when none."""
    roots = {u for r, u in user_grants(session, user_id) if r in roles}
    if not roots:
        return []
    units = session.scalars(select(OrgUnit)).all()
    return tree_order([u for u in units if roots & set(path_ids(u.path))])


def has_role(session: Session, user_id: int, role: str, unit_id: int) -> bool:
    known = _known(session, user_id)
    if known is not None:
        return (role, unit_id) in known
    found = session.scalar(select(RoleGrant.id).where(
        RoleGrant.user_id == user_id, RoleGrant.role == role,
        RoleGrant.org_unit_id == unit_id).limit(1))
    return found is not None


def has_role_in(session: Session, user_id: int, roles: Iterable[str], unit_ids: Iterable[int]) -> bool:
    """Whether the user holds one of `roles` at one of `unit_ids`."""
    roles, unit_ids = list(roles), list(unit_ids)
    known = _known(session, user_id)
    if known is not None:
        return any(r in roles and u in unit_ids for r, u in known)
    found = session.scalar(select(RoleGrant.id).where(
        RoleGrant.user_id == user_id, RoleGrant.role.in_(roles),
        RoleGrant.org_unit_id.in_(unit_ids)).limit(1))
    return found is not None


class SessionOrgLookup:
    """OrgLookup for process hooks, answering from one session with a small cache."""

    def __init__(self, session: Session) -> None:
        self._session = session
        self._units: dict[int, OrgUnit] = {}
        self._codes: dict[str, int] = {}

    def _unit(self, unit_id: int) -> OrgUnit:
        if unit_id not in self._units:
            unit = self._session.get(OrgUnit, unit_id)
            if unit is None:
                raise NotFound(f"org unit {unit_id} does not exist", "单位不存在")
            self._units[unit_id] = unit
        return self._units[unit_id]

    def unit_id(self, code: str) -> int:
        if code not in self._codes:
            found = self._session.scalar(select(OrgUnit.id).where(OrgUnit.code == code))
            if found is None:
                raise NotFound(f"org unit code {code!r} does not exist", "单位不存在")
            self._codes[code] = found
        return self._codes[code]

    def unit_code(self, unit_id: int) -> str:
        return self._unit(unit_id).code

    def parent_id(self, unit_id: int) -> int | None:
        return self._unit(unit_id).parent_id

    def level(self, unit_id: int) -> str:
        return self._unit(unit_id).level.value

    def organ_of(self, unit_id: int) -> int:
        """The organ (not section) a unit belongs to: a section's parent, else itself."""
        unit = self._unit(unit_id)
        return unit.parent_id if unit.is_section and unit.parent_id else unit.id

    def section_of(self, organ_id: int, code_suffix: str) -> int | None:
        organ = self._unit(organ_id)
        found = self._session.scalar(select(OrgUnit.id).where(
            OrgUnit.code == f"{organ.code}.{code_suffix}"))
        return found

    def ancestor_at(self, unit_id: int, level: str) -> int | None:
        current: int | None = self.organ_of(unit_id)
        while current is not None:
            if self.level(current) == level:
                return current
            current = self.parent_id(current)
        return None
