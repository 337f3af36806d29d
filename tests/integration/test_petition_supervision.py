"""督办单 and 领导包案: a leader or the petition section opens a supervision order on any open
petition, the unit in charge answers in writing by the order's deadline; a missed legal deadline
ends in the same order; a leader takes ownership of a case and finds it in their list."""
from __future__ import annotations

import pytest

from engine.env import Env
from engine.errors import FormInvalid, InvalidState, PermissionDenied
from engine.models import InstanceStatus, Role, TaskStatus
from engine.runtime import case_data, case_history, complete_task
from engine.worker import run_due_timers
from tests.factories import (PETITION_EVALUATED, Org, act, all_tasks, assign_petition, inbox_ids,
                             open_tasks, petition_replied, setup_petition)
from tests.factories import beijing as at
from tests.factories import register_petition as register
from workflows.petition.ownership import case_owner, owned_cases, take_ownership
from workflows.petition.supervision import open_supervision

ORDER = {"supervision_kind": "久拖未决", "supervision_requirement": "请于3个工作日内书面报告办理进展"}
FEEDBACK = {"supervision_feedback": "已约谈原单位，拟于本月底前作出处理意见。"}


@pytest.fixture
def org(env: Env) -> Org:
    return setup_petition(env)


def test_city_leader_supervises_a_district_case_which_answers_in_writing_on_time(env, org, clock):
    case_id = register(env, org)
    assign_petition(env, org, case_id)
    clock.set(at("2026-03-20", 10))  # Friday
    result = open_supervision(env, case_id, org.actor("city_lead"), ORDER)
    assert result.status == InstanceStatus.running and len(result.new_task_ids) == 1

    [task] = open_tasks(env, case_id, "supervision_feedback")
    # three working days after Friday 20 March: 23, 24, 25 March
    assert (task.org_unit_id, task.role, task.due_at) == (org.units["d1"], Role.caseworker, at("2026-03-26", 0))
    assert task.step_name == "督办反馈（书面）：久拖未决"
    assert task.id in inbox_ids(env, org, "d1_cw") and task.id not in inbox_ids(env, org, "city_cw")
    assert len(open_tasks(env, case_id, "handle")) == 1  # the handling goes on meanwhile
    [opened] = [e for e in case_history(env, case_id) if e.action == "message"]
    assert (opened.step_id, opened.step_name, opened.actor_name) == ("supervision", "开具督办单", "市局领导")
    assert opened.data["supervision_requirement"] == [None, ORDER["supervision_requirement"]]
    assert opened.data["supervision_due_on"] == [None, "2026-03-25"]

    clock.set(at("2026-03-25", 16))
    act(env, org, case_id, "supervision_feedback", "d1_cw", FEEDBACK, refused=("d2_cw", "city_cw"))
    [answered] = [e for e in case_history(env, case_id) if e.step_id == "supervision_feedback"]
    assert answered.data["supervision_on_time"] == [None, True]
    assert answered.data["supervision_feedback"] == [None, FEEDBACK["supervision_feedback"]]
    assert all_tasks(env, case_id, "supervision_feedback")[0].status == TaskStatus.completed
    assert case_data(env, case_id)["handling_unit_id"] == org.units["d1"]  # main flow untouched


def test_petition_section_sets_its_own_deadline_and_late_feedback_is_recorded_as_late(env, org, clock):
    case_id = register(env, org)
    act(env, org, case_id, "intake", "city_cw", {"intake_outcome": "受理"})
    with pytest.raises(FormInvalid) as past:
        open_supervision(env, case_id, org.actor("city_rev"), {**ORDER, "supervision_due_on": "2026-03-01"})
    assert past.value.errors == {"supervision_due_on": "反馈期限不能早于今天"}
    with pytest.raises(FormInvalid) as empty:
        open_supervision(env, case_id, org.actor("city_rev"), {"supervision_kind": "其他"})
    assert empty.value.errors == {"supervision_requirement": "请填写督办要求"}

    open_supervision(env, case_id, org.actor("city_rev"), {**ORDER, "supervision_due_on": "2026-03-04"})
    open_supervision(env, case_id, org.actor("city_cw"), {**ORDER, "supervision_kind": "群众反映强烈"})
    first, second = open_tasks(env, case_id, "supervision_feedback")  # two orders side by side
    assert (first.org_unit_id, first.due_at) == (org.units["city_xf"], at("2026-03-05", 0))
    assert second.step_name == "督办反馈（书面）：群众反映强烈"

    clock.set(at("2026-03-05", 0))
    complete_task(env, first.id, org.actor("city_cw"), FEEDBACK)  # the first one, a moment late
    late = [e for e in case_history(env, case_id) if e.step_id == "supervision_feedback"][0]
    assert late.data["supervision_on_time"] == [None, False]
    assert len(open_tasks(env, case_id, "supervision_feedback")) == 1


def test_only_leaders_above_the_case_and_the_petition_section_may_supervise(env, org, clock):
    # registered and accepted at the city: it never went through 海安区 or its stations
    city_case = register(env, org, username="city_cw", unit="city_xf")
    act(env, org, city_case, "intake", "city_cw", {"intake_outcome": "受理"})
    for outsider in ("d1_lead", "d1_cw", "t1_cw", "d1_rev", "city_audit"):
        with pytest.raises(PermissionDenied):
            open_supervision(env, city_case, org.actor(outsider), ORDER)
    district_case = register(env, org, username="city_cw", unit="city_xf", category="医疗")
    assign_petition(env, org, district_case)
    open_supervision(env, district_case, org.actor("d1_lead"), ORDER)  # assigned to the district
    assert len(open_tasks(env, district_case, "supervision_feedback")) == 1

    refused = register(env, org, category="住房")
    act(env, org, refused, "intake", "city_cw", {"intake_outcome": "转送", "transfer_organ": "市住建局"})
    with pytest.raises(InvalidState):
        open_supervision(env, refused, org.actor("city_lead"), ORDER)


def test_an_answered_case_waiting_for_a_review_request_may_be_supervised(env, org, clock):
    """After the reply and the evaluation, the case waits in the 复查 window beside a join that
    holds no data yet: the case data is still the case's, and the order goes to the unit."""
    case_id = register(env, org)
    assign_petition(env, org, case_id)
    clock.set(at("2026-03-10"))
    petition_replied(env, org, case_id)
    clock.set(at("2026-03-12"))
    act(env, org, case_id, "evaluate", "d1_cw", PETITION_EVALUATED)
    assert case_data(env, case_id)["handling_unit_id"] == org.units["d1"]
    open_supervision(env, case_id, org.actor("d1_lead"), ORDER)
    [task] = open_tasks(env, case_id, "supervision_feedback")
    assert task.org_unit_id == org.units["d1"]


def test_missed_handling_deadline_ends_in_the_same_supervision_order(env, org, clock):
    case_id = register(env, org)
    assign_petition(env, org, case_id)  # 办理 due by the end of 2026-05-01
    clock.set(at("2026-05-02", 0))
    assert run_due_timers(env) == 1
    assert open_tasks(env, case_id, "supervision_feedback") == []  # the chief decides first
    act(env, org, case_id, "supervise_handling", "d1_rev",
        {"handling_supervision_measure": "书面督办", "handling_supervision_note": "请说明超期原因"})
    [task] = open_tasks(env, case_id, "supervision_feedback")
    # opened on Saturday 2 May, inside the 1–5 May holiday: due after 6, 7, 8 May
    assert (task.org_unit_id, task.due_at, task.step_name) == \
        (org.units["d1"], at("2026-05-09", 0), "督办反馈（书面）：办理超期")
    data = [e for e in case_history(env, case_id) if e.step_id == "supervise_handling"][0].data
    assert data["supervision_request"][1]["supervision_requirement"] == "请说明超期原因"
    clock.set(at("2026-05-06"))
    act(env, org, case_id, "supervision_feedback", "d1_cw", FEEDBACK)
    assert [t.status for t in all_tasks(env, case_id, "supervision_feedback")] == [TaskStatus.completed]


# ----------------------------------------------------------------------------- 领导包案

def test_leader_takes_ownership_and_sees_the_case_in_their_list(env, org, clock):
    env.settings["petition"] = {"late_request_days": 0}  # unused windows close the case at their end
    case_id = register(env, org)
    assign_petition(env, org, case_id)
    assert case_owner(env, case_id) is None
    clock.set(at("2026-03-05", 9))
    take_ownership(env, case_id, org.actor("city_lead"), {"ownership_note": "重点信访事项，局领导包案"})
    owner = case_owner(env, case_id)
    assert owner is not None
    assert (owner.user_id, owner.name, owner.since, owner.note) == \
        (org.actor("city_lead").id, "市局领导", at("2026-03-05", 9), "重点信访事项，局领导包案")
    [listed] = owned_cases(env, org.actor("city_lead").id)
    assert (listed.instance_id, listed.case_no, listed.status) == (case_id, "XF2026-00001", InstanceStatus.running)
    [event] = [e for e in case_history(env, case_id) if e.step_id == "leader_ownership"]
    assert (event.action, event.step_name, event.actor_id) == ("message", "领导包案", org.actor("city_lead").id)

    clock.set(at("2026-03-06", 9))
    take_ownership(env, case_id, org.actor("d1_lead"), {})  # the district leader takes it over
    assert case_owner(env, case_id).name == "区领导"
    assert owned_cases(env, org.actor("city_lead").id) == []
    assert [c.instance_id for c in owned_cases(env, org.actor("d1_lead").id)] == [case_id]
    assert len(open_tasks(env, case_id, "handle")) == 1  # nothing else changed

    clock.set(at("2026-03-10"))
    petition_replied(env, org, case_id)
    clock.set(at("2026-04-10", 0))
    run_due_timers(env)
    [closed] = owned_cases(env, org.actor("d1_lead").id)  # still listed, now closed
    assert closed.status == InstanceStatus.completed


def test_only_a_leader_over_the_case_may_take_it(env, org):
    case_id = register(env, org, username="city_cw", unit="city_xf")
    act(env, org, case_id, "intake", "city_cw", {"intake_outcome": "受理"})
    for outsider in ("d1_lead", "city_cw", "city_rev"):
        with pytest.raises(PermissionDenied):
            take_ownership(env, case_id, org.actor(outsider), {})
    assert case_owner(env, case_id) is None
