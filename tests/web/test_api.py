"""The JSON API: tokens (scope, expiry, revocation, someone else's token), the same engine
calls and refusals as the pages with a stable error code, CSRF for cookie callers."""
from __future__ import annotations

import io
from datetime import timedelta

import pytest

from engine.inbox import inbox
from engine.errors import Unauthenticated
from engine.models import ApiToken, User
from engine.orgs import Actor
from engine.runtime import case_history, complete_task
from engine.tokens import create_token, hash_secret, revoke_token
from webapp.api.auth import KNOWN_SECONDS
from tests.factories import open_tasks
from tests.web.conftest import BAD_ID, GOOD_ID, csrf_token, make_app, start_plain


def bearer(secret: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {secret}"}


def token(env, org, username: str, scope: str = "act", days: int = 30) -> str:
    uid = org.actor(username).id
    return create_token(env, uid, uid, f"{username} 脚本", scope, days).secret


def _to_step2(env, org):
    started = start_plain(env, org)
    cw = org.actor("t1_cw")
    complete_task(env, inbox(env, cw.id).items[0].id, cw, {"note": "已登记"})
    return started, open_tasks(env, started.instance_id, "step2")[0]


def test_inbox_and_complete_with_a_token(env, client, plain):
    started, task = _to_step2(env, plain)
    h = bearer(token(env, plain, "t1_cw"))
    listed = client.get("/api/v1/tasks/inbox", headers=h)
    assert listed.status_code == 200 and [t["id"] for t in listed.json["items"]] == [task.id]
    detail = client.get(f"/api/v1/tasks/{task.id}", headers=h).json
    assert detail["form_schema"]["title"] == "初审" and detail["can_act"] is True
    done = client.post(f"/api/v1/tasks/{task.id}/complete", headers=h, json={
        "data": {"verified_id_number": GOOD_ID, "amount": 12000.5, "decision": "同意"}, "opinion": "同意，报区局复核"})
    assert done.status_code == 200, done.json
    assert done.json["status"] == "running" and done.json["new_task_ids"]
    event = case_history(env, started.instance_id)[-1]
    assert event.action == "complete" and event.opinion == "同意，报区局复核"
    assert "set-cookie" not in {k.lower() for k in done.headers.keys()}  # no browser session for a token
    again = client.post(f"/api/v1/tasks/{task.id}/complete", headers=h, json={"data": {}})
    assert again.status_code == 409 and again.json["code"] == "conflict"
    assert again.json["user_message"] == "该任务已被处理，无需重复提交"


def test_an_invalid_form_is_422_with_field_errors_and_completes_nothing(env, client, plain):
    started, task = _to_step2(env, plain)
    h = bearer(token(env, plain, "t1_cw"))
    r = client.post(f"/api/v1/tasks/{task.id}/complete", headers=h,
                    json={"data": {"verified_id_number": BAD_ID, "amount": -5, "decision": "同意"}})
    assert r.status_code == 422 and r.json["code"] == "form_invalid"
    assert set(r.json["errors"]) == {"verified_id_number", "amount"}
    assert r.json["user_message"] == "表单填写有误，请按提示修改。"
    shape = client.post(f"/api/v1/tasks/{task.id}/complete", headers=h, json={"data": [], "extra": 1})
    assert shape.status_code == 422 and shape.json["code"] == "invalid_request" and shape.json["errors"]
    assert open_tasks(env, started.instance_id, "step2")[0].id == task.id


def test_someone_elses_task_is_not_found_and_not_completed(env, client, plain):
    started, task = _to_step2(env, plain)
    other = bearer(token(env, plain, "t2_cw"))
    assert client.get("/api/v1/tasks/inbox", headers=other).json["items"] == []
    assert client.get(f"/api/v1/tasks/{task.id}", headers=other).status_code == 404
    r = client.post(f"/api/v1/tasks/{task.id}/complete", headers=other, json={"data": {"decision": "同意"}})
    assert r.status_code in (403, 404) and r.json["user_message"]
    assert client.get(f"/api/v1/cases/{started.instance_id}", headers=other).status_code == 404
    assert open_tasks(env, started.instance_id, "step2")[0].id == task.id


@pytest.mark.parametrize("kind", ["unknown", "revoked", "expired", "read_scope", "none", "malformed"])
def test_a_token_that_may_not_act_is_refused(env, client, plain, clock, kind):
    started, task = _to_step2(env, plain)
    secret = token(env, plain, "t1_cw", scope="read" if kind == "read_scope" else "act", days=1)
    if kind == "revoked":
        with env.db.read() as s:
            tid = s.query(ApiToken).one().id
        revoke_token(env, plain.actor("t1_cw").id, tid)
    if kind == "expired":
        clock.advance(timedelta(days=2))
    headers = {"unknown": bearer("rft_" + "x" * 43), "none": {}, "malformed": {"Authorization": "Basic abc"}}
    h = headers.get(kind, bearer(secret))
    r = client.post(f"/api/v1/tasks/{task.id}/complete", headers=h, json={"data": {"decision": "同意"}})
    assert r.status_code == (403 if kind == "read_scope" else 401)
    assert r.json["code"] in ("unauthorized", "permission_denied") and r.json["user_message"]
    if kind == "read_scope":
        assert client.get("/api/v1/tasks/inbox", headers=h).status_code == 200
    assert open_tasks(env, started.instance_id, "step2")[0].id == task.id


STEP2 = {"verified_id_number": GOOD_ID, "decision": "同意"}


def _kill(env, org, clock, kind: str, secret: str) -> None:
    """Kill a token the app has seen alive, without the app hearing of it (another process)."""
    with env.db.write() as s:
        row = s.query(ApiToken).filter_by(token_hash=hash_secret(secret)).one()
        if kind == "revoked":
            row.revoked_at = clock.now()
        elif kind == "expired":
            row.expires_at = clock.now() + timedelta(seconds=10)
        else:
            s.get(User, org.actor("t1_cw").id).active = False
    if kind == "expired":
        clock.advance(timedelta(seconds=20))  # expired, though seen alive 20 s ago


@pytest.mark.parametrize("kind", ["revoked", "expired", "user_disabled"])
def test_a_token_seen_alive_then_killed_elsewhere_is_refused_by_the_submit_itself(env, client, plain, clock, kind):
    started, task = _to_step2(env, plain)
    secret = token(env, plain, "t1_cw")
    assert client.get("/api/v1/me", headers=bearer(secret)).status_code == 200  # seen alive
    _kill(env, plain, clock, kind, secret)
    events = len(case_history(env, started.instance_id))
    env.db.counter.reset()
    r = client.post(f"/api/v1/tasks/{task.id}/complete", headers=bearer(secret), json={"data": STEP2})
    assert r.status_code == 401 and r.json["code"] == "unauthorized", r.json
    assert r.json["user_message"] == "访问令牌已失效，请重新获取令牌"
    assert r.json["message"] == "the token is revoked or expired, or its user is disabled"
    assert env.db.counter.commits == 0  # refused inside the command's transaction, rolled back
    assert open_tasks(env, started.instance_id, "step2")[0].id == task.id
    assert len(case_history(env, started.instance_id)) == events
    # forgotten: the next submit and any read are refused at the door
    again = client.post(f"/api/v1/tasks/{task.id}/complete", headers=bearer(secret), json={"data": STEP2})
    assert again.status_code == 401 and again.json["message"] != r.json["message"]
    assert client.get("/api/v1/me", headers=bearer(secret)).status_code == 401


def test_a_dead_token_learns_nothing_of_which_tasks_exist(env, client, plain, clock):
    started, task = _to_step2(env, plain)
    secret = token(env, plain, "t1_cw")
    live = client.post("/api/v1/tasks/999999/complete", headers=bearer(secret), json={"data": {}})
    assert live.status_code == 404  # seen alive by this request's door lookup
    _kill(env, plain, clock, "revoked", secret)
    for task_id in (999999, task.id):
        r = client.post(f"/api/v1/tasks/{task_id}/complete", headers=bearer(secret), json={"data": {}})
        assert r.status_code == 401 and r.json["code"] == "unauthorized", (task_id, r.json)
        assert r.json["message"] == "the token is revoked or expired, or its user is disabled"  # the command's
        at_door = client.get("/api/v1/me", headers=bearer(secret))  # forgotten: refused at the door
        assert at_door.status_code == 401
        with env.db.write() as s:  # alive again for the next round, and seen so
            s.query(ApiToken).filter_by(token_hash=hash_secret(secret)).one().revoked_at = None
        assert client.get("/api/v1/me", headers=bearer(secret)).status_code == 200
        _kill(env, plain, clock, "revoked", secret)


def test_a_token_acts_only_for_its_own_user(env, plain):
    """The command's check ties the token to the actor: another user's live token lets nobody in."""
    started, task = _to_step2(env, plain)
    secret = token(env, plain, "t2_cw")
    with env.db.read() as s:
        tid = s.query(ApiToken).filter_by(token_hash=hash_secret(secret)).one().id
    cw = plain.actor("t1_cw")
    with pytest.raises(Unauthenticated):
        complete_task(env, task.id, Actor(cw.id, cw.name, tid), STEP2)
    assert open_tasks(env, started.instance_id, "step2")[0].id == task.id
    own = token(env, plain, "t1_cw")
    with env.db.read() as s:
        own_id = s.query(ApiToken).filter_by(token_hash=hash_secret(own)).one().id
    assert complete_task(env, task.id, Actor(cw.id, cw.name, own_id), STEP2).new_task_ids


def test_another_process_that_saw_the_token_refuses_it_once_revoked(env, plain, tmp_path):
    started, task = _to_step2(env, plain)
    secret = token(env, plain, "t1_cw")
    a, b = make_app(env, tmp_path / "a").test_client(), make_app(env, tmp_path / "b").test_client()  # two processes
    assert b.get("/api/v1/me", headers=bearer(secret)).status_code == 200
    with env.db.read() as s:
        tid = s.query(ApiToken).one().id
    a.post("/login", data={"username": "t1_cw", "password": "secret-pass"})
    assert a.post(f"/account/tokens/{tid}/revoke").status_code == 302
    r = b.post(f"/api/v1/tasks/{task.id}/complete", headers=bearer(secret), json={"data": STEP2})
    assert r.status_code == 401 and r.json["message"] == "the token is revoked or expired, or its user is disabled"
    assert open_tasks(env, started.instance_id, "step2")[0].id == task.id


def test_a_submit_looks_a_token_up_again_after_a_minute(env, client, plain, clock):
    """Who a token is, as seen at the door, serves submits for KNOWN_SECONDS, then is asked again."""
    secret = token(env, plain, "t1_cw")
    assert client.get("/api/v1/me", headers=bearer(secret)).status_code == 200

    def submit_statements() -> int:
        task = open_tasks(env, start_plain(env, plain).instance_id, "step1")[0]
        env.db.counter.reset()
        r = client.post(f"/api/v1/tasks/{task.id}/complete", headers=bearer(secret), json={"data": {"note": "已登记"}})
        assert r.status_code == 200, r.json
        return env.db.counter.statements

    clock.advance(timedelta(seconds=KNOWN_SECONDS))
    known = submit_statements()  # at exactly a minute: still known
    clock.advance(timedelta(seconds=1))
    looked_up = submit_statements()
    assert looked_up == known + 1, (known, looked_up)
    assert submit_statements() == known  # seen again just now


def test_cookie_callers_keep_csrf(env, plain, tmp_path):
    app = make_app(env, tmp_path, WTF_CSRF_ENABLED=True)
    started, task = _to_step2(env, plain)
    with app.test_client() as client:
        page = client.get("/login").text
        client.post("/login", data={"username": "t1_cw", "password": "secret-pass", "csrf_token": csrf_token(page)})
        assert client.get("/api/v1/me").json["auth"] == "session"
        body = {"data": {"verified_id_number": GOOD_ID, "decision": "同意"}}
        refused = client.post(f"/api/v1/tasks/{task.id}/complete", json=body)
        assert refused.status_code == 400 and refused.json["code"] == "csrf_failed"
        home = client.get("/").text
        ok = client.post(f"/api/v1/tasks/{task.id}/complete", json=body, headers={"X-CSRFToken": csrf_token(home)})
        assert ok.status_code == 200
        # a token is not a way round CSRF for a browser: its own secret must be sent
        assert client.post("/api/v1/tasks/1/claim", headers=bearer("rft_nope")).status_code in (400, 401)


def test_start_a_case_and_read_it_with_history_and_clocks(env, client, plain):
    h = bearer(token(env, plain, "t1_cw"))
    r = client.post("/api/v1/processes/plain/cases", headers=h, json={
        "org_unit_id": plain.units["t1"], "data": {"subject": "优抚金申请", "petitioner_name": "王建国",
                                                   "id_number": GOOD_ID}})
    assert r.status_code == 201, r.json
    case = client.get(f"/api/v1/cases/{r.json['instance_id']}", headers=h).json
    assert case["case_no"] == r.json["case_no"] and case["history"][0]["action"] == "start"
    assert case["open_tasks"][0]["step_id"] == "step1"
    assert [c["id"] for c in client.get("/api/v1/cases/started", headers=h).json["items"]] == [case["id"]]
    elsewhere = client.post("/api/v1/processes/plain/cases", headers=h, json={"org_unit_id": plain.units["t2"],
                                                                              "data": {}})
    assert elsewhere.status_code in (403, 422) and elsewhere.json["user_message"]


def test_login_required_json_not_a_redirect(client, plain):
    r = client.get("/api/v1/tasks/inbox")
    assert r.status_code == 401 and r.json["code"] == "unauthorized"
    assert client.get("/api/v1/openapi.json").json["openapi"] == "3.1.0"
    assert "swagger-ui-bundle.js" in client.get("/api/v1/docs").text
    assert client.get("/api/v1/docs/static/swagger-ui-bundle.js").status_code == 200


def test_a_form_post_to_a_json_operation_is_415_not_a_crash(env, client, plain):
    started, task = _to_step2(env, plain)
    r = client.post(f"/api/v1/tasks/{task.id}/complete", headers=bearer(token(env, plain, "t1_cw")),
                    data={"decision": "同意"})
    assert r.status_code == 415 and r.json["code"] == "unsupported_media_type"
    assert open_tasks(env, started.instance_id, "step2")[0].id == task.id


def test_each_token_has_its_own_rate_limit(env, plain, tmp_path):
    app = make_app(env, tmp_path, API_RATE_PER_MINUTE=3)
    busy, calm = bearer(token(env, plain, "t1_cw")), bearer(token(env, plain, "t1_cw"))
    with app.test_client() as client:
        assert [client.get("/api/v1/me", headers=busy).status_code for _ in range(4)] == [200, 200, 200, 429]
        refused = client.get("/api/v1/tasks/inbox", headers=busy)
        assert refused.status_code == 429 and refused.json["code"] == "rate_limited"
        assert refused.json["user_message"] == "请求过于频繁，请稍后再试"
        assert client.get("/api/v1/me", headers=calm).status_code == 200


def test_attachments_up_and_down_for_those_who_may(env, client, plain):
    started, task = _to_step2(env, plain)
    h = bearer(token(env, plain, "t1_cw"))
    up = client.post(f"/api/v1/cases/{started.instance_id}/attachments", headers=h,
                     data={"file": (io.BytesIO(b"%PDF-1.4\n% api\n"), "证明.pdf"), "task_id": str(task.id)})
    assert up.status_code == 201, up.json
    assert up.json["filename"] == "证明.pdf" and up.json["size"] == 15
    down = client.get(f"/api/v1/attachments/{up.json['id']}", headers=h)
    assert down.status_code == 200 and down.data == b"%PDF-1.4\n% api\n"
    other = bearer(token(env, plain, "t2_cw"))
    assert client.get(f"/api/v1/attachments/{up.json['id']}", headers=other).status_code == 404
    empty = client.post(f"/api/v1/cases/{started.instance_id}/attachments", headers=h, data={})
    assert empty.status_code == 422 and empty.json["errors"]


def test_a_proxy_named_listed_and_ended_through_the_api(env, client, plain):
    h = bearer(token(env, plain, "t1_cw"))
    other = plain.actor("v1_cw").id
    bad = client.post("/api/v1/proxy", headers=h, json={"proxy_id": other, "starts_on": "2026-03-10",
                                                        "ends_on": "2026-03-05"})
    assert bad.status_code == 422 and bad.json["errors"]
    made = client.post("/api/v1/proxy", headers=h, json={"proxy_id": other, "starts_on": "2026-03-02",
                                                         "ends_on": "2026-03-06"})
    assert made.status_code == 201, made.json
    [row] = client.get("/api/v1/proxy", headers=h).json["items"]
    assert row["id"] == made.json["id"] and row["proxy_name"] == "村工作人员"
    someone_else = bearer(token(env, plain, "t2_cw"))
    assert client.post(f"/api/v1/proxy/{row['id']}/end", headers=someone_else).status_code in (403, 404)
    assert client.post(f"/api/v1/proxy/{row['id']}/end", headers=h).status_code == 200
