"""The task page: the step form, Chinese validation, claim/unclaim; the leader's one-step approval."""
from __future__ import annotations

from engine.inbox import inbox
from engine.models import HumanTask, TaskStatus
from engine.runtime import case_history, complete_task
from tests.factories import open_tasks
from tests.web.conftest import BAD_ID, GOOD_ID, login, start_plain


def _to_step2(env, org):
    started = start_plain(env, org)
    cw = org.actor("t1_cw")
    complete_task(env, inbox(env, cw.id).items[0].id, cw, {"note": "已登记"}, opinion="登记完毕")
    return started, open_tasks(env, started.instance_id, "step2")[0]


def _to_step4(env, org):
    started, task = _to_step2(env, org)
    cw, rev = org.actor("t1_cw"), org.actor("d1_rev")
    complete_task(env, task.id, cw, {"decision": "同意", "amount": 12000}, opinion="符合条件，同意")
    review = open_tasks(env, started.instance_id, "step3")[0]
    complete_task(env, review.id, rev, {"review_decision": "同意"}, opinion="复核无误")
    return started, open_tasks(env, started.instance_id, "step4")[0]


def test_task_page_renders_the_step_form(env, client, plain):
    started, task = _to_step2(env, plain)
    login(client, "t1_cw")
    html = client.get(f"/tasks/{task.id}").text
    assert "初审" in html and started.case_no in html and "登记完毕" in html
    assert 'name="verified_id_number"' in html and 'type="number"' in html
    assert '<select class="form-select' in html and "海安区退役军人事务局" in html  # the unit picker
    for value in ("同意", "不同意", "退回"):
        assert f'name="decision" value="{value}"' in html
    assert "办理意见" in html and "认领" in html


def test_invalid_submission_shows_errors_per_field_and_keeps_values(env, client, plain):
    started, task = _to_step2(env, plain)
    login(client, "t1_cw")
    unit = str(plain.units["d1"])
    response = client.post(f"/tasks/{task.id}", data={
        "verified_id_number": BAD_ID, "amount": "-5", "handling_unit_id": unit,
        "note": "已电话核实", "_opinion": "我的意见", "decision": "同意"})
    assert response.status_code == 422
    html = response.text
    assert "表单填写有误" in html
    assert "身份证号码格式或校验位不正确" in html and "不能小于 0" in html
    assert f'value="{BAD_ID}"' in html and 'value="-5"' in html
    assert ">已电话核实</textarea>" in html and ">我的意见</textarea>" in html
    assert f'value="{unit}" selected' in html
    not_a_number = client.post(f"/tasks/{task.id}", data={"amount": "十二", "decision": "同意"})
    assert "请填写数字" in not_a_number.text and 'value="十二"' in not_a_number.text
    assert open_tasks(env, started.instance_id, "step2")[0].id == task.id  # nothing completed


def test_valid_submission_completes_the_step(env, client, plain):
    started, task = _to_step2(env, plain)
    login(client, "t1_cw")
    response = client.post(f"/tasks/{task.id}", data={
        "verified_id_number": GOOD_ID, "amount": "12000.5", "note": "核实无误",
        "_opinion": "同意，报区局复核", "decision": "同意"})
    assert response.status_code == 302
    assert "已办理" in client.get("/").text
    event = case_history(env, started.instance_id)[-1]
    assert event.action == "complete" and event.opinion == "同意，报区局复核"
    assert event.data["decision"] == [None, "同意"] and event.data["amount"] == [None, 12000.5]
    assert open_tasks(env, started.instance_id, "step3")  # on to the district reviewer


def test_claim_and_unclaim(env, client, plain):
    _started, task = _to_step2(env, plain)
    login(client, "t1_cw")
    client.post(f"/tasks/{task.id}/claim")
    with env.db.read() as s:
        row = s.get(HumanTask, task.id)
        assert row.status == TaskStatus.claimed and row.assignee_id == plain.actor("t1_cw").id
    assert "释放" in client.get(f"/tasks/{task.id}").text
    client.post(f"/tasks/{task.id}/unclaim")
    with env.db.read() as s:
        assert s.get(HumanTask, task.id).status == TaskStatus.open


def test_leader_approves_in_one_step(env, client, plain):
    started, task = _to_step4(env, plain)
    login(client, "d1_lead")
    assert "领导审批" in client.get("/").text
    page = client.get("/leader").text
    assert started.case_no in page and "王建国" in page
    assert "符合条件，同意" in page and "复核无误" in page  # earlier opinions on the same screen
    assert 'name="approval" value="同意"' in page and 'name="approval" value="退回"' in page
    response = client.post(f"/tasks/{task.id}", data={"approval": "同意", "_opinion": "同意，按程序办理",
                                                      "_next": "leader"})
    assert response.status_code == 302 and response.headers["Location"] == "/leader"
    assert "暂无待您审批的事项" in client.get("/leader").text
    event = case_history(env, started.instance_id)[-1]
    assert event.step_id == "step4" and event.actor_name == "区领导"
    assert event.opinion == "同意，按程序办理" and event.data["approval"] == [None, "同意"]
    assert open_tasks(env, started.instance_id, "step5")


def test_leader_link_only_for_leaders(client, plain):
    login(client, "t1_cw")
    assert "领导审批" not in client.get("/").text
