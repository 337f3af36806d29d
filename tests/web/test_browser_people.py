"""The person picker in Chromium (a Chinese and a plain English browser): the 抄送 list grouped
under the org tree's units, narrowed by typing part of a unit's name, and the copy sent."""
from __future__ import annotations

import pytest

from tests.factories import register_petition
from tests.web.browser_support import DESKTOP, Problems, sign_in

pytestmark = pytest.mark.browser
pytest_plugins = ["tests.web.browser_fixtures"]  # browser, petition_org, server, pages


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
@pytest.mark.parametrize("locale", ["zh-CN", "en-US"])
def test_the_cc_picker_shows_the_tree_searches_and_copies(browser, server, env, petition_org, locale):
    case = register_petition(env, petition_org)
    context = browser.new_context(base_url=server, viewport=DESKTOP, locale=locale, timezone_id="Asia/Shanghai")
    context.set_default_timeout(10_000)
    page = context.new_page()
    problems = Problems()
    page.on("console", problems.on_console)
    page.on("pageerror", problems.on_page_error)
    try:
        _walk(page, case)
    finally:
        context.close()
    assert not problems.messages, problems.messages


def _walk(page, case: int) -> None:
    from playwright.sync_api import expect
    sign_in(page, "t1_cw")
    page.goto(f"/cases/{case}")
    page.locator("summary", has_text="抄送").click()
    picker = page.locator("#cc-users")
    expect(picker.locator("optgroup").first).to_have_attribute("label", "XX市退役军人事务局")
    expect(picker.locator("optgroup[label='\u3000\u3000幸福社区退役军人服务站'], "
                          "optgroup[label='\u3000\u3000\u3000幸福社区退役军人服务站']")).to_have_count(1)
    assert picker.locator("option", has_text="镇经办").filter(has_text="二").count() == 1  # not oneself
    page.fill(".people-search", "江北镇")
    expect(picker.locator("option")).to_have_count(1)
    expect(picker.locator("optgroup")).to_have_attribute("label", "\u3000\u3000江北镇退役军人服务站")
    picker.select_option(label="二镇经办")
    page.fill("#cc-note", "请阅")
    with page.expect_navigation():
        page.locator("form[action$='/cc'] button[type=submit]").click()
    expect(page.locator(".alert-success")).to_contain_text("已抄送：二镇经办")
    page.locator("summary", has_text="抄送").click()
    page.fill(".people-search", "无此人")
    expect(page.locator(".people-status")).to_have_text("没有符合条件的人员")
