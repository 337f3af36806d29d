"""Administration of people and the org tree: users, passwords, org units, role grants.

Who may: a user holding the admin role at a unit administers that unit and its subtree
(an admin at the city administers everything). Every command checks this here, in the engine,
raises PermissionDenied otherwise, runs in one write transaction and appends an `AdminEvent` in
that same transaction. Process deployment and case operations are in `engine.admin_ops`.
"""
from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import false, func, or_, select
from sqlalchemy.orm import Session

from engine import admin_scope as scope
from engine.access import CASE_ROLES
from engine import orgs
from engine.env import Env
from engine.errors import FormInvalid, InvalidState, NotFound, PermissionDenied
from engine.integrity.adminlog import seal_admin_event
from engine.paging import Page
from engine.models import (AdminEvent, HumanTask, OrgLevel, OrgUnit, Role, RoleCatalogue, RoleGrant, User)
from engine.orgs import LEVEL_LABELS, LEVEL_ORDER, Actor, path_ids
from engine.stepper import OPEN_STATUSES

USERNAME_RE = re.compile(r"^[A-Za-z0-9_.-]{3,64}$")
UNIT_CODE_RE = re.compile(r"^[A-Za-z0-9_.-]{1,64}$")
MIN_PASSWORD = 8

ADMIN_ACTION_LABELS = {
    "user_create": "新建用户", "user_deactivate": "停用用户", "user_reactivate": "启用用户",
    "password_reset": "重置密码", "unit_create": "新建单位", "unit_rename": "单位更名",
    "unit_deactivate": "停用单位", "unit_reactivate": "启用单位", "grant_add": "授予角色",
    "grant_remove": "撤销角色", "deploy": "部署流程", "role_catalogue": "修改角色目录",
}


# ----------------------------------------------------------------------------- who may

def admin_paths(session: Session, user_id: int) -> list[str]:
    """Paths ("/1/4/") of the units where the user is admin; each covers its subtree."""
    return list(session.scalars(select(OrgUnit.path).join(RoleGrant, RoleGrant.org_unit_id == OrgUnit.id)
                                .where(RoleGrant.user_id == user_id, RoleGrant.role == Role.admin)))


def require_admin(session: Session, user_id: int) -> list[str]:
    """The admin's unit paths, or PermissionDenied for a user with no admin grant."""
    paths = admin_paths(session, user_id)
    if not paths:
        raise PermissionDenied(f"user {user_id} is not an administrator", "仅系统管理员可以执行此操作")
    return paths


def covers(paths: Iterable[str], unit_path: str) -> bool:
    return any(unit_path.startswith(p) for p in paths)


def require_over_unit(session: Session, user_id: int, unit: OrgUnit) -> None:
    if not covers(require_admin(session, user_id), unit.path):
        raise PermissionDenied(f"user {user_id} does not administer unit {unit.id}",
                               "您无权管理该单位（不在您的管辖范围内）")


def require_system_admin(session: Session, user_id: int) -> None:
    """Admin at a top unit (the city): for system-wide actions such as deployment."""
    paths = require_admin(session, user_id)
    if not any(p.count("/") == 2 for p in paths):
        raise PermissionDenied(f"user {user_id} is not a city-level administrator",
                               "仅市级系统管理员可以执行此操作")


def _require_over_user(session: Session, user_id: int, target: User) -> None:
    """An admin manages a user only when every unit the user holds a role at is in scope."""
    paths = require_admin(session, user_id)
    unit_paths = session.scalars(select(OrgUnit.path).join(RoleGrant, RoleGrant.org_unit_id == OrgUnit.id)
                                 .where(RoleGrant.user_id == target.id)).all()
    if not all(covers(paths, p) for p in unit_paths):
        raise PermissionDenied(f"user {user_id} does not administer user {target.id}",
                               "该用户在您管辖范围以外的单位任职，您无权管理")


def log_admin(session: Session, actor: Actor, at: datetime, action: str, target_type: str,
              target_id: int | None, target: str, **details: Any) -> AdminEvent:
    """Append one admin event to the log's keyed chain (in the caller's transaction)."""
    event = AdminEvent(at=at, actor_id=actor.id, actor_name=actor.name, action=action,
                       target_type=target_type, target_id=target_id, target=target[:255],
                       details=details)
    return seal_admin_event(session, event)


def check_admin(env: Env, user_id: int) -> None:
    """PermissionDenied unless the user is an admin somewhere (guards the whole admin area)."""
    with env.db.read() as session:
        require_admin(session, user_id)


# ----------------------------------------------------------------------------- users

@dataclass(frozen=True)
class GrantRow:
    id: int
    role: str
    role_label: str
    unit_id: int
    unit_name: str


@dataclass(frozen=True)
class UserRow:
    id: int
    username: str
    full_name: str
    phone: str | None
    active: bool
    locked: bool
    grants: list[GrantRow]


def _check_password(password: str, field: str = "password") -> None:
    if len(password or "") < MIN_PASSWORD:
        raise FormInvalid({field: f"密码至少 {MIN_PASSWORD} 位"})


def _get_user(session: Session, user_id: int) -> User:
    user = session.get(User, user_id)
    if user is None:
        raise NotFound(f"user {user_id} does not exist", "用户不存在")
    return user


def _get_unit(session: Session, unit_id: int | None, field: str = "unit_id") -> OrgUnit:
    unit = session.get(OrgUnit, unit_id) if unit_id else None
    if unit is None:
        raise FormInvalid({field: "请选择单位"})
    return unit


def create_user(env: Env, actor: Actor, username: str, full_name: str, password: str,
                phone: str | None = None) -> int:
    """Create a user with an argon2 password hash; roles are granted separately."""
    username, full_name = (username or "").strip(), (full_name or "").strip()
    errors = {}
    if not USERNAME_RE.match(username):
        errors["username"] = "用户名为 3–64 位字母、数字或 _ . -"
    if not full_name or len(full_name) > 64:
        errors["full_name"] = "请填写姓名（不超过 64 字）"
    if len(password or "") < MIN_PASSWORD:
        errors["password"] = f"密码至少 {MIN_PASSWORD} 位"
    if errors:
        raise FormInvalid(errors)
    with env.db.write() as session:
        require_admin(session, actor.id)
        if session.scalar(select(User.id).where(User.username == username)) is not None:
            raise FormInvalid({"username": "该用户名已被使用"})
        now = env.clock.now()
        user = orgs.create_user(session, username, full_name, password, now,
                                phone=(phone or "").strip() or None)
        log_admin(session, actor, now, "user_create", "user", user.id, username, full_name=full_name)
        return user.id


def set_user_active(env: Env, actor: Actor, user_id: int, active: bool) -> None:
    """Deactivate (every session of the user ends) or reactivate a user."""
    with env.db.write() as session:
        user = _get_user(session, user_id)
        _require_over_user(session, actor.id, user)
        if user.id == actor.id and not active:
            raise InvalidState("an admin cannot deactivate themself", "不能停用自己的账户")
        if user.active == active:
            return
        user.active = active
        user.session_version = (user.session_version or 0) + 1
        log_admin(session, actor, env.clock.now(), "user_reactivate" if active else "user_deactivate",
                  "user", user.id, user.username)


def reset_password(env: Env, actor: Actor, user_id: int, new_password: str) -> None:
    """Set a new password, lift a login lock and end every existing session of the user."""
    _check_password(new_password)
    with env.db.write() as session:
        user = _get_user(session, user_id)
        _require_over_user(session, actor.id, user)
        user.password_hash = orgs.hash_password(new_password)
        user.must_change_password = True  # the admin knows it: the user must choose their own
        user.session_version = (user.session_version or 0) + 1
        user.failed_logins, user.locked_until = 0, None
        log_admin(session, actor, env.clock.now(), "password_reset", "user", user.id, user.username)


def _grant_rows(session: Session, user_ids: list[int]) -> dict[int, list[GrantRow]]:
    out: dict[int, list[GrantRow]] = {uid: [] for uid in user_ids}
    if user_ids:
        rows = session.execute(select(RoleGrant, OrgUnit.name).join(OrgUnit, OrgUnit.id == RoleGrant.org_unit_id)
                               .where(RoleGrant.user_id.in_(user_ids)).order_by(RoleGrant.id)).all()
        names = orgs.role_names(session) if rows else {}
        for g, unit_name in rows:
            out[g.user_id].append(GrantRow(g.id, g.role, names.get(g.role, g.role), g.org_unit_id, unit_name))
    return out


def _user_row(user: User, grants: list[GrantRow], now: datetime, show_phone: bool = True) -> UserRow:
    locked = user.locked_until is not None and user.locked_until > now
    return UserRow(user.id, user.username, user.full_name, user.phone if show_phone else None, user.active,
                   locked, grants)


def _visible_user(session: Session, paths: list[str], target_id: int) -> User:
    """The user, or NotFound when they do not exist or work outside this admin's subtrees."""
    user = _get_user(session, target_id)
    if not scope.user_visible(session, paths, user.id):
        raise NotFound(f"user {target_id} is outside the admin's units", "用户不存在")
    return user


def list_users(env: Env, user_id: int, search: str = "", page: int = 1,
               per_page: int = 20) -> Page[UserRow]:
    """Users by username, with their grants, within the admin's subtrees (engine.admin_scope);
    `search` matches username, name or (for a top admin, who sees every phone) phone."""
    with env.db.read() as session:
        paths = require_admin(session, user_id)
        top = scope.is_top_admin(paths)
        stmt = select(User) if top else select(User).where(scope.users_in_scope(paths))
        term = (search or "").strip()
        if term:
            stmt = stmt.where(or_(User.username.contains(term, autoescape=True),
                                  User.full_name.contains(term, autoescape=True),
                                  User.phone.contains(term, autoescape=True) if top else false()))
        total = session.scalar(select(func.count()).select_from(stmt.subquery())) or 0
        users = session.scalars(stmt.order_by(User.username).limit(per_page)
                                .offset((max(page, 1) - 1) * per_page)).all()
        grants = _grant_rows(session, [u.id for u in users])
        managed = scope.managed_user_ids(session, paths, [u.id for u in users])
        now = env.clock.now()
        return Page([_user_row(u, grants[u.id], now, u.id in managed) for u in users], total, page, per_page)


def get_user(env: Env, user_id: int, target_id: int) -> UserRow:
    with env.db.read() as session:
        paths = require_admin(session, user_id)
        user = _visible_user(session, paths, target_id)
        return _user_row(user, _grant_rows(session, [user.id])[user.id], env.clock.now(),
                         bool(scope.managed_user_ids(session, paths, [user.id])))


# ----------------------------------------------------------------------------- org units

@dataclass(frozen=True)
class UnitRow:
    id: int
    code: str
    name: str
    level: OrgLevel
    level_label: str
    is_section: bool
    active: bool
    depth: int
    parent_id: int | None
    manageable: bool


def _tree(session: Session, paths: list[str]) -> list[UnitRow]:
    units = sorted(session.scalars(select(OrgUnit)).all(), key=lambda u: path_ids(u.path))
    return [UnitRow(u.id, u.code, u.name, u.level, LEVEL_LABELS[u.level], u.is_section, u.active,
                    len(path_ids(u.path)) - 1, u.parent_id, covers(paths, u.path)) for u in units]


def org_tree(env: Env, user_id: int) -> list[UnitRow]:
    """Every unit in tree order, each marked whether this admin may manage it."""
    with env.db.read() as session:
        return _tree(session, require_admin(session, user_id))


def create_unit(env: Env, actor: Actor, parent_id: int, code: str, name: str, level: OrgLevel,
                is_section: bool = False) -> int:
    """A new unit under a parent the admin manages (level rules: engine.orgs.create_unit)."""
    code, name = (code or "").strip(), (name or "").strip()
    errors = {}
    if not UNIT_CODE_RE.match(code):
        errors["code"] = "单位编码为 1–64 位字母、数字或 _ . -"
    if not name or len(name) > 128:
        errors["name"] = "请填写单位名称（不超过 128 字）"
    if errors:
        raise FormInvalid(errors)
    with env.db.write() as session:
        parent = _get_unit(session, parent_id, "parent_id")
        require_over_unit(session, actor.id, parent)
        if not parent.active:
            raise FormInvalid({"parent_id": "上级单位已停用"})
        _check_level(parent, level, is_section)
        if session.scalar(select(OrgUnit.id).where(OrgUnit.code == code)) is not None:
            raise FormInvalid({"code": "该单位编码已存在"})
        unit = orgs.create_unit(session, code, name, level, parent, is_section)
        log_admin(session, actor, env.clock.now(), "unit_create", "org_unit", unit.id, name,
                  code=code, level=level.value, parent_id=parent.id, is_section=is_section)
        return unit.id


def _check_level(parent: OrgUnit, level: OrgLevel, is_section: bool) -> None:
    """city > district > town > village; a unit at its parent's level is one of its sections."""
    if parent.is_section:
        raise FormInvalid({"parent_id": "科室下不能再设单位"})
    if LEVEL_ORDER[level] < LEVEL_ORDER[parent.level]:
        raise FormInvalid({"level": "下级单位的层级不能高于上级单位"})
    if (level == parent.level) != is_section:
        raise FormInvalid({"level": "科室与上级单位同一层级；其他单位须低于上级单位一级或以上"})


def rename_unit(env: Env, actor: Actor, unit_id: int, name: str) -> None:
    name = (name or "").strip()
    if not name or len(name) > 128:
        raise FormInvalid({"name": "请填写单位名称（不超过 128 字）"})
    with env.db.write() as session:
        unit = _get_unit(session, unit_id)
        require_over_unit(session, actor.id, unit)
        if unit.name == name:
            return
        before, unit.name = unit.name, name
        log_admin(session, actor, env.clock.now(), "unit_rename", "org_unit", unit.id, name,
                  name=[before, name])


def set_unit_active(env: Env, actor: Actor, unit_id: int, active: bool) -> None:
    """Deactivate a unit with no active sub-units and no open tasks, or reactivate one."""
    with env.db.write() as session:
        unit = _get_unit(session, unit_id)
        require_over_unit(session, actor.id, unit)
        if unit.active == active:
            return
        if not active:
            _check_may_deactivate(session, unit)
        elif unit.parent_id is not None and not _get_unit(session, unit.parent_id).active:
            raise InvalidState(f"parent of unit {unit.id} is inactive", "上级单位已停用，请先启用上级单位")
        unit.active = active
        log_admin(session, actor, env.clock.now(), "unit_reactivate" if active else "unit_deactivate",
                  "org_unit", unit.id, unit.name)


def _check_may_deactivate(session: Session, unit: OrgUnit) -> None:
    child = session.scalar(select(OrgUnit.id).where(OrgUnit.parent_id == unit.id,
                                                    OrgUnit.active.is_(True)).limit(1))
    if child is not None:
        raise InvalidState(f"unit {unit.id} has active sub-units", "该单位还有启用中的下级单位，请先停用下级单位")
    task = session.scalar(select(HumanTask.id).where(HumanTask.org_unit_id == unit.id,
                                                     HumanTask.status.in_(OPEN_STATUSES)).limit(1))
    if task is not None:
        raise InvalidState(f"unit {unit.id} has open tasks", "该单位还有未办理的任务，请先转派后再停用")


@dataclass(frozen=True)
class UserPage:
    user: UserRow
    units: list[UnitRow]   # active units this admin manages: where roles can be granted
    manageable: bool       # whether this admin may change the user (all their units in scope)


def user_page(env: Env, user_id: int, target_id: int) -> UserPage:
    """One user with their grants, and the units a role can be granted at (the user page)."""
    with env.db.read() as session:
        paths = require_admin(session, user_id)
        user = _visible_user(session, paths, target_id)
        grants = _grant_rows(session, [user.id])[user.id]
        units = [u for u in _tree(session, paths) if u.manageable and u.active]
        manageable = bool(scope.managed_user_ids(session, paths, [user.id]))
        return UserPage(_user_row(user, grants, env.clock.now(), manageable), units, manageable)


# ----------------------------------------------------------------------------- role grants

def add_grant(env: Env, actor: Actor, user_id: int, role: str, unit_id: int) -> int:
    """Give a user a role of the role catalogue (built-in or added) at a unit the admin manages.
    An admin never gives themself a case role (every role but admin: caseworker, reviewer,
    leader, auditor and the added ones, which all read cases); another admin may."""
    role = str(getattr(role, "value", role))
    with env.db.write() as session:
        user = _get_user(session, user_id)
        unit = _get_unit(session, unit_id)
        require_over_unit(session, actor.id, unit)
        if session.get(RoleCatalogue, role) is None:
            raise FormInvalid({"role": "角色不在角色目录中，请先在“流程包 › 角色目录”中新增"})
        if user.id == actor.id and role in CASE_ROLES:
            raise PermissionDenied(f"admin {actor.id} may not grant themself the case role {role}",
                                   "不能为自己授予办案角色（经办人、审核人、领导、审计人员及新增角色），请由其他管理员授予")
        if not unit.active:
            raise FormInvalid({"unit_id": "该单位已停用"})
        if orgs.has_role(session, user.id, role, unit.id):
            raise FormInvalid({"role": "该用户在该单位已有此角色"})
        grant = orgs.grant_role(session, user, role, unit)
        log_admin(session, actor, env.clock.now(), "grant_add", "grant", grant.id, user.username,
                  user_id=user.id, role=role, unit_id=unit.id, unit_name=unit.name)
        return grant.id


def grantable_roles(env: Env, user_id: int) -> list[tuple[str, str]]:
    """(key, Chinese name) of every role an admin may grant: the whole role catalogue, the
    built-in roles first (in their usual order), then the added ones by key."""
    order = {r.value: i for i, r in enumerate(Role)}
    with env.db.read() as session:
        require_admin(session, user_id)
        names = orgs.role_names(session)
    return sorted(names.items(), key=lambda kv: (order.get(kv[0], len(order)), kv[0]))


def remove_grant(env: Env, actor: Actor, grant_id: int) -> None:
    with env.db.write() as session:
        grant = session.get(RoleGrant, grant_id)
        if grant is None:
            raise NotFound(f"grant {grant_id} does not exist", "该授权不存在")
        unit = _get_unit(session, grant.org_unit_id)
        require_over_unit(session, actor.id, unit)
        if grant.user_id == actor.id and grant.role == Role.admin:
            raise InvalidState("an admin cannot remove their own admin grant",
                               "不能撤销自己的系统管理员角色，请由其他管理员操作")
        user = _get_user(session, grant.user_id)
        log_admin(session, actor, env.clock.now(), "grant_remove", "grant", grant.id, user.username,
                  user_id=user.id, role=grant.role.value, unit_id=unit.id, unit_name=unit.name)
        session.delete(grant)


# ----------------------------------------------------------------------------- the admin log

def admin_events(env: Env, user_id: int, page: int = 1, per_page: int = 20) -> Page[AdminEvent]:
    """The admin log, newest first: the events of the admin's subtrees (engine.admin_scope)."""
    with env.db.read() as session:
        where = scope.events_in_scope(user_id, require_admin(session, user_id))
        stmt = select(AdminEvent) if where is None else select(AdminEvent).where(where)
        total = session.scalar(select(func.count()).select_from(stmt.subquery())) or 0
        rows = session.scalars(stmt.order_by(AdminEvent.id.desc()).limit(per_page)
                               .offset((max(page, 1) - 1) * per_page)).all()
        return Page(list(rows), total, page, per_page)
