"""暂存 on the task page (webapp/drafts.py) and the idle timeout that keeps what was typed
(webapp/security.py, webapp/auth.py): save, restore, discard, privacy, the form posted after the
timeout, the login that leads back, 继续工作 and the page's own idle-out."""
from __future__ import annotations

from datetime import timedelta

import pytest

from engine.drafts import drafts_of_task, load_draft
from engine.inbox import inbox
from engine.models import OrgUnit, Role
from engine.orgs import create_user
from tests.web.conftest import login, start_plain

FETCH = {"X-Requested-With": "fetch", "Accept": "application/json"}


@pytest.fixture
def task(env, plain) -> int:
    """An open step1 task of a plain case at the town t1, and a second caseworker of t1."""
    with env.db.write() as s:
        create_user(s, "t1_cw2", "镇经办二", "secret-pass", env.clock.now(),
                    [(Role.caseworker, s.get(OrgUnit, plain.units["t1"]))])
    start_plain(env, plain)
    return inbox(env, plain.actor("t1_cw").id).items[0].id


def test_saved_draft_comes_back_into_the_form(env, client, plain, task):
    login(client, "t1_cw")
    r = client.post(f"/tasks/{task}/draft", data={"note": "已电话联系申请人，约定周三面谈", "_opinion": "拟同意"})
    assert r.status_code == 302 and r.location.endswith(f"/tasks/{task}")
    page = client.get(f"/tasks/{task}").text
    assert "已暂存" in page and "已恢复您于 2026-" in page and "暂存的内容" in page
    assert "已电话联系申请人，约定周三面谈" in page and "拟同意" in page


def test_autosave_answers_json_with_beijing_time(env, client, plain, task):
    login(client, "t1_cw")
    r = client.post(f"/tasks/{task}/draft", data={"note": "自动暂存"}, headers=FETCH)
    assert r.status_code == 200
    assert r.json["message"].startswith("已暂存（2026-") and "T" not in r.json["saved_at"]
    assert load_draft(env, plain.actor("t1_cw").id, task).values == {"note": "自动暂存"}


def test_a_colleague_of_the_same_unit_never_sees_the_draft(env, client, plain, task):
    login(client, "t1_cw")
    client.post(f"/tasks/{task}/draft", data={"note": "只给自己看的草稿"})
    client.post("/logout")
    login(client, "t1_cw2")
    page = client.get(f"/tasks/{task}")
    assert page.status_code == 200 and "只给自己看的草稿" not in page.text and "已恢复" not in page.text
    client.post(f"/tasks/{task}/draft/discard")  # discards only their own (none)
    assert drafts_of_task(env, task) == [plain.actor("t1_cw").id]


def test_who_may_not_act_cannot_save_and_others_do_not_see_the_task(env, client, plain, task):
    login(client, "city_audit")  # reads the case, acts on nothing
    r = client.post(f"/tasks/{task}/draft", data={"note": "x"}, headers=FETCH)
    assert r.status_code == 403 and r.json["error"].startswith("暂存未成功：您不能办理该任务")
    client.post("/logout")
    login(client, "t2_cw")  # the other district
    assert client.post(f"/tasks/{task}/draft", data={"note": "x"}).status_code == 404
    assert drafts_of_task(env, task) == []


def test_discard_and_completion_remove_the_draft(env, client, plain, task):
    login(client, "t1_cw")
    client.post(f"/tasks/{task}/draft", data={"note": "草稿一"})
    r = client.post(f"/tasks/{task}/draft/discard", follow_redirects=True)
    assert "已放弃暂存的内容" in r.text and "草稿一" not in r.text
    client.post(f"/tasks/{task}/draft", data={"note": "草稿二"})
    assert client.post(f"/tasks/{task}", data={"note": "办结"}).status_code == 302
    assert drafts_of_task(env, task) == []


def test_too_large_a_draft_is_refused_in_chinese(env, client, plain, task):
    login(client, "t1_cw")
    r = client.post(f"/tasks/{task}/draft", data={"note": "长" * 100_000}, headers=FETCH)
    assert r.status_code == 422 and "暂存内容过大" in r.json["error"]


def test_a_form_posted_after_the_timeout_is_kept_and_the_login_leads_back(env, client, plain, task, clock):
    login(client, "t1_cw")
    client.get(f"/tasks/{task}")
    clock.advance(timedelta(minutes=31))
    r = client.post(f"/tasks/{task}", data={"note": "超时前写好的办理说明", "_opinion": "同意"},
                    headers={"Referer": f"http://localhost/tasks/{task}"})
    assert r.status_code == 302 and r.location == f"/login?next=/tasks/{task}"
    login_page = client.get(r.location).text
    assert "长时间未操作" in login_page and "您填写的内容已暂存" in login_page
    back = client.post(r.location, data={"username": "t1_cw", "password": "secret-pass"})
    assert back.location == f"/tasks/{task}"
    page = client.get(back.location).text
    assert "超时前写好的办理说明" in page and "已恢复您于" in page


def test_autosave_after_the_timeout_keeps_the_text_and_answers_401(env, client, plain, task, clock):
    login(client, "t1_cw")
    clock.advance(timedelta(minutes=31))
    r = client.post(f"/tasks/{task}/draft", data={"note": "最后一句", "_here": f"/tasks/{task}"}, headers=FETCH)
    assert r.status_code == 401 and r.json["login"] == f"/login?next=/tasks/{task}"
    assert load_draft(env, plain.actor("t1_cw").id, task).values == {"note": "最后一句"}


def test_the_return_after_login_is_never_another_site(env, client, plain, task, clock):
    login(client, "t1_cw")
    for referrer in ("https://evil.example/tasks/1", "//evil.example/x", "/\\evil.example"):
        clock.advance(timedelta(minutes=31))
        r = client.post(f"/tasks/{task}", data={"note": "x"}, headers={"Referer": referrer})
        assert r.location == "/login", referrer
        login(client, "t1_cw")


def test_keep_working_renews_the_session_and_background_saves_do_not(env, client, plain, task, clock):
    login(client, "t1_cw")
    clock.advance(timedelta(minutes=29))
    r = client.post("/session/keepalive", headers=FETCH)
    assert r.status_code == 200 and r.json == {"remaining": 1800}
    clock.advance(timedelta(minutes=29))
    assert client.get(f"/tasks/{task}").status_code == 200  # 58 minutes after sign-in
    clock.advance(timedelta(minutes=20))
    background = {**FETCH, "X-Rongflow-Background": "1"}
    assert client.post(f"/tasks/{task}/draft", data={"note": "后台暂存"}, headers=background).status_code == 200
    clock.advance(timedelta(minutes=11))  # 31 minutes since the last activity of the user
    assert client.get(f"/tasks/{task}").location.startswith("/login")


def test_the_pages_idle_out_ends_the_session_only_when_it_is_idle(env, client, plain, task, clock):
    login(client, "t1_cw")
    background = {**FETCH, "X-Rongflow-Background": "1"}
    clock.advance(timedelta(minutes=10))
    r = client.post("/session/idle-out", data={"_here": f"/tasks/{task}"}, headers=background)
    assert r.status_code == 200 and r.json["remaining"] == 20 * 60  # another tab may be busy
    clock.advance(timedelta(minutes=19, seconds=58))
    r = client.post("/session/idle-out", data={"_here": f"/tasks/{task}"}, headers=background)
    assert r.status_code == 401 and r.json["login"] == f"/login?next=/tasks/{task}"
    assert client.get("/").location.startswith("/login")


def test_pages_carry_the_idle_timer_settings(client, plain, task):
    login(client, "t1_cw")
    page = client.get(f"/tasks/{task}").text
    assert 'data-idle-seconds="1800"' in page and 'data-idle-warn-seconds="120"' in page
    assert "js/keep.js" in page and 'data-draft-url="/tasks/' in page and "暂存</button>" in page
