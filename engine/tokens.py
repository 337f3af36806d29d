"""Personal access tokens for the JSON API: created and revoked by their owner or an admin whose
subtree holds the owner, stored as SHA-256 of the secret (shown once), scoped "read" or "act",
with an expiry. `token_user` answers who a token is, grants included, in one statement."""
from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import bindparam, select, update
from sqlalchemy.orm import Session

from engine.admin import admin_paths
from engine.admin_scope import user_visible
from engine.auth import Grant, SessionUser
from engine.env import Env
from engine.errors import FormInvalid, NotFound, PermissionDenied
from engine.models import ApiToken, OrgUnit, RoleGrant, User

SCOPES = ("read", "act")
PREFIX = "rft_"
MAX_DAYS = 366
MAX_TOKENS = 20


@dataclass(frozen=True)
class NewToken:
    """A token just created: `secret` is shown once and never stored."""
    id: int
    secret: str
    expires_at: datetime


@dataclass(frozen=True)
class TokenUser:
    """Who a token acts for, and what it may do."""
    token_id: int
    scope: str
    user: SessionUser


@dataclass(frozen=True)
class TokenRow:
    id: int
    user_id: int
    username: str
    full_name: str
    name: str
    prefix: str
    scope: str
    created_at: datetime
    expires_at: datetime
    revoked_at: datetime | None


def hash_secret(secret: str) -> str:
    return hashlib.sha256(secret.encode("utf-8", "surrogatepass")).hexdigest()


def _check_new(name: str, scope: str, days: int) -> None:
    errors: dict[str, str] = {}
    if not name.strip() or len(name.strip()) > 64:
        errors["name"] = "请填写令牌名称（不超过 64 个字符）"
    if scope not in SCOPES:
        errors["scope"] = "请选择权限范围：只读或办理"
    if not 1 <= days <= MAX_DAYS:
        errors["days"] = f"有效期应为 1 至 {MAX_DAYS} 天"
    if errors:
        raise FormInvalid(errors)


def _may_manage(session: Session, actor_id: int, owner_id: int) -> None:
    if actor_id == owner_id:
        return
    paths = admin_paths(session, actor_id)
    if not paths or not user_visible(session, paths, owner_id):
        raise PermissionDenied(f"user {actor_id} may not manage the tokens of user {owner_id}",
                               "您无权管理该用户的访问令牌")


def create_token(env: Env, actor_id: int, owner_id: int, name: str, scope: str, days: int) -> NewToken:
    """A new token for `owner_id` (the actor themself, or a user in an admin's subtree)."""
    _check_new(name, scope, days)
    now = env.clock.now()
    secret = PREFIX + secrets.token_urlsafe(32)
    with env.db.write() as session:
        _may_manage(session, actor_id, owner_id)
        owner = session.get(User, owner_id)
        if owner is None or not owner.active:
            raise NotFound(f"user {owner_id} does not exist or is inactive", "用户不存在或已停用")
        live = session.scalars(select(ApiToken.id).where(
            ApiToken.user_id == owner_id, ApiToken.revoked_at.is_(None), ApiToken.expires_at > now)).all()
        if len(live) >= MAX_TOKENS:
            raise FormInvalid({"name": f"每位用户最多 {MAX_TOKENS} 个有效令牌，请先撤销不用的令牌"})
        row = ApiToken(user_id=owner_id, name=name.strip(), token_hash=hash_secret(secret),
                       prefix=secret[:12], scope=scope, created_at=now, expires_at=now + timedelta(days=days))
        session.add(row)
        session.flush()
        return NewToken(row.id, secret, row.expires_at)


def revoke_token(env: Env, actor_id: int, token_id: int) -> None:
    """Revoke a token (its owner or an admin over the owner); revoking twice is harmless."""
    with env.db.write() as session:
        row = session.get(ApiToken, token_id)
        if row is None:
            raise NotFound(f"token {token_id} does not exist", "令牌不存在")
        _may_manage(session, actor_id, row.user_id)
        if row.revoked_at is None:
            row.revoked_at = env.clock.now()
            row.revoked_by = actor_id


def _rows(session: Session, where: object) -> list[TokenRow]:
    result = session.execute(select(ApiToken, User.username, User.full_name)
                             .join(User, User.id == ApiToken.user_id).where(where)
                             .order_by(ApiToken.id.desc()))
    return [TokenRow(t.id, t.user_id, u, f, t.name, t.prefix, t.scope, t.created_at, t.expires_at, t.revoked_at)
            for t, u, f in result]


def list_tokens(env: Env, user_id: int) -> list[TokenRow]:
    """The user's own tokens, newest first (never their secrets)."""
    with env.db.read() as session:
        return _rows(session, ApiToken.user_id == user_id)


def admin_list_tokens(env: Env, admin_id: int) -> list[TokenRow]:
    """Every token of the users in the admin's subtree, newest first."""
    with env.db.read() as session:
        paths = admin_paths(session, admin_id)
        if not paths:
            raise PermissionDenied(f"user {admin_id} is not an administrator", "仅系统管理员可以执行此操作")
        rows = _rows(session, ApiToken.id.is_not(None))
        visible = {r.user_id for r in rows if user_visible(session, paths, r.user_id)}
        return [r for r in rows if r.user_id in visible]


# Prebuilt: the token's user and every grant of that user, in one statement.
_TOKEN_USER = (select(ApiToken.id, ApiToken.scope, User.id.label("uid"), User.username, User.full_name,
                      User.session_version, User.must_change_password, RoleGrant.role,
                      RoleGrant.org_unit_id, OrgUnit.name.label("unit_name"))
               .join(User, User.id == ApiToken.user_id)
               .outerjoin(RoleGrant, RoleGrant.user_id == User.id)
               .outerjoin(OrgUnit, OrgUnit.id == RoleGrant.org_unit_id)
               .where(ApiToken.token_hash == bindparam("token_hash"), ApiToken.revoked_at.is_(None),
                      ApiToken.expires_at > bindparam("now"), User.active.is_(True))
               .order_by(RoleGrant.id))


def token_user(env: Env, secret: str) -> TokenUser | None:
    """The user a live token acts for, or None (unknown, revoked, expired, user disabled)."""
    if not secret.startswith(PREFIX) or len(secret) > 100:
        return None
    now = env.clock.now()
    with env.db.single_read() as conn:
        rows = conn.execute(_TOKEN_USER, {"token_hash": hash_secret(secret), "now": now}).all()
    if not rows:
        return None
    first = rows[0]
    grants = tuple(Grant(r.role, r.org_unit_id, r.unit_name) for r in rows if r.role is not None)
    user = SessionUser(first.uid, first.username, first.full_name, first.session_version, grants,
                       bool(first.must_change_password))
    return TokenUser(first.id, first.scope, user)


def revoke_all(session: Session, user_id: int, now: datetime) -> None:
    """Revoke every live token of a user (inside the caller's transaction)."""
    session.execute(update(ApiToken).where(ApiToken.user_id == user_id, ApiToken.revoked_at.is_(None))
                    .values(revoked_at=now))
