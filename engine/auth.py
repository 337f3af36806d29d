"""Sign-in bookkeeping: password check, failed-login counting and lock, session versions.

The web layer calls these; each write is one transaction owned here. A session is valid only
while it carries the user's current `session_version` (bumped at logout), so logging out ends
every copy of the session cookie, wherever it was stored.
"""
from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select

from engine.env import Env
from engine.models import OrgUnit, Role, RoleGrant, User
from engine.orgs import check_password, hash_password

# Verified against when the username is unknown, so both paths cost one argon2 check.
_DUMMY_HASH = hash_password("rongflow-dummy-password")


class LoginOutcome(str, enum.Enum):
    ok = "ok"
    bad_credentials = "bad_credentials"
    locked = "locked"
    inactive = "inactive"


@dataclass(frozen=True)
class LoginResult:
    outcome: LoginOutcome
    user_id: int | None = None
    session_version: int | None = None
    locked_until: datetime | None = None
    failures_left: int | None = None

    @property
    def ok(self) -> bool:
        return self.outcome == LoginOutcome.ok


@dataclass(frozen=True)
class Grant:
    role: Role
    unit_id: int
    unit_name: str


@dataclass(frozen=True)
class SessionUser:
    """What a request needs to know about the signed-in user."""
    id: int
    username: str
    full_name: str
    session_version: int
    grants: tuple[Grant, ...]

    @property
    def roles(self) -> frozenset[Role]:
        return frozenset(g.role for g in self.grants)

    def has(self, role: Role) -> bool:
        return role in self.roles


def attempt_login(env: Env, username: str, password: str, *, max_failures: int,
                  lock_minutes: int) -> LoginResult:
    """Check a password; count failures and lock the account after `max_failures` in a row."""
    now = env.clock.now()
    with env.db.write() as session:
        user = session.scalar(select(User).where(User.username == username.strip()))
        if user is None:
            check_password(_DUMMY_HASH, password)
            return LoginResult(LoginOutcome.bad_credentials)
        if user.locked_until is not None and user.locked_until > now:
            return LoginResult(LoginOutcome.locked, user.id, locked_until=user.locked_until)
        if not check_password(user.password_hash, password):
            return _count_failure(user, now, max_failures, lock_minutes)
        if not user.active:
            return LoginResult(LoginOutcome.inactive, user.id)
        user.failed_logins, user.locked_until = 0, None
        return LoginResult(LoginOutcome.ok, user.id, user.session_version)


def _count_failure(user: User, now: datetime, max_failures: int, lock_minutes: int) -> LoginResult:
    user.failed_logins = (user.failed_logins or 0) + 1
    if user.failed_logins >= max_failures:
        user.failed_logins, user.locked_until = 0, now + timedelta(minutes=lock_minutes)
        return LoginResult(LoginOutcome.locked, user.id, locked_until=user.locked_until)
    return LoginResult(LoginOutcome.bad_credentials, user.id,
                       failures_left=max_failures - user.failed_logins)


def end_all_sessions(env: Env, user_id: int) -> None:
    """Logout: bump the session version so every existing session of the user is refused."""
    with env.db.write() as session:
        user = session.get(User, user_id)
        if user is not None:
            user.session_version = (user.session_version or 0) + 1


def session_user(env: Env, user_id: int, session_version: int) -> SessionUser | None:
    """The user of a session, or None when the session is stale, the user gone or disabled."""
    with env.db.read() as session:
        user = session.get(User, user_id)
        if user is None or not user.active or user.session_version != session_version:
            return None
        rows = session.execute(
            select(RoleGrant.role, RoleGrant.org_unit_id, OrgUnit.name)
            .join(OrgUnit, OrgUnit.id == RoleGrant.org_unit_id)
            .where(RoleGrant.user_id == user_id).order_by(RoleGrant.id)).all()
        return SessionUser(user.id, user.username, user.full_name, user.session_version,
                           tuple(Grant(r.role, r.org_unit_id, r.name) for r in rows))
