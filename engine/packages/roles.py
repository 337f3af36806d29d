"""The role catalogue (管理 › 流程包): the roles packages may name, with their Chinese names.

Seeded with the five built-in roles (migration 0010), whose keys are the `Role` enum's values.
Admins list it; a city admin adds a role or renames one (each change in the admin log). Roles
are data: grants and task rows hold a catalogue key (migration 0014's foreign keys), so an added
role is granted on the user page (engine.admin.add_grant) and named by a package's lanes, steps
and `[start]` like a built-in one; its holders act on its tasks at their units and see the cases
routed there (engine.access, engine.inbox), and supervise nothing above.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

from engine.admin import log_admin, require_admin, require_system_admin
from engine.env import Env
from engine.errors import FormInvalid
from engine.models import Role, RoleCatalogue
from engine.orgs import Actor
from engine.packages.store import role_catalogue

ROLE_KEY = re.compile(r"^[a-z][a-z0-9_]{1,31}$")


@dataclass(frozen=True)
class RoleRow:
    key: str
    name: str
    builtin: bool


def list_roles(env: Env, user_id: int) -> list[RoleRow]:
    builtin = {r.value for r in Role}
    with env.db.read() as session:
        require_admin(session, user_id)
        return [RoleRow(k, n, k in builtin) for k, n in sorted(role_catalogue(session).items(),
                                                               key=lambda kv: (kv[0] not in builtin, kv[0]))]


def save_role(env: Env, actor: Actor, key: str, name: str) -> None:
    """Add a role to the catalogue, or rename one (city admins)."""
    key, name = key.strip(), name.strip()
    errors = {}
    if not ROLE_KEY.match(key):
        errors["key"] = "角色标识为小写字母开头的字母、数字或下划线（2–32 位），如 inspector"
    if not name or len(name) > 64:
        errors["name"] = "请填写角色中文名称（不超过 64 个字）"
    if errors:
        raise FormInvalid(errors)
    with env.db.write() as session:
        require_system_admin(session, actor.id)
        row = session.get(RoleCatalogue, key)
        if row is None:
            session.add(RoleCatalogue(key=key, name=name, builtin=key in {r.value for r in Role}))
        else:
            row.name = name
        log_admin(session, actor, env.clock.now(), "role_catalogue", "role", None, key, name=name)
