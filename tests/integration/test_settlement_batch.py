"""Soldier files by the batch, the handover indicators, and the process definition check."""
from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from engine.checks import check_process
from engine.errors import FormInvalid
from engine.models import ProcessInstance
from engine.runtime import case_data
from engine.worker import run_due_timers
from tests.conftest import ROOT
from tests.factories import (act, beijing, file_to_report_in, open_tasks, setup_settlement,
                             soldier_file)
from workflows import get_process
from workflows.settlement_handover.batch import register_batch
from workflows.settlement_handover.indicators import handover_indicators

KEY = "settlement_handover"
REPORT_DEADLINE_END = beijing("2026-03-24", 0)   # discharged 2026-02-20: day 30 (Sun 03-22) rolls to 03-23
FORFEIT_DEADLINE_END = beijing("2026-04-23", 0)  # 30 more days
SECOND = timedelta(seconds=1)


def files(*serials: int) -> list[dict[str, Any]]:
    return [{k: v for k, v in soldier_file(n).items() if k != "batch_no"} for n in serials]


def test_a_batch_registers_one_case_per_file_under_its_batch_number(env):
    org = setup_settlement(env, KEY)
    started = register_batch(env, org.actor("ya_cw"), org.units["city_ya"], "2026-03-2", files(1, 2, 3))
    assert len({r.case_no for r in started}) == 3
    for result, expected in zip(started, files(1, 2, 3)):
        data = case_data(env, result.instance_id)
        assert data["batch_no"] == "2026-03-2" and data["id_number"] == expected["id_number"]
        assert len(open_tasks(env, result.instance_id, "joint_unsealing")) == 3


def test_a_batch_with_a_bad_or_duplicate_file_registers_nothing(env):
    org = setup_settlement(env, KEY)
    actor, unit = org.actor("ya_cw"), org.units["city_ya"]
    bad = files(1, 2, 1, 3)
    bad[1]["id_number"] = "320602199805120020"  # wrong check digit
    bad[3]["discharge_approved_on"] = "2026-03-03"  # tomorrow
    with pytest.raises(FormInvalid) as refused:
        register_batch(env, actor, unit, "2026-03-2", bad)
    assert refused.value.errors == {"files[1].id_number": "身份证号码格式或校验位不正确",
                                    "files[2].id_number": "与第 1 份档案身份证号重复",
                                    "files[3].discharge_approved_on": "日期不能晚于今天"}
    with env.db.read() as s:
        assert s.query(ProcessInstance).count() == 0
    [first] = register_batch(env, actor, unit, "2026-03-2", files(1))
    with pytest.raises(FormInvalid) as again:
        register_batch(env, actor, unit, "2026-03-3", files(4, 1))
    assert again.value.errors == {"files[1].id_number": f"该身份证号已有档案案件 {first.case_no}"}


def test_indicators_count_handovers_late_reports_and_forfeits(env, clock):
    org = setup_settlement(env, KEY)
    on_time = file_to_report_in(env, org, serial=1)
    late = file_to_report_in(env, org, serial=2)
    gave_up = file_to_report_in(env, org, serial=3)
    recorded_late = file_to_report_in(env, org, serial=4)
    act(env, org, on_time, "report_in", "d1_cw", {"reported_on": "2026-03-02"})
    clock.set(REPORT_DEADLINE_END + SECOND)
    assert run_due_timers(env) == 3
    clock.set(beijing("2026-04-01"))
    act(env, org, late, "late_report", "d1_cw", {"reported_on": "2026-03-31", "good_reason": False})
    # reported on the (rolled) last day, registered after the clock ran out: 0 days late, on time
    act(env, org, recorded_late, "late_report", "d1_cw", {"reported_on": "2026-03-23"})
    data = case_data(env, recorded_late)
    assert (data["reported_late"], data["days_late"], data["report_outcome"]) == (False, 0, "按期报到")
    clock.set(FORFEIT_DEADLINE_END + SECOND)
    assert run_due_timers(env) == 1
    act(env, org, gave_up, "forfeit_confirm", "d1_lead",
        {"forfeit_decision": "视为放弃安置待遇", "forfeit_reason": "无正当理由逾期未报到"})
    with env.db.read() as s:
        numbers = handover_indicators(s)
        march = handover_indicators(s, until=beijing("2026-04-01", 0))
    assert (numbers.files_registered, numbers.files_handed_over) == (4, 4)
    assert (numbers.reported_on_time, numbers.report_deadline_missed, numbers.reported_late) == (2, 3, 1)
    assert numbers.gave_up_benefits == 1 and numbers.queries_sent == 0 and numbers.archived == 0
    assert (march.reported_late, march.gave_up_benefits, march.report_deadline_missed) == (0, 0, 3)


def test_the_definition_passes_the_workflows_check(env):
    report = check_process(KEY, ROOT / "bpmn", get_process(KEY), env.calendar)
    assert report.ok, report.problems
    assert report.completed and report.steps_run >= 10
