"""退役士兵档案接收、复核复审、移交: a soldier file from registration to archive, by the right
people at the right units, through every branch (four eyes, queries, category, report-in)."""
from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from engine.calendar import BEIJING
from engine.errors import FormInvalid, InvalidState, PermissionDenied
from engine.history import verify_chain
from engine.models import InstanceStatus, OrgUnit, ProcessInstance, TaskStatus
from engine.runtime import (case_data, case_history, complete_task, deliver_message, start_case,
                            waiting_messages)
from engine.worker import run_due_timers
from tests.factories import (Org, act, all_tasks, beijing, confirm_category, file_to_report_in,
                             hand_over_file, inbox_ids, open_tasks, register_soldier_file,
                             review_file, setup_settlement, soldier_file, unseal_file)

KEY = "settlement_handover"
# Files are discharged 2026-02-20 (soldier_file): report-in due by 2026-03-22, grace to 2026-04-21.
# discharged 2026-02-20: the 30th day, Sunday 03-22, rolls to Monday 03-23 (the veteran's window,
# 民法典 Art.203); the 30 days of grace count from that last day.
REPORT_DEADLINE_END = beijing("2026-03-24", 0)
FORFEIT_DEADLINE_END = beijing("2026-04-23", 0)
SECOND = timedelta(seconds=1)
SIGNED = {"seal_intact": True, "page_count": 48, "signed": True}


@pytest.fixture
def org(env: Any) -> Org:
    return setup_settlement(env, KEY)


def status(env: Any, case: int) -> InstanceStatus:
    with env.db.read() as s:
        instance = s.get(ProcessInstance, case)
        assert instance is not None
        return instance.status


# ----------------------------------------------------------------------------- main path

def test_self_employed_file_goes_from_registration_to_archive_by_the_right_people(env, org):
    started = start_case(env, KEY, org.actor("ya_cw"), org.units["city_ya"], soldier_file())
    assert started.case_no.startswith("YA2026-")
    case = started.instance_id
    unsealing = open_tasks(env, case, "joint_unsealing")
    assert sorted(t.org_unit_id for t in unsealing) == sorted(
        org.units[u] for u in ("city_jj", "city_rs", "city_ya"))
    unseal_file(env, org, case)
    review_file(env, org, case, "first_review", "ya_cw")
    review_file(env, org, case, "second_review", "ya_rev1")
    confirm_category(env, org, case)
    hand_over_file(env, org, case)
    [report] = open_tasks(env, case, "report_in")
    assert report.org_unit_id == org.units["d1"] and report.due_at == REPORT_DEADLINE_END
    act(env, org, case, "report_in", "d1_cw", {"reported_on": "2026-03-02"}, refused=("d2_cw",))
    act(env, org, case, "archive", "d1_cw", {"archive_no": "DA-001", "archived_on": "2026-03-02"})
    assert status(env, case) == InstanceStatus.completed
    data = case_data(env, case)
    assert sorted(s["label"] for s in data["seals"]) == ["人社", "安置", "纪检"]
    assert data["report_outcome"] == "按期报到" and data["reported_late"] is False
    assert data["receiving_unit_code"] == "d1" and "gave_up_benefits" not in data
    with env.db.read() as s:
        assert verify_chain(s, case).ok


def test_joint_unsealing_waits_for_all_three_parties_each_at_its_own_unit(env, org):
    case = register_soldier_file(env, org)
    [jj_task] = [t for t in open_tasks(env, case, "joint_unsealing") if t.org_unit_id == org.units["city_jj"]]
    assert jj_task.id not in inbox_ids(env, org, "rs_cw")
    with pytest.raises(PermissionDenied):
        complete_task(env, jj_task.id, org.actor("rs_cw"), SIGNED)
    with pytest.raises(FormInvalid) as refused:
        complete_task(env, jj_task.id, org.actor("jj_cw"), {**SIGNED, "signed": False})
    assert refused.value.errors == {"signed": "须签字确认"}
    unseal_file(env, org, case, ("jj_cw", "rs_cw"))
    assert open_tasks(env, case, "first_review") == []
    assert len(open_tasks(env, case, "joint_unsealing")) == 1
    unseal_file(env, org, case, ("ya_cw",))
    assert len(open_tasks(env, case, "first_review")) == 1


def test_second_review_by_the_first_reviewer_is_refused(env, org):
    case = register_soldier_file(env, org)
    unseal_file(env, org, case)
    review_file(env, org, case, "first_review", "ya_chief")  # the chief holds both roles
    [task] = open_tasks(env, case, "second_review")
    assert task.id in inbox_ids(env, org, "ya_chief")
    with pytest.raises(PermissionDenied) as refused:
        complete_task(env, task.id, org.actor("ya_chief"), {"second_result": "通过"})
    assert "初审" in refused.value.user_message
    complete_task(env, task.id, org.actor("ya_rev1"), {"second_result": "通过"})
    assert len(open_tasks(env, case, "classify_confirm")) == 1


def test_start_and_tasks_refuse_users_without_the_role_at_the_unit(env, org):
    with pytest.raises(PermissionDenied):  # a district is not the settlement section
        start_case(env, KEY, org.actor("d1_cw"), org.units["d1"], soldier_file())
    with pytest.raises(PermissionDenied):  # a caseworker of another city section
        start_case(env, KEY, org.actor("city_cw"), org.units["city_xf"], soldier_file())
    with pytest.raises(PermissionDenied):  # the right section, but a reviewer
        start_case(env, KEY, org.actor("ya_rev1"), org.units["city_ya"], soldier_file())
    case = register_soldier_file(env, org)
    unseal_file(env, org, case)
    [task] = open_tasks(env, case, "first_review")
    for username in ("ya_rev1", "city_cw", "d1_cw", "jj_cw", "city_lead"):
        with pytest.raises(PermissionDenied):
            complete_task(env, task.id, org.actor(username), {"first_result": "通过"})


# ----------------------------------------------------------------------------- the query loop

def raise_query(env: Any, org: Org, case: int, step: str = "first_review") -> None:
    if step == "second_review":
        review_file(env, org, case, "first_review", "ya_cw")
    reviewer = "ya_cw" if step == "first_review" else "ya_rev1"
    review_file(env, org, case, step, reviewer, "有疑点", "服役年限与入伍批准书不一致")
    [letter] = open_tasks(env, case, "send_query")
    assert letter.org_unit_id == org.units["city_ya"]
    act(env, org, case, "send_query", "ya_cw", {"letter_no": "YA函〔2026〕3号", "sent_on": "2026-03-02",
                                                "query_points": "请核实服役起止时间"}, refused=("ya_rev1", "d1_cw"))


def test_query_from_either_review_is_answered_by_the_army_reply_message(env, org):
    for step in ("first_review", "second_review"):
        case = register_soldier_file(env, org, serial=1 if step == "first_review" else 2)
        unseal_file(env, org, case)
        raise_query(env, org, case, step)
        assert waiting_messages(env, case) == ["army_reply"]
        assert open_tasks(env, case, "first_review") == []
        deliver_message(env, case, "army_reply", {"reply_on": "2026-03-05", "content": "服役5年，属实"},
                        org.actor("ya_cw2"))
        [again] = open_tasks(env, case, "first_review")
        data = case_data(env, case)
        assert data["army_reply"]["content"] == "服役5年，属实" and data["query_from"] == step
        review_file(env, org, case, "first_review", "ya_cw")
        review_file(env, org, case, "second_review", "ya_rev1")
        queries = case_data(env, case)["queries"]
        assert [(q["round"], q["raised_by"], q["answer"]["content"]) for q in queries] == [
            (1, step, "服役5年，属实")]
    with pytest.raises(InvalidState):  # nobody waits for a reply any more
        deliver_message(env, case, "army_reply", {"reply_on": "2026-03-06", "content": "重复答复"},
                        org.actor("ya_cw"))


def test_only_a_section_caseworker_registers_the_army_reply_and_its_form_is_checked(env, org):
    case = register_soldier_file(env, org)
    unseal_file(env, org, case)
    raise_query(env, org, case)
    reply = {"reply_on": "2026-03-05", "reply_letter_no": "某部函〔2026〕7号", "content": "属实"}
    for username in ("ya_rev1", "city_lead", "d1_cw", "jj_cw"):  # wrong role, or wrong unit
        with pytest.raises(PermissionDenied):
            deliver_message(env, case, "army_reply", reply, org.actor(username))
    with pytest.raises(PermissionDenied):  # nobody at all: the reply is registered by a person
        deliver_message(env, case, "army_reply", reply)
    with pytest.raises(FormInvalid) as refused:
        deliver_message(env, case, "army_reply", {"content": ""}, org.actor("ya_cw"))
    assert refused.value.errors == {"reply_on": "请填写答复日期", "content": "此项为必填项"}
    assert waiting_messages(env, case) == ["army_reply"]
    deliver_message(env, case, "army_reply", reply, org.actor("ya_cw2"))
    assert len(open_tasks(env, case, "first_review")) == 1
    [event] = [e for e in case_history(env, case) if e.action == "message"]
    assert (event.actor_name, event.step_name) == ("移交安置科经办二", "登记部队答复")


def test_unanswered_query_is_chased_every_15_days_then_escalated_until_the_reply(env, org, clock):
    case = register_soldier_file(env, org)
    unseal_file(env, org, case)
    raise_query(env, org, case)
    first_due = beijing("2026-03-18", 0)  # sent 2026-03-02 + 15 days, end of day
    clock.set(first_due - SECOND)
    assert run_due_timers(env) == 0 and open_tasks(env, case, "chase_army") == []
    clock.set(first_due + SECOND)
    assert run_due_timers(env) == 1
    act(env, org, case, "chase_army", "ya_cw", {"reminded_on": "2026-03-18", "method": "电话"},
        refused=("city_lead",))
    assert waiting_messages(env, case) == ["army_reply"]
    clock.set(beijing("2026-04-03", 0) + SECOND)  # 2026-03-18 + 15 days
    assert run_due_timers(env) == 1
    act(env, org, case, "chase_army", "ya_cw", {"reminded_on": "2026-04-03", "method": "函件"})
    clock.set(beijing("2026-04-19", 0) + SECOND)
    assert run_due_timers(env) == 1
    assert open_tasks(env, case, "chase_army") == []
    [escalation] = open_tasks(env, case, "escalate_query")
    assert escalation.org_unit_id == org.units["city"]
    act(env, org, case, "escalate_query", "city_lead",
        {"escalated_on": "2026-04-19", "measure": "函请部队上级机关协调答复"}, refused=("ya_cw",))
    deliver_message(env, case, "army_reply", {"reply_on": "2026-04-25", "content": "已核实"}, org.actor("ya_cw"))
    assert len(open_tasks(env, case, "first_review")) == 1
    data = case_data(env, case)
    assert [r["by"] for r in data["reminder_log"]] == ["经办人催告", "经办人催告", "领导督办"]


# ----------------------------------------------------------------------------- category, handover

def test_leader_returns_the_category_then_confirms_a_changed_one(env, org):
    case = register_soldier_file(env, org)
    unseal_file(env, org, case)
    review_file(env, org, case, "first_review", "ya_cw")
    review_file(env, org, case, "second_review", "ya_rev1")
    act(env, org, case, "classify_confirm", "city_lead",
        {"confirmed_category": "自主就业", "classify_decision": "退回复审", "classify_note": "核实服役年限"},
        refused=("ya_rev1", "d1_lead"))
    assert len(all_tasks(env, case, "second_review")) == 2
    review_file(env, org, case, "second_review", "ya_rev1")
    confirm_category(env, org, case, "安排工作")
    hand_over_file(env, org, case)
    assert open_tasks(env, case, "report_in") == []
    [report] = open_tasks(env, case, "report_in_other")
    assert report.org_unit_id == org.units["d1"] and report.due_at is None
    act(env, org, case, "report_in_other", "d1_cw", {"reported_on": "2026-03-02"})
    data = case_data(env, case)
    assert data["category_changed"] is True and data["report_outcome"] == "待纳入年度安排工作计划"


def test_handover_must_name_a_district_and_only_that_district_signs(env, org):
    case = register_soldier_file(env, org)
    unseal_file(env, org, case)
    review_file(env, org, case, "first_review", "ya_cw")
    review_file(env, org, case, "second_review", "ya_rev1")
    confirm_category(env, org, case)
    [task] = open_tasks(env, case, "handover")
    for wrong in ("city", "city_xf"):
        with pytest.raises(FormInvalid) as refused:
            complete_task(env, task.id, org.actor("ya_cw"), {"receiving_unit_id": org.units[wrong],
                                                             "handover_on": "2026-03-02",
                                                             "transfer_list_no": "YJ-01"})
        assert "receiving_unit_id" in refused.value.errors
    with env.db.write() as s:  # a district bureau closed since: the engine refuses it too
        s.get(OrgUnit, org.units["d1"]).active = False
    with pytest.raises(FormInvalid) as refused:
        complete_task(env, task.id, org.actor("ya_cw"), {"receiving_unit_id": org.units["d1"],
                                                         "handover_on": "2026-03-02", "transfer_list_no": "YJ-01"})
    assert refused.value.errors == {"receiving_unit_id": "请选择本市所辖的区县退役军人事务局"}
    hand_over_file(env, org, case, "d2")
    assert [t.org_unit_id for t in open_tasks(env, case, "report_in")] == [org.units["d2"]]


# ----------------------------------------------------------------------------- report-in clocks

def test_report_clock_fires_just_after_the_30th_day_not_before(env, org, clock):
    case = file_to_report_in(env, org)
    clock.set(REPORT_DEADLINE_END - SECOND)
    assert run_due_timers(env) == 0
    assert len(open_tasks(env, case, "report_in")) == 1
    clock.set(REPORT_DEADLINE_END + SECOND)
    assert run_due_timers(env) == 1
    [report] = all_tasks(env, case, "report_in")
    assert report.status == TaskStatus.cancelled
    [late] = open_tasks(env, case, "late_report")
    assert late.org_unit_id == org.units["d1"] and late.due_at == FORFEIT_DEADLINE_END
    clock.set(beijing("2026-03-30"))
    assert run_due_timers(env) == 0
    act(env, org, case, "late_report", "d1_cw", {"reported_on": "2026-03-30", "good_reason": False},
        refused=("ya_cw",))
    act(env, org, case, "archive", "d1_cw", {"archive_no": "DA-002", "archived_on": "2026-03-30"})
    data = case_data(env, case)
    assert (data["reported_late"], data["days_late"], data["forfeit_candidate"]) == (True, 7, False)
    assert "gave_up_benefits" not in data and status(env, case) == InstanceStatus.completed


def test_not_reporting_within_30_more_days_is_treated_as_giving_up_benefits(env, org, clock):
    case = file_to_report_in(env, org)
    clock.set(REPORT_DEADLINE_END + SECOND)
    run_due_timers(env)
    clock.set(FORFEIT_DEADLINE_END - SECOND)
    assert run_due_timers(env) == 0 and open_tasks(env, case, "forfeit_confirm") == []
    clock.set(FORFEIT_DEADLINE_END + SECOND)
    assert run_due_timers(env) == 1
    assert open_tasks(env, case, "late_report") == []
    act(env, org, case, "forfeit_confirm", "d1_lead",
        {"forfeit_decision": "视为放弃安置待遇", "forfeit_reason": "逾期60日未报到，经电话、上门联系均无正当理由"},
        refused=("d1_cw", "city_lead"))
    act(env, org, case, "archive", "d1_cw", {"archive_no": "DA-003", "archived_on": "2026-04-22"})
    data = case_data(env, case)
    assert data["gave_up_benefits"] is True and data["legal_basis"] == "《退役军人安置条例》第五十一条"
    assert data["report_outcome"] == "视为放弃安置待遇"


def test_late_report_beyond_the_grace_without_good_reason_goes_to_the_leader(env, org, clock):
    case = file_to_report_in(env, org)
    clock.set(REPORT_DEADLINE_END + SECOND)
    run_due_timers(env)
    clock.set(beijing("2026-04-25"))  # the worker has not run since the grace ended
    with pytest.raises(FormInvalid) as undecided:
        act(env, org, case, "late_report", "d1_cw", {"reported_on": "2026-04-24"})
    assert undecided.value.errors == {"good_reason": "逾期超过30日，请填写是否有正当理由"}
    act(env, org, case, "late_report", "d1_cw", {"reported_on": "2026-04-24", "good_reason": False})
    act(env, org, case, "forfeit_confirm", "d1_lead",
        {"forfeit_decision": "有正当理由，保留安置待遇", "forfeit_reason": "住院治疗，有医院证明"})
    data = case_data(env, case)
    assert (data["days_late"], data["forfeit_candidate"], data["gave_up_benefits"]) == (32, True, False)


def test_report_dates_are_checked(env, org):
    case = file_to_report_in(env, org)
    [task] = open_tasks(env, case, "report_in")
    for bad, message in (("2026-03-03", "日期不能晚于今天"), ("2026-02-19", "报到日期不能早于批准退出现役日期")):
        with pytest.raises(FormInvalid) as refused:
            complete_task(env, task.id, org.actor("d1_cw"), {"reported_on": bad})
        assert refused.value.errors == {"reported_on": message}
    with pytest.raises(FormInvalid):  # discharge approval in the future
        register_soldier_file(env, org, serial=9, discharge_approved_on="2026-03-03")


def test_deadlines_are_stored_as_beijing_end_of_day(env, org):
    case = register_soldier_file(env, org)
    data = case_data(env, case)
    assert data["report_due_at"] == REPORT_DEADLINE_END.isoformat()
    assert data["forfeit_due_at"] == FORFEIT_DEADLINE_END.isoformat()
    assert REPORT_DEADLINE_END.tzinfo == BEIJING


def test_report_window_ending_in_national_day_rolls_to_the_first_working_day(env, org, clock):
    clock.set(beijing("2026-09-07"))
    case = register_soldier_file(env, org, serial=7, discharge_approved_on="2026-09-05")
    data = case_data(env, case)  # day 30 is 10-05, inside the 10-01..10-07 break
    assert (data["report_due_on"], data["report_due_at_provisional"]) == ("2026-10-08", False)
    assert data["report_due_at"] == beijing("2026-10-09", 0).isoformat()
    assert data["forfeit_due_on"] == "2026-11-07"


def test_report_window_in_a_year_without_official_schedule_is_provisional(env, org, clock):
    clock.set(beijing("2026-12-10"))
    case = register_soldier_file(env, org, serial=8, discharge_approved_on="2026-12-02")
    data = case_data(env, case)  # day 30 is Friday 2027-01-01 (New Year), then the weekend
    assert (data["report_due_on"], data["report_due_at_provisional"]) == ("2027-01-04", True)
    assert data["forfeit_due_at_provisional"] is True


def test_roll_forward_of_the_report_window_is_a_deployment_setting(env, org, clock):
    env.settings[KEY] = {"roll_forward_report": False}
    clock.set(beijing("2026-09-07"))
    case = register_soldier_file(env, org, serial=6, discharge_approved_on="2026-09-05")
    assert case_data(env, case)["report_due_on"] == "2026-10-05"
