"""The leader workbench and the form rules in Chromium, in a Chinese and a plain English browser,
on a phone (375 px): the compact list opens one item at a time, two items approved at once with a
stock opinion while the third (done meanwhile by another leader) is refused with its reason; then
a step form whose fields follow the chosen outcome (x-show-if, the * of required fields) and the
local date picker showing 年/月/日 whatever the browser's language, posting an ISO date."""
from __future__ import annotations

import re
from typing import Any

import pytest

from engine.forms import id_check_digit
from engine.models import OrgUnit, Role
from engine.opinions import add_opinion
from engine.orgs import Actor, create_user
from engine.runtime import case_data, complete_task
from tests.factories import PETITION_HANDLED, act, assign_petition, beijing, open_tasks, register_petition
from tests.web.browser_support import PHONE, open_page, sign_in

pytestmark = pytest.mark.browser
pytest_plugins = ["tests.web.browser_fixtures"]  # browser, petition_org, server, pages


def _no_sideways_scroll(page: Any) -> None:
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]


def _to_approval(env: Any, org: Any, name: str, first17: str) -> tuple[int, int]:
    case_id = register_petition(env, org, petitioner_name=name, id_number=first17 + id_check_digit(first17))
    assign_petition(env, org, case_id)
    act(env, org, case_id, "handle", "d1_cw", PETITION_HANDLED)
    act(env, org, case_id, "review", "d1_rev", {"review_decision": "通过"})
    return case_id, open_tasks(env, case_id, "approve")[0].id


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
@pytest.mark.parametrize("locale", ["zh-CN", "en-US"])
def test_workbench_and_form_rules_on_a_phone(browser, server, env, petition_org, clock, locale):
    from playwright.sync_api import expect
    org = petition_org
    clock.set(beijing("2026-03-16", 10))
    items = [_to_approval(env, org, n, f) for n, f in (("王建国", "32060219680512001"),
                                                       ("李卫东", "32060219700304001"),
                                                       ("张秀英", "32060219721108001"))]
    add_opinion(env, org.actor("d1_lead").id, "同意，请按意见书答复信访人")
    with env.db.write() as s:
        deputy = create_user(s, "d1_lead2", "区副局长", "secret-pass", env.clock.now(),
                             [(Role.leader, s.get(OrgUnit, org.units["d1"]))])
        deputy_actor = Actor(deputy.id, deputy.full_name)

    page, problems = open_page(browser, server, PHONE, locale)
    try:
        sign_in(page, "d1_lead")
        page.goto("/leader")
        rows = page.locator("details.wb-item")
        expect(rows).to_have_count(3)
        _no_sideways_scroll(page)
        # one item open at a time
        rows.nth(0).locator("summary").click()
        expect(rows.nth(0)).to_have_attribute("open", "")
        rows.nth(1).locator("summary").click()
        expect(rows.nth(1)).to_have_attribute("open", "")
        expect(rows.nth(0)).not_to_have_attribute("open", re.compile(".*"))
        _no_sideways_scroll(page)
        # tick all three, pick the stock opinion; another leader decides the third meanwhile
        for _, task in items:
            page.check(f"#pick-{task}")
        expect(page.locator("[data-picked-count]")).to_have_text("已勾选 3 件")
        page.select_option("#batch-stock", label="同意，请按意见书答复信访人")
        expect(page.locator("#batch-opinion")).to_have_value("同意，请按意见书答复信访人")
        complete_task(env, items[2][1], deputy_actor, {"approval_decision": "同意"})
        with page.expect_navigation():
            page.get_by_role("button", name="批量同意").click()
        results = page.locator(".wb-results")
        expect(results).to_contain_text("完成 2 件，未办理 1 件")
        expect(results.locator(".wb-done")).to_have_count(2)
        expect(results.locator(".wb-refused")).to_contain_text("该事项已由他人办理完毕")
        expect(page.locator("details.wb-item")).to_have_count(0)
        _no_sideways_scroll(page)
        page.context.clear_cookies()

        # a step form: fields follow the chosen outcome; the date picker speaks 年/月/日
        first17 = "32060219750101001"
        case_id = register_petition(env, org, petitioner_name="赵明", id_number=first17 + id_check_digit(first17))
        task = open_tasks(env, case_id, "intake")[0].id
        sign_in(page, "city_cw")
        page.goto(f"/tasks/{task}")
        refusal = page.locator(".form-field[data-field=refusal_detail]")
        unit = page.locator(".form-field[data-field=handling_unit_id]")
        expect(refusal).to_be_hidden()
        expect(unit).to_be_hidden()
        page.get_by_label("不予受理", exact=True).check()
        expect(refusal).to_be_visible()
        expect(refusal.locator(".req-star")).to_be_visible()
        page.fill("#f-refusal_detail", "先写下的说明")
        page.get_by_label("交办", exact=True).check()
        expect(refusal).to_be_hidden()
        expect(unit).to_be_visible()
        expect(unit.locator(".req-star")).to_be_visible()
        assert unit.locator("option").first.inner_text() == "请选择…"
        page.get_by_label("受理", exact=True).check()
        expect(unit).to_be_hidden()
        _no_sideways_scroll(page)

        page.get_by_role("button", name="选择告知日期").click()
        picker = page.locator(".date-picker")
        expect(picker).to_be_visible()
        assert picker.locator("select[aria-label='年'] option:checked").inner_text().endswith("年")
        page.select_option(".date-picker select[aria-label='年']", "2026")
        page.select_option(".date-picker select[aria-label='月']", "3")
        assert picker.locator("thead th").all_inner_texts() == ["日", "一", "二", "三", "四", "五", "六"]
        picker.get_by_role("button", name="2026年3月16日").click()
        expect(page.locator("#f-intake_notice_on")).to_have_value("2026-03-16")
        expect(page.locator(".date-field:has(#f-intake_notice_on) [data-date-text]")).to_have_text("2026年3月16日")
        _no_sideways_scroll(page)
        with page.expect_navigation():
            page.get_by_role("button", name="提交").click()
        assert "已办理" in page.locator(".alert-success").inner_text()
        data = case_data(env, case_id)
        assert data["intake_outcome"] == "受理" and data["intake_notice_on"] == "2026-03-16"
        assert "refusal_detail" not in data  # typed while shown, then hidden: not kept
    finally:
        page.context.close()
    assert not problems.messages, problems.messages
