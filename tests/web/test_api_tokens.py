"""访问令牌 pages: created by their owner and shown once, listed without the secret, revoked by
the owner or an admin over the owner; nobody else may revoke or list them."""
from __future__ import annotations

import re

from engine.models import ApiToken
from engine.tokens import create_token, token_user
from tests.web.conftest import login


def _secret(html: str) -> str:
    found = re.search(r'id="new-token">(rft_[^<]+)<', html)
    assert found, "no new token on the page"
    return found.group(1)


def _token_id(env) -> int:
    with env.db.read() as s:
        return s.query(ApiToken).order_by(ApiToken.id.desc()).first().id


def test_a_user_creates_a_token_sees_it_once_uses_it_and_revokes_it(env, client, plain):
    login(client, "t1_cw")
    created = client.post("/account/tokens", data={"name": "12345热线", "scope": "read", "days": "30"})
    assert created.status_code == 201
    secret = _secret(created.text)
    listed = client.get("/account/tokens").text
    assert "12345热线" in listed and secret not in listed and secret[:12] in listed and "只读" in listed
    with env.db.read() as s:
        assert secret not in {t.token_hash for t in s.query(ApiToken)}  # stored hashed
    found = token_user(env, secret)  # (over HTTP: tests/web/test_api.py)
    assert found is not None and found.scope == "read" and found.user.username == "t1_cw"
    assert client.post(f"/account/tokens/{_token_id(env)}/revoke").status_code == 302
    assert "已撤销" in client.get("/account/tokens").text
    assert token_user(env, secret) is None


def test_a_bad_token_request_is_refused_per_field(env, client, plain):
    login(client, "t1_cw")
    r = client.post("/account/tokens", data={"name": "", "scope": "root", "days": "9999"})
    assert r.status_code == 422
    assert "请填写令牌名称" in r.text and "请选择权限范围" in r.text and "有效期应为 1 至 366 天" in r.text
    with env.db.read() as s:
        assert s.query(ApiToken).count() == 0


def test_nobody_else_revokes_or_lists_a_users_tokens(env, client, plain):
    owner = plain.actor("t1_cw").id
    create_token(env, owner, owner, "报表同步", "act", 30)
    tid = _token_id(env)
    login(client, "t2_cw")  # a caseworker of another town
    assert client.post(f"/account/tokens/{tid}/revoke").status_code == 403
    assert client.post(f"/admin/tokens/{tid}/revoke").status_code == 403
    assert client.get("/admin/tokens").status_code == 403
    assert "报表同步" not in client.get("/account/tokens").text
    with env.db.read() as s:
        assert s.get(ApiToken, tid).revoked_at is None


def test_an_admin_over_the_owner_lists_and_revokes(env, client, plain):
    owner = plain.actor("t1_cw").id
    create_token(env, owner, owner, "报表同步", "act", 30)
    tid = _token_id(env)
    login(client, "admin")
    assert "镇经办" in client.get("/admin/tokens").text
    assert client.post(f"/admin/tokens/{tid}/revoke").status_code == 302
    with env.db.read() as s:
        row = s.get(ApiToken, tid)
        assert row.revoked_at is not None and row.revoked_by == plain.actor("admin").id
