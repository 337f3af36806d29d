"""督办单 and 领导包案: a leader or the petition section opens a supervision order on any open
petition — the engine's 督办 (engine.verbs.supervision), the one mechanism of every process — the
unit in charge answers in writing by the order's deadline; a missed legal deadline ends in the
same order; a leader takes ownership of a case and finds it in their list."""
from __future__ import annotations

import pytest

from engine.env import Env
from engine.errors import FormInvalid, InvalidState, PermissionDenied
from engine.history import verify_chain
from engine.models import InstanceStatus, ProcessInstance, TaskStatus
from engine.notify.centre import messages
from engine.runtime import case_data, case_history
from engine.verbs.panel import case_verbs
from engine.verbs.supervision import answer_order, case_orders, on_time_rate, open_order
from engine.worker import run_due_timers
from tests.factories import (PETITION_EVALUATED, Org, act, all_tasks, assign_petition, open_tasks,
                             petition_replied, setup_petition)
from tests.factories import beijing as at
from tests.factories import register_petition as register
from workflows.petition.ownership import case_owner, owned_cases, take_ownership
from workflows.petition.supervision import open_supervision

ORDER = {"supervision_kind": "久拖未决", "supervision_requirement": "请于3个工作日内书面报告办理进展"}
FEEDBACK = "已约谈原单位，拟于本月底前作出处理意见。"


@pytest.fixture
def org(env: Env) -> Org:
    return setup_petition(env)


def chain_ok(env: Env, case_id: int) -> bool:
    with env.db.read() as s:
        return verify_chain(s, case_id).ok


def test_city_leader_supervises_a_district_case_which_answers_in_writing_on_time(env, org, clock):
    case_id = register(env, org)
    assign_petition(env, org, case_id)
    clock.set(at("2026-03-20", 10))  # Friday
    order_id = open_supervision(env, case_id, org.actor("city_lead"), ORDER)

    [order] = case_orders(env, case_id)
    # three working days after Friday 20 March: 23, 24, 25 March
    assert (order.id, order.org_unit_id, order.due_at, order.kind) == \
        (order_id, org.units["d1"], at("2026-03-26", 0), "久拖未决")
    assert order.step_id is None and order.requirement == ORDER["supervision_requirement"]
    told = [m.title for m in messages(env, org.actor("d1_cw").id) if m.kind == "supervision"]
    assert told == [f"督办（久拖未决）：{case_no(env, case_id)}，3月25日前书面反馈"]
    assert not [m for m in messages(env, org.actor("city_cw").id) if m.kind == "supervision"]
    assert [o.id for o, may in case_verbs(env, case_id, org.actor("d1_cw").id).orders if may] == [order_id]
    assert [o.id for o, may in case_verbs(env, case_id, org.actor("city_cw").id).orders if may] == []
    assert len(open_tasks(env, case_id, "handle")) == 1  # the handling goes on meanwhile
    [opened] = [e for e in case_history(env, case_id) if e.action == "supervise"]
    assert (opened.actor_name, opened.opinion, opened.data["due_on"], opened.data["kind"]) == \
        ("市局领导", ORDER["supervision_requirement"], "2026-03-25", "久拖未决")

    clock.set(at("2026-03-25", 16))
    for outsider in ("d2_cw", "city_cw"):
        with pytest.raises(PermissionDenied):
            answer_order(env, order_id, org.actor(outsider), FEEDBACK)
    assert answer_order(env, order_id, org.actor("d1_cw"), FEEDBACK) is True
    [answered] = [e for e in case_history(env, case_id) if e.action == "supervise_feedback"]
    assert (answered.opinion, answered.data["on_time"]) == (FEEDBACK, True)
    assert case_orders(env, case_id)[0].fed_back_at == at("2026-03-25", 16)
    assert case_data(env, case_id)["handling_unit_id"] == org.units["d1"]  # main flow untouched
    assert chain_ok(env, case_id)


def case_no(env: Env, case_id: int) -> str:
    with env.db.read() as s:
        return s.get(ProcessInstance, case_id).case_no


def test_petition_section_sets_its_own_deadline_and_late_feedback_is_recorded_as_late(env, org, clock):
    case_id = register(env, org)
    act(env, org, case_id, "intake", "city_cw", {"intake_outcome": "受理"})
    with pytest.raises(FormInvalid) as past:
        open_supervision(env, case_id, org.actor("city_rev"), {**ORDER, "supervision_due_on": "2026-03-01"})
    assert past.value.errors == {"due_on": "反馈期限不能早于今天"}
    with pytest.raises(FormInvalid) as empty:
        open_supervision(env, case_id, org.actor("city_rev"), {"supervision_kind": "其他"})
    assert empty.value.errors == {"requirement": "请填写督办要求"}
    with pytest.raises(FormInvalid) as no_kind:  # the petition lists its 督办事由: one must be chosen
        open_order(env, case_id, org.actor("city_rev"), "请报告进展")
    assert no_kind.value.errors == {"kind": "请选择督办事由"}
    assert case_orders(env, case_id) == []

    open_supervision(env, case_id, org.actor("city_rev"), {**ORDER, "supervision_due_on": "2026-03-04"})
    open_supervision(env, case_id, org.actor("city_cw"), {**ORDER, "supervision_kind": "群众反映强烈"})
    first, second = case_orders(env, case_id)  # two orders side by side
    assert (first.org_unit_id, first.due_at) == (org.units["city_xf"], at("2026-03-05", 0))
    assert second.kind == "群众反映强烈"

    clock.set(at("2026-03-05", 0))
    assert answer_order(env, first.id, org.actor("city_cw"), FEEDBACK) is False  # a moment late
    late = [e for e in case_history(env, case_id) if e.action == "supervise_feedback"][0]
    assert late.data["on_time"] is False
    assert [o.fed_back_at is None for o in case_orders(env, case_id)] == [False, True]
    assert chain_ok(env, case_id)


def test_only_leaders_above_the_case_and_the_petition_section_may_supervise(env, org, clock):
    # registered and accepted at the city: it never went through 海安区 or its stations
    city_case = register(env, org, username="city_cw", unit="city_xf")
    act(env, org, city_case, "intake", "city_cw", {"intake_outcome": "受理"})
    for outsider in ("d1_lead", "d1_cw", "t1_cw", "d1_rev", "city_audit"):
        with pytest.raises(PermissionDenied):
            open_supervision(env, city_case, org.actor(outsider), ORDER)
        assert not case_verbs(env, city_case, org.actor(outsider).id).can_supervise
    assert case_verbs(env, city_case, org.actor("city_cw").id).can_supervise  # the petition section
    district_case = register(env, org, username="city_cw", unit="city_xf", category="医疗")
    assign_petition(env, org, district_case)
    open_supervision(env, district_case, org.actor("d1_lead"), ORDER)  # assigned to the district
    assert len(case_orders(env, district_case)) == 1

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
    [order] = case_orders(env, case_id)
    assert order.org_unit_id == org.units["d1"]


def test_missed_handling_deadline_ends_in_the_same_supervision_order(env, org, clock):
    case_id = register(env, org)
    assign_petition(env, org, case_id)  # 办理 due by the end of 2026-05-01
    clock.set(at("2026-05-02", 0))
    assert run_due_timers(env) == 1
    assert case_orders(env, case_id) == []  # the chief decides first
    act(env, org, case_id, "supervise_handling", "d1_rev",
        {"handling_supervision_measure": "书面督办", "handling_supervision_note": "请说明超期原因"})
    [order] = case_orders(env, case_id)
    # opened on Saturday 2 May, inside the 1–5 May holiday: due after 6, 7, 8 May
    assert (order.org_unit_id, order.due_at, order.kind, order.step_id, order.requirement) == \
        (org.units["d1"], at("2026-05-09", 0), "办理超期", "supervise_handling", "请说明超期原因")
    done, opened = [e for e in case_history(env, case_id) if e.step_id == "supervise_handling"]
    assert (done.action, opened.action, opened.actor_name) == ("complete", "supervise", "区审核")
    clock.set(at("2026-05-06"))
    assert answer_order(env, order.id, org.actor("d1_cw"), FEEDBACK) is True
    assert [t.status for t in all_tasks(env, case_id, "supervise_handling")] == [TaskStatus.completed]
    assert on_time_rate(env, "petition").rate == 1.0 and chain_ok(env, case_id)


def test_the_petition_has_no_supervision_task_of_its_own(env, org, clock):
    """One mechanism: no 督办反馈 task, no message to the BPMN; the case page's 督办 panel offers
    the petition's 督办事由."""
    case_id = register(env, org)
    assign_petition(env, org, case_id)
    verbs = case_verbs(env, case_id, org.actor("city_lead").id)
    assert verbs.can_supervise and "久拖未决" in verbs.kinds and "办理超期" in verbs.kinds
    open_supervision(env, case_id, org.actor("city_lead"), ORDER)
    assert all_tasks(env, case_id, "supervision_feedback") == []
    assert [e.action for e in case_history(env, case_id)].count("message") == 0


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
