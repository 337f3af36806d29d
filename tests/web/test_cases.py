"""Starting a case; the case page (summary, clocks, diagram, timeline), print view and 抄送."""
from __future__ import annotations

from engine.inbox import inbox
from engine.runtime import case_history, complete_task
from tests.web.conftest import BAD_ID, GOOD_ID, login, start_plain


def test_start_page_lists_only_processes_the_user_may_start(client, plain):
    login(client, "t1_cw")
    page = client.get("/start").text
    assert "五步审批" in page and "城东街道退役军人服务站" in page
    client.post("/logout")
    login(client, "city_audit")
    assert "没有可以发起的流程" in client.get("/start").text
    assert client.get("/start/plain").status_code == 404


def test_caseworker_registers_a_case(env, client, plain):
    login(client, "t1_cw")
    form = client.get("/start/plain").text
    assert 'name="subject"' in form and 'data-date-input' in form and 'name="requests"' in form
    response = client.post("/start/plain", data={
        "subject": "伤残抚恤金调整", "petitioner_name": "王建国", "id_number": GOOD_ID,
        "category": "优抚", "channel": "来访", "received_on": "2026-03-02", "headcount": "2",
        "urgent": "true", "requests": ["求决", "投诉"], "facts": "抚恤金未按新标准调整"})
    assert response.status_code == 302
    case_page = client.get(response.headers["Location"])
    assert "已发起：案件编号 PL2026-00001" in case_page.text
    assert "伤残抚恤金调整" in case_page.text and "求决、投诉" in case_page.text
    started = case_history(env, 1)[0]
    assert started.data["headcount"] == [None, 2] and started.data["urgent"] == [None, True]


def test_invalid_registration_shows_chinese_errors_and_keeps_what_was_typed(client, plain):
    login(client, "t1_cw")
    response = client.post("/start/plain", data={
        "subject": "安置待遇", "petitioner_name": "李卫国", "id_number": BAD_ID, "headcount": "0",
        "phone": "abc", "received_on": "2026-02-30", "channel": "来信", "requests": ["建议"],
        "facts": "原文保留"})
    assert response.status_code == 422
    html = response.text
    assert "身份证号码格式或校验位不正确" in html and "不能小于 1" in html
    assert "请填写有效电话号码" in html and "请填写有效日期" in html
    for typed in ('value="安置待遇"', 'value="李卫国"', f'value="{BAD_ID}"', 'value="0"',
                  'value="abc"', 'value="2026-02-30"', ">原文保留</textarea>"):
        assert typed in html
    assert 'value="来信" checked' in html and 'value="建议" checked' in html


def test_case_page_shows_summary_clocks_diagram_and_timeline(env, client, plain):
    started = start_plain(env, plain, subject="抚恤金调整")
    cw = plain.actor("t1_cw")
    complete_task(env, inbox(env, cw.id).items[0].id, cw, {"note": "材料齐全"}, opinion="已登记，转初审")
    login(client, "t1_cw")
    html = client.get(f"/cases/{started.instance_id}").text
    assert started.case_no in html and started.query_code in html and "城东街道退役军人服务站" in html
    assert "<svg" in html and "bpmn-diagram" in html
    assert "#dcf5dc" in html and "#fff3c4" in html  # completed and current steps highlighted
    assert "按期完成" in html and "计时中" in html and "剩 15 天" in html
    assert "已登记，转初审" in html and "数据变更" in html and "办理说明" in html
    assert "当前环节" in html and "初审" in html


def test_print_view_has_opinions_names_and_dates(env, client, plain):
    started = start_plain(env, plain)
    cw = plain.actor("t1_cw")
    complete_task(env, inbox(env, cw.id).items[0].id, cw, {}, opinion="同意受理")
    login(client, "t1_cw")
    html = client.get(f"/cases/{started.instance_id}/print").text
    assert "案件办理单" in html and "同意受理" in html and "镇经办" in html and "2026-03-02" in html
    assert 'id="print-button"' in html


def test_copy_a_case_to_colleagues(env, client, plain):
    started = start_plain(env, plain)
    login(client, "t1_cw")
    d1_cw, city_cw = plain.actor("d1_cw"), plain.actor("city_cw")
    response = client.post(f"/cases/{started.instance_id}/cc",
                           data={"user_ids": [str(d1_cw.id), str(city_cw.id)], "note": "请阅知"})
    assert response.status_code == 302
    assert "已抄送：市信访经办、区经办" in client.get(response.headers["Location"]).text
    event = case_history(env, started.instance_id)[-1]
    assert event.action == "cc" and event.opinion == "请阅知" and event.data["to"] == ["市信访经办", "区经办"]
    assert "请选择抄送对象" in client.post(f"/cases/{started.instance_id}/cc", data={},
                                          follow_redirects=True).text


def test_pages_have_no_inline_script_style_or_cdn(env, client, plain):
    started = start_plain(env, plain)
    assert 'name="viewport"' in client.get("/login").text
    login(client, "t1_cw")
    for url in ("/", "/start", "/start/plain", f"/cases/{started.instance_id}",
                f"/cases/{started.instance_id}/print", "/tasks/1"):
        html = client.get(url).text
        assert " style=" not in html and "onclick" not in html and "<style" not in html
        assert "<script>" not in html and "cdn" not in html.lower()
        assert 'name="viewport"' in html
