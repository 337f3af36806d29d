"""The petition indicators computed from the history, the task rows and the 督办单 of six cases
whose story is known: every number below can be counted by hand from the timeline in `six_cases`."""
from __future__ import annotations

from datetime import timedelta

import pytest

from engine.env import Env
from engine.forms import id_check_digit
from engine.runtime import start_case
from engine.verbs.supervision import answer_order, case_orders
from engine.worker import run_due_timers
from tests.factories import (Org, act, open_tasks, petition_replied,
                             petition_start_data, setup_petition, sign_assignment)
from tests.factories import beijing as at
from workflows.petition import public
from workflows.petition.indicators import Rate, compute
from workflows.petition.supervision import open_supervision

EVALUATED = {"followup_method": "电话回访", "evaluated": True, "intake_satisfaction": "满意",
             "handling_satisfaction": "满意"}
FEEDBACK = "已书面报告办理进展。"


@pytest.fixture
def org(env: Env) -> Org:
    return setup_petition(env)


def only_order(env: Env, case_id: int) -> int:
    [order] = case_orders(env, case_id)  # the engine's 督办单 of the case
    return order.id


def person(serial: int, **overrides: object) -> dict[str, object]:
    first17 = f"3206021970010{serial:04d}"
    return petition_start_data(petitioner_name=f"信访人{serial}", id_number=first17 + id_check_digit(first17),
                               **overrides)


def tick(env: Env, clock, day: str, hour: int = 9) -> None:
    clock.set(at(day, hour))


def six_cases(env: Env, org: Org, clock) -> dict[str, int]:
    """A: accepted on time, answered, evaluated 满意/满意, closed unused; repeated by D.
    B: decided late, assigned to 海安区, extended 30 days, answered on day 82 (in time), rated
       online 不满意/基本满意, 复查 asked and answered, closed when the 复核 window ran out.
    C: registered at the city and refused (不予受理) in time.  D: repeats A, never decided.
    E: accepted, never answered; its overdue 督办 answered late.  F: answered, not evaluated, closed.
    A also gets a leader's 督办单, answered on time."""
    env.settings["petition"] = {"late_request_days": 0}  # unused windows close the case at their end
    t1, cw = org.units["t1"], org.actor("t1_cw")
    tick(env, clock, "2026-03-02")
    a = start_case(env, "petition", cw, t1, petition_start_data())
    b = start_case(env, "petition", cw, t1, person(2, category="待遇"))
    c = start_case(env, "petition", org.actor("city_cw"), org.units["city_xf"], person(3, category="医疗"))
    e = start_case(env, "petition", cw, t1, person(5, category="其他"))
    f = start_case(env, "petition", cw, t1, person(6, category="社保"))
    ids = {k: v.instance_id for k, v in dict(a=a, b=b, c=c, e=e, f=f).items()}
    act(env, org, ids["e"], "intake", "city_cw", {"intake_outcome": "受理"})
    tick(env, clock, "2026-03-03")
    for k in ("a", "f"):
        act(env, org, ids[k], "intake", "city_cw", {"intake_outcome": "受理"})
    tick(env, clock, "2026-03-05")
    act(env, org, ids["c"], "intake", "city_cw",
        {"intake_outcome": "不予受理", "refusal_reason": "其他依法不予受理的情形", "refusal_detail": "非信访事项"})
    act(env, org, ids["c"], "approve_refusal", "city_lead", {"refusal_decision": "同意"})
    act(env, org, ids["c"], "refusal_notice", "city_cw",
        {"notice_served_on": "2026-03-05", "notice_service_method": "直接送达"})
    tick(env, clock, "2026-03-10")  # Tuesday: feedback due by the end of Friday 13 March
    open_supervision(env, ids["a"], org.actor("city_lead"), {"supervision_kind": "领导批示",
                                                              "supervision_requirement": "请报告进展"})
    tick(env, clock, "2026-03-12")
    answer_order(env, only_order(env, ids["a"]), org.actor("city_cw"), FEEDBACK)
    tick(env, clock, "2026-03-20")
    petition_replied(env, org, ids["a"])
    act(env, org, ids["b"], "intake", "city_cw", {"intake_outcome": "交办", "handling_unit_id": org.units["d1"]})
    sign_assignment(env, org, ids["b"])
    tick(env, clock, "2026-03-21")
    act(env, org, ids["a"], "evaluate", "city_cw", {**EVALUATED, "followup_on": "2026-03-21"})
    tick(env, clock, "2026-03-25")
    petition_replied(env, org, ids["f"])
    act(env, org, ids["f"], "evaluate", "city_cw", {"followup_on": "2026-03-25", "followup_method": "电话回访",
                                                    "evaluated": False, "not_evaluated_reason": "信访人拒绝评价"})
    clock.set(at("2026-04-21", 0))  # A's 30th day, Sunday 04-19, rolls to Monday 04-20
    assert run_due_timers(env) == 1  # A closes
    clock.set(at("2026-04-25", 0))
    assert run_due_timers(env) == 1  # F closes
    tick(env, clock, "2026-04-28")
    act(env, org, ids["b"], "handle", "d1_cw",
        {"handling_action": "申请延期", "extension_days": 30, "extension_reason": "需调取档案"})
    act(env, org, ids["b"], "approve_extension", "d1_lead", {"extension_decision": "同意"})
    tick(env, clock, "2026-05-01")
    ids["d"] = start_case(env, "petition", cw, t1, petition_start_data(repeat_of=a.case_no)).instance_id
    clock.set(at("2026-05-02", 0))
    assert run_due_timers(env) == 1  # E's handling deadline
    tick(env, clock, "2026-05-02", 10)
    act(env, org, ids["e"], "supervise_handling", "city_rev",
        {"handling_supervision_measure": "书面督办", "handling_supervision_note": "请说明超期原因"})
    tick(env, clock, "2026-05-11")  # due by the end of 8 May (working days 6, 7, 8)
    answer_order(env, only_order(env, ids["e"]), org.actor("city_cw"), FEEDBACK)
    tick(env, clock, "2026-06-10")
    petition_replied(env, org, ids["b"])
    tick(env, clock, "2026-06-11")
    public.evaluate(env, b.case_no, b.query_code, "10.0.0.8",
                    {"intake_satisfaction": "不满意", "handling_satisfaction": "基本满意"})
    tick(env, clock, "2026-06-15")
    act(env, org, ids["b"], "review_request", "city_cw", {"first_review_request": "不服"})
    tick(env, clock, "2026-06-25")
    act(env, org, ids["b"], "first_review", "city_cw",
        {"first_review_result": "维持原处理意见", "first_review_opinion": "维持"})
    clock.set(at("2026-07-28", 0))  # the 复核 window's 30th day, Saturday 07-25, rolls to Monday 07-27
    run_due_timers(env)  # B closes (and D's intake deadline opened its 督办 long ago)
    return ids


def test_indicators_count_what_happened(env, org, clock):
    ids = six_cases(env, org, clock)
    with env.db.read() as s:
        got = compute(s, as_of=at("2026-11-01"))
    assert got.cases == 6
    assert got.timely_intake == Rate(4, 6)        # B decided late, D never decided
    assert got.on_time_handling == Rate(3, 4)     # A, B (with its extension), F; E never answered
    assert got.satisfaction == Rate(3, 4)         # 满意, 满意, 基本满意 of four ratings
    assert got.satisfaction_by_stage == {"受理": Rate(1, 2), "办理": Rate(2, 2)}
    assert got.participation == Rate(2, 3)        # A and B rated; F answered but not rated
    assert got.one_time_resolution == Rate(1, 3)  # F; A was repeated (D), B went to 复查
    assert got.repeat_petitions == 1              # D
    assert got.first_review_rate == Rate(1, 3)    # B of A, B, F
    assert got.second_review_rate == Rate(0, 1)   # B did not ask for 复核
    assert got.supervision_on_time == Rate(1, 2)  # A's in time, E's late
    assert got.timely_intake.value == pytest.approx(2 / 3)
    assert open_tasks(env, ids["d"], "intake")  # D is still undecided


def test_indicators_by_unit_period_and_maturity(env, org, clock):
    six_cases(env, org, clock)
    with env.db.read() as s:
        district = compute(s, unit_id=org.units["d1"], as_of=at("2026-11-01"))
        may = compute(s, since=at("2026-04-01", 0), until=at("2026-06-01", 0), as_of=at("2026-11-01"))
        july = compute(s, as_of=at("2026-07-20"), resolution_days=90)
        short = compute(s, as_of=at("2026-07-20"), resolution_days=10)
        empty = compute(s, unit_id=org.units["d2"])
    assert district.cases == 5 and district.timely_intake == Rate(3, 5)  # C was registered at the city
    assert (may.cases, may.repeat_petitions, may.timely_intake) == (1, 1, Rate(0, 1))  # D only
    # by 20 July only A has been closed 90 days (it was repeated); F's 90 days end on 24 July
    assert july.one_time_resolution == Rate(0, 1)
    # with 10 days, D (registered 11 days after A closed) is no longer a repeat within the window
    assert short.one_time_resolution == Rate(2, 2)
    assert (empty.cases, empty.timely_intake.value, empty.satisfaction.value) == (0, None, None)


def test_a_repeat_of_the_same_matter_counts_even_without_the_link(env, org, clock):
    start_case(env, "petition", org.actor("t1_cw"), org.units["t1"], petition_start_data())
    clock.advance(timedelta(days=1))
    start_case(env, "petition", org.actor("t1_cw"), org.units["t1"], petition_start_data())
    start_case(env, "petition", org.actor("t1_cw"), org.units["t1"], petition_start_data(category="医疗"))
    with env.db.read() as s:
        assert compute(s).repeat_petitions == 1
