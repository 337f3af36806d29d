"""统计指标: a leader, reviewer or auditor reads every process's indicators for their own subtree
and a period, on the page and as CSV. The data set below is built through the engine; every
number the tests expect can be counted by hand from it."""
from __future__ import annotations

import csv
import io
import re
from typing import Any

import pytest

from engine.env import Env
from engine.runtime import start_case
from engine.verbs.supervision import answer_order, case_orders
from tests.factories import (PETITION_EVALUATED, act, assign_petition, beijing, confirm_category,
                             file_to_report_in, hand_over_file, petition_replied, register_petition,
                             register_soldier_file, review_file, setup_petition, soldier_id_number,
                             unseal_file)
from tests.web.conftest import login
from tests.web.process_support import add_process_sections
from workflows.petition.supervision import open_supervision

HOUSEHOLD = {
    "household_head": "张建国", "id_number": "320621194503120010", "beneficiary_category": "伤残军人",
    "address": "幸福社区3组12号", "housing_condition": "老旧平房，屋面漏雨", "needs": "屋面防水",
    "screening_date": "2026-03-02"}
PLAN = {"items": "屋面防水维修", "budget": 28000, "contractor": "海安建安工程有限公司",
        "planned_start": "2026-04-01", "planned_finish": "2026-05-15"}
PLACEMENT = {
    "plan_year": 2026, "plan_doc_no": "安置〔2026〕1号", "receipt_date": "2026-03-01",
    "candidates": [{"name": n, "id_number": soldier_id_number(100 + i), "service_years": 8,
                    "army_unit": "某部"} for i, n in enumerate(("赵强", "钱勇"))],
    "posts": [{"post_code": "P01", "employer": "市城管局", "post_name": "综合执法", "count": 2}]}


@pytest.fixture
def world(env: Env, clock: Any) -> dict[str, Any]:
    """Monday 2 March 2026. Settlement: one soldier file handed over to 海安区 (d1), one to 江北区
    (d2). Home renovation: one household of a d1 village with a plan. Job placement: the city's
    plan with two candidates. Petitions, all registered on 2 March:
      P1 (t1, d1): decided on 3 March (交办 d1), answered 10 March, rated 满意/基本满意 on 12 March;
          a 督办单 of d1's leader on 16 March, answered on 17 March (in time).
      P2 (t1, d1): never decided (its 15 days ran out on 17 March).
      P3 (t2, d2): accepted by the city on 3 March, still being handled.
    Read on 1 April."""
    org = add_process_sections(env, setup_petition(env))
    clock.set(beijing("2026-03-02", 9))
    file_to_report_in(env, org, serial=1)  # to d1
    other = register_soldier_file(env, org, serial=2)
    unseal_file(env, org, other)
    review_file(env, org, other, "first_review", "ya_cw")
    review_file(env, org, other, "second_review", "ya_rev1")
    confirm_category(env, org, other)
    hand_over_file(env, org, other, "d2")
    house = start_case(env, "home_renovation", org.actor("v1_cw"), org.units["v1"], HOUSEHOLD).instance_id
    act(env, org, house, "home_visit", "t1_cw", {"visit_date": "2026-03-02", "survey": "属实",
                                                 "eligibility": "符合条件"})
    act(env, org, house, "make_plan", "t1_cw", PLAN)
    start_case(env, "job_placement", org.actor("ya_cw"), org.units["city_ya"], PLACEMENT)

    p1 = register_petition(env, org)
    register_petition(env, org, category="医疗")
    p3 = register_petition(env, org, "t2_cw", "t2", category="就业")
    clock.set(beijing("2026-03-03"))
    assign_petition(env, org, p1)
    act(env, org, p3, "intake", "city_cw", {"intake_outcome": "受理"})
    clock.set(beijing("2026-03-10"))
    petition_replied(env, org, p1)
    clock.set(beijing("2026-03-12"))
    act(env, org, p1, "evaluate", "d1_cw", PETITION_EVALUATED)
    clock.set(beijing("2026-03-16"))
    open_supervision(env, p1, org.actor("d1_lead"), {"supervision_kind": "领导批示",
                                                     "supervision_requirement": "请报告回访情况"})
    clock.set(beijing("2026-03-17"))
    [order] = case_orders(env, p1)  # the engine's 督办单
    answer_order(env, order.id, org.actor("d1_cw"), "已回访。")
    clock.set(beijing("2026-04-01"))
    return {"org": org}


def numbers(html: str) -> dict[tuple[str, str], tuple[str, str]]:
    """{(section, indicator): (value, basis)} as the page shows them."""
    out = {}
    for key, body in re.findall(r'id="stats-(\w+)">(.*?)</section>', html, re.S):
        for label, value, basis in re.findall(
                r'<tr data-indicator="([^"]+)">.*?stats-value">([^<]*)</td>.*?stats-basis">([^<]*)</td>',
                body, re.S):
            out[(key, label)] = (value, basis)
    return out


CITY_PETITIONS = {
    "登记件数": ("3", ""),
    "及时受理率": ("66.7%", "2/3"),       # P1, P3 in time; P2 undecided past its deadline
    "按期办结率": ("100.0%", "1/1"),      # P1; P3 is not due yet
    "满意率": ("100.0%", "2/2"),
    "满意率（受理环节）": ("100.0%", "1/1"),
    "满意率（办理环节）": ("100.0%", "1/1"),
    "参评率": ("100.0%", "1/1"),
    "一次性化解率": ("—", "0/0"),          # nothing closed yet
    "重复信访": ("0", ""),
    "复查率": ("0.0%", "0/1"),
    "复核率": ("—", "0/0"),
    "督办按期反馈率": ("100.0%", "1/1"),
}


def test_the_city_leader_sees_every_process_counted_from_the_history(client, world):
    login(client, "city_lead")
    html = client.get("/stats/").text
    assert 'href="/stats/"' in html  # the nav link
    got = numbers(html)
    assert {label: got[("petition", label)] for label in CITY_PETITIONS} == CITY_PETITIONS
    assert got[("settlement_handover", "登记档案")] == ("2", "")
    assert got[("settlement_handover", "移交区县（已签收）")] == ("2", "")
    assert got[("settlement_handover", "按期报到率")] == ("—", "0/0")
    assert got[("home_renovation", "验收通过率")] == ("0.0%", "0/1")
    assert got[("job_placement", "年度安置计划")] == ("1", "")
    assert got[("job_placement", "安置对象")] == ("2", "")
    assert got[("job_placement", "按期上岗率")] == ("—", "0/0")
    assert "<script>" not in html and "style=" not in html


def test_a_district_leader_sees_only_the_district(client, world):
    org = world["org"]
    login(client, "d1_lead")
    html = client.get("/stats/").text
    got = numbers(html)
    assert got[("petition", "登记件数")] == ("2", "")           # P1, P2; not P3 of 江北区
    assert got[("petition", "及时受理率")] == ("50.0%", "1/2")
    assert got[("petition", "督办按期反馈率")] == ("100.0%", "1/1")
    assert got[("settlement_handover", "移交区县（已签收）")] == ("1", "")
    assert got[("home_renovation", "验收通过率")] == ("0.0%", "0/1")  # the d1 village's household
    assert got[("job_placement", "年度安置计划")] == ("0", "")       # the city's plan
    assert f'value="{org.units["d2"]}"' not in html and "江北区" not in html
    assert client.get(f"/stats/?unit={org.units['d2']}").status_code == 403
    assert client.get(f"/stats/export.csv?unit={org.units['d2']}").status_code == 403


def test_the_city_picks_a_district_and_a_period(client, world):
    org = world["org"]
    login(client, "city_audit")
    got = numbers(client.get(f"/stats/?unit={org.units['d2']}").text)
    assert got[("petition", "登记件数")] == ("1", "")
    assert got[("petition", "及时受理率")] == ("100.0%", "1/1")
    assert got[("settlement_handover", "移交区县（已签收）")] == ("1", "")
    later = client.get("/stats/?date_from=2026-03-03&date_to=2026-03-31")
    got = numbers(later.text)
    assert "2026-03-03 至 2026-03-31" in later.text
    assert got[("petition", "登记件数")] == ("0", "")          # all registered on 2 March
    assert got[("petition", "及时受理率")] == ("—", "0/0")
    assert got[("settlement_handover", "登记档案")] == ("0", "")
    assert got[("settlement_handover", "移交区县（已签收）")] == ("0", "")  # handed over on 2 March


def test_bad_dates_are_explained_and_kept(client, world):
    login(client, "d1_rev")
    page = client.get("/stats/?date_from=2026-13-01&date_to=2026-03-01")
    assert page.status_code == 422
    assert "日期格式应为 年-月-日" in page.text and 'value="2026-13-01"' in page.text
    assert numbers(page.text) == {}
    backwards = client.get("/stats/?date_from=2026-03-10&date_to=2026-03-01")
    assert backwards.status_code == 422 and "截止日期不能早于起始日期" in backwards.text
    assert client.get("/stats/export.csv?date_from=x").status_code == 422


@pytest.mark.parametrize("username", ["t1_cw", "city_cw", "admin"])
def test_caseworkers_and_admins_get_403(client, world, username):
    login(client, username)
    assert client.get("/stats/").status_code == 403
    assert client.get("/stats/export.csv").status_code == 403
    assert 'href="/stats/"' not in client.get("/").text


def test_anonymous_goes_to_the_login_page(client, world):
    for url in ("/stats/", "/stats/export.csv"):
        response = client.get(url)
        assert response.status_code == 302 and "/login" in response.location


def test_csv_has_a_bom_and_the_page_numbers(client, world):
    login(client, "city_lead")
    response = client.get("/stats/export.csv")
    assert response.status_code == 200 and response.mimetype == "text/csv"
    assert "attachment" in response.headers["Content-Disposition"]
    assert response.data.startswith(b"\xef\xbb\xbf")
    rows = list(csv.reader(io.StringIO(response.data.decode("utf-8-sig"))))
    assert rows[0] == ["单位", "统计期间", "流程", "指标", "数值", "计算基数", "说明"]
    by_label = {(r[2], r[3]): r for r in rows[1:]}
    row = by_label[("涉军信访事项办理", "及时受理率")]
    assert row[:2] == ["XX市退役军人事务局", "全部"] and row[4:6] == ["66.7%", "2/3"]
    assert by_label[("涉军信访事项办理", "一次性化解率")][4] == "—"
    assert by_label[("退役士兵档案接收移交", "移交区县（已签收）")][4] == "2"
