"""Signing in and out, lockout, idle timeout, session invalidation, CSRF, security headers."""
from __future__ import annotations

from datetime import timedelta

from tests.web.conftest import PASSWORD, csrf_token, login, make_app


def test_caseworker_signs_in_and_out(client, plain):
    assert client.get("/").status_code == 302
    response = login(client, "t1_cw")
    assert response.status_code == 302 and response.headers["Location"] == "/"
    home = client.get("/")
    assert home.status_code == 200 and "镇经办" in home.text and "待办" in home.text
    out = client.post("/logout")
    assert out.status_code == 302 and "/login" in out.headers["Location"]
    assert "您已安全退出" in client.get("/login").text
    assert client.get("/").status_code == 302


def test_logout_ends_every_copy_of_the_session(app, plain):
    first, second = app.test_client(), app.test_client()
    login(first, "t1_cw")
    second.set_cookie("session", first.get_cookie("session").value)
    assert second.get("/").status_code == 200  # the copied cookie works while signed in
    first.post("/logout")
    stale = second.get("/")
    assert stale.status_code == 302 and "/login" in stale.headers["Location"]


def test_sign_in_starts_a_fresh_session(client, plain):
    with client.session_transaction() as s:
        s["planted"] = "by an attacker"
    login(client, "t1_cw")
    with client.session_transaction() as s:
        assert "planted" not in s


def test_wrong_passwords_lock_the_account_for_a_while(client, plain, clock):
    for attempt in range(1, 5):
        response = login(client, "t1_cw", "wrong")
        assert response.status_code == 401 and "用户名或密码错误" in response.text
    assert "再错 1 次" in response.text
    locked = login(client, "t1_cw", "wrong")
    assert "账户已被锁定" in locked.text and "15 分钟" in locked.text
    still = login(client, "t1_cw", PASSWORD)  # right password, but locked
    assert still.status_code == 401 and "账户已被锁定" in still.text
    clock.advance(timedelta(minutes=16))
    assert login(client, "t1_cw", PASSWORD).status_code == 302


def test_unknown_user_gets_the_same_message(client, plain):
    response = login(client, "nobody", "whatever")
    assert response.status_code == 401 and "用户名或密码错误" in response.text


def test_idle_session_times_out(client, plain, clock):
    login(client, "t1_cw")
    clock.advance(timedelta(minutes=29))
    assert client.get("/").status_code == 200  # activity resets the idle clock
    clock.advance(timedelta(minutes=29))
    assert client.get("/").status_code == 200
    clock.advance(timedelta(minutes=31))
    response = client.get("/?tab=mine")
    assert response.status_code == 302 and "/login" in response.headers["Location"]
    assert "长时间未操作" in client.get(response.headers["Location"]).text


def test_after_login_the_user_returns_to_the_page_asked_for(client, plain):
    response = client.post("/login?next=/start", data={"username": "t1_cw", "password": PASSWORD})
    assert response.headers["Location"] == "/start"
    client.post("/logout")
    evil = client.post("/login?next=https://evil.example/x", data={"username": "t1_cw", "password": PASSWORD})
    assert evil.headers["Location"] == "/"


def test_csrf_token_is_required_on_posts(env, tmp_path, plain):
    app = make_app(env, tmp_path, WTF_CSRF_ENABLED=True)
    client = app.test_client()
    page = client.get("/login")
    refused = client.post("/login", data={"username": "t1_cw", "password": PASSWORD})
    assert refused.status_code == 400 and "页面已过期" in refused.text
    accepted = client.post("/login", data={"username": "t1_cw", "password": PASSWORD,
                                           "csrf_token": csrf_token(page.text)})
    assert accepted.status_code == 302
    home = client.get("/")
    assert client.post("/logout").status_code == 400  # logout is a form too
    assert client.post("/logout", data={"csrf_token": csrf_token(home.text)}).status_code == 302


def test_security_headers_on_every_response(client, plain):
    login(client, "t1_cw")
    for url in ("/login", "/", "/static/css/app.css", "/no-such-page"):
        response = client.get(url)
        csp = response.headers["Content-Security-Policy"]
        assert "script-src 'self'" in csp and "style-src 'self'" in csp and "unsafe-inline" not in csp
        assert "frame-ancestors 'none'" in csp
        assert response.headers["X-Frame-Options"] == "DENY"
        assert response.headers["X-Content-Type-Options"] == "nosniff"
        assert response.headers["Referrer-Policy"] == "same-origin"
        assert all(len(response.headers.getlist(name)) == 1 for name in response.headers.keys())
        no_store = response.headers.get("Cache-Control") == "no-store"
        assert no_store == (not url.startswith("/static/")), url  # static files may be cached


def test_session_cookie_is_httponly_and_secure_outside_development(env, tmp_path, plain):
    app = make_app(env, tmp_path, SESSION_COOKIE_SECURE=True)
    client = app.test_client()
    response = login(client, "t1_cw")
    cookie = response.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "Secure" in cookie and "SameSite=Lax" in cookie


def test_error_pages_are_chinese(client, plain):
    login(client, "t1_cw")
    response = client.get("/no-such-page")
    assert response.status_code == 404 and "页面不存在" in response.text
