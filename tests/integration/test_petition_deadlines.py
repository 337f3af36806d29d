"""The petition clocks (《信访工作条例》Art.22 and 34): a missed deadline opens a 督办 task for
the section chief of the responsible unit while the late task stays open; an approved extension
moves the handling timer; the clocks are calendar days, so never provisional."""
from __future__ import annotations

from datetime import date, datetime, timedelta

import pytest

from engine.env import Env
from engine.models import Role, TaskStatus
from engine.runtime import case_data, case_history
from engine.worker import run_due_timers
from tests.factories import PETITION_HANDLED as HANDLE_DONE
from tests.factories import (Org, act, all_tasks, assign_petition, inbox_ids, open_tasks,
                             setup_petition)
from tests.factories import beijing as at
from tests.factories import register_petition as register

SECOND = timedelta(seconds=1)
NOTE = {"_supervision_measure": "电话催办", "_supervision_note": "请于3日内办结并反馈"}


@pytest.fixture
def org(env: Env) -> Org:
    return setup_petition(env)


def supervision(prefix: str) -> dict[str, str]:
    return {f"{prefix}{k}": v for k, v in NOTE.items()}


def fire_at(env: Env, clock, when: datetime) -> int:
    clock.set(when)
    return run_due_timers(env)


def test_intake_left_undecided_for_15_days_is_supervised_and_stays_open(env, org, clock):
    case_id = register(env, org)  # received Monday 2026-03-02: due by the end of 2026-03-17
    due = at("2026-03-18", 0)
    [intake] = open_tasks(env, case_id, "intake")
    assert intake.due_at == due

    assert fire_at(env, clock, due - SECOND) == 0
    assert open_tasks(env, case_id, "supervise_intake") == []
    assert case_data(env, case_id)["intake_overdue"] is False

    assert fire_at(env, clock, due + SECOND) == 1
    [supervise] = open_tasks(env, case_id, "supervise_intake")
    assert (supervise.org_unit_id, supervise.role) == (org.units["city_xf"], Role.reviewer)
    assert supervise.id in inbox_ids(env, org, "city_rev")
    assert case_data(env, case_id)["intake_overdue"] is True
    assert [t.id for t in open_tasks(env, case_id, "intake")] == [intake.id]  # still open
    assert intake.id in inbox_ids(env, org, "city_cw")
    [fired] = [e for e in case_history(env, case_id) if e.action == "timer"]
    assert (fired.step_id, fired.data["due"]) == ("intake_timer", due.isoformat())
    assert run_due_timers(env) == 0  # fires once

    act(env, org, case_id, "supervise_intake", "city_rev", supervision("intake"), "已电话催办",
        refused=("city_cw", "d1_rev"))
    act(env, org, case_id, "intake", "city_cw", {"intake_outcome": "受理"})
    data = case_data(env, case_id)
    assert (data["intake_overdue"], data["intake_decided_on"]) == (True, "2026-03-18")


def test_handling_past_60_days_is_supervised_once_even_after_a_return(env, org, clock):
    case_id = register(env, org)
    act(env, org, case_id, "intake", "city_cw", {"intake_outcome": "受理"})  # 2026-03-02
    due = at("2026-05-02", 0)  # 2026-03-02 + 60 days = 2026-05-01, end of day
    [handle] = open_tasks(env, case_id, "handle")
    assert handle.due_at == due

    assert fire_at(env, clock, due - SECOND) == 0
    assert all_tasks(env, case_id, "supervise_handling") == []
    assert fire_at(env, clock, due + SECOND) == 1
    [supervise] = open_tasks(env, case_id, "supervise_handling")
    assert (supervise.org_unit_id, supervise.role) == (org.units["city_xf"], Role.reviewer)
    assert [t.id for t in open_tasks(env, case_id, "handle")] == [handle.id]
    assert case_data(env, case_id)["handling_overdue"] is True

    # handled late, returned by the reviewer: the re-opened 办理 is overdue at once, but the
    # section chief already has the 督办 of this deadline, so no second one is created
    act(env, org, case_id, "handle", "city_cw", HANDLE_DONE)
    act(env, org, case_id, "review", "city_rev", {"review_decision": "退回", "review_opinion": "补充"})
    [again] = open_tasks(env, case_id, "handle")
    assert again.id != handle.id and again.due_at == due
    assert run_due_timers(env) == 0
    assert len(all_tasks(env, case_id, "supervise_handling")) == 1
    act(env, org, case_id, "supervise_handling", "city_rev", supervision("handling"))
    assert [t.status for t in all_tasks(env, case_id, "supervise_handling")] == [TaskStatus.completed]


def test_approved_extension_moves_the_handling_timer(env, org, clock):
    case_id = register(env, org)
    assign_petition(env, org, case_id)
    old_due, new_due = at("2026-05-02", 0), at("2026-06-01", 0)  # 2026-05-01 + 30 = 2026-05-31

    clock.set(at("2026-04-27"))
    act(env, org, case_id, "handle", "d1_cw",
        {"handling_action": "申请延期", "extension_days": 30, "extension_reason": "需向原部队调取档案"})
    [approval] = open_tasks(env, case_id, "approve_extension")
    assert approval.due_at == old_due
    act(env, org, case_id, "approve_extension", "d1_lead", {"extension_decision": "同意"})
    [handle] = open_tasks(env, case_id, "handle")
    assert handle.due_at == new_due

    assert fire_at(env, clock, old_due + SECOND) == 0
    assert fire_at(env, clock, new_due - SECOND) == 0
    assert all_tasks(env, case_id, "supervise_handling") == []
    assert fire_at(env, clock, new_due + SECOND) == 1
    [supervise] = open_tasks(env, case_id, "supervise_handling")
    assert supervise.org_unit_id == org.units["d1"] and supervise.id in inbox_ids(env, org, "d1_rev")
    assert supervise.id not in inbox_ids(env, org, "city_rev")
    assert [t.id for t in open_tasks(env, case_id, "handle")] == [handle.id]


def test_deadlines_crossing_into_2027_are_calendar_days_and_not_provisional(env, org, clock):
    # 15/60/30 are "日" (calendar days): no holiday data is involved, so nothing is provisional,
    # although 2027 has no official holiday schedule yet (a working-day rule would be provisional).
    assert not env.calendar.year_is_official(2027)
    assert env.calendar.add_working_days(date(2026, 12, 1), 40).provisional is True
    clock.set(at("2026-11-29", 10))
    case_id = register(env, org)
    [intake] = open_tasks(env, case_id, "intake")
    assert (intake.due_at, intake.due_provisional) == (at("2026-12-15", 0), False)

    clock.set(at("2026-12-01"))
    assign_petition(env, org, case_id)
    [handle] = open_tasks(env, case_id, "handle")
    assert (handle.due_at, handle.due_provisional) == (at("2027-01-31", 0), False)
    data = case_data(env, case_id)
    assert (data["handling_due_on"], data["handling_due_at_provisional"]) == ("2027-01-30", False)

    clock.set(at("2027-01-20"))
    act(env, org, case_id, "handle", "d1_cw",
        {"handling_action": "申请延期", "extension_days": 30, "extension_reason": "春节前后无法约谈"})
    act(env, org, case_id, "approve_extension", "d1_lead", {"extension_decision": "同意"})
    [handle] = open_tasks(env, case_id, "handle")
    assert (handle.due_at, handle.due_provisional) == (at("2027-03-02", 0), False)
    assert fire_at(env, clock, at("2027-03-02", 0) - SECOND) == 0
    assert fire_at(env, clock, at("2027-03-02", 0)) == 1  # met while now < due_at
    assert len(open_tasks(env, case_id, "supervise_handling")) == 1


def test_a_late_extension_gives_a_new_deadline_that_is_supervised_again(env, org, clock):
    case_id = register(env, org)
    act(env, org, case_id, "intake", "city_cw", {"intake_outcome": "受理"})  # due 2026-05-01
    assert fire_at(env, clock, at("2026-05-02", 0) + SECOND) == 1
    clock.set(at("2026-05-03"))
    act(env, org, case_id, "handle", "city_cw",
        {"handling_action": "申请延期", "extension_days": 30, "extension_reason": "需补充鉴定"})
    act(env, org, case_id, "approve_extension", "city_lead", {"extension_decision": "同意"},
        refused=("d1_lead",))
    new_due = at("2026-06-01", 0)  # 2026-05-01 + 30 = 2026-05-31
    assert open_tasks(env, case_id, "handle")[0].due_at == new_due
    assert case_data(env, case_id)["handling_overdue"] is False
    assert fire_at(env, clock, new_due - SECOND) == 0
    assert fire_at(env, clock, new_due + SECOND) == 1
    assert len(all_tasks(env, case_id, "supervise_handling")) == 2
