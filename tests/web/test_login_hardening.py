"""Sign-in hardening: an atomic failure count under parallel guesses, unknown usernames answered
like known ones, HSTS over HTTPS, the own password change and the change forced after a reset."""
from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import pytest

import engine.auth as auth
from engine import admin
from engine.auth import LoginOutcome, attempt_login
from engine.env import make_env
from engine.models import User
from tests.conftest import ROOT
from tests.web.conftest import PASSWORD, login, make_app

MAX, LOCK = 5, 15


class CountingHasher:
    """Wraps engine.auth.check_password: how many argon2 checks, against which hashes."""

    def __init__(self, real):
        self.real, self.hashes, self.lock = real, [], threading.Lock()

    def __call__(self, stored, password):
        with self.lock:
            self.hashes.append(stored)
        return self.real(stored, password)


@pytest.fixture
def hasher(monkeypatch):
    counting = CountingHasher(auth.check_password)
    monkeypatch.setattr(auth, "check_password", counting)
    return counting


def test_forty_parallel_wrong_passwords_get_at_most_the_limit_of_checks(env, plain, hasher):
    def guess(i):
        return attempt_login(env, "t1_cw", f"guess-{i}", max_failures=MAX, lock_minutes=LOCK)

    with ThreadPoolExecutor(max_workers=16) as pool:
        results = list(pool.map(guess, range(40)))
    assert len(hasher.hashes) <= MAX
    checked = [r for r in results if r.outcome == LoginOutcome.bad_credentials]
    assert len(checked) <= MAX - 1  # the last allowed check locks the account
    assert all(r.outcome in (LoginOutcome.bad_credentials, LoginOutcome.locked) for r in results)
    # the account is locked now, even for the right password
    assert attempt_login(env, "t1_cw", PASSWORD, max_failures=MAX, lock_minutes=LOCK).outcome == LoginOutcome.locked


def test_a_right_password_resets_the_count(env, plain):
    for _ in range(MAX - 1):
        attempt_login(env, "t1_cw", "wrong", max_failures=MAX, lock_minutes=LOCK)
    assert attempt_login(env, "t1_cw", PASSWORD, max_failures=MAX, lock_minutes=LOCK).ok
    again = attempt_login(env, "t1_cw", "wrong", max_failures=MAX, lock_minutes=LOCK)
    assert again.outcome == LoginOutcome.bad_credentials and again.failures_left == MAX - 1


def test_unknown_username_costs_one_argon2_check(env, plain, hasher):
    result = attempt_login(env, "nobody-here", "whatever", max_failures=MAX, lock_minutes=LOCK)
    assert result.outcome == LoginOutcome.bad_credentials
    assert hasher.hashes == [auth._DUMMY_HASH]
    known = attempt_login(env, "t1_cw", "whatever", max_failures=MAX, lock_minutes=LOCK)
    assert known.outcome == LoginOutcome.bad_credentials and len(hasher.hashes) == 2
    assert hasher.hashes[1] != auth._DUMMY_HASH


def _error_of(response) -> str:
    text = response.get_data(as_text=True)
    start = text.index('class="alert alert-danger"')
    return text[start:text.index("</div>", start)]


def test_known_and_unknown_usernames_get_the_same_answers_up_to_the_lock(client, plain):
    for attempt in range(MAX + 1):
        known, unknown = login(client, "t1_cw", "wrong"), login(client, "t9_cw", "wrong")
        assert known.status_code == unknown.status_code == 401
        assert _error_of(known) == _error_of(unknown), f"attempt {attempt + 1}"
    assert "账户已被锁定" in _error_of(unknown)


def test_hsts_only_over_https(env, tmp_path, plain):
    app = make_app(env, tmp_path, HSTS_SECONDS=31536000)
    with app.test_client() as client:
        secure = client.get("/login", base_url="https://localhost")
        plain_http = client.get("/login")
    assert secure.headers["Strict-Transport-Security"].startswith("max-age=31536000")
    assert "Strict-Transport-Security" not in plain_http.headers


# ----------------------------------------------------------------------------- own password

def _change(client, current=PASSWORD, new="a-new-pass-9", repeat=None):
    return client.post("/account/password", data={"current": current, "new": new,
                                                   "repeat": new if repeat is None else repeat})


@pytest.mark.parametrize(("current", "new", "repeat", "field", "message"), [
    ("wrong-pass", "a-new-pass-9", None, "current", "当前密码不正确"),
    (PASSWORD, "short1", None, "new", "密码至少 8 位"),
    (PASSWORD, "1234567890", None, "new", "密码不能全部是数字"),
    (PASSWORD, "T1_CW", None, "new", "密码至少 8 位"),
    (PASSWORD, "a-new-pass-9", "a-new-pass-8", "repeat", "两次输入的新密码不一致"),
    (PASSWORD, PASSWORD, None, "new", "新密码不能与当前密码相同"),
])
def test_a_weak_or_mistyped_password_change_is_refused(client, plain, current, new, repeat, field, message):
    login(client, "t1_cw")
    response = _change(client, current, new, repeat)
    assert response.status_code == 422 and message in response.text
    assert f'id="pw-{field}-error"' in response.text
    client.post("/logout")
    assert login(client, "t1_cw", PASSWORD).status_code == 302  # the old password still works


def test_the_password_may_not_be_the_username(env, client, plain):
    with env.db.write() as s:
        s.query(User).filter_by(username="t1_cw").update({"username": "wangjianguo"})
    login(client, "wangjianguo")
    response = _change(client, new="WangJianGuo")
    assert response.status_code == 422 and "密码不能与用户名相同" in response.text


def test_changing_the_password_ends_other_sessions_and_keeps_this_one(app, plain):
    here, elsewhere = app.test_client(), app.test_client()
    login(here, "t1_cw")
    login(elsewhere, "t1_cw")
    assert _change(here).status_code == 302
    assert here.get("/").status_code == 200
    assert elsewhere.get("/").status_code == 302
    here.post("/logout")
    assert login(here, "t1_cw", PASSWORD).status_code == 401
    assert login(here, "t1_cw", "a-new-pass-9").status_code == 302


def test_after_an_admin_reset_every_page_leads_to_the_password_change(env, client, plain):
    target = plain.actor("t1_cw").id
    admin.reset_password(env, plain.actor("admin"), target, "reset-by-admin")
    assert login(client, "t1_cw", "reset-by-admin").status_code == 302
    for path in ("/", "/start", "/leader", f"/cases/{2**31 - 1}"):
        response = client.get(path)
        assert response.status_code == 302 and response.location.endswith("/account/password"), path
    page = client.get("/account/password")
    assert page.status_code == 200 and "已由系统管理员重置" in page.text
    assert client.post("/start/plain", data={}).location.endswith("/account/password")
    assert _change(client, "reset-by-admin", "my-own-pass-1").status_code == 302
    assert client.get("/").status_code == 200
    with env.db.read() as s:
        assert s.get(User, target).must_change_password is False


def test_a_user_changing_their_own_password_is_not_forced_again(env, client, plain):
    login(client, "t1_cw")
    assert _change(client).status_code == 302
    with env.db.read() as s:
        assert s.get(User, plain.actor("t1_cw").id).must_change_password is False
    assert client.get("/").status_code == 200


def test_the_lock_lifts_after_its_time_for_unknown_names_too(client, plain, clock):
    for _ in range(MAX):
        login(client, "ghost", "wrong")
    assert "账户已被锁定" in _error_of(login(client, "ghost", "wrong"))
    clock.advance(timedelta(minutes=LOCK + 1))
    assert "账户已被锁定" not in _error_of(login(client, "ghost", "wrong"))


def test_attempts_through_two_app_processes_share_one_count(env, plain, db_url, clock):
    """Two engine Envs on one database (two gunicorn workers): the count and the lock are one."""
    other = make_env(db_url, clock=clock, bpmn_dir=ROOT / "bpmn")
    try:
        results = [attempt_login(e, "t1_cw", "wrong", max_failures=MAX, lock_minutes=LOCK)
                   for e in [env, other] * MAX][:MAX]
        assert [r.failures_left for r in results[:-1]] == [4, 3, 2, 1]
        assert results[-1].outcome == LoginOutcome.locked
        right = attempt_login(other, "t1_cw", PASSWORD, max_failures=MAX, lock_minutes=LOCK)
        assert right.outcome == LoginOutcome.locked
    finally:
        other.db.dispose()
