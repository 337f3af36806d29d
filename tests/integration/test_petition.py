"""The petition process (涉军信访事项办理) end to end: routing, permissions, history, refusal,
form checks. Deadline timers are in test_petition_deadlines.py."""
from __future__ import annotations

from datetime import timedelta

import pytest

from engine.casefile import case_file
from engine.env import Env
from engine.errors import FormInvalid, PermissionDenied
from engine.history import verify_chain
from engine.models import InstanceStatus, Role
from engine.runtime import case_data, case_history, complete_task, start_case
from engine.worker import run_due_timers
from tests.factories import PETITION_HANDLED as HANDLE_DONE
from tests.factories import (Org, act, all_tasks, inbox_ids, open_tasks, petition_start_data,
                             setup_petition, sign_assignment)
from tests.factories import beijing as at
from tests.factories import case_row as instance
from tests.factories import register_petition as register

SERVED = {"served_on": "2026-05-20", "service_method": "直接送达", "reply_doc_no": "海退信〔2026〕12号"}
EVALUATED = {"followup_on": "2026-05-25", "followup_method": "电话回访", "evaluated": True,
             "intake_satisfaction": "满意", "handling_satisfaction": "基本满意"}


@pytest.fixture
def org(env: Env) -> Org:
    return setup_petition(env)


# ----------------------------------------------------------------------------- the user's day

def test_town_registers_city_assigns_district_handles_with_extension_and_one_return(env, org, clock):
    clock.set(at("2026-03-02"))
    started = start_case(env, "petition", org.actor("t1_cw"), org.units["t1"], petition_start_data())
    case_id = started.instance_id
    assert started.case_no == "XF2026-00001"
    case = instance(env, case_id)
    assert (case.title, case.subject_name, case.subject_id_no) == \
        ("王建国反映安置问题", "王建国", "320602196805120016")

    # 受理审查 at the city petition section, due 15 days after receipt (2026-03-17, end of day)
    [intake] = open_tasks(env, case_id, "intake")
    assert (intake.org_unit_id, intake.role) == (org.units["city_xf"], Role.caseworker)
    assert intake.due_at == at("2026-03-18", 0) and intake.due_provisional is False
    clock.set(at("2026-03-05"))
    act(env, org, case_id, "intake", "city_cw",
        {"intake_outcome": "交办", "handling_unit_id": org.units["d1"]}, "请海安区依政策办理",
        refused=("t1_cw", "d1_cw", "city_rev", "city_lead"))
    act(env, org, case_id, "receive_assignment", "d1_cw",
        {"assignment_decision": "签收", "assignment_received_on": "2026-03-05"}, "已签收",
        refused=("d2_cw", "city_cw"))
    # the district tells the petitioner in writing within 15 days of receipt (Art.23 ¶3)
    [notice] = open_tasks(env, case_id, "assignment_notice")
    assert (notice.org_unit_id, notice.due_at) == (org.units["d1"], at("2026-03-21", 0))
    act(env, org, case_id, "assignment_notice", "d1_cw",
        {"assignment_notice_on": "2026-03-05", "assignment_notice_method": "邮寄送达"})

    # 调查办理 at the district, due 60 days after the intake decision (2026-05-04)
    [handle] = open_tasks(env, case_id, "handle")
    assert (handle.org_unit_id, handle.role) == (org.units["d1"], Role.caseworker)
    assert handle.due_at == at("2026-05-05", 0)
    clock.set(at("2026-04-20"))
    act(env, org, case_id, "handle", "d1_cw",
        {"handling_action": "申请延期", "extension_days": 30, "extension_reason": "需向原部队调取档案"},
        "申请延期30日", refused=("d2_cw", "city_cw", "t1_cw"))

    [approval] = open_tasks(env, case_id, "approve_extension")
    assert (approval.org_unit_id, approval.role) == (org.units["d1"], Role.leader)
    act(env, org, case_id, "approve_extension", "d1_lead", {"extension_decision": "同意"}, "同意延期",
        refused=("d1_rev", "d1_cw", "city_lead"))

    # back in 办理 with the extended deadline (2026-05-04 + 30 = 2026-06-03)
    [handle] = open_tasks(env, case_id, "handle")
    assert handle.due_at == at("2026-06-04", 0)
    clock.set(at("2026-05-08"))
    act(env, org, case_id, "handle", "d1_cw", HANDLE_DONE, "调查完毕，提交审核",
        refused=("d2_cw", "city_cw"))

    act(env, org, case_id, "review", "d1_rev",
        {"review_decision": "退回", "review_opinion": "请补充约谈笔录"}, "请补充约谈笔录",
        refused=("d1_cw", "city_rev", "d1_lead"))
    act(env, org, case_id, "handle", "d1_cw", HANDLE_DONE, "已补充笔录", refused=("d2_cw",))
    act(env, org, case_id, "review", "d1_rev", {"review_decision": "通过"}, "审核通过",
        refused=("d1_cw", "city_rev"))

    [final] = open_tasks(env, case_id, "approve")
    assert (final.org_unit_id, final.role) == (org.units["d1"], Role.leader)
    act(env, org, case_id, "approve", "d1_lead", {"approval_decision": "同意"}, "同意",
        refused=("d1_rev", "city_lead", "d1_cw"))

    clock.set(at("2026-05-20", 15))
    act(env, org, case_id, "reply", "d1_cw", SERVED, "意见书已当面送达",
        refused=("d2_cw", "t1_cw", "city_cw"))
    clock.set(at("2026-05-25", 10))
    done = act(env, org, case_id, "evaluate", "d1_cw", EVALUATED, "电话回访，信访人基本满意",
               refused=("d2_cw", "city_cw", "d1_rev"))

    # nobody asks the city for 复查 within 30 days of serving. The 30th day, 2026-06-19, is the
    # Dragon Boat Festival (then a weekend): the petitioner's window rolls to Monday 06-22
    # (民法典 Art.203). The window task then stays open for the default 15-day `late_request_days`
    # (a late request goes to a leader), shown neutrally, and the case closes (办结) after it.
    assert done.status == InstanceStatus.running and done.new_task_ids == []
    assert inbox_ids(env, org, "d1_cw") == set()
    [window] = open_tasks(env, case_id, "review_request")
    assert (window.org_unit_id, window.due_at) == (org.units["city_xf"], at("2026-06-23", 0))
    clock.set(at("2026-06-23", 0))
    assert run_due_timers(env) == 0
    clocks = {k.step_id: k for k in case_file(env, org.actor("city_cw").id, case_id).clocks}
    assert (clocks["review_request"].state, clocks["review_request"].lapse_label) == ("lapsed", "期满未申请")
    clock.set(at("2026-07-08", 0) - timedelta(seconds=1))
    assert run_due_timers(env) == 0
    clock.set(at("2026-07-08", 0))
    assert run_due_timers(env) == 1
    assert instance(env, case_id).status == InstanceStatus.completed
    assert instance(env, case_id).closed_at == at("2026-07-08", 0)
    assert inbox_ids(env, org, "city_cw") == set()
    data = case_data(env, case_id)
    assert (data["handling_due_on"], data["extension_days_granted"]) == ("2026-06-03", 30)
    assert (data["handling_satisfaction"], data["served_on"]) == ("基本满意", "2026-05-20")
    _check_history(env, org, case_id)


def _check_history(env: Env, org: Org, case_id: int) -> None:
    events = case_history(env, case_id)
    uid = {name: org.actor(name).id for name in ("t1_cw", "city_cw", "d1_cw", "d1_rev", "d1_lead")}
    steps = [(e.action, e.step_id, e.actor_id) for e in events if e.action in ("start", "complete")]
    assert steps == [
        ("start", None, uid["t1_cw"]), ("complete", "intake", uid["city_cw"]),
        ("complete", "receive_assignment", uid["d1_cw"]), ("complete", "assignment_notice", uid["d1_cw"]),
        ("complete", "handle", uid["d1_cw"]), ("complete", "approve_extension", uid["d1_lead"]),
        ("complete", "handle", uid["d1_cw"]), ("complete", "review", uid["d1_rev"]),
        ("complete", "handle", uid["d1_cw"]), ("complete", "review", uid["d1_rev"]),
        ("complete", "approve", uid["d1_lead"]), ("complete", "reply", uid["d1_cw"]),
        ("complete", "evaluate", uid["d1_cw"]),
    ]
    by_step = {}
    for e in events:
        by_step.setdefault(e.step_id, []).append(e)
    intake = by_step["intake"][-1]
    assert intake.opinion == "请海安区依政策办理" and intake.org_unit_id == org.units["city_xf"]
    assert intake.data["intake_outcome"] == [None, "交办"]
    assert intake.data["handling_unit_id"] == [None, org.units["d1"]]
    extension = [e for e in by_step["approve_extension"] if e.action == "complete"][0]
    assert extension.data["handling_due_on"] == ["2026-05-04", "2026-06-03"]
    returned, passed = [e for e in by_step["review"] if e.action == "complete"]
    assert (returned.opinion, returned.data["review_decision"]) == ("请补充约谈笔录", [None, "退回"])
    assert passed.data["review_decision"] == ["退回", "通过"]
    assert by_step["reply"][-1].data["served_on"] == [None, "2026-05-20"]
    with env.db.read() as s:
        check = verify_chain(s, case_id)
    assert check.ok and check.events == len(events)


# ----------------------------------------------------------------------------- refusal

def test_refusal_needs_the_leaders_approval_and_ends_with_a_notice(env, org, clock):
    case_id = register(env, org)
    refusal = {"intake_outcome": "不予受理",
               "refusal_reason": "已进入或应当通过诉讼、仲裁、行政复议等法定途径解决",
               "refusal_detail": "该事项已由劳动人事争议仲裁委员会受理。"}
    act(env, org, case_id, "intake", "city_cw", refusal, "拟不予受理")

    [approval] = open_tasks(env, case_id, "approve_refusal")
    assert (approval.org_unit_id, approval.role) == (org.units["city"], Role.leader)
    assert approval.due_at == at("2026-03-18", 0)  # still inside the 15-day intake clock
    act(env, org, case_id, "approve_refusal", "city_lead",
        {"refusal_decision": "不同意", "refusal_approval_opinion": "请核实复核终结的事实是否相同"},
        "请再核实", refused=("city_cw", "city_rev", "d1_lead"))

    assert open_tasks(env, case_id, "intake")  # back to the intake decision
    act(env, org, case_id, "intake", "city_cw", refusal, "已核实，仲裁已受理")
    act(env, org, case_id, "approve_refusal", "city_lead", {"refusal_decision": "同意"}, "同意")

    clock.advance(timedelta(days=2))
    done = act(env, org, case_id, "refusal_notice", "city_cw",
               {"notice_served_on": "2026-03-04", "notice_service_method": "邮寄送达"},
               "告知书已邮寄", refused=("t1_cw", "d1_cw", "city_lead"))
    assert done.status == InstanceStatus.completed
    assert all_tasks(env, case_id, "handle") == []
    decisions = [(e.step_id, e.data.get("refusal_decision")) for e in case_history(env, case_id)
                 if e.step_id == "approve_refusal" and e.action == "complete"]
    assert decisions == [("approve_refusal", [None, "不同意"]), ("approve_refusal", ["不同意", "同意"])]


# ----------------------------------------------------------------------------- form checks

def test_registration_errors_are_reported_per_field_in_chinese(env, org):
    cw, t1 = org.actor("t1_cw"), org.units["t1"]
    with pytest.raises(FormInvalid) as bad_id:
        start_case(env, "petition", cw, t1, petition_start_data(id_number="320602196805120017"))
    assert bad_id.value.errors == {"id_number": "身份证号码格式或校验位不正确"}

    with pytest.raises(FormInvalid) as no_reps:
        start_case(env, "petition", cw, t1, petition_start_data(headcount=6))
    assert no_reps.value.errors == {"representatives": "5人及以上集体访须填写代表姓名（最多5名）"}

    with pytest.raises(FormInvalid) as many_reps:
        start_case(env, "petition", cw, t1,
                   petition_start_data(headcount=8, representatives=list("甲乙丙丁戊己")))
    assert many_reps.value.errors == {"representatives": "集体访代表不得超过5人"}

    with pytest.raises(FormInvalid) as bad_channel:
        start_case(env, "petition", cw, t1, petition_start_data(channel="微信", repeat_of="2026-1"))
    assert bad_channel.value.errors == {"channel": "请从给定选项中选择",
                                        "repeat_of": "件号格式应为 XF2026-00001"}

    with pytest.raises(PermissionDenied):  # villages do not register petitions
        start_case(env, "petition", org.actor("v1_cw"), org.units["v1"], petition_start_data())
    assert inbox_ids(env, org, "city_cw") == set()

    with pytest.raises(FormInvalid) as unknown:  # repeat_of must name an existing petition
        start_case(env, "petition", cw, t1, petition_start_data(repeat_of="XF2026-00001"))
    assert unknown.value.errors == {"repeat_of": "原件号不存在，请核对"}

    first = start_case(env, "petition", cw, t1, petition_start_data())
    group = start_case(env, "petition", cw, t1, petition_start_data(
        headcount=12, representatives=["王建国", "李卫东"], repeat_of=first.case_no))
    assert instance(env, group.instance_id).title == "王建国反映安置问题（集体访12人）"
    assert case_data(env, group.instance_id)["group_petition"] is True


def test_intake_and_handling_forms_refuse_what_the_rules_forbid(env, org, clock):
    case_id = register(env, org)
    [intake] = open_tasks(env, case_id, "intake")
    cw = org.actor("city_cw")
    with pytest.raises(FormInvalid) as no_unit:
        complete_task(env, intake.id, cw, {"intake_outcome": "交办"})
    assert no_unit.value.errors == {"handling_unit_id": "请填写承办单位"}
    with pytest.raises(FormInvalid) as town:
        complete_task(env, intake.id, cw, {"intake_outcome": "交办", "handling_unit_id": org.units["t1"]})
    assert town.value.errors == {"handling_unit_id": "请选择本市所辖的区县退役军人事务局"}
    complete_task(env, intake.id, cw, {"intake_outcome": "交办", "handling_unit_id": org.units["d1"]})
    sign_assignment(env, org, case_id)

    [handle] = open_tasks(env, case_id, "handle")
    d1 = org.actor("d1_cw")
    with pytest.raises(FormInvalid) as too_long:
        complete_task(env, handle.id, d1, {"handling_action": "申请延期", "extension_days": 31,
                                           "extension_reason": "情况复杂"})
    assert too_long.value.errors == {"extension_days": "延期不得超过30日"}
    with pytest.raises(FormInvalid) as half_done:
        complete_task(env, handle.id, d1, {"handling_action": "提交审核", "investigation": "已核实"})
    assert half_done.value.errors == {"handling_result": "请填写处理结果",
                                      "handling_basis": "请填写法律政策依据",
                                      "handling_opinion": "请填写处理意见（信访处理意见书正文）"}
    assert open_tasks(env, case_id, "handle")[0].id == handle.id  # nothing moved

    _extend(env, org, case_id, 10, "不同意")
    assert open_tasks(env, case_id, "handle")[0].due_at == at("2026-05-02", 0)  # unchanged
    _extend(env, org, case_id, 20, "同意")
    [handle] = open_tasks(env, case_id, "handle")
    with pytest.raises(FormInvalid) as total:
        complete_task(env, handle.id, d1, {"handling_action": "申请延期", "extension_days": 11,
                                           "extension_reason": "仍需调查"})
    assert total.value.errors == {"extension_days": "延期合计不得超过30日，本案最多还可延期10日"}


def test_returns_need_an_opinion_and_reply_dates_cannot_be_in_the_future(env, org, clock):
    case_id = register(env, org)
    act(env, org, case_id, "intake", "city_cw", {"intake_outcome": "受理"})
    act(env, org, case_id, "handle", "city_cw", HANDLE_DONE)
    [review] = open_tasks(env, case_id, "review")
    assert review.org_unit_id == org.units["city_xf"]
    with pytest.raises(FormInvalid) as silent:
        complete_task(env, review.id, org.actor("city_rev"), {"review_decision": "退回"})
    assert silent.value.errors == {"review_opinion": "请填写意见说明"}
    act(env, org, case_id, "review", "city_rev", {"review_decision": "通过"})
    # accepted by the city section itself: the final approval is the city bureau's leader's
    act(env, org, case_id, "approve", "city_lead", {"approval_decision": "同意"}, refused=("d1_lead",))
    [reply] = open_tasks(env, case_id, "reply")
    with pytest.raises(FormInvalid) as future:
        complete_task(env, reply.id, org.actor("city_cw"),
                      {"served_on": "2026-03-03", "service_method": "直接送达"})
    assert future.value.errors == {"served_on": "日期不能晚于今天"}


def _extend(env: Env, org: Org, case_id: int, days: int, decision: str) -> None:
    """The district caseworker asks for `days` more, the district leader decides."""
    act(env, org, case_id, "handle", "d1_cw",
        {"handling_action": "申请延期", "extension_days": days, "extension_reason": "需调取档案"})
    opinion = {} if decision == "同意" else {"extension_opinion": "理由不充分"}
    act(env, org, case_id, "approve_extension", "d1_lead", {"extension_decision": decision, **opinion})
