"""Sign-in bookkeeping: password check, failed-login counting and lock, session versions.

The web layer calls these; each write is one transaction owned here. A session is valid only
while it carries the user's current `session_version` (bumped at logout), so logging out ends
every copy of the session cookie, wherever it was stored.
"""
from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import bindparam, or_, select, update

from engine import ratelimit
from engine.env import Env
from engine.errors import FormInvalid, NotFound
from engine.models import OrgUnit, RoleGrant, User
from engine.orgs import check_password, hash_password
from engine.ratelimit import Limit

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
    role: str  # a role catalogue key (RoleKey): a built-in Role's value or an added role
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
    must_change_password: bool = False

    @property
    def roles(self) -> frozenset[str]:
        return frozenset(g.role for g in self.grants)

    def has(self, role: str) -> bool:
        return role in self.roles


def attempt_login(env: Env, username: str, password: str, *, max_failures: int,
                  lock_minutes: int) -> LoginResult:
    """Check a password; count failures and lock the account after `max_failures` in a row.

    The attempt is counted (one atomic UPDATE ... RETURNING, committed) before the password is
    verified, so parallel guesses can never get more than `max_failures` checks between locks.
    An unknown username costs the same argon2 check and is counted and locked the same way
    (in the rate-limit table), so the answers do not tell which usernames exist."""
    now, name = env.clock.now(), username.strip()
    lock = timedelta(minutes=lock_minutes)
    slot = _reserve_attempt(env, name, now, max_failures, lock)
    if slot is None:
        return _unknown_user(env, name, password, now, Limit(max_failures, lock))
    if slot.locked_until is not None:
        return LoginResult(LoginOutcome.locked, slot.user_id, locked_until=slot.locked_until)
    right = check_password(slot.password_hash, password)
    return _settle(env, slot, right, now, max_failures, lock)


@dataclass(frozen=True)
class _Slot:
    """A counted login attempt of a known user (or the lock that refused one)."""
    user_id: int
    password_hash: str = ""
    count: int = 0
    locked_until: datetime | None = None


def _reserve_attempt(env: Env, username: str, now: datetime, max_failures: int,
                     lock: timedelta) -> _Slot | None:
    with env.db.write() as session:
        user = session.execute(select(User.id, User.password_hash, User.locked_until)
                               .where(User.username == username)).first()
        if user is None:
            return None
        if user.locked_until is not None and user.locked_until > now:
            return _Slot(user.id, locked_until=user.locked_until)
        count = session.scalar(
            update(User).where(User.id == user.id, User.failed_logins < max_failures,
                               or_(User.locked_until.is_(None), User.locked_until <= now))
            .values(failed_logins=User.failed_logins + 1).returning(User.failed_logins))
        if count is None:  # the last allowed attempt is being checked, or just locked the account
            until = session.scalar(select(User.locked_until).where(User.id == user.id))
            return _Slot(user.id, locked_until=until if until and until > now else now + lock)
        return _Slot(user.id, user.password_hash, count)


def _settle(env: Env, slot: _Slot, right: bool, now: datetime, max_failures: int,
            lock: timedelta) -> LoginResult:
    """Record the outcome of a counted attempt."""
    with env.db.write() as session:
        user = session.get(User, slot.user_id)
        if user is None:
            return LoginResult(LoginOutcome.bad_credentials)
        if right:
            user.failed_logins, user.locked_until = 0, None
            if not user.active:
                return LoginResult(LoginOutcome.inactive, user.id)
            return LoginResult(LoginOutcome.ok, user.id, user.session_version)
        if slot.count >= max_failures:
            user.failed_logins, user.locked_until = 0, now + lock
            return LoginResult(LoginOutcome.locked, user.id, locked_until=user.locked_until)
        return LoginResult(LoginOutcome.bad_credentials, user.id, failures_left=max_failures - slot.count)


def _unknown_user(env: Env, username: str, password: str, now: datetime, limit: Limit) -> LoginResult:
    """No such user: the same argon2 work, count and lock as for a wrong password."""
    bucket = f"login:{username[:64]}"
    with env.db.read() as session:
        until = ratelimit.locked_until(session, [bucket], now, limit)
    if until is not None:
        return LoginResult(LoginOutcome.locked, locked_until=until)
    check_password(_DUMMY_HASH, password)
    with env.db.write() as session:
        ratelimit.record_failure(session, [bucket], now, limit)
        until = ratelimit.locked_until(session, [bucket], now, limit)
        if until is not None:
            return LoginResult(LoginOutcome.locked, locked_until=until)
        left = limit.max_failures - ratelimit.failures(session, bucket, now, limit)
        return LoginResult(LoginOutcome.bad_credentials, failures_left=left)


def end_all_sessions(env: Env, user_id: int) -> None:
    """Logout: bump the session version so every existing session of the user is refused."""
    with env.db.write() as session:
        user = session.get(User, user_id)
        if user is not None:
            user.session_version = (user.session_version or 0) + 1


def session_user(env: Env, user_id: int, session_version: int) -> SessionUser | None:
    """The user of a session, or None when the session is stale, the user gone or disabled."""
    with env.db.single_read() as conn:  # one statement per request: the user and their grants
        rows = conn.execute(_SESSION_USER_LIVE, {"user_id": user_id, "session_version": session_version}).all()
    if not rows:
        return None
    user = rows[0]
    return SessionUser(user.id, user.username, user.full_name, user.session_version,
                       tuple(Grant(r.role, r.org_unit_id, r.unit_name) for r in rows if r.role is not None),
                       bool(user.must_change_password))


_SESSION_USER = (select(User.id, User.username, User.full_name, User.session_version, User.must_change_password,
                        RoleGrant.role, RoleGrant.org_unit_id, OrgUnit.name.label("unit_name"))
                 .outerjoin(RoleGrant, RoleGrant.user_id == User.id)
                 .outerjoin(OrgUnit, OrgUnit.id == RoleGrant.org_unit_id)
                 .order_by(RoleGrant.id))
# Prebuilt for every request: its construction cost more than its run.
_SESSION_USER_LIVE = _SESSION_USER.where(User.id == bindparam("user_id"), User.active.is_(True),
                                         User.session_version == bindparam("session_version"))


MIN_PASSWORD = 8


def password_problem(password: str, username: str) -> str | None:
    """Why a new password is too weak (Chinese), or None: at least 8 characters, not only
    digits, not the username."""
    if len(password) < MIN_PASSWORD:
        return f"密码至少 {MIN_PASSWORD} 位"
    if password.isdigit():
        return "密码不能全部是数字"
    if password.strip().lower() == username.strip().lower():
        return "密码不能与用户名相同"
    return None


def change_password(env: Env, user_id: int, current: str, new: str, repeat: str) -> int:
    """The user's own password change: the current password, the new one twice, the strength
    rule. Lifts a forced change and ends every other session; returns the new session version."""
    with env.db.read() as session:
        user = session.get(User, user_id)
        if user is None or not user.active:
            raise NotFound(f"user {user_id} does not exist", "用户不存在")
        stored, username = user.password_hash, user.username
    errors = {}
    if not check_password(stored, current):
        errors["current"] = "当前密码不正确"
    problem = password_problem(new, username)
    if problem:
        errors["new"] = problem
    elif new != repeat:
        errors["repeat"] = "两次输入的新密码不一致"
    elif new == current:
        errors["new"] = "新密码不能与当前密码相同"
    if errors:
        raise FormInvalid(errors)
    with env.db.write() as session:
        user = session.get(User, user_id)
        assert user is not None
        user.password_hash = hash_password(new)
        user.must_change_password = False
        user.session_version = (user.session_version or 0) + 1
        return user.session_version
