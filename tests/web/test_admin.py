"""The admin area: users, units, grants, deployment and case operations through the pages.
Only admins get in (403 otherwise); admins see no case content."""
from __future__ import annotations

import io
import re

import pytest
from sqlalchemy import func, select

from engine.inbox import inbox
from engine.models import (AdminEvent, InstanceStatus, OrgUnit, ProcessDefinition, ProcessInstance,
                           Role, User)
from engine.orgs import create_user
from engine.runtime import complete_task, start_case
from tests.factories import DATA, deploy_files, simple_config
from tests.web.conftest import GOOD_ID, login, start_plain

PLAIN = (DATA / "plain" / "plain.bpmn").read_bytes()
ADMIN_PAGES = ["/admin/", "/admin/users", "/admin/units", "/admin/definitions", "/admin/cases",
               "/admin/log"]


def _status(env, case_id):
    with env.db.read() as s:
        return s.get(ProcessInstance, case_id).status


def _count(env, model):
    with env.db.read() as s:
        return s.scalar(select(func.count()).select_from(model))


def _user_id(env, username):
    with env.db.read() as s:
        return s.scalar(select(User.id).where(User.username == username))


# ----------------------------------------------------------------------------- access

def test_admin_sees_every_admin_page_and_the_nav_link(client, plain):
    login(client, "admin")
    for url in ADMIN_PAGES:
        response = client.get(url)
        assert response.status_code == 200, url
        assert "script-src 'self'" in response.headers["Content-Security-Policy"]
        assert "style=" not in response.text and "onclick" not in response.text, url
    assert 'href="/admin/"' in client.get("/").text


@pytest.mark.parametrize("username", ["t1_cw", "d1_lead", "city_audit"])
def test_non_admins_get_403_on_every_admin_url(client, plain, username):
    login(client, username)
    for url in ADMIN_PAGES + ["/admin/users/1", "/admin/cases/1", "/admin/cases?case_no=PL2026-00001"]:
        assert client.get(url).status_code == 403, url
    uid = _user_id(client.application.extensions["rongflow_env"], "t2_cw")
    posts = {"/admin/users": {"username": "intruder", "full_name": "入侵者", "password": "long-enough-1"},
             f"/admin/users/{uid}/password": {"password": "long-enough-1"},
             f"/admin/users/{uid}/active": {"active": "0"},
             f"/admin/users/{uid}/grants": {"role": "admin", "unit_id": str(plain.units["city"])},
             "/admin/units": {"parent_id": str(plain.units["d1"]), "code": "x", "name": "x", "level": "town"},
             "/admin/definitions": {"key": "plain", "files": (io.BytesIO(PLAIN), "plain.bpmn")}}
    for url, data in posts.items():
        assert client.post(url, data=data).status_code == 403, url
    env = client.application.extensions["rongflow_env"]
    assert _count(env, AdminEvent) == 0 and _user_id(env, "intruder") is None
    assert 'href="/admin/"' not in client.get("/").text


# ----------------------------------------------------------------------------- users and grants

def test_admin_creates_a_user_grants_a_role_and_the_user_works(app, env, plain):
    client = app.test_client()
    login(client, "admin")
    created = client.post("/admin/users", data={"username": "t1_cw2", "full_name": "镇经办二",
                                                "phone": "13800000002", "password": "first-pass-1"})
    assert created.status_code == 302
    page_url = created.headers["Location"]
    uid = int(re.search(r"/admin/users/(\d+)", page_url).group(1))
    granted = client.post(f"/admin/users/{uid}/grants", data={"role": "caseworker", "unit_id": str(plain.units["t1"])})
    assert granted.status_code == 302
    page = client.get(page_url).text
    assert "城东街道退役军人服务站 · <strong>经办人</strong>" in page and "已授予角色" in page
    assert "镇经办二" in client.get("/admin/users?q=经办二").text
    assert "镇经办二" not in client.get("/admin/users?q=nobody").text

    start_plain(env, plain)
    worker = app.test_client()
    assert login(worker, "t1_cw2", "first-pass-1").status_code == 302
    assert "优抚金申请" in worker.get("/").text  # the new caseworker's inbox has the town's task
    with env.db.read() as s:
        actions = s.scalars(select(AdminEvent.action).order_by(AdminEvent.id)).all()
    assert actions == ["user_create", "grant_add"]


def test_create_user_shows_field_errors(client, plain):
    login(client, "admin")
    response = client.post("/admin/users", data={"username": "t1_cw", "full_name": "重名", "password": "short"})
    assert response.status_code == 422
    assert "该用户名已被使用" not in response.text or "密码至少 8 位" in response.text
    assert "密码至少 8 位" in response.text
    again = client.post("/admin/users", data={"username": "t1_cw", "full_name": "重名", "password": "long-enough-1"})
    assert again.status_code == 422 and "该用户名已被使用" in again.text


def test_password_reset_kills_existing_sessions(app, env, plain):
    client, worker = app.test_client(), app.test_client()
    login(worker, "t1_cw")
    assert worker.get("/").status_code == 200
    login(client, "admin")
    uid = plain.actor("t1_cw").id
    done = client.post(f"/admin/users/{uid}/password", data={"password": "new-password-1"})
    assert done.status_code == 302
    assert "原有登录会话已全部失效" in client.get(done.headers["Location"]).text
    stale = worker.get("/")
    assert stale.status_code == 302 and "/login" in stale.headers["Location"]
    assert login(worker, "t1_cw").status_code == 401
    assert login(worker, "t1_cw", "new-password-1").status_code == 302
    short = client.post(f"/admin/users/{uid}/password", data={"password": "short"}, follow_redirects=True)
    assert "密码至少 8 位" in short.text


def test_deactivate_and_reactivate_a_user(app, env, plain):
    client, worker = app.test_client(), app.test_client()
    login(worker, "t2_cw")
    login(client, "admin")
    uid = plain.actor("t2_cw").id
    client.post(f"/admin/users/{uid}/active", data={"active": "0"})
    assert worker.get("/").status_code == 302
    assert "该账户已停用" in login(worker, "t2_cw").text
    assert "已停用" in client.get("/admin/users?q=t2_cw").text
    client.post(f"/admin/users/{uid}/active", data={"active": "1"})
    assert login(worker, "t2_cw").status_code == 302
    own = client.post(f"/admin/users/{plain.actor('admin').id}/active", data={"active": "0"}, follow_redirects=True)
    assert "不能停用自己的账户" in own.text


def test_remove_a_grant(client, env, plain):
    login(client, "admin")
    uid = plain.actor("d2_cw").id
    page = client.get(f"/admin/users/{uid}").text
    grant_id = re.search(rf"/admin/users/{uid}/grants/(\d+)/delete", page).group(1)
    client.post(f"/admin/users/{uid}/grants/{grant_id}/delete")
    assert "尚未授予任何角色" in client.get(f"/admin/users/{uid}").text


# ----------------------------------------------------------------------------- org units

def test_org_tree_shows_levels_and_admin_creates_a_town(client, env, plain):
    login(client, "admin")
    tree = client.get("/admin/units").text
    assert re.search(r'unit-row depth-0[^>]*>\s*<div[^>]*>\s*<span>\s*<strong>XX市退役军人事务局', tree)
    assert re.search(r'depth-3[^>]*>\s*<div[^>]*>\s*<span>\s*<strong>幸福社区退役军人服务站', tree)
    made = client.post("/admin/units", data={"parent_id": str(plain.units["d1"]), "code": "d1.t5",
                                             "name": "城西街道退役军人服务站", "level": "town"})
    assert made.status_code == 302
    units_page = client.get("/admin/units").text
    assert re.search(r'depth-2[^>]*>\s*<div[^>]*>\s*<span>\s*<strong>城西街道退役军人服务站', units_page)
    wrong = client.post("/admin/units", data={"parent_id": str(plain.units["t1"]), "code": "d1.t1.x",
                                              "name": "错层级", "level": "district"})
    assert wrong.status_code == 422 and "下级单位的层级不能高于上级单位" in wrong.text
    dup = client.post("/admin/units", data={"parent_id": str(plain.units["t1"]), "code": "d1.t1.v1",
                                            "name": "重复", "level": "village"})
    assert dup.status_code == 422 and "该单位编码已存在" in dup.text
    with env.db.read() as s:
        assert s.scalar(select(func.count()).select_from(OrgUnit).where(OrgUnit.name == "错层级")) == 0


def test_rename_and_deactivate_a_unit(client, env, plain):
    login(client, "admin")
    client.post(f"/admin/units/{plain.units['v1']}/rename", data={"name": "幸福社区服务站"})
    assert "幸福社区服务站" in client.get("/admin/units").text
    refused = client.post(f"/admin/units/{plain.units['t1']}/active", data={"active": "0"}, follow_redirects=True)
    assert "该单位还有启用中的下级单位" in refused.text
    client.post(f"/admin/units/{plain.units['v1']}/active", data={"active": "0"})
    with env.db.read() as s:
        assert s.get(OrgUnit, plain.units["v1"]).active is False
        assert s.get(OrgUnit, plain.units["t1"]).active is True


# ----------------------------------------------------------------------------- definitions

def _upload(client, data: bytes, name="plain.bpmn", key="plain"):
    return client.post("/admin/definitions", data={"key": key, "files": (io.BytesIO(data), name)},
                       content_type="multipart/form-data")


def test_broken_bpmn_upload_shows_file_and_line_and_deploys_nothing(client, env, plain):
    login(client, "admin")
    lines = PLAIN.decode().splitlines()
    bad_line = next(i for i, line in enumerate(lines, 1) if 'id="f3"' in line)
    broken = PLAIN.decode().replace('targetRef="step4" />', 'targetRef="step9" />', 1).encode()
    response = _upload(client, broken)
    assert response.status_code == 422
    assert "部署失败，未部署任何内容" in response.text
    assert re.search(r'error-file">plain.bpmn<', response.text)
    assert f"第 {bad_line} 行" in response.text and "f3" in response.text
    assert _count(env, ProcessDefinition) == 1 and _count(env, AdminEvent) == 0

    not_xml = _upload(client, b"<bpmn:definitions>", name="broken.bpmn")
    assert not_xml.status_code == 422 and 'error-file">broken.bpmn<' in not_xml.text and "第 1 行" in not_xml.text
    assert _count(env, ProcessDefinition) == 1


def test_good_upload_makes_a_new_version(client, env, plain):
    login(client, "admin")
    changed = PLAIN.replace(b'name="\xe7\x99\xbb\xe8\xae\xb0"', 'name="登记受理"'.encode())
    assert changed != PLAIN
    response = _upload(client, changed)
    assert response.status_code == 302
    page = client.get("/admin/definitions").text
    assert "已部署五步审批第 2 版" in page and "第 2 版 <span class=\"badge text-bg-success\">当前</span>" in page
    assert "第 1 版" in page
    same = _upload(client, changed)
    assert "未生成新版本" in client.get(same.headers["Location"]).text
    assert _count(env, ProcessDefinition) == 2
    start_plain(env, plain)
    assert [t.step_name for t in inbox(env, plain.actor("t1_cw").id).items] == ["登记受理"]


def test_upload_with_a_bad_key_or_no_file_is_refused(client, env, plain):
    login(client, "admin")
    assert _upload(client, PLAIN, key="Plain Key").status_code == 422
    no_file = client.post("/admin/definitions", data={"key": "plain"}, content_type="multipart/form-data")
    assert no_file.status_code == 422 and "请选择要上传的" in no_file.text
    assert _count(env, ProcessDefinition) == 1


# ----------------------------------------------------------------------------- case operations

def test_admin_finds_a_case_and_sees_no_business_data(client, env, plain):
    started = start_plain(env, plain)
    login(client, "admin")
    found = client.get(f"/admin/cases?case_no={started.case_no}")
    assert found.status_code == 302 and found.headers["Location"].endswith(f"/admin/cases/{started.instance_id}")
    page = client.get(found.headers["Location"]).text
    assert started.case_no in page and "登记" in page and "办理中" in page
    for secret in ("优抚金申请", "王建国", GOOD_ID, started.query_code):
        assert secret not in page
    assert client.get("/admin/cases?case_no=PL2026-99999").status_code == 404
    assert client.get(f"/cases/{started.instance_id}").status_code == 404  # no case content for admins
    assert client.get("/audit/").status_code == 403


def test_district_admin_gets_404_for_another_districts_case(app, env, plain):
    with env.db.write() as s:
        create_user(s, "d2_admin", "二区管理员", "secret-pass", env.clock.now(),
                    [(Role.admin, s.get(OrgUnit, plain.units["d2"]))])
    started = start_plain(env, plain)
    c = app.test_client()
    login(c, "d2_admin")
    assert c.get(f"/admin/cases/{started.instance_id}").status_code == 404
    assert c.post(f"/admin/cases/{started.instance_id}/suspend", data={"reason": "x"}).status_code == 403
    assert _status(env, started.instance_id) == InstanceStatus.running


def test_suspend_resume_and_terminate_through_the_pages(client, env, plain):
    started = start_plain(env, plain)
    case_url = f"/admin/cases/{started.instance_id}"
    login(client, "admin")
    no_reason = client.post(f"{case_url}/suspend", data={"reason": ""}, follow_redirects=True)
    assert "请填写原因" in no_reason.text and _status(env, started.instance_id) == InstanceStatus.running
    client.post(f"{case_url}/suspend", data={"reason": "等待上级答复"})
    assert _status(env, started.instance_id) == InstanceStatus.suspended
    assert "等待上级答复" in client.get(case_url).text
    assert inbox(env, plain.actor("t1_cw").id).items == []  # nobody works on a suspended case
    client.post(f"{case_url}/resume", data={"reason": "已答复"})
    assert _status(env, started.instance_id) == InstanceStatus.running
    assert [t.step_name for t in inbox(env, plain.actor("t1_cw").id).items] == ["登记"]
    client.post(f"{case_url}/terminate", data={"reason": "重复登记"})
    assert _status(env, started.instance_id) == InstanceStatus.terminated
    again = client.post(f"{case_url}/terminate", data={"reason": "再次"}, follow_redirects=True)
    assert "案件当前状态不允许此操作" in again.text


def test_reassign_a_task_through_the_page(client, env, plain):
    with env.db.write() as s:
        mate = create_user(s, "t1_cw2", "镇经办二", "secret-pass", env.clock.now(),
                           [(Role.caseworker, s.get(OrgUnit, plain.units["t1"]))])
        mate_id = mate.id
    started = start_plain(env, plain)
    task = inbox(env, plain.actor("t1_cw").id).items[0]
    login(client, "admin")
    page = client.get(f"/admin/cases/{started.instance_id}").text
    assert f'<option value="{mate_id}">镇经办二</option>' in page
    client.post(f"/admin/cases/{started.instance_id}/tasks/{task.id}/reassign",
                data={"to_user_id": str(mate_id), "reason": "原经办人休假"})
    assert [t.id for t in inbox(env, mate_id).items] == [task.id]
    assert inbox(env, plain.actor("t1_cw").id).items == []
    assert "办理人：镇经办二" in client.get(f"/admin/cases/{started.instance_id}").text
    wrong = client.post(f"/admin/cases/{started.instance_id}/tasks/{task.id}/reassign",
                        data={"to_user_id": str(plain.actor("t2_cw").id), "reason": "错人"}, follow_redirects=True)
    assert wrong.status_code == 403


def test_retry_a_case_in_error_with_a_json_fix(client, env, plain):
    source = (DATA / "script_case" / "script_case.bpmn").read_text(encoding="utf-8")
    env.extra_processes["script_case"] = simple_config("script_case", "SC")
    deploy_files(env, "script_case", {"script_case.bpmn": source.replace("{payload}", "pass").encode()})
    cw = plain.actor("t1_cw")
    started = start_case(env, "script_case", cw, plain.units["t1"], {})
    complete_task(env, inbox(env, cw.id).items[0].id, cw, {"note": "忘了填金额"})
    assert _status(env, started.instance_id) == InstanceStatus.error
    login(client, "admin")
    assert started.case_no in client.get("/admin/").text
    page = client.get(f"/admin/cases/{started.instance_id}").text
    assert "运行出错" in page and "compute" in page and "amount" in page
    bad = client.post(f"/admin/cases/{started.instance_id}/retry", data={"data_fix": "{amount: 500}", "reason": "补录"})
    assert bad.status_code == 422 and "JSON 格式有误" in bad.text and "{amount: 500}" in bad.text
    assert _status(env, started.instance_id) == InstanceStatus.error
    ok = client.post(f"/admin/cases/{started.instance_id}/retry",
                     data={"data_fix": '{"amount": 500}', "reason": "补录金额"})
    assert ok.status_code == 302 and "已重试" in client.get(ok.headers["Location"]).text
    assert _status(env, started.instance_id) == InstanceStatus.running
    assert [t.step_id for t in inbox(env, cw.id).items] == ["small"]


def test_admin_log_lists_actions(client, plain):
    login(client, "admin")
    client.post("/admin/users", data={"username": "logged", "full_name": "记录", "password": "long-enough-1"})
    log = client.get("/admin/log").text
    assert "新建用户" in log and "logged" in log and "系统管理员" in log
