"""Law-true petition clocks (issue 9) on the business calendar, at their boundaries, including the
2026 National Day (10-01..10-07 off, Saturday 10-10 worked) and 2027 (no official schedule yet):

- every intake clock counts from the 收到日期, not from registration (《信访工作条例》Art.22–23);
- the petitioner's 复查/复核 windows roll past rest days and holidays (民法典 Art.203), a per-clock
  setting; a late request goes to the leader, who decides with a written reason;
- the due instant is 24:00 of the last day everywhere: hooks, timers, case page, inbox, indicators;
- a window that closes unused is shown neutrally (期满未申请 / 期满未提出异议 / 未评价);
- 交办 carries the assigning organ's 指定办理期限 (Art.22(3)), the assigned unit's written notice is a
  15-day clock from its receipt (Art.23 ¶3), an extension's notice is recorded (Art.34), and 建议 /
  检举 (Art.29–30) have no 60-day clock and no 复查/复核.
"""
from __future__ import annotations

from datetime import timedelta

import pytest

from engine.casefile import case_file
from engine.definitions import SpecCache
from engine.env import Env, make_env
from engine.errors import FormInvalid
from engine.inbox import TaskFilter, inbox
from engine.models import InstanceStatus, TaskStatus
from engine.queries import due_info
from engine.runtime import case_data, case_history, complete_task
from engine.worker import run_due_timers
from tests.conftest import ROOT
from tests.factories import (PETITION_EVALUATED, PETITION_HANDLED, Org, act, all_tasks, inbox_ids,
                             open_tasks, petition_replied, setup_petition)
from tests.factories import beijing as at
from tests.factories import case_row as instance
from tests.factories import register_petition as register
from workflows.petition.indicators import Rate, compute

SECOND = timedelta(seconds=1)
ASSIGN_D1 = {"intake_outcome": "交办"}


@pytest.fixture
def org(env: Env) -> Org:
    return setup_petition(env)


def replied_on(env: Env, org: Org, clock, served: str) -> int:
    """A petition accepted by the city section and answered, served on `served`."""
    clock.set(at(served, 8))
    case_id = register(env, org)
    act(env, org, case_id, "intake", "city_cw", {"intake_outcome": "受理"})
    petition_replied(env, org, case_id)
    return case_id


# ----------------------------------------------------------------------------- 1. receipt date

def test_intake_clock_counts_from_the_receipt_date_not_from_registration(env, org, clock):
    clock.set(at("2026-10-08"))  # a letter received 09-30, registered after National Day
    case_id = register(env, org, received_on="2026-09-30")
    [intake] = open_tasks(env, case_id, "intake")
    assert (intake.due_at, intake.due_provisional) == (at("2026-10-16", 0), False)  # 09-30 + 15 days
    data = case_data(env, case_id)
    assert (data["received_on"], data["intake_due_on"]) == ("2026-09-30", "2026-10-15")


def test_intake_clock_into_2027_is_calendar_days_unless_rolled(env, org, clock):
    clock.set(at("2026-12-18"))
    plain = register(env, org, received_on="2026-12-17")  # day 15: Friday 2027-01-01
    data = case_data(env, plain)
    assert (data["intake_due_on"], data["intake_due_at_provisional"]) == ("2027-01-01", False)
    env.settings["petition"] = {"roll_forward_intake": True}
    rolled = register(env, org, received_on="2026-12-17", id_number="11010519491231002X")
    [intake] = open_tasks(env, rolled, "intake")
    assert (intake.due_at, intake.due_provisional) == (at("2027-01-05", 0), True)  # 暂定


def test_receipt_date_is_required_and_not_in_the_future(env, org, clock):
    clock.set(at("2026-10-08", 23))
    with pytest.raises(FormInvalid) as future:
        register(env, org, received_on="2026-10-09")
    assert future.value.errors == {"received_on": "日期不能晚于今天"}
    with pytest.raises(FormInvalid) as missing:
        register(env, org, received_on=None)
    assert "received_on" in missing.value.errors
    assert register(env, org, received_on="2026-10-08")  # today is fine


def test_timely_intake_follows_the_receipt_date(env, org, clock):
    clock.set(at("2026-10-08"))
    late = register(env, org, received_on="2026-09-22")  # due 10-07: decided 10-08 -> late
    in_time = register(env, org, received_on="2026-09-30", id_number="11010519491231002X")
    act(env, org, late, "intake", "city_cw", {"intake_outcome": "受理"})
    act(env, org, in_time, "intake", "city_cw", {"intake_outcome": "受理"})
    assert case_data(env, late)["intake_overdue"] is True
    assert case_data(env, in_time)["intake_overdue"] is False
    with env.db.read() as s:
        assert compute(s, as_of=at("2026-10-09")).timely_intake == Rate(1, 2)


def test_objection_window_and_notice_clock_count_from_the_districts_receipt(env, org, clock):
    clock.set(at("2026-09-29"))
    case_id = register(env, org)
    act(env, org, case_id, "intake", "city_cw", {**ASSIGN_D1, "handling_unit_id": org.units["d1"]})
    [receive] = open_tasks(env, case_id, "receive_assignment")
    # delivered in the system on Tuesday 09-29: 09-30, 10-08, 10-09, 10-10 (调休 Saturday), 10-12
    assert receive.due_at == at("2026-10-13", 0)
    clock.set(at("2026-10-09"))
    with pytest.raises(FormInvalid) as before:
        complete_task(env, receive.id, org.actor("d1_cw"),
                      {"assignment_decision": "签收", "assignment_received_on": "2026-09-28"})
    assert before.value.errors == {"assignment_received_on": "收到日期不能早于交办日期"}
    with pytest.raises(FormInvalid) as future:
        complete_task(env, receive.id, org.actor("d1_cw"),
                      {"assignment_decision": "签收", "assignment_received_on": "2026-10-10"})
    assert future.value.errors == {"assignment_received_on": "日期不能晚于今天"}
    act(env, org, case_id, "receive_assignment", "d1_cw",
        {"assignment_decision": "签收", "assignment_received_on": "2026-09-30"})
    [notice] = open_tasks(env, case_id, "assignment_notice")
    assert (notice.org_unit_id, notice.due_at) == (org.units["d1"], at("2026-10-16", 0))  # 09-30 + 15
    [notice_task] = open_tasks(env, case_id, "assignment_notice")
    with pytest.raises(FormInvalid) as early:
        complete_task(env, notice_task.id, org.actor("d1_cw"),
                      {"assignment_notice_on": "2026-09-29", "assignment_notice_method": "邮寄送达"})
    assert early.value.errors == {"assignment_notice_on": "告知日期不能早于收到交办事项的日期"}
    clock.set(at("2026-10-16", 0))  # 24:00 of the 15th day: the notice is late
    act(env, org, case_id, "assignment_notice", "d1_cw",
        {"assignment_notice_on": "2026-10-16", "assignment_notice_method": "邮寄送达"})
    assert case_data(env, case_id)["assignment_notice_late"] is True
    [row] = all_tasks(env, case_id, "assignment_notice")
    assert row.status == TaskStatus.completed


def test_objection_counts_5_working_days_from_the_recorded_receipt(env, org, clock):
    clock.set(at("2026-09-28"))  # Monday
    case_id = register(env, org)
    act(env, org, case_id, "intake", "city_cw", {**ASSIGN_D1, "handling_unit_id": org.units["d1"]})
    clock.set(at("2026-10-12", 10))  # received 09-28: 09-29, 09-30, 10-08, 10-09, 10-10 -> over
    [receive] = open_tasks(env, case_id, "receive_assignment")
    assert receive.due_at == at("2026-10-11", 0)
    env.specs = SpecCache()  # the next command lands in another process
    objection = {"assignment_decision": "提出异议", "objection_reason": "不属本区职责",
                 "assignment_received_on": "2026-09-28"}
    assert run_due_timers(env) == 1  # the window's timer: deemed signed for
    assert open_tasks(env, case_id, "receive_assignment") == []
    clock.set(at("2026-09-28"))
    other = register(env, org, id_number="11010519491231002X")
    act(env, org, other, "intake", "city_cw", {**ASSIGN_D1, "handling_unit_id": org.units["d1"]})
    clock.set(at("2026-10-10", 23))  # the 5th working day (a 调休 Saturday), last hour
    act(env, org, other, "receive_assignment", "d1_cw", objection)
    assert case_data(env, other)["assignment_objected"] is True


# ----------------------------------------------------------------------------- 2. roll-forward

def test_review_window_ending_on_national_day_rolls_to_october_8(env, org, clock):
    case_id = replied_on(env, org, clock, "2026-09-01")  # day 30 is 10-01
    [window] = open_tasks(env, case_id, "review_request")
    assert (window.due_at, window.due_provisional) == (at("2026-10-09", 0), False)
    clock.set(at("2026-10-02", 0))
    assert run_due_timers(env) == 0  # the holiday does not close the petitioner's window
    clock.set(at("2026-10-08", 16))  # the first working day after National Day
    act(env, org, case_id, "review_request", "city_cw", {"first_review_request": "不服，请求复查"})
    data = case_data(env, case_id)
    assert (data["first_request_late"], data["first_review_requested_on"]) == (False, "2026-10-08")
    [review] = open_tasks(env, case_id, "first_review")
    assert review.due_at == at("2026-11-08", 0)  # the organ's own 30 days do not roll


def test_roll_forward_is_a_per_clock_setting_a_deployment_may_turn_off(env, org, clock):
    env.settings["petition"] = {"roll_forward_first_request": False, "late_request_days": 0}
    case_id = replied_on(env, org, clock, "2026-09-01")
    [window] = open_tasks(env, case_id, "review_request")
    assert window.due_at == at("2026-10-02", 0)
    clock.set(at("2026-10-02", 0))
    assert run_due_timers(env) == 1
    assert instance(env, case_id).status == InstanceStatus.completed


def test_organ_deadlines_roll_only_when_the_deployment_turns_it_on(env, org, clock):
    clock.set(at("2026-09-16"))
    plain = register(env, org)  # 15 days: last day 10-01, inside the break
    assert case_data(env, plain)["intake_due_on"] == "2026-10-01"
    env.settings["petition"] = {"roll_forward_intake": True}
    rolled = register(env, org, id_number="11010519491231002X")
    assert case_data(env, rolled)["intake_due_on"] == "2026-10-08"


def test_rolled_window_in_a_year_without_an_official_schedule_is_provisional(env, org, clock):
    case_id = replied_on(env, org, clock, "2026-12-02")  # day 30: Friday 2027-01-01
    [window] = open_tasks(env, case_id, "review_request")
    assert (window.due_at, window.due_provisional) == (at("2027-01-05", 0), True)
    data = case_data(env, case_id)
    assert (data["first_request_due_on"], data["first_request_due_at_provisional"]) == ("2027-01-04", True)


def test_leader_accepts_a_late_request_with_a_written_reason(env, org, clock, db_url):
    # the default deployment: a late request can be registered for 15 days after the window
    case_id = replied_on(env, org, clock, "2026-09-01")  # window until 10-08, closes 10-23 24:00
    [window] = open_tasks(env, case_id, "review_request")
    clock.set(at("2026-10-12"))
    run_due_timers(env)  # (the evaluation's own timer may fire; the window's does not)
    assert [t.id for t in open_tasks(env, case_id, "review_request")] == [window.id]
    other = make_env(db_url, clock=clock, bpmn_dir=ROOT / "bpmn")  # a second engine process
    act(other, org, case_id, "review_request", "city_cw",
        {"first_review_request": "住院期间未能申请", "first_review_requested_on": "2026-10-12"})
    assert case_data(env, case_id)["first_request_late"] is True
    assert open_tasks(env, case_id, "first_review") == []
    with pytest.raises(FormInvalid) as silent:
        act(env, org, case_id, "accept_late_first", "city_lead", {"late_first_decision": "受理"})
    assert silent.value.errors == {"late_first_reason": "请填写理由"}
    act(env, org, case_id, "accept_late_first", "city_lead",
        {"late_first_decision": "受理", "late_first_reason": "信访人住院治疗，有医院证明"},
        refused=("city_cw", "d1_lead"))
    assert open_tasks(other, case_id, "first_review")
    [decided] = [e for e in case_history(env, case_id) if e.step_id == "accept_late_first"]
    assert decided.actor_id == org.actor("city_lead").id
    assert decided.data["late_first_reason"] == [None, "信访人住院治疗，有医院证明"]
    assert decided.data["late_first_decision"] == [None, "受理"]
    other.db.dispose()


def test_leader_may_refuse_a_late_request_and_the_case_closes(env, org, clock):
    env.settings["petition"] = {"late_request_days": 10}  # a deployment's own grace
    case_id = replied_on(env, org, clock, "2026-09-01")
    act(env, org, case_id, "evaluate", "city_cw", {**PETITION_EVALUATED, "followup_on": "2026-09-01"})
    clock.set(at("2026-10-18", 23))  # 10-08 + 10 days: the window task is open until 10-18 24:00
    assert run_due_timers(env) == 0
    act(env, org, case_id, "review_request", "city_cw", {"first_review_request": "不服"})
    act(env, org, case_id, "accept_late_first", "city_lead",
        {"late_first_decision": "不予受理", "late_first_reason": "无正当理由逾期"})
    assert instance(env, case_id).status == InstanceStatus.completed
    assert all_tasks(env, case_id, "first_review") == []


# ----------------------------------------------------------------------------- 5. the due instant

@pytest.mark.parametrize("decided_at, late", [(at("2026-10-15", 23) + timedelta(minutes=59, seconds=59), False),
                                              (at("2026-10-16", 0), True)])
def test_a_decision_at_midnight_after_day_15_is_late_everywhere(env, org, clock, decided_at, late):
    clock.set(at("2026-09-30"))
    case_id = register(env, org)
    [intake] = open_tasks(env, case_id, "intake")
    assert intake.due_at == at("2026-10-16", 0)
    clock.set(decided_at)
    badge = due_info(intake.due_at, clock.now(), 3)
    assert badge is not None and (badge.state == "overdue") is late
    overdue_list = inbox(env, org.actor("city_cw").id, TaskFilter(overdue_at=clock.now())).items
    assert (intake.id in {t.id for t in overdue_list}) is late
    assert run_due_timers(env) == (1 if late else 0)  # the timer agrees
    act(env, org, case_id, "intake", "city_cw", {"intake_outcome": "受理"})
    assert case_data(env, case_id)["intake_overdue"] is late
    [clock_row] = [k for k in case_file(env, org.actor("city_cw").id, case_id).clocks
                   if k.step_id == "intake"]
    assert clock_row.state == ("missed" if late else "met")
    with env.db.read() as s:
        assert compute(s, as_of=at("2026-10-20")).timely_intake == Rate(0 if late else 1, 1)


# ----------------------------------------------------------------------------- 4. neutral lapses

def test_unused_windows_are_shown_neutrally_not_as_late(env, org, clock):
    case_id = replied_on(env, org, clock, "2026-09-01")
    clock.set(at("2026-10-09", 0))  # the rolled window ends; nobody asked, nobody evaluated
    run_due_timers(env)  # the window task stays open for late requests (15 days)
    assert instance(env, case_id).status == InstanceStatus.running
    assert len(open_tasks(env, case_id, "review_request")) == 1
    clocks = {k.step_id: k for k in case_file(env, org.actor("city_cw").id, case_id).clocks}
    assert (clocks["review_request"].state, clocks["review_request"].lapse_label) == ("lapsed", "期满未申请")
    clock.set(at("2026-10-24", 0))  # 10-08 + 15 days: the grace ends, the case closes (办结)
    assert run_due_timers(env) == 1
    assert instance(env, case_id).status == InstanceStatus.completed
    clocks = {k.step_id: k for k in case_file(env, org.actor("city_cw").id, case_id).clocks}
    assert (clocks["review_request"].state, clocks["review_request"].lapse_label) == ("lapsed", "期满未申请")
    assert (clocks["evaluate"].state, clocks["evaluate"].lapse_label) == ("lapsed", "未评价")
    assert clocks["handle"].state == "met"


def test_lapsed_objection_window_is_neutral_and_a_missed_intake_stays_red(env, org, clock):
    clock.set(at("2026-09-28"))
    case_id = register(env, org)
    clock.set(at("2026-10-14"))  # day 16: intake decided late
    act(env, org, case_id, "intake", "city_cw", {**ASSIGN_D1, "handling_unit_id": org.units["d1"]})
    clock.set(at("2026-10-22", 0))  # 5 working days from 10-14: 10-15, 16, 19, 20, 21
    assert run_due_timers(env) >= 1
    clocks = {k.step_id: k for k in case_file(env, org.actor("city_cw").id, case_id).clocks}
    assert (clocks["receive_assignment"].state, clocks["receive_assignment"].lapse_label) == \
        ("lapsed", "期满未提出异议")
    assert (clocks["intake"].state, clocks["intake"].lapse_label) == ("missed", None)


# ----------------------------------------------------------------------------- 6. steps the law requires

def test_assigning_organ_sets_the_handling_deadline_of_a_assigned_matter(env, org, clock):
    clock.set(at("2026-09-01"))
    case_id = register(env, org)
    [intake] = open_tasks(env, case_id, "intake")
    for due, message in (("2026-09-01", "指定办理期限应晚于交办日期"), ("2026-11-01", "指定办理期限不得超过60日")):
        with pytest.raises(FormInvalid) as refused:
            complete_task(env, intake.id, org.actor("city_cw"),
                          {**ASSIGN_D1, "handling_unit_id": org.units["d1"], "assigned_due_on": due})
        assert refused.value.errors == {"assigned_due_on": message}
    act(env, org, case_id, "intake", "city_cw",
        {**ASSIGN_D1, "handling_unit_id": org.units["d1"], "assigned_due_on": "2026-10-20"})
    act(env, org, case_id, "receive_assignment", "d1_cw",
        {"assignment_decision": "签收", "assignment_received_on": "2026-09-01"})
    act(env, org, case_id, "assignment_notice", "d1_cw",
        {"assignment_notice_on": "2026-09-01", "assignment_notice_method": "邮寄送达"})
    [handle] = open_tasks(env, case_id, "handle")
    assert handle.due_at == at("2026-10-21", 0)  # the 指定办理期限, not 60 days (10-31)
    env.specs = SpecCache()
    clock.set(at("2026-09-02"))
    act(env, org, case_id, "handle", "d1_cw",
        {"handling_action": "申请延期", "extension_days": 10, "extension_reason": "需向原部队调取档案"})
    [approval] = open_tasks(env, case_id, "approve_extension")
    with pytest.raises(FormInvalid) as future:
        complete_task(env, approval.id, org.actor("d1_lead"),
                      {"extension_decision": "同意", "extension_notice_on": "2026-09-03"})
    assert future.value.errors == {"extension_notice_on": "日期不能晚于今天"}
    act(env, org, case_id, "approve_extension", "d1_lead",
        {"extension_decision": "同意", "extension_notice_method": "书面告知"})
    data = case_data(env, case_id)
    assert data["extension_notices"] == [{"days": 10, "reason": "需向原部队调取档案", "notice_on": "2026-09-02",
                                          "method": "书面告知", "new_due_on": "2026-10-30"}]
    assert open_tasks(env, case_id, "handle")[0].due_at == at("2026-10-31", 0)


def test_short_assigned_deadline_is_kept(env, org, clock):
    clock.set(at("2026-09-01"))
    case_id = register(env, org)
    act(env, org, case_id, "intake", "city_cw",
        {**ASSIGN_D1, "handling_unit_id": org.units["d1"], "assigned_due_on": "2026-09-20"})
    assert case_data(env, case_id)["handling_due_on"] == "2026-09-20"


@pytest.mark.parametrize("purpose", ["建议", "检举"])
def test_suggestions_and_reports_have_no_60_day_clock_and_no_reviews(env, org, clock, purpose):
    clock.set(at("2026-09-01"))
    case_id = register(env, org, purpose=purpose)
    act(env, org, case_id, "intake", "city_cw", {"intake_outcome": "受理"})
    assert open_tasks(env, case_id, "handle") == []
    [matter] = open_tasks(env, case_id, "handle_matter")
    assert (matter.org_unit_id, matter.due_at) == (org.units["city_xf"], None)
    assert "handling_due_at" not in case_data(env, case_id)
    clock.set(at("2026-12-31"))
    assert run_due_timers(env) == 0  # no 60-day timer, no 督办
    act(env, org, case_id, "handle_matter", "city_cw", {"matter_result": "已研究并书面反馈"})
    assert instance(env, case_id).status == InstanceStatus.completed
    assert all_tasks(env, case_id, "review_request") == []
    with env.db.read() as s:
        assert compute(s, as_of=at("2027-01-10")).on_time_handling == Rate(0, 0)


def test_complaints_keep_the_60_day_clock(env, org, clock):
    clock.set(at("2026-09-01"))
    case_id = register(env, org, purpose="投诉")
    act(env, org, case_id, "intake", "city_cw", {"intake_outcome": "受理"})
    [handle] = open_tasks(env, case_id, "handle")
    assert handle.due_at == at("2026-11-01", 0)  # 60 days from 受理, not rolled
    act(env, org, case_id, "handle", "city_cw", PETITION_HANDLED)
    assert open_tasks(env, case_id, "review")
    assert inbox_ids(env, org, "city_rev")
