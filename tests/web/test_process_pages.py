"""The pages a person uses on home renovation, settlement handover and job placement: the army
reply registered on the case page, file fields, tables of records, options listed from the
case data, the four-eyes notice and the earlier steps' data on the task page."""
from __future__ import annotations

import io
import re
from typing import Any

import pytest

from engine.models import Attachment
from engine.runtime import case_data, case_history, complete_task, start_case
from tests.factories import (Org, act, open_tasks, register_soldier_file, review_file,
                             soldier_id_number, unseal_file)
from tests.web.conftest import login
from tests.web.process_support import build_process_org

PDF = b"%PDF-1.4\n1 0 obj\n<<>>\nendobj\n%%EOF\n"
PNG = b"\x89PNG\r\n\x1a\n" + b"\0" * 32
HOUSEHOLD = {
    "household_head": "张建国", "id_number": "320621194503120010", "beneficiary_category": "伤残军人",
    "address": "幸福社区3组12号", "housing_condition": "老旧平房，屋面漏雨", "needs": "屋面防水",
    "screening_date": "2026-03-02"}


@pytest.fixture
def org(env: Any) -> Org:
    return build_process_org(env)


def _waiting_for_reply(env: Any, org: Org) -> int:
    case = register_soldier_file(env, org)
    unseal_file(env, org, case)
    review_file(env, org, case, "first_review", "ya_cw", "有疑点", "服役年限与入伍批准书不一致")
    act(env, org, case, "send_query", "ya_cw",
        {"letter_no": "YA函〔2026〕3号", "sent_on": "2026-03-02", "query_points": "请核实服役起止时间"})
    return case


# ----------------------------------------------------------------------------- messages

def test_a_section_caseworker_registers_the_army_reply_on_the_case_page(env, client, org):
    case = _waiting_for_reply(env, org)
    url = f"/cases/{case}/messages/army_reply"
    login(client, "ya_rev1")  # sees the case, may not register the reply
    assert client.get(f"/cases/{case}").status_code == 200
    assert "登记部队答复" not in client.get(f"/cases/{case}").text
    assert client.post(url, data={"reply_on": "2026-03-05", "content": "属实"}).status_code == 403
    client.get("/logout")
    login(client, "ya_cw2")
    html = client.get(f"/cases/{case}").text
    assert "登记部队答复" in html and f'action="{url}"' in html and 'id="msg-army_reply-f-content"' in html

    refused = client.post(url, data={"reply_on": "", "reply_letter_no": "某部函〔2026〕7号", "content": ""})
    assert refused.status_code == 422
    assert "请填写答复日期" in refused.text and "请填写答复内容" in refused.text
    assert 'value="某部函〔2026〕7号"' in refused.text  # what was typed stays
    assert open_tasks(env, case, "first_review") == []

    done = client.post(url, data={"reply_on": "2026-03-05", "reply_letter_no": "某部函〔2026〕7号",
                                  "content": "服役5年，属实"}, follow_redirects=True)
    assert "已登记：登记部队答复" in done.text and "登记部队答复" in done.text
    assert 'id="message-army_reply"' not in done.text  # nothing to register any more
    assert case_data(env, case)["army_reply"]["content"] == "服役5年，属实"
    [again] = open_tasks(env, case, "first_review")
    first_review = client.get(f"/tasks/{again.id}").text
    assert "服役5年，属实" in first_review  # the reply is there for the next first review
    assert client.post(url, data={"reply_on": "2026-03-05", "content": "再次"}).status_code == 409


def test_registering_a_message_the_process_does_not_declare_is_not_found(env, client, org):
    case = _waiting_for_reply(env, org)
    login(client, "ya_cw")
    assert client.post(f"/cases/{case}/messages/unknown", data={}).status_code == 404


# ----------------------------------------------------------------------------- four eyes

def test_the_first_reviewer_is_told_on_the_second_review_page_that_another_person_must_do_it(
        env, client, org):
    case = register_soldier_file(env, org)
    unseal_file(env, org, case)
    [first] = open_tasks(env, case, "first_review")
    complete_task(env, first.id, org.actor("ya_chief"), {"first_result": "通过"})
    [second] = open_tasks(env, case, "second_review")
    login(client, "ya_chief")
    html = client.get(f"/tasks/{second.id}").text
    assert "同一人不能既初审又复审，请由另一名工作人员办理" in html
    assert 'name="second_result"' not in html and ">认领</button>" not in html
    assert client.post(f"/tasks/{second.id}", data={"second_result": "通过"}).status_code == 403
    client.get("/logout")
    login(client, "ya_rev1")
    assert 'name="second_result"' in client.get(f"/tasks/{second.id}").text


# ----------------------------------------------------------------------------- files

def test_the_screening_form_takes_photos_and_the_case_links_them(env, client, org):
    login(client, "v1_cw")
    form_page = client.get("/start/home_renovation").text
    assert 'enctype="multipart/form-data"' in form_page
    assert 'type="file"' in form_page and 'name="screening_photos" multiple' in form_page
    bad = client.post("/start/home_renovation", content_type="multipart/form-data", data={
        **HOUSEHOLD, "screening_photos": [(io.BytesIO(b"MZ\x90"), "virus.exe")]})
    assert bad.status_code == 422 and "virus.exe：只能上传 PDF" in bad.text
    assert 'value="张建国"' in bad.text
    response = client.post("/start/home_renovation", content_type="multipart/form-data", data={
        **HOUSEHOLD, "screening_photos": [(io.BytesIO(PNG), "屋面.png"), (io.BytesIO(PDF), "房产证明.pdf")]},
        follow_redirects=True)
    assert "已发起" in response.text
    case = int(re.search(r"/cases/(\d+)/print", response.text).group(1))
    with env.db.read() as s:
        atts = s.query(Attachment).filter_by(instance_id=case).order_by(Attachment.id).all()
    assert [a.filename for a in atts] == ["屋面.png", "房产证明.pdf"]
    assert case_data(env, case)["screening_photos"] == [a.id for a in atts]
    assert f'href="/attachments/{atts[0].id}">屋面.png</a>' in response.text  # 现场照片 on the case page
    assert [e.action for e in case_history(env, case)][:3] == ["attach", "attach", "start"]


def test_a_refused_step_form_keeps_the_files_already_uploaded(env, client, org):
    case = start_case(env, "home_renovation", org.actor("v1_cw"), org.units["v1"], HOUSEHOLD).instance_id
    [visit] = open_tasks(env, case, "home_visit")
    login(client, "t1_cw")
    refused = client.post(f"/tasks/{visit.id}", content_type="multipart/form-data", data={
        "visit_date": "2026-03-03", "eligibility": "符合条件",
        "visit_photos": [(io.BytesIO(PNG), "入户.png")]})
    assert refused.status_code == 422 and "请填写核查情况" in refused.text
    with env.db.read() as s:
        [att] = s.query(Attachment).filter_by(instance_id=case).all()
    assert att.task_id == visit.id
    assert f'name="visit_photos" value="{att.id}" checked' in refused.text and "已上传：入户.png" in refused.text
    client.post(f"/tasks/{visit.id}", data={"visit_date": "2026-03-03", "survey": "情况属实",
                                            "eligibility": "符合条件", "visit_photos": str(att.id)})
    assert case_data(env, case)["visit_photos"] == [att.id]
    assert open_tasks(env, case, "make_plan")


def test_the_district_reviewer_sees_the_plan_it_reviews(env, client, org):
    case = start_case(env, "home_renovation", org.actor("v1_cw"), org.units["v1"], HOUSEHOLD).instance_id
    act(env, org, case, "home_visit", "t1_cw", {"visit_date": "2026-03-03", "survey": "情况属实",
                                                "eligibility": "符合条件"})
    act(env, org, case, "make_plan", "t1_cw", {
        "items": "屋面防水维修 16000 元", "budget": 16000, "contractor": "海安建安工程有限公司",
        "planned_start": "2026-04-01", "planned_finish": "2026-05-15"})
    [review] = open_tasks(env, case, "district_review")
    login(client, "d1_rev")
    html = client.get(f"/tasks/{review.id}").text
    for shown in ("预算金额（元）", "16000", "海安建安工程有限公司", "屋面防水维修 16000 元"):
        assert shown in html, shown


# ----------------------------------------------------------------------------- job placement

PLAN_FORM = {
    "plan_year": "2026", "plan_doc_no": "安置〔2026〕1号", "receipt_date": "2026-03-01",
    "candidates-0-name": "赵强", "candidates-0-id_number": soldier_id_number(101),
    "candidates-0-service_years": "12", "candidates-0-army_unit": "某部",
    "candidates-2-name": "钱勇", "candidates-2-id_number": soldier_id_number(102),
    "candidates-2-service_years": "8", "candidates-2-army_unit": "某部",
    "posts-0-post_code": "P01", "posts-0-employer": "市城管局", "posts-0-post_name": "综合执法",
    "posts-0-count": "1",
    "posts-1-post_code": "P02", "posts-1-employer": "市交通局", "posts-1-post_name": "路政管理",
    "posts-1-count": "1",
}


def test_the_plan_form_takes_tables_of_candidates_and_posts(env, client, org):
    login(client, "ya_cw")
    page = client.get("/start/job_placement").text
    assert 'name="candidates-0-name"' in page and 'name="posts-2-count"' in page and "添加一行" in page
    bad = client.post("/start/job_placement", data={**PLAN_FORM, "candidates-2-id_number": "123",
                                                    "posts-1-count": ""})
    assert bad.status_code == 422
    assert "身份证号码格式或校验位不正确" in bad.text and "请填写名额" in bad.text
    assert 'name="candidates-1-id_number" value="123"' in bad.text  # the blank row is gone
    assert 'name="posts-1-employer" value="市交通局"' in bad.text
    done = client.post("/start/job_placement", data=PLAN_FORM, follow_redirects=True)
    assert "已发起" in done.text
    case = int(re.search(r"/cases/(\d+)/print", done.text).group(1))
    data = case_data(env, case)
    assert [(c["name"], c["service_years"]) for c in data["candidates"]] == [("赵强", 12), ("钱勇", 8)]
    assert [(p["post_code"], p["count"]) for p in data["posts"]] == [("P01", 1), ("P02", 1)]
    assert "<th scope=\"col\">岗位名称</th>" in done.text and "综合执法" in done.text  # facts table


def test_post_selection_lists_only_the_posts_with_places_left(env, client, org):
    plan = {"plan_year": 2026, "plan_doc_no": "安置〔2026〕1号", "receipt_date": "2026-03-01",
            "candidates": [{"name": n, "id_number": soldier_id_number(100 + i), "service_years": 5,
                            "army_unit": "某部"} for i, n in enumerate(("赵强", "钱勇"))],
            "posts": [{"post_code": "P01", "employer": "市城管局", "post_name": "综合执法", "count": 1},
                      {"post_code": "P02", "employer": "市交通局", "post_name": "路政管理", "count": 2}]}
    case = start_case(env, "job_placement", org.actor("ya_cw"), org.units["city_ya"], plan).instance_id
    for task in open_tasks(env, case, "review_file"):
        complete_task(env, task.id, org.actor("ya_cw"), {"file_decision": "材料齐全"})
    for task, exam in zip(open_tasks(env, case, "score"), (50, 40)):
        complete_task(env, task.id, org.actor("ya_cw"), {"service_score": 10, "award_score": 0,
                                                         "exam_score": exam})
    act(env, org, case, "publish_ranking", "ya_rev1", {"ranking_decision": "确认排名并公示",
                                                       "publicity_from": "2026-03-02", "publicity_to": "2026-03-02"})
    login(client, "ya_cw")
    [first] = open_tasks(env, case, "select_post")
    html = client.get(f"/tasks/{first.id}").text
    assert '<option value="P01" >P01 市城管局·综合执法（余1个名额）</option>' in html
    assert '<option value="P02" >P02 市交通局·路政管理（余2个名额）</option>' in html
    client.post(f"/tasks/{first.id}", data={"post_code": "P01"})
    [second] = open_tasks(env, case, "select_post")
    html = client.get(f"/tasks/{second.id}").text
    assert 'value="P01"' not in html and "P02 市交通局·路政管理（余2个名额）" in html
    assert "所选岗位" in html and "P01" in html  # the first choice is among the earlier steps
