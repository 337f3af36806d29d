"""The web app in a real browser (Chromium through Playwright): a petition from registration to
the leader's approval and the auditor's search, form errors, the diagram, a phone-width page.
Each page is watched for console errors and CSP violations (the `pages` fixture)."""
from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from engine.models import ProcessInstance
from tests.factories import PETITION_HANDLED, assign_petition, open_tasks, register_petition
from tests.web.browser_support import PHONE, open_page, sign_in
from webapp.security import CSP

pytestmark = pytest.mark.browser
pytest_plugins = ["tests.web.browser_fixtures"]  # browser, petition_org, server, pages
# The petition's day and the diagram run on both databases; checks of what a page shows and how
# it behaves in the browser, whatever the database, run on SQLite only (the suite's time).
sqlite_only = pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)

REGISTRATION = {  # what the town caseworker types (synthetic person; valid 身份证号 check digit)
    "petitioner_name": "李卫东", "id_number": "32060219700315004X", "phone": "13812345678",
    "address": "海安区城东街道幸福社区5栋102室", "headcount": "6",
    "facts": "六名退役士兵反映2019年安置工作岗位至今未落实。", "requests": "请求按政策落实安置岗位。",
    "repeat_of": "XF2026-00001",
}
REPRESENTATIVES = ["李卫东", "张志强"]
RECEIVE = "签收交办事项（5个工作日内可提出异议）"


def submit(page, button: str) -> None:
    """Click a submit button of the page's step form (not the nav's 退出) and wait for the answer."""
    with page.expect_navigation():
        page.locator("form.step-form").get_by_role("button", name=button, exact=True).click()


def open_task(page, case_no: str, step_name: str) -> None:
    """From the 待办 list, open the task of one step of a case."""
    if not page.url.endswith("/"):
        page.goto("/")
    with page.expect_navigation():
        page.locator(".case-list a", has_text=case_no).filter(has_text=step_name).click()
    assert page.locator("h1").inner_text() == step_name


def register_in_browser(page) -> str:
    """The start form, every field typed; returns the case number shown after submitting."""
    page.locator("#main-nav").get_by_role("link", name="发起", exact=True).click()
    page.locator(".card", has_text="涉军信访事项办理").get_by_role("link", name="发起").click()
    page.select_option("#f-channel", "来访")
    for name in ("petitioner_name", "id_number", "phone", "address", "headcount", "repeat_of"):
        page.fill(f"#f-{name}", REGISTRATION[name])
    page.fill("#f-facts", REGISTRATION["facts"])
    page.fill("#f-requests", REGISTRATION["requests"])
    page.get_by_label("退役军人", exact=True).check()
    for i, name in enumerate(REPRESENTATIVES, start=1):
        page.fill(f"#f-representatives-{i}", name)
    page.select_option("#f-category", "安置")
    page.get_by_label("求决", exact=True).check()
    submit(page, "提交登记")
    flash = page.locator(".alert-success").inner_text()
    found = re.search(r"案件编号 (XF\d{4}-\d{5})，查询码 (\S+)", flash)
    assert found, flash
    assert page.locator(".case-no").first.inner_text() == found.group(1)
    return found.group(1)


def test_a_petition_goes_from_the_town_to_the_leader_and_the_auditor_finds_every_step(
        env, petition_org, pages):
    org = petition_org
    register_petition(env, org, petitioner_name="李卫东", id_number=REGISTRATION["id_number"],
                      category="就业")  # an earlier petition, XF2026-00001, that the new one repeats

    town, _ = pages()
    sign_in(town, "t1_cw")
    case_no = register_in_browser(town)
    assert case_no == "XF2026-00002"
    assert "李卫东反映安置问题（集体访6人）" in town.locator("h1").inner_text()

    city, _ = pages()
    sign_in(city, "city_cw")
    open_task(city, case_no, "受理审查")
    city.get_by_label("交办", exact=True).check()
    city.select_option("#f-handling_unit_id", str(org.units["d1"]))
    city.fill("#f-intake_opinion", "请海安区依政策办理")  # the form's own opinion field
    submit(city, "提交")
    assert f"已办理：{case_no}「受理审查」" in city.locator(".alert-success").inner_text()

    district, _ = pages()
    sign_in(district, "d1_cw")
    open_task(district, case_no, RECEIVE)
    assert district.input_value("#f-assignment_received_on")  # 收到日期 defaults to today
    district.fill("#f-_opinion", "已签收")
    submit(district, "签收")
    open_task(district, case_no, "书面告知信访人（收到交办之日起15日内）")  # Art.23 ¶3
    district.get_by_label("邮寄送达", exact=True).check()
    district.fill("#f-_opinion", "已书面告知信访人")
    submit(district, "提交")
    open_task(district, case_no, "调查办理")
    for name in ("investigation", "handling_basis", "handling_opinion"):
        district.fill(f"#f-{name}", PETITION_HANDLED[name])
    district.get_by_label("支持", exact=True).check()
    district.fill("#f-_opinion", "调查完毕，提交审核")
    submit(district, "提交审核")

    reviewer, _ = pages()
    sign_in(reviewer, "d1_rev")
    open_task(reviewer, case_no, "审核")
    reviewer.fill("#f-review_opinion", "事实清楚，依据充分")
    submit(reviewer, "通过")

    leader, _ = pages()
    sign_in(leader, "d1_lead")
    leader.get_by_role("link", name="领导审批").click()
    card = leader.locator("details.wb-item", has_text=case_no)
    card.locator("summary").click()  # the workbench's compact line opens the item
    card.locator("textarea[name=approval_opinion]").fill("同意，按意见书答复信访人")
    with leader.expect_navigation():
        card.get_by_role("button", name="同意", exact=True).click()
    assert leader.url.endswith("/leader")
    assert f"已办理：{case_no}「审批」" in leader.locator(".alert-success").inner_text()
    assert leader.locator("details.wb-item", has_text=case_no).count() == 0

    auditor, _ = pages()
    sign_in(auditor, "city_audit")
    auditor.get_by_role("link", name="审计", exact=True).click()
    auditor.fill("#case_no", case_no)
    with auditor.expect_navigation():
        auditor.get_by_role("button", name="查询").click()
    rows = [[cell.strip() for cell in row] for row in auditor.locator("table.audit-results tbody tr")
            .evaluate_all("rows => rows.map(r => [...r.cells].map(c => c.innerText))")]
    assert {row[1].split()[0] for row in rows} == {case_no}
    steps = {(row[2], row[3], row[4], row[6]) for row in rows}  # action, step, who, opinion
    assert steps == {
        ("发起", "", "镇经办", ""),
        ("办理", "受理审查", "市信访经办", "请海安区依政策办理"),
        ("办理", RECEIVE, "区经办", "已签收"),
        ("办理", "书面告知信访人（收到交办之日起15日内）", "区经办", "已书面告知信访人"),
        ("办理", "调查办理", "区经办", "调查完毕，提交审核"),
        ("办理", "审核", "区审核", "事实清楚，依据充分"),
        ("办理", "审批", "区领导", "同意，按意见书答复信访人"),
        # the notices the steps issued (受理: 交办单; 审批: 信访处理意见书)
        ("生成文书", "受理审查", "市信访经办", ""),
        ("生成文书", "审批", "区领导", ""),
    }
    assert open_tasks(env, _case_id(env, case_no), "reply")  # and the case runs on to 答复


def _case_id(env, case_no: str) -> int:
    with env.db.read() as s:
        return s.scalar(select(ProcessInstance.id).where(ProcessInstance.case_no == case_no))


@sqlite_only
def test_invalid_registration_shows_chinese_errors_per_field_and_keeps_what_was_typed(
        petition_org, pages):
    page, problems = pages()
    problems.expected_statuses.add(422)
    sign_in(page, "t1_cw")
    page.goto("/start/petition")
    typed = {"petitioner_name": "王建国", "id_number": "320602196805120017",  # bad check digit
             "phone": "13912345678", "headcount": "6", "address": "",
             "facts": "安置单位改制后工龄认定有争议。", "repeat_of": "2026-1"}
    for name, value in typed.items():
        page.fill(f"#f-{name}", value)
    page.fill("#f-representatives-2", "赵明")
    page.select_option("#f-category", "优抚")
    page.get_by_label("军属", exact=True).check()
    submit(page, "提交登记")

    assert "表单填写有误" in page.locator(".alert-danger").inner_text()
    errors = {name: page.locator(f"#err-f-{name}").inner_text()
              for name in ("id_number", "address", "channel", "purpose", "requests", "repeat_of")}
    assert errors == {"id_number": "身份证号码格式或校验位不正确", "address": "请填写住址",
                      "channel": "请填写信访渠道", "purpose": "请填写信访目的",
                      "requests": "请填写信访诉求", "repeat_of": "件号格式应为 XF2026-00001"}
    assert "5人及以上集体访须填写代表姓名" not in page.content()  # one name was given
    assert page.locator("#f-id_number").get_attribute("aria-invalid") == "true"
    for name, value in typed.items():  # every typed value survives the round trip
        assert page.input_value(f"#f-{name}") == value, name
    assert page.input_value("#f-representatives-1") == "赵明"  # blanks dropped, names kept
    assert page.input_value("#f-category") == "优抚"
    assert page.get_by_label("军属", exact=True).is_checked()
    assert page.input_value("#f-channel") == ""


def test_the_case_page_draws_the_diagram_with_done_and_current_steps(env, petition_org, pages):
    org = petition_org
    case_id = register_petition(env, org)
    assign_petition(env, org, case_id)
    page, _ = pages()
    sign_in(page, "d1_cw")
    page.goto(f"/cases/{case_id}")
    svg = page.locator(".diagram svg.bpmn-diagram")
    assert svg.is_visible()
    assert svg.bounding_box()["height"] > 100
    done = svg.locator("g.bpmn-completed").evaluate_all("gs => gs.map(g => g.textContent)")
    current = svg.locator("g.bpmn-current").evaluate_all("gs => gs.map(g => g.textContent)")
    assert any("受理审查" in t for t in done) and any("签收交办事项" in t for t in done), done
    assert [t for t in current if t.strip()] and all("调查办理" in t for t in current if t.strip()), current
    # the highlight is drawn: a completed and a current step have different fills
    fills = [svg.locator(f"g.bpmn-{state} rect").first.evaluate("r => getComputedStyle(r).fill")
             for state in ("completed", "current")]
    assert fills[0] != fills[1]
    # the wide diagram is drawn readable and scrolled so that the current step is in view
    box = page.locator(".diagram").bounding_box()
    step = svg.locator("g.bpmn-current").first.bounding_box()
    assert box["x"] <= step["x"] and step["x"] + step["width"] <= box["x"] + box["width"]
    assert step["width"] >= 60  # a task box of the BPMN (100 units) is not shrunk below 60 px


@sqlite_only
def test_on_a_phone_the_nav_collapses_and_the_task_form_works(env, petition_org, pages):
    org = petition_org
    case_id = register_petition(env, org)
    assign_petition(env, org, case_id)
    page, _ = pages(PHONE)
    sign_in(page, "d1_cw")
    toggler = page.locator(".navbar-toggler")
    assert toggler.is_visible() and not page.locator("#main-nav").is_visible()
    toggler.click()
    assert page.locator("#main-nav").get_by_role("link", name="领导审批").count() == 0
    assert page.locator("#main-nav").get_by_role("link", name="发起").is_visible()
    page.locator(".case-list a").first.click()
    page.wait_for_url("**/tasks/*")
    assert _no_sideways_scroll(page)
    for name in ("investigation", "handling_basis", "handling_opinion"):
        page.fill(f"#f-{name}", PETITION_HANDLED[name])
    page.get_by_label("解释说明", exact=True).check()
    button = page.locator("form.step-form").get_by_role("button", name="提交审核")
    box = button.bounding_box()
    assert box["x"] >= 0 and box["x"] + box["width"] <= PHONE["width"]
    with page.expect_navigation():
        button.click()
    assert "已办理" in page.locator(".alert-success").inner_text()
    assert open_tasks(env, case_id, "review")


def _no_sideways_scroll(page) -> bool:
    return page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")


# (user, pages) the smoke walk opens; {case} and {task} are a registered petition at its intake.
MAIN_PAGES = [
    ("city_cw", ["/", "/?tab=done", "/?tab=mine", "/?tab=cc", "/start", "/start/petition",
                 "/tasks/{task}", "/cases/{case}", "/cases/{case}/print"]),
    ("city_lead", ["/leader", "/stats/", "/cases/{case}/ownership"]),
    ("city_audit", ["/audit/", "/audit/verify", "/audit/cases/{case}"]),
    ("admin", ["/admin/", "/admin/users", "/admin/units", "/admin/definitions", "/admin/cases",
               "/admin/cases/{case}", "/admin/log"]),
]


@sqlite_only
def test_every_main_page_loads_without_console_errors_or_csp_violations(env, petition_org, pages):
    case_id = register_petition(env, petition_org)
    [task] = open_tasks(env, case_id, "intake")
    for username, paths in MAIN_PAGES:
        page, _ = pages()  # checked at teardown
        sign_in(page, username)
        for path in paths:
            response = page.goto(path.format(case=case_id, task=task.id))
            assert response.status == 200, path
            assert page.locator("main").is_visible(), path


def test_the_page_watch_reports_csp_violations(browser):
    """The guard of every browser test is not vacuous: an inline style and an inline script
    on a page served with the app's CSP are both reported."""
    page, problems = open_page(browser, "http://rongflow.invalid")
    page.route("http://rongflow.invalid/", lambda route: route.fulfill(
        status=200, headers={"Content-Type": "text/html; charset=utf-8", "Content-Security-Policy": CSP},
        body="<!doctype html><p style='color:red'>内联样式</p><script>console.log('inline')</script>"))
    try:
        page.goto("/")
        page.wait_for_timeout(100)
    finally:
        page.context.close()
    assert any("CSP violation: style-src" in m for m in problems.messages), problems.messages
    assert any("CSP violation: script-src" in m for m in problems.messages), problems.messages
