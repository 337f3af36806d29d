"""After the reply (《信访工作条例》Art.35–36): the 30-day window to ask for 复查, the 30-day 复查
answer, the 30-day window to ask for 复核, the 30-day 复核 answer with hearing days not counted,
and the case closing (办结) when a window runs out unused or ending for good (终结)."""
from __future__ import annotations

from datetime import timedelta

import pytest

from engine.env import Env
from engine.errors import FormInvalid
from engine.models import InstanceStatus, Role, TaskStatus
from engine.runtime import case_data, case_history, complete_task
from engine.verbs.supervision import case_orders, counts
from engine.worker import run_due_timers
from tests.factories import (PETITION_EVALUATED, Org, act, all_tasks, assign_petition, inbox_ids,
                             open_tasks, petition_in_second_request, petition_replied,
                             petition_to_final, setup_petition)
from tests.factories import beijing as at
from tests.factories import case_row as instance
from tests.factories import register_petition as register

SECOND = timedelta(seconds=1)
SUPERVISE = {"first_review_supervision_measure": "书面督办",
             "first_review_supervision_note": "请于3个工作日内书面反馈复查进展"}


@pytest.fixture
def org(env: Env) -> Org:
    return setup_petition(env)


def fire_at(env: Env, clock, when) -> int:
    clock.set(when)
    return run_due_timers(env)


def test_city_records_a_review_request_and_answers_it_late_under_supervision(env, org, clock):
    env.settings["petition"] = {"late_request_days": 0}  # unused windows close the case at their end
    case_id = register(env, org)
    assign_petition(env, org, case_id)
    clock.set(at("2026-03-10"))
    petition_replied(env, org, case_id)  # served 2026-03-10: 复查 may be asked for until 2026-04-09
    [window] = open_tasks(env, case_id, "review_request")
    assert (window.org_unit_id, window.role, window.due_at) == (org.units["city_xf"], Role.caseworker,
                                                                at("2026-04-10", 0))
    assert window.id in inbox_ids(env, org, "city_cw") and window.id not in inbox_ids(env, org, "d1_cw")
    [evaluate] = open_tasks(env, case_id, "evaluate")
    assert evaluate.org_unit_id == org.units["d1"]
    data = case_data(env, case_id)
    assert (data["first_review_unit_id"], data["first_review_external"]) == (org.units["city_xf"], False)

    clock.set(at("2026-03-15"))
    with pytest.raises(FormInvalid) as early:
        complete_task(env, window.id, org.actor("city_cw"),
                      {"first_review_requested_on": "2026-03-09", "first_review_request": "不服"})
    assert early.value.errors == {"first_review_requested_on": "申请日期不能早于答复意见送达日期"}
    with pytest.raises(FormInvalid) as future:
        complete_task(env, window.id, org.actor("city_cw"),
                      {"first_review_requested_on": "2026-03-16", "first_review_request": "不服"})
    assert future.value.errors == {"first_review_requested_on": "日期不能晚于今天"}
    act(env, org, case_id, "review_request", "city_cw",
        {"first_review_requested_on": "2026-03-12", "first_review_request": "对处理意见不服，请求复查"},
        refused=("d1_cw", "city_rev"))

    # nobody recorded an evaluation: the evaluation closes with the 复查 window, the case runs on
    assert fire_at(env, clock, at("2026-04-10", 0)) == 1
    assert [t.status for t in all_tasks(env, case_id, "evaluate")] == [TaskStatus.cancelled]
    assert instance(env, case_id).status == InstanceStatus.running

    due = at("2026-04-12", 0)  # asked on 2026-03-12: the 复查意见 is due by the end of 2026-04-11
    [review] = open_tasks(env, case_id, "first_review")
    assert (review.org_unit_id, review.due_at) == (org.units["city_xf"], due)
    assert fire_at(env, clock, due - SECOND) == 0
    assert all_tasks(env, case_id, "supervise_first_review") == []
    assert fire_at(env, clock, due) == 1
    [supervise] = open_tasks(env, case_id, "supervise_first_review")
    assert (supervise.org_unit_id, supervise.role) == (org.units["city_xf"], Role.reviewer)
    assert [t.id for t in open_tasks(env, case_id, "first_review")] == [review.id]  # still open
    assert case_data(env, case_id)["first_review_overdue"] is True

    act(env, org, case_id, "supervise_first_review", "city_rev", SUPERVISE, refused=("city_cw",))
    [order] = case_orders(env, case_id)  # the engine's 督办单
    # opened Sunday 2026-04-12: three working days are 13, 14 and 15 April
    assert (order.org_unit_id, order.due_at, order.kind) == (org.units["city_xf"], at("2026-04-16", 0), "复查超期")

    clock.set(at("2026-04-14"))
    act(env, org, case_id, "first_review", "city_cw",
        {"first_review_result": "维持原处理意见", "first_review_opinion": "原处理意见正确。"})
    data = case_data(env, case_id)
    assert (data["first_review_served_on"], data["first_review_late"]) == ("2026-04-14", True)
    # the city answered 复查; 复核 is for the provincial department, recorded by the city section
    [second] = open_tasks(env, case_id, "second_request")
    assert (second.org_unit_id, second.due_at) == (org.units["city_xf"], at("2026-05-15", 0))
    assert data["second_review_external"] is True

    assert fire_at(env, clock, at("2026-05-15", 0) - SECOND) == 0
    assert instance(env, case_id).status == InstanceStatus.running
    assert fire_at(env, clock, at("2026-05-15", 0)) == 1  # nobody asked for 复核: 办结
    case = instance(env, case_id)
    assert (case.status, case.closed_at) == (InstanceStatus.completed, at("2026-05-15", 0))
    [order] = case_orders(env, case_id)  # never answered: late, counted in 督办按期反馈率
    assert order.fed_back_at is None and counts(order, at("2026-05-15", 0), case.closed_at) == (True, False)
    data = case_data(env, case_id)
    assert data["review_final"] is False
    assert "handling_satisfaction" not in data  # never evaluated


def test_hearing_days_do_not_count_against_the_second_review(env, org, clock):
    case_id = petition_in_second_request(env, org, clock)  # 复查意见 served 2026-03-25
    clock.set(at("2026-04-01"))
    act(env, org, case_id, "second_request", "city_cw", {"second_review_request": "请求复核"})
    old_due = at("2026-05-02", 0)  # asked 2026-04-01: due by the end of 2026-05-01
    [review] = open_tasks(env, case_id, "second_review")
    assert review.due_at == old_due

    clock.set(at("2026-04-20"))
    act(env, org, case_id, "second_review", "city_cw", {"second_review_action": "举行听证"}, "决定举行听证")
    [hearing] = open_tasks(env, case_id, "hearing")
    assert (hearing.org_unit_id, hearing.due_at) == (org.units["city_xf"], None)  # the clock stops
    assert all_tasks(env, case_id, "second_review")[-1].status == TaskStatus.completed
    assert fire_at(env, clock, old_due) == 0
    assert all_tasks(env, case_id, "supervise_second_review") == []

    clock.set(at("2026-05-06"))
    with pytest.raises(FormInvalid) as before:
        complete_task(env, hearing.id, org.actor("city_cw"),
                      {"hearing_ended_on": "2026-04-19", "hearing_record": "听证"})
    assert before.value.errors == {"hearing_ended_on": "听证结束日期不能早于开始日期"}
    act(env, org, case_id, "hearing", "city_cw",
        {"hearing_ended_on": "2026-05-05", "hearing_record": "听取信访人及海安区意见"})
    # 20 April – 5 May is 16 days, not counted: due by the end of 2026-05-17
    new_due = at("2026-05-18", 0)
    [review] = open_tasks(env, case_id, "second_review")
    assert review.due_at == new_due
    data = case_data(env, case_id)
    assert (data["second_review_due_on"], data["hearing_days_total"]) == ("2026-05-17", 16)
    [ended] = [e for e in case_history(env, case_id) if e.step_id == "hearing" and e.action == "complete"]
    assert ended.data["second_review_due_on"] == ["2026-05-01", "2026-05-17"]

    assert fire_at(env, clock, new_due - SECOND) == 0
    assert fire_at(env, clock, new_due) == 1
    assert len(open_tasks(env, case_id, "supervise_second_review")) == 1

    [review] = open_tasks(env, case_id, "second_review")
    answer = {"second_review_action": "作出复核意见", "second_review_result": "维持复查意见",
              "second_review_opinion": "复查意见正确，予以维持。"}
    with pytest.raises(FormInvalid) as organ:
        complete_task(env, review.id, org.actor("city_cw"), answer)
    assert organ.value.errors == {"second_review_organ": "由系统外上级机关作出的，请填写作出机关名称"}
    done = act(env, org, case_id, "second_review", "city_cw", {**answer, "second_review_organ": "省退役军人事务厅"})
    assert done.status == InstanceStatus.completed
    data = case_data(env, case_id)
    assert (data["review_final"], data["final_on"], data["second_review_late"]) == (True, "2026-05-18", True)
    assert data["handling_satisfaction"] == "基本满意"  # the evaluation branch's data is kept
    assert all_tasks(env, case_id, "supervise_second_review")[0].status == TaskStatus.cancelled


def test_unused_review_window_closes_the_case_and_ends_the_evaluation_with_it(env, org, clock):
    env.settings["petition"] = {"late_request_days": 0}  # unused windows close the case at their end
    case_id = register(env, org)
    act(env, org, case_id, "intake", "city_cw", {"intake_outcome": "受理"})
    clock.set(at("2026-03-10"))
    petition_replied(env, org, case_id, served_on="2026-03-09")  # window: until 2026-04-08
    data = case_data(env, case_id)
    # handled by the city itself: 复查 is for the provincial department, recorded by the city
    assert (data["first_review_unit_id"], data["first_review_external"]) == (org.units["city_xf"], True)
    end = at("2026-04-09", 0)
    assert [t.due_at for t in open_tasks(env, case_id, "review_request")] == [end]

    assert fire_at(env, clock, end - SECOND) == 0
    assert instance(env, case_id).status == InstanceStatus.running
    assert fire_at(env, clock, end) == 1
    case = instance(env, case_id)
    assert (case.status, case.closed_at) == (InstanceStatus.completed, end)
    assert [t.status for t in all_tasks(env, case_id, "evaluate")] == [TaskStatus.cancelled]
    assert [t.status for t in all_tasks(env, case_id, "review_request")] == [TaskStatus.cancelled]
    timers = sorted(e.step_id for e in case_history(env, case_id) if e.action == "timer")
    assert timers == ["evaluation_window_timer", "review_window_timer"]
    assert case_data(env, case_id)["served_on"] == "2026-03-09"


def test_second_review_ends_the_matter_for_good(env, org, clock):
    case_id = petition_to_final(env, org, clock)
    case = instance(env, case_id)
    assert (case.status, case.closed_at) == (InstanceStatus.completed, at("2026-04-10"))
    data = case_data(env, case_id)
    assert (data["review_final"], data["second_review_organ"], data["second_review_served_on"]) == \
        (True, "省退役军人事务厅", "2026-04-10")
    assert (data["intake_satisfaction"], data["first_review_result"]) == ("满意", "维持原处理意见")
    steps = [e.step_id for e in case_history(env, case_id) if e.action == "complete"]
    assert steps[-5:] == ["evaluate", "review_request", "first_review", "second_request", "second_review"]


def test_review_request_after_the_window_is_refused(env, org, clock):
    case_id = register(env, org)
    act(env, org, case_id, "intake", "city_cw", {"intake_outcome": "受理"})
    clock.set(at("2026-03-10"))
    petition_replied(env, org, case_id)
    clock.set(at("2026-03-12"))
    act(env, org, case_id, "evaluate", "city_cw", PETITION_EVALUATED)
    [window] = open_tasks(env, case_id, "review_request")
    clock.set(at("2026-04-09", 23))  # the last day; the timer has not run yet
    with pytest.raises(FormInvalid) as late:
        complete_task(env, window.id, org.actor("city_cw"),
                      {"first_review_requested_on": "2026-04-10", "first_review_request": "不服"})
    assert late.value.errors == {"first_review_requested_on": "日期不能晚于今天"}
    act(env, org, case_id, "review_request", "city_cw", {"first_review_request": "最后一天提出复查"})
    assert open_tasks(env, case_id, "first_review")[0].due_at == at("2026-05-10", 0)
