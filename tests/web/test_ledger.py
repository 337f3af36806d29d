"""台账: every user's case ledger of a process, within their own scope — search, sort, pages, saved
filters, Excel export (dates as dates, 身份证号 as text, masked for supervisors) — and the
click-through from an indicator of 统计指标 to the cases behind its number.

The world (Monday 2 March 2026): petitions P1 and P2 registered by the town t1 (district d1), P1
assigned by the city to d1; P3 registered by the town t2 (district d2)."""
from __future__ import annotations

import io
import re
from datetime import datetime
from typing import Any

import pytest
from openpyxl import load_workbook

from engine.env import Env
from tests.factories import assign_petition, beijing, register_petition, setup_petition, soldier_id_number
from tests.web.conftest import login

P1_ID, P2_ID, P3_ID = soldier_id_number(11), soldier_id_number(12), soldier_id_number(13)


@pytest.fixture
def world(env: Env, clock: Any) -> dict[str, Any]:
    org = setup_petition(env)
    clock.set(beijing("2026-03-02", 9))
    p1 = register_petition(env, org, petitioner_name="王建国", id_number=P1_ID, phone="13912345678")
    clock.set(beijing("2026-03-02", 10))
    p2 = register_petition(env, org, petitioner_name="李卫东", id_number=P2_ID, phone="13800001111",
                           category="医疗")
    clock.set(beijing("2026-03-02", 11))
    p3 = register_petition(env, org, "t2_cw", "t2", petitioner_name="赵江北", id_number=P3_ID,
                           phone="13700002222")
    clock.set(beijing("2026-03-03"))
    assign_petition(env, org, p1)
    clock.set(beijing("2026-04-01"))
    return {"org": org, "p1": p1, "p2": p2, "p3": p3}


def case_nos(html: str) -> list[str]:
    return re.findall(r'<tr class="ledger-row" data-case-no="([^"]+)"', html)


def numbers_of(env: Env, world: dict[str, Any]) -> dict[str, str]:
    from tests.factories import case_row
    return {k: case_row(env, world[k]).case_no for k in ("p1", "p2", "p3")}


def test_a_district_leader_sees_the_district_only_whatever_the_search(client, env, world):
    no = numbers_of(env, world)
    login(client, "d1_lead")
    page = client.get("/ledger/petition")
    assert page.status_code == 200 and 'href="/ledger/"' in page.text  # the nav link
    assert case_nos(page.text) == [no["p2"], no["p1"]]  # newest first
    for term in (no["p3"], "赵江北", P3_ID, "13700002222", "江北"):
        assert case_nos(client.get("/ledger/petition", query_string={"q": term}).text) == [], term
    by_unit = client.get("/ledger/petition", query_string={"unit": world["org"].units["d2"]})
    assert case_nos(by_unit.text) == [] and "江北区" not in by_unit.text  # not even offered
    export = load_workbook(io.BytesIO(client.get("/ledger/petition/export.xlsx?q=赵江北").data)).active
    assert export.max_row == 1  # headers only
    everything = load_workbook(io.BytesIO(client.get("/ledger/petition/export.xlsx").data)).active
    assert sorted(r[0] for r in everything.iter_rows(min_row=2, values_only=True)) == sorted([no["p1"], no["p2"]])


def test_search_by_each_field_and_the_combined_filters(client, env, world):
    no = numbers_of(env, world)
    login(client, "city_lead")
    assert case_nos(client.get("/ledger/petition").text) == [no["p3"], no["p2"], no["p1"]]
    for term, expected in ((no["p2"], [no["p2"]]), ("王建国", [no["p1"]]), ("卫东", [no["p2"]]),
                           (P3_ID, [no["p3"]]), (P1_ID.lower(), [no["p1"]]), ("13800001111", [no["p2"]])):
        assert case_nos(client.get("/ledger/petition", query_string={"q": term}).text) == expected, term
    for wildcard in ("%", "_", "\\"):  # typed text, never a pattern
        assert case_nos(client.get("/ledger/petition", query_string={"q": wildcard}).text) == [], wildcard
    d1 = client.get("/ledger/petition", query_string={"unit": world["org"].units["d1"]}).text
    assert case_nos(d1) == [no["p2"], no["p1"]]
    handling = client.get("/ledger/petition", query_string={"step": "handle"}).text
    assert case_nos(handling) == [no["p1"]] and "调查办理" in handling
    # intake is due within 15 days of 2 March: P2 and P3 are still undecided on 1 April
    assert case_nos(client.get("/ledger/petition?overdue=1").text) == [no["p3"], no["p2"]]
    assert case_nos(client.get("/ledger/petition?status=completed").text) == []
    assert case_nos(client.get("/ledger/petition?date_from=2026-03-03").text) == []
    assert case_nos(client.get("/ledger/petition?date_from=2026-03-02&date_to=2026-03-02&q=王建国").text) == [no["p1"]]
    bad = client.get("/ledger/petition?date_from=2026-13-01&q=王建国")
    assert bad.status_code == 422 and "日期格式应为" in bad.text and 'value="王建国"' in bad.text
    assert client.get("/ledger/petition?date_from=2026-03-05&date_to=2026-03-01").status_code == 422
    assert case_nos(client.get("/ledger/petition?closed_from=2026-03-01").text) == []  # none closed yet
    assert client.get("/ledger/petition?closed_from=2026-03-05&closed_to=2026-03-01").status_code == 422
    assert client.get("/ledger/petition?sort=state").status_code == 422
    assert client.get("/ledger/nonexistent").status_code == 404


def test_columns_sort_both_ways_and_pages_keep_the_filter(client, env, world, app):
    no = numbers_of(env, world)
    login(client, "city_lead")
    asc = client.get("/ledger/petition?sort=case_no&dir=asc").text
    assert case_nos(asc) == sorted(no.values()) and 'aria-sort="ascending"' in asc
    assert case_nos(client.get("/ledger/petition?sort=case_no&dir=desc").text) == sorted(no.values(), reverse=True)
    by_name = case_nos(client.get("/ledger/petition?sort=subject_name&dir=asc").text)
    assert len(by_name) == 3
    app.config["PAGE_SIZE"] = 2
    first = client.get("/ledger/petition?q=&sort=case_no&dir=asc&overdue=")
    assert case_nos(first.text) == sorted(no.values())[:2] and "共 3 件" in first.text
    assert "sort=case_no" in re.search(r'href="([^"]*page=2[^"]*)"', first.text).group(1)
    second = client.get("/ledger/petition?sort=case_no&dir=asc&page=2")
    assert case_nos(second.text) == sorted(no.values())[2:]


def test_saved_filters_are_the_users_own_and_never_widen_the_scope(client, env, world, app):
    no = numbers_of(env, world)
    login(client, "city_lead")
    saved = client.post("/ledger/petition/filters", data={"name": "江北的", "q": "赵江北"})
    assert saved.status_code == 302
    city_filter = int(re.search(r"saved=(\d+)", saved.location).group(1))
    applied = client.get(saved.location, follow_redirects=True)
    assert case_nos(applied.text) == [no["p3"]] and "江北的" in applied.text
    assert client.post("/ledger/petition/filters", data={"name": " ", "q": "x"}).status_code == 302
    other = app.test_client()
    login(other, "d1_lead")
    assert other.get(f"/ledger/petition?saved={city_filter}").status_code == 404
    assert "江北的" not in other.get("/ledger/petition").text
    assert other.post(f"/ledger/petition/filters/{city_filter}/delete").status_code == 404
    mine = other.post("/ledger/petition/filters", data={"name": "同一查询", "q": "赵江北"})
    assert case_nos(other.get(mine.location, follow_redirects=True).text) == []
    assert client.post(f"/ledger/petition/filters/{city_filter}/delete").status_code == 302
    assert "江北的" not in client.get("/ledger/petition").text


def test_the_export_has_chinese_headers_real_dates_and_masks_for_supervisors(client, env, world, app):
    no = numbers_of(env, world)
    login(client, "d1_lead")
    response = client.get("/ledger/petition/export.xlsx?sort=case_no&dir=asc")
    assert response.status_code == 200 and response.mimetype.endswith("spreadsheetml.sheet")
    assert "attachment" in response.headers["Content-Disposition"]
    sheet = load_workbook(io.BytesIO(response.data)).active
    headers = [c.value for c in sheet[1]]
    assert headers[:5] == ["案件编号", "事项", "姓名", "身份证号", "联系电话"] and "登记时间" in headers
    first = {h: c for h, c in zip(headers, sheet[2])}
    assert first["案件编号"].value == no["p1"]
    assert first["登记时间"].is_date and first["登记时间"].value == datetime(2026, 3, 2, 9, 0)  # Beijing
    assert first["身份证号"].data_type == "s" and first["身份证号"].value == P1_ID[:4] + "*" * 10 + P1_ID[-4:]
    assert first["联系电话"].value == "139****5678"
    assert first["办理期限（截止日）"].is_date and first["办理期限（截止日）"].number_format == "yyyy-mm-dd"
    page = client.get("/ledger/petition").text
    assert P1_ID not in page and "13912345678" not in page and "隐去部分号码" in page

    clerk = app.test_client()
    login(clerk, "t1_cw")  # registered P1 and P2: handles them, sees them in full
    sheet = load_workbook(io.BytesIO(clerk.get("/ledger/petition/export.xlsx?sort=case_no&dir=asc").data)).active
    row = [c for c in sheet[2]]
    assert row[3].value == P1_ID and row[3].data_type == "s" and row[4].value == "13912345678"
    assert P1_ID in clerk.get("/ledger/petition").text


def test_every_role_has_a_ledger_and_an_admin_sees_no_case_in_it(client, world):
    login(client, "admin")
    assert client.get("/ledger/").status_code == 200
    page = client.get("/ledger/petition")
    assert page.status_code == 200 and case_nos(page.text) == []


def test_anonymous_goes_to_the_login_page(client, world):
    for url in ("/ledger/", "/ledger/petition", "/ledger/petition/export.xlsx"):
        response = client.get(url)
        assert response.status_code == 302 and "/login" in response.location
