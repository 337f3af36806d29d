"""困难帮扶（专项困难补助） as a declarative package (bpmn/hardship_aid, no Python): the amount from
its DMN table, the cap, at most two applications a year and the petition exclusion (named queries),
the publicity timer, each step by the right role at the right level, in alternating engines."""
from __future__ import annotations

from datetime import timedelta

import pytest

from engine.errors import FormInvalid, PermissionDenied
from engine.models import InstanceStatus
from engine.runtime import cancel_case, case_data, start_case, terminate_case
from engine.worker import run_due_timers
from tests.factories import build_org_with_sections, case_row, deploy_dir, open_tasks, register_petition
from tests.package_helpers import BPMN, Alternating, deploy_key
from workflows.indicators import report

KEY = "hardship_aid"
ID = "320621196502030012"
APPLY = {"applicant_name": "赵志刚", "id_number": ID, "hardship_type": "因病", "difficulty_level": "较重困难",
         "situation": "本人患慢性病，医疗支出较大", "apply_date": "2026-03-02"}


@pytest.fixture
def org(env):
    org = build_org_with_sections(env)
    deploy_key(env, KEY)
    return org


def _start(env, org, **data):
    return start_case(env, KEY, org.actor("v1_cw"), org.units["v1"], {**APPLY, **data}).instance_id


def _to_approval(run, case_id):
    run.act(case_id, "village_check", "v1_cw", {"village_decision": "符合"}, refused=("t1_cw",))
    run.act(case_id, "town_visit", "t1_cw", {"visit_date": "2026-03-04", "visit_result": "属实",
                                             "visit_note": "情况属实"}, refused=("t2_cw", "v1_cw"))


def test_aid_runs_from_village_to_follow_up_with_the_amount_from_the_table_and_the_cap(env, org):
    run = Alternating(env, org)
    case_id = _start(env, org)
    assert case_row(env, case_id).title == "专项困难补助：赵志刚（较重困难）"
    _to_approval(run, case_id)
    assert case_data(env, case_id)["standard_amount"] == 4000  # aid_standard.dmn: 较重困难
    with pytest.raises(FormInvalid) as over:
        run.act(case_id, "district_approval", "d1_lead", {"approval_decision": "批准", "approved_amount": 6000})
    assert over.value.errors == {"approved_amount": "批准金额6000元超过每次补助上限5000元"}
    run.act(case_id, "district_approval", "d1_lead", {"approval_decision": "批准", "approved_amount": 4000},
            refused=("d1_rev", "d1_cw"))
    [publicity] = open_tasks(env, case_id, "publicity")
    assert publicity.org_unit_id == org.units["v1"] and publicity.due_at is not None
    env.clock.set(publicity.due_at + timedelta(seconds=1))  # 7 days without objection
    assert run_due_timers(run.envs[1]) == 1
    run.act(case_id, "payment", "d1_cw", {"pay_amount": 4000, "pay_date": "2026-03-20", "voucher_no": "KN-1"},
            refused=("t1_cw", "d2_cw"))
    run.act(case_id, "follow_up", "t1_cw", {"follow_up_date": "2026-04-01", "follow_up_note": "已用于治疗"})
    assert case_row(env, case_id).status == InstanceStatus.completed

    found = report(env, org.actor("d1_lead").id)
    rows = {r.label: r for s in found.sections if s.key == KEY for r in s.rows}
    assert (rows["批准率"].value, rows["批准率"].basis) == ("100.0%", "1/1")
    assert (rows["发放金额合计（元）"].value, rows["发放金额合计（元）"].basis) == ("4,000.00", "1 件")


def test_a_leader_of_another_district_or_a_reviewer_may_not_approve(env, org):
    case_id = _start(env, org)
    _to_approval(Alternating(env, org), case_id)
    [task] = open_tasks(env, case_id, "district_approval")
    assert task.org_unit_id == org.units["d1"]
    from engine.runtime import complete_task
    for user in ("d1_rev", "t1_cw"):
        with pytest.raises(PermissionDenied):
            complete_task(env, task.id, org.actor(user), {"approval_decision": "批准", "approved_amount": 1})


def test_at_most_two_applications_a_year_and_withdrawn_ones_do_not_count(env, org):
    first = _start(env, org)
    cancel_case(env, first, org.actor("v1_cw"), "填报有误，重新申请")
    _start(env, org)
    _start(env, org)
    with pytest.raises(FormInvalid) as refused:
        _start(env, org)
    assert refused.value.errors == {"id_number": "该人员本年度已申请专项困难补助2次，每年至多2次"}
    env.clock.advance(timedelta(days=365))  # a new year
    _start(env, org)


def test_a_petition_terminated_in_the_last_two_years_excludes_the_applicant(env, org):
    deploy_dir(env, "petition", BPMN / "petition")
    petition = register_petition(env, org, id_number=ID)
    _start(env, org)  # a running petition does not exclude
    terminate_case(env, petition, org.actor("admin"), "反复缠访、扰乱秩序，终止办理")
    with pytest.raises(FormInvalid) as refused:
        _start(env, org)
    assert "近2年有信访事项被终止办理" in refused.value.errors["id_number"]
    env.clock.advance(timedelta(days=366 * 2))
    _start(env, org)


def test_an_upheld_objection_ends_the_case_without_payment(env, org):
    run = Alternating(env, org)
    case_id = _start(env, org)
    _to_approval(run, case_id)
    run.act(case_id, "district_approval", "d1_lead", {"approval_decision": "批准", "approved_amount": 3000})
    run.act(case_id, "publicity", "v1_cw", {"publicity_result": "异议成立", "publicity_note": "家庭收入不实"})
    assert case_row(env, case_id).status == InstanceStatus.completed
    assert open_tasks(env, case_id, "payment") == []
