"""台账 and the charts of 统计指标 in a real Chromium: the city leader searches the petition ledger,
sorts it by a column, saves the search, exports it to Excel (opened and checked), then reads the
charts of 统计指标 on screen and in print, and follows an indicator to the cases behind it."""
from __future__ import annotations

import re
from pathlib import Path

import pytest
from openpyxl import load_workbook

from tests.factories import assign_petition, register_petition
from tests.web.browser_support import sign_in

pytestmark = pytest.mark.browser
pytest_plugins = ["tests.web.browser_fixtures"]  # browser, petition_org, server, pages
sqlite_only = pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)


def click(page, locator) -> None:
    with page.expect_navigation():
        locator.click()


def rows(page) -> list[str]:
    return page.locator("tr.ledger-row").evaluate_all("rs => rs.map(r => r.dataset.caseNo)")


@sqlite_only
def test_the_city_leader_searches_sorts_saves_exports_and_reads_the_charts(env, petition_org, pages,
                                                                         tmp_path: Path):
    org = petition_org
    first = register_petition(env, org, petitioner_name="王建国")
    register_petition(env, org, petitioner_name="李卫东", id_number="32060219700315004X", category="医疗")
    register_petition(env, org, "t2_cw", "t2", petitioner_name="赵江北", id_number="110101199003074514")
    assign_petition(env, org, first)

    page, _ = pages()
    sign_in(page, "city_lead")
    click(page, page.locator("#main-nav").get_by_role("link", name="台账", exact=True))
    click(page, page.get_by_role("link", name="涉军信访事项办理"))
    assert page.locator("h1").inner_text() == "涉军信访事项办理台账"
    newest_first = rows(page)
    assert len(newest_first) == 3 and newest_first == sorted(newest_first, reverse=True)

    page.fill("#q", "李卫东")
    with page.expect_navigation():
        page.get_by_role("button", name="查询", exact=True).click()
    assert len(rows(page)) == 1
    assert page.locator("td.ledger-id-no").inner_text() == "3206**********004X"  # a leader: masked

    click(page, page.get_by_role("link", name="清除"))
    click(page, page.locator("a.sort-link", has_text="案件编号"))
    assert rows(page) == sorted(newest_first)
    click(page, page.locator("a.sort-link", has_text="案件编号"))
    assert rows(page) == sorted(newest_first, reverse=True)

    page.select_option("#unit", label="　海安区退役军人事务局")
    with page.expect_navigation():
        page.get_by_role("button", name="查询", exact=True).click()
    assert len(rows(page)) == 2
    page.fill("#filter-name", "海安区的信访")
    with page.expect_navigation():
        page.get_by_role("button", name="保存当前查询").click()
    assert "查询条件已保存" in page.locator(".alert-success").inner_text()
    click(page, page.get_by_role("link", name="清除"))
    assert len(rows(page)) == 3
    click(page, page.locator("a.saved-filter", has_text="海安区的信访"))
    assert len(rows(page)) == 2

    with page.expect_download() as download:
        page.locator("a.ledger-export").click()
    saved = tmp_path / download.value.suggested_filename
    download.value.save_as(saved)
    assert saved.suffix == ".xlsx"
    sheet = load_workbook(saved).active
    assert [c.value for c in sheet[1]][:4] == ["案件编号", "事项", "姓名", "身份证号"]
    assert sheet.max_row == 3 and sheet["K2"].is_date  # the two of 海安区; 登记时间 a real date

    click(page, page.locator("#main-nav").get_by_role("link", name="统计指标", exact=True))
    trend = page.locator("#chart-1-card")
    trend.scroll_into_view_if_needed()
    assert trend.locator("svg.chart").is_visible()
    assert trend.locator("svg rect.chart-fill").count() >= 1
    assert re.search(r"\d{4}年\d{1,2}月", trend.locator("table.chart-table").inner_text())
    ranking = page.locator("#chart-2-card")
    assert "海安区退役军人事务局" in ranking.locator("table.chart-table").inner_text()
    page.emulate_media(media="print")
    assert not page.locator("form.stats-filter").is_visible()
    assert trend.locator("svg.chart").is_visible() and trend.locator("table.chart-table").is_visible()
    page.emulate_media(media="screen")

    registered = page.locator("#stats-petition tr[data-indicator='登记件数']")
    count = registered.locator("td.stats-value").inner_text()
    click(page, registered.locator("a.stats-drill"))
    assert "按统计指标查看" in page.locator(".ledger-indicator").inner_text()
    assert len(rows(page)) == int(count) == 3
