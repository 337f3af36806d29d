"""Intake outcomes of the petition process (《信访工作条例》Art.21–23): 转送 closes the case with its
notice, every outcome records a written notice with its date, a district may object to a 交办
within 5 working days (the option lapses by timer), 越级 and 终结 refusals checked against the
petitioner's other cases, and repeat petitions linked to the case they repeat."""
from __future__ import annotations

from datetime import timedelta

import pytest

from engine.env import Env
from engine.errors import FormInvalid
from engine.models import InstanceStatus, ProcessInstance, Role, TaskStatus
from engine.runtime import case_data, case_history, complete_task, start_case
from engine.worker import run_due_timers
from tests.factories import (Org, act, all_tasks, assign_petition, inbox_ids, open_tasks,
                             petition_replied, petition_start_data, petition_to_final, setup_petition,
                             sign_assignment)
from tests.factories import beijing as at
from tests.factories import register_petition as register

SECOND = timedelta(seconds=1)
ESCALATION = "同一事项正在下级机关办理期限内（越级信访）"
TERMINATED = "已经复核终结，以同一事实和理由再次提出"


@pytest.fixture
def org(env: Env) -> Org:
    return setup_petition(env)


def status(env: Env, case_id: int) -> InstanceStatus:
    with env.db.read() as s:
        found = s.get(ProcessInstance, case_id)
        assert found is not None
        return found.status


def completed(env: Env, case_id: int, step_id: str) -> dict:
    """The before/after data of the last completion of a step, from the case history."""
    return [e for e in case_history(env, case_id) if e.action == "complete" and e.step_id == step_id][-1].data


# ----------------------------------------------------------------------------- 转送 and notices

def test_section_forwards_a_matter_outside_the_system_and_the_case_closes_with_its_notice(env, org, clock):
    case_id = register(env, org)  # 2026-03-02
    [intake] = open_tasks(env, case_id, "intake")
    with pytest.raises(FormInvalid) as no_organ:
        complete_task(env, intake.id, org.actor("city_cw"), {"intake_outcome": "转送"})
    assert no_organ.value.errors == {"transfer_organ": "请填写转送机关"}

    clock.set(at("2026-03-04", 10))
    done = act(env, org, case_id, "intake", "city_cw",
               {"intake_outcome": "转送", "transfer_organ": "市人力资源和社会保障局",
                "intake_notice_on": "2026-03-03", "intake_notice_no": "市退信转〔2026〕3号"},
               "属人社部门职责，转送处理", refused=("t1_cw", "d1_cw"))
    assert done.status == InstanceStatus.completed and done.new_task_ids == []
    assert all_tasks(env, case_id, "handle") == [] and all_tasks(env, case_id, "approve_refusal") == []
    data = case_data(env, case_id)
    assert (data["transfer_organ"], data["intake_notice_kind"], data["intake_notice_on"]) == \
        ("市人力资源和社会保障局", "转送告知书", "2026-03-03")
    recorded = completed(env, case_id, "intake")
    assert recorded["intake_notice_kind"] == [None, "转送告知书"]
    assert recorded["intake_notice_on"] == [None, "2026-03-03"]
    assert recorded["intake_notice_no"] == [None, "市退信转〔2026〕3号"]


def test_every_intake_outcome_records_its_notice_and_date(env, org, clock):
    case_id = register(env, org)
    [intake] = open_tasks(env, case_id, "intake")
    cw = org.actor("city_cw")
    with pytest.raises(FormInvalid) as future:
        complete_task(env, intake.id, cw, {"intake_outcome": "受理", "intake_notice_on": "2026-03-03"})
    assert future.value.errors == {"intake_notice_on": "日期不能晚于今天"}
    with pytest.raises(FormInvalid) as early:
        complete_task(env, intake.id, cw, {"intake_outcome": "受理", "intake_notice_on": "2026-03-01"})
    assert early.value.errors == {"intake_notice_on": "告知日期不能早于收到信访事项的日期"}

    clock.set(at("2026-03-03"))
    act(env, org, case_id, "intake", "city_cw", {"intake_outcome": "受理"})  # no date: today
    assert completed(env, case_id, "intake")["intake_notice_on"] == [None, "2026-03-03"]
    assert case_data(env, case_id)["intake_notice_kind"] == "受理告知书"

    other = register(env, org)
    assign_petition(env, org, other)
    assert case_data(env, other)["intake_notice_kind"] == "交办告知书"

    refused = register(env, org, category="住房")
    act(env, org, refused, "intake", "city_cw",
        {"intake_outcome": "不予受理", "refusal_reason": "其他依法不予受理的情形", "refusal_detail": "不属于信访事项"})
    assert "intake_notice_kind" not in case_data(env, refused)  # its notice follows the approval
    act(env, org, refused, "approve_refusal", "city_lead", {"refusal_decision": "同意"})
    act(env, org, refused, "refusal_notice", "city_cw",
        {"notice_served_on": "2026-03-03", "notice_service_method": "直接送达"})
    assert status(env, refused) == InstanceStatus.completed
    notice = completed(env, refused, "refusal_notice")
    assert notice["refusal_notice_kind"] == [None, "不予受理告知书"]
    assert notice["notice_served_on"] == [None, "2026-03-03"]


# ----------------------------------------------------------------------------- objection (Art.23)

def test_district_objects_to_an_assignment_and_the_section_decides_again(env, org, clock):
    case_id = register(env, org)
    act(env, org, case_id, "intake", "city_cw", {"intake_outcome": "交办", "handling_unit_id": org.units["d1"]})
    [receive] = open_tasks(env, case_id, "receive_assignment")
    # assigned Monday 2026-03-02: the 5th working day after is Monday 2026-03-09
    assert (receive.org_unit_id, receive.role) == (org.units["d1"], Role.caseworker)
    assert (receive.due_at, receive.due_provisional) == (at("2026-03-10", 0), False)
    assert receive.id not in inbox_ids(env, org, "d2_cw")
    with pytest.raises(FormInvalid) as silent:
        complete_task(env, receive.id, org.actor("d1_cw"),
                      {"assignment_decision": "提出异议", "assignment_received_on": "2026-03-02"})
    assert silent.value.errors == {"objection_reason": "请填写异议理由"}

    clock.set(at("2026-03-09", 17))  # the last day of the window
    act(env, org, case_id, "receive_assignment", "d1_cw",
        {"assignment_decision": "提出异议", "objection_reason": "信访人原安置单位在江北区",
         "assignment_received_on": "2026-03-02"},
        "不属本区职责", refused=("city_cw", "d2_cw"))
    assert all_tasks(env, case_id, "handle") == []
    [again] = open_tasks(env, case_id, "intake")
    assert again.org_unit_id == org.units["city_xf"] and again.due_at == at("2026-03-18", 0)
    data = case_data(env, case_id)
    assert (data["assignment_objected"], data["objecting_unit_id"]) == (True, org.units["d1"])

    act(env, org, case_id, "intake", "city_cw", {"intake_outcome": "交办", "handling_unit_id": org.units["d2"]},
        "改交江北区办理")
    sign_assignment(env, org, case_id, "d2")
    [handle] = open_tasks(env, case_id, "handle")
    assert handle.org_unit_id == org.units["d2"] and handle.due_at == at("2026-05-09", 0)
    assert case_data(env, case_id)["assignment_objected"] is False


def test_objection_option_lapses_after_5_working_days_across_the_may_holiday(env, org, clock):
    clock.set(at("2026-04-30", 10))  # Thursday before the 1–5 May holiday; Saturday 9 May is worked
    case_id = register(env, org)
    act(env, org, case_id, "intake", "city_cw", {"intake_outcome": "交办", "handling_unit_id": org.units["d1"]})
    due = at("2026-05-12", 0)  # working days 6, 7, 8, 9 (调休), 11 May
    [receive] = open_tasks(env, case_id, "receive_assignment")
    assert (receive.due_at, receive.due_provisional) == (due, False)

    clock.set(due - SECOND)
    assert run_due_timers(env) == 0
    assert all_tasks(env, case_id, "handle") == []
    clock.set(due)
    assert run_due_timers(env) == 1
    assert [t.status for t in all_tasks(env, case_id, "receive_assignment")] == [TaskStatus.cancelled]
    [notice] = open_tasks(env, case_id, "assignment_notice")  # deemed signed for: notice, 办理
    assert notice.due_at == at("2026-05-16", 0)  # 15 days from the system's delivery on 04-30
    act(env, org, case_id, "assignment_notice", "d1_cw",
        {"assignment_notice_on": "2026-05-12", "assignment_notice_method": "邮寄送达"})
    [handle] = open_tasks(env, case_id, "handle")
    assert handle.org_unit_id == org.units["d1"] and handle.id in inbox_ids(env, org, "d1_cw")
    assert handle.due_at == at("2026-06-30", 0)  # still 60 days from the 交办 decision
    [fired] = [e for e in case_history(env, case_id) if e.action == "timer"]
    assert (fired.step_id, fired.data["due"]) == ("objection_timer", due.isoformat())
    assert run_due_timers(env) == 0


def test_objection_window_into_a_year_without_official_holidays_is_provisional(env, org, clock):
    clock.set(at("2026-12-28", 10))  # Monday; 2027 has no official schedule in the calendar yet
    case_id = register(env, org)
    act(env, org, case_id, "intake", "city_cw", {"intake_outcome": "交办", "handling_unit_id": org.units["d1"]})
    [receive] = open_tasks(env, case_id, "receive_assignment")
    # 29, 30, 31 Dec, (1 Jan New Year's Day), 4, 5 Jan
    assert (receive.due_at, receive.due_provisional) == (at("2027-01-06", 0), True)
    data = case_data(env, case_id)
    assert (data["objection_due_on"], data["objection_due_at_provisional"]) == ("2027-01-05", True)


# ----------------------------------------------------------------------------- 越级 and 终结

def test_same_matter_still_within_the_districts_deadline_is_refused_as_escalation(env, org, clock):
    first = register(env, org)  # 王建国, 安置
    assign_petition(env, org, first)  # handled by 海安区 until 2026-05-01

    clock.set(at("2026-03-20"))
    skipping = start_case(env, "petition", org.actor("city_cw"), org.units["city_xf"],
                          petition_start_data(channel="来访")).instance_id
    [intake] = open_tasks(env, skipping, "intake")
    assert intake.step_name == "受理审查：疑似越级（XF2026-00001在下级办理期限内）"
    assert case_data(env, skipping)["same_matter_open_case"] == "XF2026-00001"
    for outcome in ({"intake_outcome": "受理"},
                    {"intake_outcome": "交办", "handling_unit_id": org.units["d1"]}):
        with pytest.raises(FormInvalid) as refused:
            complete_task(env, intake.id, org.actor("city_cw"), outcome)
        assert refused.value.errors == {"intake_outcome": "同一事项（XF2026-00001）正在下级机关办理期限内，"
                                                         "属越级信访，请选择不予受理并告知信访人"}
    act(env, org, skipping, "intake", "city_cw",
        {"intake_outcome": "不予受理", "refusal_reason": ESCALATION,
         "refusal_detail": "该事项正由海安区退役军人事务局办理，请等待其答复。"})
    act(env, org, skipping, "approve_refusal", "city_lead", {"refusal_decision": "同意"})
    act(env, org, skipping, "refusal_notice", "city_cw",
        {"notice_served_on": "2026-03-20", "notice_service_method": "直接送达"})
    assert status(env, skipping) == InstanceStatus.completed
    assert completed(env, skipping, "intake")["escalation_of"] == [None, "XF2026-00001"]

    other_matter = register(env, org, category="医疗")  # same person, another matter: not 越级
    [intake] = open_tasks(env, other_matter, "intake")
    assert intake.step_name == "受理审查"
    with pytest.raises(FormInvalid) as no_ground:
        complete_task(env, intake.id, org.actor("city_cw"),
                      {"intake_outcome": "不予受理", "refusal_reason": ESCALATION, "refusal_detail": "越级"})
    assert no_ground.value.errors == {"refusal_reason": "未发现同一事项在下级机关办理期限内，不能以越级为由不予受理"}
    act(env, org, other_matter, "intake", "city_cw", {"intake_outcome": "受理"})


def test_same_matter_is_no_escalation_once_the_district_has_answered(env, org, clock):
    first = register(env, org)
    assign_petition(env, org, first)
    clock.set(at("2026-03-10"))
    petition_replied(env, org, first)  # the district answered: a new petition is a 复查 matter
    later = register(env, org)
    assert case_data(env, later)["same_matter_open_case"] is None
    act(env, org, later, "intake", "city_cw", {"intake_outcome": "受理"})


def test_same_matter_past_the_districts_deadline_is_no_escalation(env, org, clock):
    first = register(env, org)
    assign_petition(env, org, first)  # handling due by the end of 2026-05-01
    clock.set(at("2026-05-02", 0))
    late = register(env, org)
    act(env, org, late, "intake", "city_cw", {"intake_outcome": "受理"})
    assert case_data(env, late)["same_matter_open_case"] is None


def test_matter_terminated_after_second_review_is_not_accepted_again(env, org, clock):
    first = petition_to_final(env, org, clock)
    assert case_data(env, first)["review_final"] is True

    again = register(env, org)  # same petitioner, same category
    [intake] = open_tasks(env, again, "intake")
    assert intake.step_name == "受理审查：同一事项已复核终结（XF2026-00001）"
    with pytest.raises(FormInvalid) as refused:
        complete_task(env, intake.id, org.actor("city_cw"), {"intake_outcome": "受理"})
    assert refused.value.errors == {"intake_outcome": "同一事项已于XF2026-00001复核终结，"
                                                     "以同一事实和理由提出的不再受理，请选择不予受理"}
    act(env, org, again, "intake", "city_cw",
        {"intake_outcome": "不予受理", "refusal_reason": TERMINATED, "refusal_detail": "已复核终结"})
    assert open_tasks(env, again, "approve_refusal")
    assert completed(env, again, "intake")["terminated_matter_of"] == [None, "XF2026-00001"]

    fresh = register(env, org, category="医疗")
    [intake] = open_tasks(env, fresh, "intake")
    with pytest.raises(FormInvalid) as no_ground:
        complete_task(env, intake.id, org.actor("city_cw"),
                      {"intake_outcome": "不予受理", "refusal_reason": TERMINATED, "refusal_detail": "终结"})
    assert no_ground.value.errors == {"refusal_reason": "未发现同一事项已复核终结，不能以此为由不予受理"}


# ----------------------------------------------------------------------------- repeat petitions

def test_repeat_petition_names_an_earlier_case_of_the_same_petitioner(env, org, clock):
    first = start_case(env, "petition", org.actor("t1_cw"), org.units["t1"], petition_start_data())
    cw, t1 = org.actor("t1_cw"), org.units["t1"]
    with pytest.raises(FormInvalid) as unknown:
        start_case(env, "petition", cw, t1, petition_start_data(repeat_of="XF2026-00099"))
    assert unknown.value.errors == {"repeat_of": "原件号不存在，请核对"}
    with pytest.raises(FormInvalid) as someone_else:
        start_case(env, "petition", cw, t1, petition_start_data(
            petitioner_name="李卫东", id_number="11010519491231002X", repeat_of=first.case_no))
    assert someone_else.value.errors == {"repeat_of": "原件号的信访人身份证号与本次登记不一致"}

    repeat = start_case(env, "petition", cw, t1, petition_start_data(repeat_of=first.case_no))
    assert repeat.case_no == "XF2026-00002"  # the refused registrations used no number
    data = case_data(env, repeat.instance_id)
    assert (data["repeat_of"], data["repeat_of_case_id"]) == (first.case_no, first.instance_id)
    [start] = [e for e in case_history(env, repeat.instance_id) if e.action == "start"]
    assert start.data["repeat_of"] == [None, first.case_no]
