"""The four lists on the home page: counts, filters, search, due badges, paging."""
from __future__ import annotations

from datetime import timedelta

from engine.copies import copy_case
from engine.inbox import inbox
from engine.runtime import complete_task
from tests.web.conftest import GOOD_ID, login, make_app, start_plain

OTHER_ID = "320602196805120016"


def _tab_count(html: str, label: str) -> str:
    after = html.split(f"{label} <span", 1)[1]
    return after.split(">", 1)[1].split("<", 1)[0]


def test_four_lists_with_counts(env, client, plain):
    cw = plain.actor("t1_cw")
    first = start_plain(env, plain, subject="伤残抚恤金调整")
    start_plain(env, plain, subject="安置待遇咨询")
    task = next(t for t in inbox(env, cw.id).items if t.instance_id == first.instance_id)
    complete_task(env, task.id, cw, {"note": "材料齐全"}, opinion="已登记")
    copy_case(env, first.instance_id, cw, [plain.actor("d1_cw").id], "请知悉")

    login(client, "t1_cw")
    todo = client.get("/").text
    assert _tab_count(todo, "待办") == "2" and _tab_count(todo, "已办") == "1"
    assert _tab_count(todo, "我发起的") == "2" and _tab_count(todo, "抄送我的") == "0"
    assert "初审 · 伤残抚恤金调整" in todo and "登记 · 安置待遇咨询" in todo
    done = client.get("/?tab=done").text
    assert "登记 · 伤残抚恤金调整" in done and "安置待遇咨询" not in done
    mine = client.get("/?tab=mine").text
    assert first.case_no in mine and "当前：初审" in mine and "办理中" in mine
    client.post("/logout")

    login(client, "d1_cw")
    cc = client.get("/?tab=cc").text
    assert first.case_no in cc and "未读" in cc and "镇经办 抄送于" in cc
    assert client.get(f"/cases/{first.instance_id}").status_code == 200  # opening marks it read
    assert "未读" not in client.get("/?tab=cc").text


def test_search_by_case_number_name_or_id_number(env, client, plain):
    a = start_plain(env, plain, petitioner_name="王建国", id_number=GOOD_ID)
    b = start_plain(env, plain, petitioner_name="李卫国", id_number=OTHER_ID)
    login(client, "t1_cw")
    for tab in ("todo", "mine"):
        by_name = client.get(f"/?tab={tab}&q=李卫国").text
        assert b.case_no in by_name and a.case_no not in by_name
        by_id = client.get(f"/?tab={tab}&q={GOOD_ID}").text
        assert a.case_no in by_id and b.case_no not in by_id
        by_no = client.get(f"/?tab={tab}&q={b.case_no}").text
        assert b.case_no in by_no and a.case_no not in by_no


def test_due_badges_turn_yellow_then_red(env, client, plain, clock):
    start_plain(env, plain)  # 15 calendar days to the deadline
    login(client, "t1_cw")
    assert "03-17 到期" in client.get("/").text
    clock.advance(timedelta(days=13))
    login(client, "t1_cw")  # the idle timeout ended the session meanwhile
    soon = client.get("/").text
    assert "text-bg-warning" in soon and "剩 2 天" in soon
    clock.advance(timedelta(days=3))
    login(client, "t1_cw")
    late = client.get("/").text
    assert "text-bg-danger" in late and "已超期" in late
    assert "已超期" in client.get("/?status=overdue").text
    assert "暂无待办事项" in client.get("/?status=overdue&process=nope").text


def test_filters_by_status_and_due_date(env, client, plain, clock):
    start_plain(env, plain, subject="早的案件")
    clock.advance(timedelta(days=10))
    start_plain(env, plain, subject="晚的案件")
    login(client, "t1_cw")
    early = client.get("/?due=2026-03-18").text  # the first case is due 2026-03-17
    assert "早的案件" in early and "晚的案件" not in early
    assert "晚的案件" in client.get("/?tab=mine&status=running").text
    assert "您还没有发起案件" in client.get("/?tab=mine&status=completed").text
    assert "早的案件" in client.get("/?tab=mine&due=2026-03-17").text


def test_lists_are_paged(env, tmp_path, plain):
    app = make_app(env, tmp_path, PAGE_SIZE=2)
    client = app.test_client()
    for n in range(3):
        start_plain(env, plain, subject=f"案件{n}")
    login(client, "t1_cw")
    first = client.get("/?tab=mine").text
    assert "第 1/2 页" in first and "下一页" in first
    second = client.get("/?tab=mine&page=2").text
    assert "案件0" in second and "案件2" not in second
