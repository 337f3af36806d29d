"""安排工作退役士兵年度安置: a year's plan from the receipt of the files to the follow-up review,
with the missing-document loop, choosing in score order, the 30-day on-post clock and the
6-month placement clock."""
from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from engine.checks import check_process
from engine.errors import FormInvalid, PermissionDenied
from engine.history import verify_chain
from engine.models import HumanTask, InstanceStatus, ProcessInstance
from engine.runtime import case_data, case_history, complete_task, start_case
from engine.worker import run_due_timers
from tests.conftest import ROOT
from tests.factories import (Org, act, beijing, inbox_ids, open_tasks, setup_settlement,
                             soldier_id_number)
from workflows import get_process
from workflows.job_placement.indicators import placement_summary, plan_indicators

KEY = "job_placement"
SECOND = timedelta(seconds=1)
# name, service years, (service, award, exam) scores: totals 赵强 90, 钱勇 95, 孙杰 55
PEOPLE = [("赵强", 12, (30, 10, 50)), ("钱勇", 8, (20, 20, 55)), ("孙杰", 5, (15, 0, 40))]
POSTS = [("P01", "市城管局", "综合执法"), ("P02", "市交通局", "路政管理"), ("P03", "市水务局", "水政监察")]


@pytest.fixture
def org(env: Any) -> Org:
    return setup_settlement(env, KEY)


def plan(receipt: str = "2026-03-01", people: list[tuple[str, int, Any]] = PEOPLE,
         places: tuple[int, ...] = (1, 1, 1)) -> dict[str, Any]:
    return {
        "plan_year": 2026, "plan_doc_no": "安置〔2026〕1号", "receipt_date": receipt,
        "candidates": [{"name": n, "id_number": soldier_id_number(100 + i), "service_years": y,
                        "army_unit": "某部"} for i, (n, y, _s) in enumerate(people)],
        "posts": [{"post_code": c, "employer": e, "post_name": p, "count": n}
                  for (c, e, p), n in zip(POSTS, places)]}


def start(env: Any, org: Org, **kw: Any) -> int:
    return start_case(env, KEY, org.actor("ya_cw"), org.units["city_ya"], plan(**kw)).instance_id


def task_of(env: Any, case: int, step: str, label: str) -> HumanTask:
    [task] = [t for t in open_tasks(env, case, step) if t.step_name.endswith(f"：{label}")]
    return task


def do(env: Any, org: Org, case: int, step: str, label: str, username: str, data: dict[str, Any],
       refused: tuple[str, ...] = ()) -> None:
    """Complete the task of `step` for one person (by its label), as `username`."""
    task = task_of(env, case, step, label)
    assert task.id in inbox_ids(env, org, username)
    for other in refused:
        with pytest.raises(PermissionDenied):
            complete_task(env, task.id, org.actor(other), data)
    complete_task(env, task.id, org.actor(username), data)


def review_all(env: Any, org: Org, case: int) -> None:
    for name, _y, _s in PEOPLE:
        do(env, org, case, "review_file", name, "ya_cw", {"file_decision": "材料齐全"})


def score_all(env: Any, org: Org, case: int, people: list[tuple[str, int, Any]] = PEOPLE) -> None:
    for name, _y, (service, award, exam) in people:
        do(env, org, case, "score", name, "ya_cw",
           {"service_score": service, "award_score": award, "exam_score": exam})


def publish(env: Any, org: Org, case: int) -> None:
    act(env, org, case, "publish_ranking", "ya_rev1",
        {"ranking_decision": "确认排名并公示", "publicity_from": "2026-03-02", "publicity_to": "2026-03-02"},
        refused=("ya_cw",))


def choose(env: Any, org: Org, case: int, label: str, post: str) -> None:
    [task] = open_tasks(env, case, "select_post")  # one at a time: the next in rank order
    assert task.step_name.endswith(f"：{label}"), task.step_name
    complete_task(env, task.id, org.actor("ya_cw"), {"post_code": post})


def choose_all(env: Any, org: Org, case: int) -> None:
    choose(env, org, case, "第1名 钱勇", "P01")
    choose(env, org, case, "第2名 赵强", "P02")
    choose(env, org, case, "第3名 孙杰", "P03")


def approve(env: Any, org: Org, case: int, decision: str = "同意") -> None:
    data = {"allocation_decision": decision, **({"allocation_opinion": "请重新选岗"} if decision != "同意" else {})}
    act(env, org, case, "allocation_approval", "city_lead", data, refused=("ya_cw", "ya_rev1", "d1_lead"))


def to_letters(env: Any, org: Org, **kw: Any) -> int:
    case = start(env, org, **kw)
    review_all(env, org, case)
    score_all(env, org, case)
    publish(env, org, case)
    choose_all(env, org, case)
    approve(env, org, case)
    return case


def letters(env: Any, org: Org, case: int, day: str = "2026-03-02") -> None:
    for i, (name, _y, _s) in enumerate(PEOPLE):
        do(env, org, case, "issue_letter", name, "ya_cw", {"letter_no": f"JS-{i}", "letter_date": day})


def recorded(env: Any, case: int, step: str, key: str) -> list[Any]:
    """The values completions of `step` recorded for `key`, from the case history."""
    return [e.data[key][1] for e in case_history(env, case)
            if e.action == "complete" and e.step_id == step and key in e.data]


def status(env: Any, case: int) -> InstanceStatus:
    with env.db.read() as s:
        instance = s.get(ProcessInstance, case)
        assert instance is not None
        return instance.status


# ----------------------------------------------------------------------------- the whole year

def test_a_year_plan_from_receipt_to_follow_up(env, org, clock):
    started = start_case(env, KEY, org.actor("ya_cw"), org.units["city_ya"], plan())
    assert started.case_no.startswith("AP2026-")
    case = started.instance_id
    review_all(env, org, case)
    score_all(env, org, case)
    publish(env, org, case)
    choose_all(env, org, case)
    approve(env, org, case)
    letters(env, org, case)
    onpost_end = beijing("2026-04-02", 0)  # letters of 2026-03-02 + 30 days, end of day
    assert {t.due_at for t in open_tasks(env, case, "confirm_on_post")} == {onpost_end}
    for name in ("钱勇", "孙杰"):
        do(env, org, case, "confirm_on_post", name, "ya_cw", {"on_post_date": "2026-03-02"})
    clock.set(onpost_end - SECOND)
    assert run_due_timers(env) == 0 and open_tasks(env, case, "late_on_post") == []
    clock.set(onpost_end + SECOND)
    assert run_due_timers(env) == 1
    assert [t.step_name for t in open_tasks(env, case, "confirm_on_post")] == []
    clock.set(beijing("2026-04-06"))
    do(env, org, case, "late_on_post", "赵强", "ya_cw",
       {"on_post_date": "2026-04-05", "late_reason": "接收单位编制审批延迟", "allowance_arranged": True})
    clock.set(beijing("2026-04-10"))
    follow = {"follow_up_on": "2026-04-10", "open_ended": False, "contract_years": 3,
              "allowances_paid": True, "late_allowance_paid": True}
    for name, _y, _s in PEOPLE:
        do(env, org, case, "follow_up", name, "ya_cw", follow)
    assert status(env, case) == InstanceStatus.completed
    data = case_data(env, case)
    placed = {p["name"]: p for p in data["placements"]}
    assert {n: (p["post_code"], p["late"]) for n, p in placed.items()} == {
        "钱勇": ("P01", False), "赵强": ("P02", True), "孙杰": ("P03", False)}
    assert placed["赵强"]["unit_owes_allowance"] is True
    assert placed["赵强"]["legal_basis"] == "《退役军人安置条例》第七十五条"
    issues = {f["name"]: f["issues"] for f in data["follow_ups"]}
    assert issues == {"钱勇": [], "孙杰": [], "赵强": ["服役满10年，应签订无固定期限劳动合同"]}
    with env.db.read() as s:
        [numbers] = plan_indicators(s, now=clock.now())
        assert verify_chain(s, case).ok
    assert (numbers.candidates, numbers.on_post_in_time, numbers.on_post_late) == (3, 2, 1)
    assert numbers.within_deadline is True and numbers.follow_up_issues == 1
    assert numbers.placement_due_on.isoformat() == "2026-09-01"
    clock.set(beijing("2026-09-03"))
    assert run_due_timers(env) == 0  # the 6-month clock ended with the placement phase


def test_missing_documents_loop_until_complete_before_anyone_is_scored(env, org):
    case = start(env, org)
    [task] = [t for t in open_tasks(env, case, "review_file") if t.step_name.endswith("：赵强")]
    with pytest.raises(FormInvalid) as refused:
        complete_task(env, task.id, org.actor("ya_cw"), {"file_decision": "需补充材料"})
    assert refused.value.errors == {"missing_documents": "请勾选需补充的材料"}
    with pytest.raises(PermissionDenied):
        complete_task(env, task.id, org.actor("d1_cw"), {"file_decision": "材料齐全"})
    for round_no in (1, 2):
        do(env, org, case, "review_file", "赵强", "ya_cw",
           {"file_decision": "需补充材料", "missing_documents": ["户籍证明", "退出现役证"][:round_no]})
        supplement = task_of(env, case, "request_supplement", "赵强")
        assert supplement.due_at == beijing("2026-03-18", 0)  # 15 days, end of day
        do(env, org, case, "request_supplement", "赵强", "ya_cw",
           {"requested_from": "原部队", "notified_on": "2026-03-02", "received_on": "2026-03-02",
            "received_documents": ["户籍证明"]})
    for name in ("钱勇", "孙杰"):
        do(env, org, case, "review_file", name, "ya_cw", {"file_decision": "材料齐全"})
    assert open_tasks(env, case, "score") == []  # 赵强's file is still under review
    do(env, org, case, "review_file", "赵强", "ya_cw", {"file_decision": "材料齐全"})
    assert sorted(t.step_name for t in open_tasks(env, case, "score")) == [
        "考试考核/赋分：孙杰", "考试考核/赋分：赵强", "考试考核/赋分：钱勇"]
    reviewed = {r["name"]: r["review_rounds"] for r in case_data(env, case)["reviewed"]}
    assert reviewed == {"赵强": 3, "钱勇": 1, "孙杰": 1}


def test_posts_are_chosen_strictly_in_score_order_and_full_posts_are_refused(env, org):
    people = [*PEOPLE, ("李明", 10, (30, 10, 50))]  # ties 赵强 at 90; 12 years' service go first
    case = start(env, org, people=people, places=(1, 1, 2))
    for name, _y, _s in people:
        do(env, org, case, "review_file", name, "ya_cw", {"file_decision": "材料齐全"})
    score_all(env, org, case, people)
    publish(env, org, case)
    ranking = [(r["rank"], r["name"], r["total"]) for r in case_data(env, case)["ranking"]]
    assert ranking == [(1, "钱勇", 95), (2, "赵强", 90), (3, "李明", 90), (4, "孙杰", 55)]
    choose(env, org, case, "第1名 钱勇", "P02")
    [task] = open_tasks(env, case, "select_post")
    for post, message in (("P02", "该岗位名额已被排名在前的人员选满，请另选岗位"), ("P99", "岗位计划中没有该岗位代码")):
        with pytest.raises(FormInvalid) as refused:
            complete_task(env, task.id, org.actor("ya_cw"), {"post_code": post})
        assert refused.value.errors == {"post_code": message}
    with pytest.raises(PermissionDenied):
        complete_task(env, task.id, org.actor("ya_rev1"), {"post_code": "P01"})
    choose(env, org, case, "第2名 赵强", "P03")
    choose(env, org, case, "第3名 李明", "P03")
    [last] = open_tasks(env, case, "select_post")
    with pytest.raises(FormInvalid):  # both places of P03 are taken by higher ranks
        complete_task(env, last.id, org.actor("ya_cw"), {"post_code": "P03"})
    choose(env, org, case, "第4名 孙杰", "P01")
    choices = [(c["rank"], c["post_code"]) for c in case_data(env, case)["choices"]]
    assert choices == [(1, "P02"), (2, "P03"), (3, "P03"), (4, "P01")]


def test_plan_with_fewer_places_than_candidates_is_refused(env, org):
    data = plan()
    data["posts"] = data["posts"][:2]
    with pytest.raises(FormInvalid) as refused:
        start_case(env, KEY, org.actor("ya_cw"), org.units["city_ya"], data)
    assert refused.value.errors == {"posts": "岗位名额总数少于安置对象人数"}
    with pytest.raises(PermissionDenied):  # the plan is kept by the settlement section only
        start_case(env, KEY, org.actor("city_cw"), org.units["city_xf"], plan())


def test_ranking_and_allocation_can_be_sent_back(env, org):
    case = start(env, org)
    review_all(env, org, case)
    score_all(env, org, case)
    act(env, org, case, "publish_ranking", "ya_rev1",
        {"ranking_decision": "退回重新赋分", "ranking_note": "孙杰立功加分漏记"})
    assert len(open_tasks(env, case, "score")) == 3
    score_all(env, org, case, [(n, y, (s if n != "孙杰" else (15, 40, 40))) for n, y, s in PEOPLE])
    publish(env, org, case)
    assert [r["name"] for r in case_data(env, case)["ranking"]] == ["钱勇", "孙杰", "赵强"]
    choose(env, org, case, "第1名 钱勇", "P01")
    choose(env, org, case, "第2名 孙杰", "P02")
    choose(env, org, case, "第3名 赵强", "P03")
    approve(env, org, case, "退回重新选岗")
    choose(env, org, case, "第1名 钱勇", "P03")
    choose(env, org, case, "第2名 孙杰", "P01")
    choose(env, org, case, "第3名 赵强", "P02")
    approve(env, org, case)
    choices = {c["name"]: c["post_code"] for c in case_data(env, case)["choices"]}
    assert choices == {"钱勇": "P03", "孙杰": "P01", "赵强": "P02"}
    assert len(open_tasks(env, case, "issue_letter")) == 3


# ----------------------------------------------------------------------------- the 6-month clock

def test_six_month_clock_counts_calendar_months_and_sends_the_leader_a_supervision(env, org, clock):
    case = start(env, org, receipt="2025-10-31")  # + 6 months = 30 April (no 31 April)
    data = case_data(env, case)
    assert data["placement_due_on"] == "2026-04-30"
    deadline = beijing("2026-05-01", 0)
    assert {t.due_at for t in open_tasks(env, case, "review_file")} == {deadline}
    clock.set(deadline - SECOND)
    assert run_due_timers(env) == 0 and open_tasks(env, case, "placement_overdue") == []
    clock.set(deadline + SECOND)
    assert run_due_timers(env) == 1
    [supervision] = open_tasks(env, case, "placement_overdue")
    assert supervision.org_unit_id == org.units["city"]
    assert len(open_tasks(env, case, "review_file")) == 3  # the work goes on
    act(env, org, case, "placement_overdue", "city_lead",
        {"overdue_reason": "岗位计划调整", "measures": "限期10日内完成选岗"}, refused=("ya_cw",))
    review_all(env, org, case)
    with env.db.read() as s:
        [numbers] = plan_indicators(s, now=clock.now())
        summary = placement_summary([numbers])
    assert numbers.within_deadline is False and numbers.placement_done_at is None
    assert summary["plans_overdue"] == 1 and summary["plans_within_deadline"] == 0


def test_on_post_date_after_the_30_days_is_late_even_before_the_timer(env, org, clock):
    case = to_letters(env, org)
    letters(env, org, case, "2026-03-02")  # on post by 2026-04-01
    clock.set(beijing("2026-04-01", 23))
    do(env, org, case, "confirm_on_post", "钱勇", "ya_cw", {"on_post_date": "2026-04-01"})
    clock.set(beijing("2026-04-02", 10))  # the deadline has ended; the worker has not run yet
    with pytest.raises(FormInvalid) as refused:
        do(env, org, case, "confirm_on_post", "孙杰", "ya_cw", {"on_post_date": "2026-03-01"})
    assert refused.value.errors == {"on_post_date": "上岗日期不能早于介绍信日期"}
    do(env, org, case, "confirm_on_post", "孙杰", "ya_cw", {"on_post_date": "2026-04-02"})
    # the command itself ran the case's due timers: 赵强, still not on post, is now late
    assert [t.step_name for t in open_tasks(env, case, "late_on_post")] == [
        "30日期满上岗确认（逾期的由接收单位发放生活费）：赵强"]
    placed = {p["name"]: p["late"] for p in recorded(env, case, "confirm_on_post", "placement")}
    assert placed == {"钱勇": False, "孙杰": True}


def test_the_definition_passes_the_workflows_check(env):
    report = check_process(KEY, ROOT / "bpmn", get_process(KEY), env.calendar)
    assert report.ok, report.problems
    assert report.completed and report.steps_run >= 16


def test_on_post_within_30_days_but_confirmed_after_the_timer_is_not_late(env, org, clock):
    """Art.75 ¶2 applies only if the veteran is not on post within 30 days of the letter: the
    on-post date decides, not whether the timer fired before someone recorded it."""
    case = to_letters(env, org)
    letters(env, org, case, "2026-03-02")  # day 30 is 2026-04-01
    clock.set(beijing("2026-03-05", 10))
    for name in ("钱勇", "孙杰"):
        do(env, org, case, "confirm_on_post", name, "ya_cw", {"on_post_date": "2026-03-05"})
    clock.set(beijing("2026-04-02", 0))
    assert run_due_timers(env) == 1  # 赵强 not recorded by the end of day 30
    clock.set(beijing("2026-04-03", 10))  # day 32: the unit reports he was on post on day 29
    with pytest.raises(FormInvalid) as late_needs_facts:
        do(env, org, case, "late_on_post", "赵强", "ya_cw", {"on_post_date": "2026-04-02"})
    assert set(late_needs_facts.value.errors) == {"late_reason", "allowance_arranged"}
    do(env, org, case, "late_on_post", "赵强", "ya_cw", {"on_post_date": "2026-03-31"})
    [placed] = recorded(env, case, "late_on_post", "placement")
    assert (placed["late"], placed["unit_owes_allowance"]) == (False, False)
    assert "legal_basis" not in placed
    with env.db.read() as s:
        [numbers] = plan_indicators(s, now=clock.now())
    assert (numbers.on_post_in_time, numbers.on_post_late) == (3, 0)


def test_on_post_on_day_31_is_late_with_the_unit_owing_the_allowance(env, org, clock):
    case = to_letters(env, org)
    letters(env, org, case, "2026-03-02")
    clock.set(beijing("2026-04-01", 23))
    for name in ("钱勇", "孙杰"):
        do(env, org, case, "confirm_on_post", name, "ya_cw", {"on_post_date": "2026-04-01"})
    clock.set(beijing("2026-04-02", 0))
    assert run_due_timers(env) == 1
    do(env, org, case, "late_on_post", "赵强", "ya_cw",
       {"on_post_date": "2026-04-02", "late_reason": "编制审批延迟", "allowance_arranged": True})
    [placed] = recorded(env, case, "late_on_post", "placement")
    assert (placed["late"], placed["unit_owes_allowance"]) == (True, True)
    with env.db.read() as s:
        [numbers] = plan_indicators(s, now=clock.now())
    assert (numbers.on_post_in_time, numbers.on_post_late) == (2, 1)


@pytest.mark.parametrize("on_post, late", [("2026-10-01", False), ("2026-10-02", True)])
def test_on_post_clock_across_national_day_is_the_units_and_does_not_roll(env, org, clock, on_post, late):
    """The 30 days are the receiving unit's obligation (Art.75 ¶2), an organ's deadline: its last
    day, 10-01, stays put although it falls on National Day."""
    case = to_letters(env, org)
    clock.set(beijing("2026-09-01"))
    letters(env, org, case, "2026-09-01")
    [first] = open_tasks(env, case, "confirm_on_post")[:1]
    assert first.due_at == beijing("2026-10-02", 0)
    clock.set(beijing(on_post, 23))
    facts = {"late_reason": "编制审批延迟", "allowance_arranged": True} if late else {}
    step = "late_on_post" if late else "confirm_on_post"
    if late:
        assert run_due_timers(env) == 1
    do(env, org, case, step, "钱勇", "ya_cw", {"on_post_date": on_post, **facts})
    [placed] = recorded(env, case, step, "placement")
    assert (placed["late"], placed["unit_owes_allowance"]) == (late, late)
