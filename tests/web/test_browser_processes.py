"""Home renovation, settlement handover and job placement end to end in a real browser, each
step done by the person whose role and unit the step needs, found in their own 待办 list.

Forms are filled with the smoke answers of each process config (workflows/<key>/__init__.py).
Timers are the worker's job: the test moves the server's ManualClock and calls
engine.worker.run_due_timers itself. Each page is watched for console errors and CSP violations
(the `pages` fixture of tests/web/browser_support.py).
"""
from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select

from engine.models import InstanceStatus, ProcessInstance
from engine.runtime import case_data
from engine.worker import run_due_timers
from tests.factories import open_tasks, soldier_id_number
from tests.web.browser_support import sign_in
from tests.web.process_support import add_process_sections
from workflows import get_process

pytestmark = pytest.mark.browser
pytest_plugins = ["tests.web.browser_fixtures"]  # browser, petition_org, server, pages

PNG = b"\x89PNG\r\n\x1a\n" + b"\0" * 64
PDF = b"%PDF-1.4\n1 0 obj\n<<>>\nendobj\n%%EOF\n"


@pytest.fixture
def org(env: Any, petition_org: Any) -> Any:
    """The browser tests' org tree plus the sections and staff of the three processes."""
    return add_process_sections(env, petition_org)


class People:
    """One signed-in page per user, opened on first use (`people["t1_cw"]`)."""

    def __init__(self, pages: Any) -> None:
        self._pages = pages
        self._open: dict[str, Any] = {}

    def __getitem__(self, username: str) -> Any:
        if username not in self._open:
            page, _ = self._pages()
            sign_in(page, username)
            self._open[username] = page
        return self._open[username]

    def sign_in_again(self) -> None:
        """After the clock jumped past the idle timeout, everyone signs in anew."""
        for username, page in self._open.items():
            sign_in(page, username)


def answers(key: str, step: str, index: int = 0) -> dict[str, Any]:
    """The smoke answer of a step of a process (the `index`th where there are several)."""
    found = get_process(key).smoke_answers[step]
    return dict(found[index] if isinstance(found, list) else found)


def _text(value: Any) -> str:
    return ("true" if value else "false") if isinstance(value, bool) else str(value)


def fill(page: Any, values: dict[str, Any]) -> None:
    """Type the values into the page's step form, whatever the widget; a decision is left out
    (it is a button, see `send`)."""
    form = page.locator("form.step-form")
    for name, value in values.items():
        inputs = form.locator(f"[name='{name}']")
        kind = inputs.first.evaluate("e => e.type")
        if kind == "submit":
            continue
        if kind == "radio":
            choices = inputs.evaluate_all("es => es.map(e => e.value)")
            inputs.nth(choices.index(_text(value))).check()
        elif kind == "checkbox":
            inputs.set_checked(bool(value))
        elif kind.startswith("select"):
            inputs.select_option(_text(value))
        else:
            inputs.fill(_text(value))


def send(page: Any, values: dict[str, Any], default: str = "提交") -> None:
    """Submit the step form: the decision button of `values`, else the plain submit button."""
    form = page.locator("form.step-form")
    decision = next((n for n in values if form.locator(f"button[name='{n}']").count()), None)
    button = (form.locator(f"button[name='{decision}'][value='{values[decision]}']") if decision
              else form.get_by_role("button", name=default, exact=True))
    with page.expect_navigation():
        button.click()


def open_task(page: Any, case_no: str, step_name: str) -> None:
    """From the user's 待办 list, open the task of one step (name with its label) of a case."""
    page.goto("/")
    link = page.locator(".case-list a", has_text=case_no).filter(
        has=page.locator(".fw-semibold", has_text=re.compile(rf"^{re.escape(step_name)} · ")))
    with page.expect_navigation():
        link.click()
    assert page.locator("h1").inner_text() == step_name


def do(page: Any, case_no: str, step_name: str, values: dict[str, Any],
       files: dict[str, list[tuple[str, bytes]]] | None = None) -> None:
    """Open the task from the 待办 list, fill its form, choose files, submit; it is done."""
    open_task(page, case_no, step_name)
    fill(page, values)
    for name, chosen in (files or {}).items():
        page.set_input_files(f"form.step-form input[type=file][name='{name}']", [
            {"name": n, "mimeType": "application/pdf" if n.endswith(".pdf") else "image/png",
             "buffer": data} for n, data in chosen])
    send(page, values)
    assert f"已办理：{case_no}「{step_name}」" in page.locator(".alert-success").inner_text()


def register(page: Any, key: str, values: dict[str, Any],
             files: dict[str, list[tuple[str, bytes]]] | None = None) -> str:
    """The start form of a process, filled and sent; returns the new case number."""
    page.goto(f"/start/{key}")
    fill(page, values)
    for name, chosen in (files or {}).items():
        page.set_input_files(f"input[type=file][name='{name}']", [
            {"name": n, "mimeType": "image/png", "buffer": data} for n, data in chosen])
    send(page, values, "提交登记")
    found = re.search(r"案件编号 ([A-Z]{2}\d{4}-\d{5})", page.locator(".alert-success").inner_text())
    assert found, page.locator(".alert-success").inner_text()
    return found.group(1)


def case_id(env: Any, case_no: str) -> int:
    with env.db.read() as s:
        found = s.scalar(select(ProcessInstance.id).where(ProcessInstance.case_no == case_no))
        assert found is not None
        return int(found)


def status(env: Any, case_no: str) -> InstanceStatus:
    with env.db.read() as s:
        return s.scalar(select(ProcessInstance.status).where(ProcessInstance.case_no == case_no))


# ----------------------------------------------------------------------------- home renovation

def test_a_household_goes_from_village_screening_to_archive(env, org, pages, clock):
    key, people = "home_renovation", People(pages)
    case_no = register(people["v1_cw"], key, get_process(key).smoke_start,
                       files={"screening_photos": [("屋面漏雨.png", PNG)]})
    registered = people["v1_cw"].locator("section", has=people["v1_cw"].locator("h2", has_text="登记信息"))
    assert registered.get_by_role("link", name="屋面漏雨.png").count() == 1  # 现场照片, linked

    do(people["t1_cw"], case_no, "入户核查", answers(key, "home_visit"),
       files={"visit_photos": [("入户照片.png", PNG), ("核查记录.pdf", PDF)]})
    do(people["t1_cw"], case_no, "制定改造方案（一户一案）", answers(key, "make_plan"))
    open_task(people["d1_rev"], case_no, "区局审核")  # the reviewer sees the plan under review
    assert "海安建安工程有限公司" in people["d1_rev"].locator(".opinions").inner_text()
    do(people["d1_rev"], case_no, "区局审核", answers(key, "district_review"))
    do(people["city_yf_rev"], case_no, "市局审批（优抚科）", answers(key, "city_approval"))

    # 公示 at the village: 7 days without objection, then the worker's timer moves the case on.
    case = case_id(env, case_no)
    [publicity] = open_tasks(env, case, "publicity")
    assert publicity.org_unit_id == org.units["v1"]
    clock.set(publicity.due_at + timedelta(seconds=1))
    assert run_due_timers(env) == 1
    people.sign_in_again()

    report = answers(key, "construction", 1)  # the 100% report
    do(people["t1_cw"], case_no, "施工进度报告", report, files={"progress_photos": [("完工.png", PNG)]})
    acceptance = "竣工验收会签（户主、镇、区）"
    do(people["t1_cw"], case_no, f"{acceptance}：户主", answers(key, "acceptance"))
    do(people["t1_cw"], case_no, f"{acceptance}：镇（街道）", answers(key, "acceptance"))
    do(people["d1_cw"], case_no, f"{acceptance}：区局", answers(key, "acceptance"))
    do(people["d1_cw"], case_no, "资金拨付", answers(key, "payment"))
    do(people["t1_cw"], case_no, "回访", answers(key, "follow_up"))

    assert status(env, case_no) == InstanceStatus.completed
    data = case_data(env, case)
    assert len(data["screening_photos"]) == 1 and len(data["visit_photos"]) == 2
    assert data["progress_log"][-1]["percent"] == 100 and len(data["progress_log"][-1]["photos"]) == 1
    assert [s["result"] for s in data["signatures"]] == ["合格"] * 3
    page = people["v1_cw"]
    page.goto(f"/cases/{case}")
    assert "已办结" in page.locator("main").inner_text()


# ----------------------------------------------------------------------------- settlement handover

def test_a_soldier_file_goes_from_registration_to_report_in_with_a_query_to_the_army(
        env, org, pages):
    key, people = "settlement_handover", People(pages)
    case_no = register(people["ya_cw"], key, get_process(key).smoke_start)
    unsealing = "联合拆封（纪检、人社、安置三方会签）"
    for username, party in (("jj_cw", "纪检"), ("rs_cw", "人社"), ("ya_cw", "安置")):
        do(people[username], case_no, f"{unsealing}：{party}方", answers(key, "joint_unsealing"))

    # 初审 finds a query; the letter goes out; the army's reply is registered on the case page.
    do(people["ya_chief"], case_no, "初审", {"first_result": "有疑点",
                                           "first_query": "服役年限与入伍批准书记载不一致"})
    do(people["ya_cw"], case_no, "函询原部队（疑点处理）", answers(key, "send_query"))
    page = people["ya_cw"]
    page.goto(f"/cases/{case_id(env, case_no)}")
    panel = page.locator("#message-army_reply")
    assert panel.locator("h2").inner_text() == "登记部队答复"
    panel.locator("[name=reply_on]").fill("2026-03-02")
    panel.locator("[name=reply_letter_no]").fill("某部函〔2026〕12号")
    panel.locator("[name=content]").fill("经核实，服役5年，档案记载无误")
    with page.expect_navigation():
        panel.get_by_role("button", name="登记", exact=True).click()
    assert "已登记：登记部队答复" in page.locator(".alert-success").inner_text()
    assert page.locator("#message-army_reply").count() == 0
    timeline = page.locator(".timeline")
    assert "收到消息 · 登记部队答复" in timeline.inner_text()
    assert "经核实，服役5年，档案记载无误" in timeline.text_content()  # in the folded data changes

    do(people["ya_chief"], case_no, "初审", answers(key, "first_review"))
    chief = people["ya_chief"]  # four eyes: the first reviewer may not do the second review
    open_task(chief, case_no, "复审（须另一人）")
    assert "同一人不能既初审又复审，请由另一名工作人员办理" in chief.locator(".alert-warning").inner_text()
    assert chief.locator("form.step-form").count() == 0
    do(people["ya_rev1"], case_no, "复审（须另一人）", answers(key, "second_review"))

    do(people["city_lead"], case_no, "分类确认", answers(key, "classify_confirm"))
    do(people["ya_cw"], case_no, "移交区县（填写移交清单）",
       {**answers(key, "handover"), "receiving_unit_id": org.units["d1"]})
    do(people["d1_cw"], case_no, "区县签收回执", answers(key, "district_receipt"))
    do(people["d1_cw"], case_no, "自主就业报到登记", answers(key, "report_in"))
    do(people["d1_cw"], case_no, "立卷归档", answers(key, "archive"))

    assert status(env, case_no) == InstanceStatus.completed
    data = case_data(env, case_id(env, case_no))
    assert [q["answer"]["content"] for q in data["queries"]] == ["经核实，服役5年，档案记载无误"]
    assert data["report_outcome"] == "按期报到" and data["receiving_unit_code"] == "d1"


# ----------------------------------------------------------------------------- job placement

def test_a_year_plan_goes_from_the_plan_to_everyone_on_post(env, org, pages):
    key, people = "job_placement", People(pages)
    page = people["ya_cw"]
    page.goto(f"/start/{key}")
    plan = {"plan_year": 2026, "plan_doc_no": "安置〔2026〕1号", "receipt_date": "2026-03-01"}
    candidates = [("赵强", 12), ("钱勇", 8)]
    for i, (name, years) in enumerate(candidates):
        plan.update({f"candidates-{i}-name": name, f"candidates-{i}-id_number": soldier_id_number(101 + i),
                     f"candidates-{i}-service_years": years, f"candidates-{i}-army_unit": "某部"})
    posts = [("P01", "市城管局", "综合执法"), ("P02", "市交通局", "路政管理"), ("P03", "市水务局", "水政监察")]
    page.locator("#f-posts").locator("xpath=ancestor::fieldset").get_by_role("button", name="添加一行").click()
    for i, (code, employer, name) in zip((0, 1, 3), posts):  # row 3 was added by the button
        plan.update({f"posts-{i}-post_code": code, f"posts-{i}-employer": employer,
                     f"posts-{i}-post_name": name, f"posts-{i}-count": 1})
    fill(page, plan)
    send(page, {}, "提交登记")
    case_no = re.search(r"案件编号 (AP\d{4}-\d{5})", page.locator(".alert-success").inner_text()).group(1)
    assert "水政监察" in page.locator(".fact-table").last.inner_text()

    for name, _years in candidates:
        do(people["ya_cw"], case_no, f"审档（核对材料清单）：{name}", {"file_decision": "材料齐全"})
    for name, exam in (("赵强", 50), ("钱勇", 60)):  # 钱勇 ranks first
        do(people["ya_cw"], case_no, f"考试考核/赋分：{name}", {**answers(key, "score"), "exam_score": exam})
    do(people["ya_rev1"], case_no, "排名审核并公示", answers(key, "publish_ranking"))

    chooser = people["ya_cw"]
    do(chooser, case_no, "按名次依次选岗：第1名 钱勇", {"post_code": "P02"})
    open_task(chooser, case_no, "按名次依次选岗：第2名 赵强")
    offered = chooser.locator("#f-post_code option").all_inner_texts()
    assert offered == ["请选择…", "P01 市城管局·综合执法（余1个名额）", "P03 市水务局·水政监察（余1个名额）"]
    do(chooser, case_no, "按名次依次选岗：第2名 赵强", {"post_code": "P01"})

    leader = people["city_lead"]
    open_task(leader, case_no, "分配方案审批")  # the leader sees who chose what
    assert "P02" in leader.locator(".opinions").inner_text()
    do(leader, case_no, "分配方案审批", answers(key, "allocation_approval"))
    for i, (name, _years) in enumerate(candidates):
        do(people["ya_cw"], case_no, f"开具介绍信：{name}", {**answers(key, "issue_letter"),
                                                            "letter_no": f"JS-2026-00{i + 1}"})
    for name, _years in candidates:
        do(people["ya_cw"], case_no, f"上岗确认：{name}", answers(key, "confirm_on_post"))

    case = case_id(env, case_no)
    data = case_data(env, case)
    placed = sorted((p["name"], p["post_code"], p["late"]) for p in data["placements"])
    assert placed == [("赵强", "P01", False), ("钱勇", "P02", False)]
    assert len(open_tasks(env, case, "follow_up")) == 2  # 回头看 is next
