"""统计指标 beyond the table: the charts (drawn on the server, their numbers in a table too), the
Excel export, and each declared indicator's click-through to the ledger of the cases behind its
number. The data set is test_stats's world (read on 1 April 2026) plus three 优待证 applications:
two at the town t1 (district d1), one at t2 (district d2)."""
from __future__ import annotations

import html as html_lib
import io
import re
from datetime import datetime

import pytest
from openpyxl import load_workbook

from engine.runtime import start_case
from tests.factories import soldier_id_number
from tests.package_helpers import deploy_key
from tests.web.conftest import login
from tests.web.test_stats import numbers, world  # noqa: F401  (the fixture)

CARD = {"category": "退役军人", "has_archive": "是", "disqualification": "无", "apply_date": "2026-03-02"}


@pytest.fixture
def cards(env, world):  # noqa: F811
    org = world["org"]
    deploy_key(env, "preferential_card")
    for serial, (user, unit) in enumerate((("t1_cw", "t1"), ("t1_cw", "t1"), ("t2_cw", "t2"))):
        start_case(env, "preferential_card", org.actor(user), org.units[unit],
                   {**CARD, "applicant_name": f"申领人{serial}", "id_number": soldier_id_number(40 + serial)})
    return world


def chart_table(html: str, title: str) -> dict[str, str]:
    """{item: number} of one chart's data table."""
    card = re.search(rf'<figcaption class="h6">{re.escape(title)}</figcaption>(.*?)</figure>', html, re.S)
    assert card, title
    return dict(re.findall(r"<tr><td>([^<]*)</td><td class=\"text-end\">([^<]*)</td></tr>", card.group(1)))


def drill_links(html: str) -> dict[tuple[str, str], str]:
    """{(section, indicator): ledger URL} of the rows that link to their cases."""
    out = {}
    for key, body in re.findall(r'id="stats-(\w+)">(.*?)</section>', html, re.S):
        for url, label in re.findall(r'<a class="stats-drill"[^>]*href="([^"]+)">([^<]+)</a>', body):
            out[(key, label)] = html_lib.unescape(url)
    return out


def ledger_count(client, url: str) -> int:
    page = client.get(url)
    assert page.status_code == 200, url
    return len(re.findall(r'<tr class="ledger-row"', page.text))


def test_the_city_sees_trend_ranking_overdue_and_home_renovation_charts(client, world):  # noqa: F811
    login(client, "city_lead")
    html = client.get("/stats/").text
    assert html.count('<svg class="chart') == 5 and "<script>" not in html and "style=" not in html
    assert chart_table(html, "每月登记件数") == {"2026年3月": "7"}  # 3 petitions, 2 files, 1 household, 1 plan
    assert chart_table(html, "各单位登记件数排名") == {"海安区退役军人事务局": "3", "本级": "3",
                                                      "江北区退役军人事务局": "1"}
    overdue = chart_table(html, "各环节超期未办件数")
    assert overdue.get("涉军信访事项办理·受理审查") == "1"  # P2, undecided past its 15 days
    assert chart_table(html, "宜居关爱户数")["已制定方案户"] == "1"
    assert "批准资金" in chart_table(html, "宜居关爱资金")
    assert 'aria-labelledby="chart-1-title"' in html  # each chart names itself for screen readers


def test_a_district_chart_keeps_to_the_district(client, world):  # noqa: F811
    login(client, "d1_lead")
    html = client.get("/stats/").text
    assert chart_table(html, "每月登记件数") == {"2026年3月": "3"}  # P1, P2 and the household
    assert "江北" not in html
    later = client.get("/stats/?date_from=2026-04-01").text
    assert "本期暂无数据" in later


def test_excel_export_of_the_indicators_and_the_chart_numbers(client, world):  # noqa: F811
    login(client, "city_lead")
    response = client.get("/stats/export.xlsx")
    assert response.status_code == 200 and response.mimetype.endswith("spreadsheetml.sheet")
    book = load_workbook(io.BytesIO(response.data))
    assert book.sheetnames == ["统计指标", "图表数据", "说明"]
    rows = list(book["统计指标"].iter_rows(values_only=True))
    assert rows[0] == ("单位", "统计期间", "流程", "指标", "数值", "计算基数", "说明")
    by_label = {(r[2], r[3]): r for r in rows[1:]}
    assert by_label[("涉军信访事项办理", "及时受理率")][4:6] == ("66.7%", "2/3")
    charts = {(r[0], r[1]): r[2] for r in book["图表数据"].iter_rows(min_row=2, values_only=True)}
    assert charts[("每月登记件数", "2026年3月")] == 7
    as_of = book["说明"]["B4"]
    assert as_of.is_date and as_of.value == datetime(2026, 4, 1, 9, 0)  # Beijing time
    assert client.get("/stats/export.xlsx?date_from=bad").status_code == 422
    login(client, "t1_cw")
    assert client.get("/stats/export.xlsx").status_code == 403


def test_each_indicator_opens_the_cases_behind_its_number(client, app, cards):
    org = cards["org"]
    for username, applied, petitions in (("city_lead", "3", "3"), ("d1_lead", "2", "2")):
        login(client, username)
        html = client.get("/stats/").text
        got, links = numbers(html), drill_links(html)
        assert got[("preferential_card", "申领件数")] == (applied, "")
        url = links[("preferential_card", "申领件数")]
        assert ledger_count(client, url) == int(applied)
        assert "按统计指标查看" in client.get(url).text
        done = links[("preferential_card", "申领完成率")]
        assert got[("preferential_card", "申领完成率")][1] == f"0/{applied}"
        assert ledger_count(client, done) == 0
        assert ledger_count(client, done + "&part=den") == int(applied)
        # a Python process's figures too: the petitions registered, and a rate's two parts
        assert got[("petition", "登记件数")] == (petitions, "")
        assert ledger_count(client, links[("petition", "登记件数")]) == int(petitions)
        timely, basis = got[("petition", "及时受理率")][1].split("/")
        assert ledger_count(client, links[("petition", "及时受理率")]) == int(timely)
        assert ledger_count(client, links[("petition", "及时受理率")] + "&part=den") == int(basis)
        client.post("/logout")
    # the district's leader cannot read the other district's figures through the link
    login(client, "d1_lead")
    assert client.get(f"/ledger/preferential_card?ind=0&ind_unit={org.units['d2']}").status_code == 404
    assert client.get("/ledger/preferential_card?ind=99&ind_unit=" + str(org.units["d1"])).status_code == 404
    assert client.get(f"/ledger/preferential_card?ind=0&ind_unit={org.units['d1']}&ind_from=x").status_code == 404
    login(client, "t1_cw")  # no indicators for caseworkers, whatever the link says
    assert client.get(f"/ledger/preferential_card?ind=0&ind_unit={org.units['d1']}").status_code == 404
