"""督办 for every process: who may open a supervision order (narrowed by a process's settings), who
answers it (once), its deadline on the business calendar, its 督办事由, and the on-time rate."""
from datetime import date, timedelta

import pytest

from engine.errors import FormInvalid, InvalidState, PermissionDenied
from engine.notify.centre import messages
from engine.runtime import cancel_case, start_case
from engine.verbs.supervision import answer_order, case_orders, on_time_rate, open_order
from tests.integration.verbs_support import actions, chain_ok, plain_case


def test_a_leader_above_opens_an_order_the_unit_answers_on_time(env, clock):
    org, iid = plain_case(env)
    order_id = open_order(env, iid, org.actor("d1_lead"), "请三日内书面说明办理进展")
    [order] = case_orders(env, iid)
    assert (order.id, order.org_unit_id) == (order_id, org.units["t1"])
    assert order.due_at == env.calendar.deadline_end(date(2026, 3, 5))   # 3 working days from Monday
    assert [m.kind for m in messages(env, org.actor("t1_cw2").id)][0] == "supervision"
    with pytest.raises(PermissionDenied):  # another unit's staff
        answer_order(env, order_id, org.actor("d1_cw"), "反馈")
    with pytest.raises(FormInvalid):
        answer_order(env, order_id, org.actor("t1_cw"), " ")
    assert answer_order(env, order_id, org.actor("t1_cw"), "已约谈原单位，本周内办结") is True
    with pytest.raises(InvalidState):  # once
        answer_order(env, order_id, org.actor("t1_cw2"), "再反馈")
    assert messages(env, org.actor("d1_lead").id)[0].title.startswith("督办反馈")
    assert actions(env, iid)[-2:] == ["supervise", "supervise_feedback"] and chain_ok(env, iid)
    assert on_time_rate(env, "plain").rate == 1.0


def test_who_may_supervise_and_when(env, clock):
    org, iid = plain_case(env)
    for outsider in ("t1_cw", "t2_cw", "d2_cw", "city_audit", "admin"):
        with pytest.raises(PermissionDenied):
            open_order(env, iid, org.actor(outsider), "要求")
    with pytest.raises(FormInvalid):
        open_order(env, iid, org.actor("city_lead"), "要求", due_on=date(2026, 3, 1))
    late = open_order(env, iid, org.actor("city_lead"), "要求", due_on=date(2026, 3, 3))
    open_order(env, iid, org.actor("d1_rev"), "复核要求")
    clock.set(clock.now() + timedelta(days=2))           # Wednesday: the first order is overdue
    rate = on_time_rate(env)
    assert (rate.on_time, rate.due) == (0, 1)
    assert answer_order(env, late, org.actor("t1_cw"), "迟到的反馈") is False
    cancel_case(env, iid, org.actor("t1_cw"), "撤销")
    with pytest.raises(InvalidState):
        open_order(env, iid, org.actor("city_lead"), "要求")


def test_a_process_narrows_who_supervises_and_lists_its_kinds(env, clock):
    org, iid = plain_case(env, supervision_roles=["leader"], supervision_kinds=["久拖未决", "领导批示"])
    with pytest.raises(PermissionDenied):  # reviewers supervise only where the process lets them
        open_order(env, iid, org.actor("d1_rev"), "要求", kind="久拖未决")
    with pytest.raises(FormInvalid) as no_kind:
        open_order(env, iid, org.actor("d1_lead"), "要求")
    with pytest.raises(FormInvalid) as other_kind:
        open_order(env, iid, org.actor("d1_lead"), "要求", kind="随便写的")
    assert no_kind.value.errors == other_kind.value.errors == {"kind": "请选择督办事由"}
    open_order(env, iid, org.actor("d1_lead"), "请报告进展", kind="领导批示")
    [order] = case_orders(env, iid)
    assert (order.kind, order.step_id) == ("领导批示", None)
    assert messages(env, org.actor("t1_cw").id)[0].title.startswith("督办（领导批示）：")
    assert chain_ok(env, iid)


def test_an_order_unanswered_when_its_case_ended_counts_only_if_it_was_already_late(env, clock):
    org, iid = plain_case(env)
    open_order(env, iid, org.actor("d1_lead"), "要求")  # due by the end of Thursday
    cancel_case(env, iid, org.actor("t1_cw"), "撤销")      # ended in time: nobody was late
    clock.set(clock.now() + timedelta(days=10))
    assert (on_time_rate(env).on_time, on_time_rate(env).due) == (0, 0)
    second = start_case(env, "plain", org.actor("t1_cw"), org.units["t1"], {"subject": "y"}).instance_id
    open_order(env, second, org.actor("d1_lead"), "要求", due_on=date(2026, 3, 13))
    clock.set(clock.now() + timedelta(days=10))        # past its deadline while the case ran
    cancel_case(env, second, org.actor("t1_cw"), "撤销")
    assert (on_time_rate(env).on_time, on_time_rate(env).due) == (0, 1)

