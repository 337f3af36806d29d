"""重点优抚对象“一户一案”宜居关爱: a household's case as village, town, district and city staff work it.

The org tree is tests.factories.build_org_with_sections: village v1 under town t1 under district d1
under the city, whose 优抚科 is city.yf. Settings default to cap 50000, leader threshold 30000,
publicity 7 days (workflows/home_renovation/hooks.py).
"""
from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any
from uuid import UUID

import pytest
from lxml import etree
from sqlalchemy import select

from engine.calendar import BusinessCalendar, default_calendar, to_local_date
from engine.checks import check_process
from engine.errors import FormInvalid, PermissionDenied
from engine.history import verify_chain
from engine.inbox import inbox
from engine.models import HistoryEvent, HumanTask, InstanceStatus, ProcessInstance, Role, TaskStatus
from engine.persistence import load_state
from engine.runtime import StepResult, case_data, complete_task, start_case
from engine.worker import run_due_timers
from tests.factories import Org, build_org_with_sections, deploy_dir
from webapp.diagram import render_svg
from workflows import get_process
from workflows.home_renovation.indicators import compute

KEY = "home_renovation"
BPMN_DIR = Path(__file__).resolve().parents[2] / "bpmn" / KEY

START = {
    "household_head": "张建国", "id_number": "320621194503120010", "phone": "13912345678",
    "beneficiary_category": "伤残军人", "address": "幸福社区3组12号", "household_size": 2,
    "housing_condition": "老旧平房，屋面漏雨，卫生间无扶手", "needs": "屋面防水、卫生间适老化改造",
    "screening_photos": [101, 102], "screening_date": "2026-03-02",
}
VISIT_OK = {"visit_date": "2026-03-03", "survey": "情况属实，住房存在安全隐患", "eligibility": "符合条件"}
DISTRICT_PASS = {"district_decision": "通过"}
CITY_OK = {"city_decision": "同意"}
LEADER_OK = {"leader_decision": "同意"}
OBJECTION = {"publicity_action": "登记异议", "objector": "李四", "objection_date": "2026-03-04",
             "objection_content": "该户子女有住房，不应享受改造补助"}
FOLLOW_UP = {"follow_up_date": "2026-06-10", "satisfaction": "满意", "follow_up_note": "居住安全方便"}


def plan(budget: float = 28000, **overrides: Any) -> dict[str, Any]:
    data = {"items": "屋面防水维修\n卫生间适老化改造", "budget": budget,
            "contractor": "海安建安工程有限公司", "planned_start": "2026-04-01",
            "planned_finish": "2026-05-15"}
    data.update(overrides)
    return data


def progress(percent: int) -> dict[str, Any]:
    return {"report_date": "2026-05-10", "progress_percent": percent,
            "progress_note": f"完成{percent}%", "progress_photos": [201]}


def sign(result: str = "合格", name: str = "签字人") -> dict[str, Any]:
    data = {"acceptance_result": result, "signer_name": name, "sign_date": "2026-05-20"}
    if result == "不合格":
        data["acceptance_note"] = "卫生间扶手安装不牢固"
    return data


def payment(amount: float) -> dict[str, Any]:
    return {"pay_amount": amount, "pay_date": "2026-05-28", "payee": "海安建安工程有限公司",
            "voucher_no": "HA-2026-0001"}


# ----------------------------------------------------------------------------- helpers

@pytest.fixture
def org(env: Any) -> Org:
    built = build_org_with_sections(env)
    deploy_dir(env, KEY, BPMN_DIR)
    return built


def start(env: Any, org: Org, **overrides: Any) -> int:
    return start_case(env, KEY, org.actor("v1_cw"), org.units["v1"], {**START, **overrides}).instance_id


def open_rows(env: Any, case_id: int, step: str | None = None) -> list[HumanTask]:
    with env.db.read() as s:
        stmt = select(HumanTask).where(HumanTask.instance_id == case_id,
                                       HumanTask.status.in_((TaskStatus.open, TaskStatus.claimed)))
        if step:
            stmt = stmt.where(HumanTask.step_id == step)
        return list(s.scalars(stmt.order_by(HumanTask.id)))


def the_row(env: Any, case_id: int, step: str) -> HumanTask:
    rows = open_rows(env, case_id, step)
    assert [r.step_id for r in open_rows(env, case_id)] == [step] * len(rows), "other steps are open"
    assert len(rows) == 1, f"expected one open {step} task, found {len(rows)}"
    return rows[0]


def do(env: Any, org: Org, user: str, case_id: int, step: str, data: dict[str, Any],
       opinion: str | None = None) -> StepResult:
    """`user` completes the case's one open task of `step`, which must be in their inbox."""
    row = the_row(env, case_id, step)
    actor = org.actor(user)
    assert row.id in [t.id for t in inbox(env, actor.id, per_page=100).items]
    return complete_task(env, row.id, actor, data, opinion)


def task_data(env: Any, row: HumanTask) -> dict[str, Any]:
    """The task data of one task (multi-instance tasks carry their own `signer`)."""
    with env.db.read() as s:
        instance = s.get(ProcessInstance, row.instance_id)
        assert instance is not None
        parsed = env.specs.get(s, instance.definition_id)
        wf = load_state(instance.state, parsed.spec, parsed.subprocess_specs, env.script_engine)
    return dict(wf.get_task_from_id(UUID(row.spiff_task_id)).data)


def publicity_end(env: Any, days: int = 7) -> Any:
    """The instant publicity ends when approved today: the end of the n-th day after today."""
    return BusinessCalendar.deadline_end(to_local_date(env.clock.now()) + timedelta(days=days))


def to_publicity(env: Any, org: Org, budget: float = 28000) -> int:
    case_id = start(env, org)
    do(env, org, "t1_cw", case_id, "home_visit", VISIT_OK)
    do(env, org, "t1_cw", case_id, "make_plan", plan(budget))
    do(env, org, "d1_rev", case_id, "district_review", DISTRICT_PASS, "资格、预算符合规定")
    do(env, org, "city_yf_rev", case_id, "city_approval", CITY_OK, "同意")
    if open_rows(env, case_id, "leader_approval"):
        do(env, org, "city_lead", case_id, "leader_approval", LEADER_OK, "同意")
    the_row(env, case_id, "publicity")
    return case_id


def expire_publicity(env: Any, case_id: int, clock: Any) -> None:
    row = the_row(env, case_id, "publicity")
    clock.set(row.due_at)
    assert run_due_timers(env) == 1


def to_acceptance(env: Any, org: Org, clock: Any, budget: float = 28000) -> int:
    case_id = to_publicity(env, org, budget)
    expire_publicity(env, case_id, clock)
    do(env, org, "t1_cw", case_id, "construction", progress(100))
    assert len(open_rows(env, case_id, "acceptance")) == 3
    return case_id


def sign_all(env: Any, org: Org, case_id: int, results: dict[str, str],
             order: tuple[str, ...] = ("district", "town", "household")) -> None:
    """Each party signs its own acceptance task, in `order`; stops when the case moves on."""
    users = {"household": "t1_cw", "town": "t1_cw", "district": "d1_cw"}
    for party in order:
        rows = {task_data(env, r)["signer"]["party"]: r for r in open_rows(env, case_id, "acceptance")}
        if party not in rows:
            return
        complete_task(env, rows[party].id, org.actor(users[party]), sign(results.get(party, "合格")))


# ----------------------------------------------------------------------------- definition

def test_definition_passes_the_workflows_check_and_draws_every_element():
    report = check_process(KEY, BPMN_DIR.parent, get_process(KEY), default_calendar())
    assert (report.problems, report.completed) == ([], True)
    xml = (BPMN_DIR / f"{KEY}.bpmn").read_bytes()
    root = etree.fromstring(xml)
    ns = {"bpmn": "http://www.omg.org/spec/BPMN/20100524/MODEL",
          "bpmndi": "http://www.omg.org/spec/BPMN/20100524/DI"}
    process = root.find("bpmn:process", ns)
    nodes = [el for el in process if etree.QName(el).localname not in ("laneSet", "sequenceFlow")]
    flows = process.findall("bpmn:sequenceFlow", ns)
    shapes = {el.get("bpmnElement") for el in root.iterfind(".//bpmndi:BPMNShape", ns)}
    edges = {el.get("bpmnElement") for el in root.iterfind(".//bpmndi:BPMNEdge", ns)}
    assert [n.get("id") for n in nodes if not n.get("name")] == []
    assert {n.get("id") for n in nodes} - shapes == set()
    assert {f.get("id") for f in flows} - edges == set()
    lanes = process.findall("bpmn:laneSet/bpmn:lane", ns)
    assert [lane.get("name") for lane in lanes] == ["经办人", "审核人", "领导"]
    assert {lane.get("id") for lane in lanes} <= shapes
    svg = render_svg(xml, KEY, current=["publicity"])
    assert "村（社区）公示" in svg and "公示期满无异议" in svg


# ----------------------------------------------------------------------------- main path

def test_household_goes_from_screening_to_archive_by_the_right_people(env, org, clock):
    u = org.units
    case_id = start(env, org)
    with env.db.read() as s:
        instance = s.get(ProcessInstance, case_id)
        assert instance.case_no.startswith("YJ2026-")
        assert (instance.title, instance.subject_id_no) == ("张建国户宜居改造（伤残军人）", START["id_number"])
    expected = [  # step, user, unit, role
        ("home_visit", "t1_cw", "t1", Role.caseworker, VISIT_OK),
        ("make_plan", "t1_cw", "t1", Role.caseworker, plan(28000)),
        ("district_review", "d1_rev", "d1", Role.reviewer, DISTRICT_PASS),
        ("city_approval", "city_yf_rev", "city_yf", Role.reviewer, CITY_OK),
    ]
    for step, user, unit, role, data in expected:
        row = the_row(env, case_id, step)
        assert (row.org_unit_id, row.role) == (u[unit], role), step
        assert row.id not in [t.id for t in inbox(env, org.actor("t2_cw").id).items]
        do(env, org, user, case_id, step, data)
        clock.advance(timedelta(days=1))

    row = the_row(env, case_id, "publicity")  # no leader: 28000 is not above 30000
    assert (row.org_unit_id, row.role) == (u["v1"], Role.caseworker)
    expire_publicity(env, case_id, clock)

    row = the_row(env, case_id, "construction")
    assert (row.org_unit_id, row.role) == (u["t1"], Role.caseworker)
    assert row.due_at == BusinessCalendar.deadline_end(date(2026, 5, 15))  # the planned finish
    do(env, org, "t1_cw", case_id, "construction", progress(60))
    do(env, org, "t1_cw", case_id, "construction", progress(100))

    rows = open_rows(env, case_id, "acceptance")
    parties = {task_data(env, r)["signer"]["party"]: (r.org_unit_id, r.role) for r in rows}
    assert parties == {"household": (u["t1"], Role.caseworker), "town": (u["t1"], Role.caseworker),
                       "district": (u["d1"], Role.caseworker)}
    sign_all(env, org, case_id, {})

    row = the_row(env, case_id, "payment")
    assert (row.org_unit_id, row.role) == (u["d1"], Role.caseworker)
    do(env, org, "d1_cw", case_id, "payment", payment(28000))
    row = the_row(env, case_id, "follow_up")
    assert row.org_unit_id == u["t1"]
    result = do(env, org, "t1_cw", case_id, "follow_up", FOLLOW_UP)

    assert result.status == InstanceStatus.completed
    data = case_data(env, case_id)
    assert {s["party"] for s in data["signatures"]} == {"household", "town", "district"}
    assert [p["percent"] for p in data["progress_log"]] == [60, 100]
    assert (data["screening_photos"], data["visit_date"]) == (START["screening_photos"], "2026-03-03")
    with env.db.read() as s:
        assert verify_chain(s, case_id).ok
        steps = s.scalars(select(HistoryEvent.step_id).where(
            HistoryEvent.instance_id == case_id, HistoryEvent.action == "timer")).all()
    assert steps == ["publicity_expired"]


def test_start_only_at_a_village_by_its_caseworker(env, org):
    with pytest.raises(PermissionDenied):
        start_case(env, KEY, org.actor("t1_cw"), org.units["t1"], START)
    with pytest.raises(PermissionDenied):
        start_case(env, KEY, org.actor("t1_cw"), org.units["v1"], START)
    with pytest.raises(FormInvalid) as err:
        start(env, org, id_number="320621194503120011")
    assert "id_number" in err.value.errors


# ----------------------------------------------------------------------------- branches

def test_home_visit_finds_household_ineligible_and_the_case_ends_with_the_reason(env, org):
    case_id = start(env, org)
    with pytest.raises(FormInvalid) as err:
        do(env, org, "t1_cw", case_id, "home_visit", {**VISIT_OK, "eligibility": "不符合条件"})
    assert err.value.errors == {"ineligible_reason": "请填写不符合条件的原因"}
    result = do(env, org, "t1_cw", case_id, "home_visit",
                {**VISIT_OK, "eligibility": "不符合条件", "ineligible_reason": "已享受同类住房保障"})
    assert result.status == InstanceStatus.completed
    assert open_rows(env, case_id) == []
    data = case_data(env, case_id)
    assert (data["close_reason"], data["closed_stage"]) == ("已享受同类住房保障", "入户核查")


def test_district_returns_the_plan_to_the_town_with_an_opinion(env, org):
    case_id = start(env, org)
    do(env, org, "t1_cw", case_id, "home_visit", VISIT_OK)
    do(env, org, "t1_cw", case_id, "make_plan", plan(45000))
    do(env, org, "d1_rev", case_id, "district_review",
       {"district_decision": "退回", "district_opinion": "屋面维修报价偏高，请重新询价"}, "退回")
    row = the_row(env, case_id, "make_plan")
    assert row.org_unit_id == org.units["t1"]
    assert task_data(env, row)["district_opinion"] == "屋面维修报价偏高，请重新询价"
    do(env, org, "t1_cw", case_id, "make_plan", plan(26000))
    do(env, org, "d1_rev", case_id, "district_review", DISTRICT_PASS)
    assert the_row(env, case_id, "city_approval").org_unit_id == org.units["city_yf"]


def test_district_finds_household_ineligible_and_the_case_ends(env, org):
    case_id = start(env, org)
    do(env, org, "t1_cw", case_id, "home_visit", VISIT_OK)
    do(env, org, "t1_cw", case_id, "make_plan", plan())
    result = do(env, org, "d1_rev", case_id, "district_review",
                {"district_decision": "不符合条件", "district_opinion": "非重点优抚对象"})
    assert result.status == InstanceStatus.completed
    assert case_data(env, case_id)["closed_stage"] == "区局审核"


def test_plan_over_the_cap_or_finishing_before_it_starts_is_refused(env, org):
    case_id = start(env, org)
    do(env, org, "t1_cw", case_id, "home_visit", VISIT_OK)
    row = the_row(env, case_id, "make_plan")
    with pytest.raises(FormInvalid) as err:
        complete_task(env, row.id, org.actor("t1_cw"), plan(50000.01, planned_finish="2026-03-31"))
    assert err.value.errors == {"planned_finish": "计划竣工日期不能早于计划开工日期",
                                "budget": "预算50,000.01元超过每户上限50,000.00元"}
    complete_task(env, row.id, org.actor("t1_cw"), plan(50000))  # at the cap is allowed
    the_row(env, case_id, "district_review")


def test_district_cannot_pass_a_budget_over_a_cap_lowered_in_the_settings(env, org):
    case_id = start(env, org)
    do(env, org, "t1_cw", case_id, "home_visit", VISIT_OK)
    do(env, org, "t1_cw", case_id, "make_plan", plan(40000))
    env.settings[KEY] = {"budget_cap": 35000}
    with pytest.raises(FormInvalid) as err:
        do(env, org, "d1_rev", case_id, "district_review", DISTRICT_PASS)
    assert "超过每户上限35,000.00元" in err.value.errors["district_decision"]
    do(env, org, "d1_rev", case_id, "district_review",
       {"district_decision": "退回", "district_opinion": "预算超过上限"})
    the_row(env, case_id, "make_plan")


def test_budget_above_the_threshold_needs_the_city_leader(env, org):
    case_id = start(env, org)
    do(env, org, "t1_cw", case_id, "home_visit", VISIT_OK)
    do(env, org, "t1_cw", case_id, "make_plan", plan(30000.5))
    do(env, org, "d1_rev", case_id, "district_review", DISTRICT_PASS)
    do(env, org, "city_yf_rev", case_id, "city_approval", CITY_OK)
    row = the_row(env, case_id, "leader_approval")
    assert (row.org_unit_id, row.role) == (org.units["city"], Role.leader)
    assert "approved_budget" not in case_data(env, case_id)
    do(env, org, "city_lead", case_id, "leader_approval",
       {"leader_decision": "退回", "leader_opinion": "请核实施工单位资质"})
    do(env, org, "city_yf_rev", case_id, "city_approval", CITY_OK)
    do(env, org, "city_lead", case_id, "leader_approval", LEADER_OK)
    row = the_row(env, case_id, "publicity")
    assert case_data(env, case_id)["approved_budget"] == 30000.5
    assert row.due_at == publicity_end(env)


@pytest.mark.parametrize("budget", [30000, 12000])
def test_budget_at_or_below_the_threshold_goes_straight_to_publicity(env, org, budget):
    case_id = to_publicity(env, org, budget)
    with env.db.read() as s:
        leader_rows = s.scalars(select(HumanTask).where(HumanTask.instance_id == case_id,
                                                        HumanTask.step_id == "leader_approval")).all()
    assert leader_rows == []
    assert case_data(env, case_id)["approved_budget"] == budget


def test_city_returns_the_plan_to_district_review(env, org):
    case_id = start(env, org)
    do(env, org, "t1_cw", case_id, "home_visit", VISIT_OK)
    do(env, org, "t1_cw", case_id, "make_plan", plan())
    do(env, org, "d1_rev", case_id, "district_review", DISTRICT_PASS)
    do(env, org, "city_yf_rev", case_id, "city_approval",
       {"city_decision": "退回", "city_opinion": "缺少房屋安全鉴定"})
    assert the_row(env, case_id, "district_review").org_unit_id == org.units["d1"]


def test_leader_threshold_and_publicity_days_come_from_the_settings(env, org):
    env.settings[KEY] = {"leader_threshold": 20000, "publicity_days": 10}
    case_id = start(env, org)
    do(env, org, "t1_cw", case_id, "home_visit", VISIT_OK)
    do(env, org, "t1_cw", case_id, "make_plan", plan(28000))
    do(env, org, "d1_rev", case_id, "district_review", DISTRICT_PASS)
    do(env, org, "city_yf_rev", case_id, "city_approval", CITY_OK)
    do(env, org, "city_lead", case_id, "leader_approval", LEADER_OK)
    assert the_row(env, case_id, "publicity").due_at == publicity_end(env, 10)


def test_objection_in_publicity_goes_back_to_district_review_with_the_objection(env, org, clock):
    case_id = to_publicity(env, org)
    first_due = the_row(env, case_id, "publicity").due_at
    clock.advance(timedelta(days=2))
    do(env, org, "v1_cw", case_id, "publicity", OBJECTION, "村民提出异议")

    row = the_row(env, case_id, "district_review")
    assert (row.org_unit_id, row.role) == (org.units["d1"], Role.reviewer)
    data = task_data(env, row)
    assert data["objection_pending"] is True
    assert data["objection"]["content"] == "该户子女有住房，不应享受改造补助"
    assert data["objection"]["objector"] == "李四"
    with env.db.read() as s:
        assert s.get(ProcessInstance, case_id).next_timer_at is None
    with pytest.raises(FormInvalid) as err:
        do(env, org, "d1_rev", case_id, "district_review", DISTRICT_PASS)
    assert err.value.errors == {"district_opinion": "公示期间有异议，请填写对异议的处理意见"}

    do(env, org, "d1_rev", case_id, "district_review",
       {**DISTRICT_PASS, "district_opinion": "经核实子女另立户，异议不成立"})
    do(env, org, "city_yf_rev", case_id, "city_approval", CITY_OK)
    row = the_row(env, case_id, "publicity")  # published again, for a full new period
    assert row.due_at == publicity_end(env) > first_due
    clock.set(first_due + timedelta(hours=1))
    assert run_due_timers(env) == 0
    assert len(case_data(env, case_id)["objections"]) == 1


def test_publicity_expiring_without_objection_moves_on_to_construction(env, org, clock):
    case_id = to_publicity(env, org)
    end = publicity_end(env)
    row = the_row(env, case_id, "publicity")
    assert row.due_at == end
    assert to_local_date(end - timedelta(seconds=1)).isoformat() == "2026-03-09"
    with env.db.read() as s:
        assert s.get(ProcessInstance, case_id).next_timer_at == end

    clock.set(end - timedelta(seconds=1))
    assert run_due_timers(env) == 0
    the_row(env, case_id, "publicity")

    clock.set(end + timedelta(seconds=1))
    assert run_due_timers(env) == 1
    assert the_row(env, case_id, "construction").org_unit_id == org.units["t1"]
    with env.db.read() as s:
        assert s.get(HumanTask, row.id).status == TaskStatus.cancelled


def test_construction_reports_progress_until_complete(env, org, clock):
    case_id = to_publicity(env, org)
    expire_publicity(env, case_id, clock)
    for percent in (30, 80):
        do(env, org, "t1_cw", case_id, "construction", progress(percent))
        the_row(env, case_id, "construction")
    do(env, org, "t1_cw", case_id, "construction", progress(100))
    assert len(open_rows(env, case_id, "acceptance")) == 3
    assert [p["percent"] for p in case_data(env, case_id)["progress_log"]] == [30, 80, 100]


def test_one_party_refusing_acceptance_sends_the_case_back_to_construction(env, org, clock):
    case_id = to_acceptance(env, org, clock)
    sign_all(env, org, case_id, {"town": "不合格"}, order=("district", "town", "household"))

    row = the_row(env, case_id, "construction")  # the household's signature was not needed
    data = task_data(env, row)
    assert sorted((s["party"], s["result"]) for s in data["signatures"]) == [
        ("district", "合格"), ("town", "不合格")]
    with env.db.read() as s:
        states = s.scalars(select(HumanTask.status).where(
            HumanTask.instance_id == case_id, HumanTask.step_id == "acceptance")).all()
    assert sorted(states) == sorted([TaskStatus.completed, TaskStatus.completed, TaskStatus.cancelled])

    do(env, org, "t1_cw", case_id, "construction", progress(100))
    assert len(open_rows(env, case_id, "acceptance")) == 3
    sign_all(env, org, case_id, {}, order=("household", "district", "town"))
    the_row(env, case_id, "payment")
    data = case_data(env, case_id)
    assert [s["party"] for s in data["signatures"]] == ["household", "district", "town"]
    assert len(data["failed_acceptances"]) == 1


def test_household_refusing_acceptance_sends_the_case_back_to_construction(env, org, clock):
    case_id = to_acceptance(env, org, clock)
    sign_all(env, org, case_id, {"household": "不合格"}, order=("household", "town", "district"))
    the_row(env, case_id, "construction")


def test_payment_above_the_approved_budget_is_refused(env, org, clock):
    case_id = to_acceptance(env, org, clock, budget=28000)
    sign_all(env, org, case_id, {})
    with pytest.raises(FormInvalid) as err:
        do(env, org, "d1_cw", case_id, "payment", payment(28000.01))
    assert err.value.errors == {"pay_amount": "拨付金额28,000.01元超过批准预算28,000.00元，不能拨付"}
    assert err.value.user_message == "表单填写有误，请按提示修改。"
    the_row(env, case_id, "payment")
    do(env, org, "d1_cw", case_id, "payment", payment(28000))
    the_row(env, case_id, "follow_up")


@pytest.mark.parametrize("step, intruder", [
    ("home_visit", "t2_cw"),            # a caseworker of another town
    ("home_visit", "v1_cw"),            # the village cannot do the town's step
    ("district_review", "d1_cw"),       # the right district, the wrong role
    ("city_approval", "city_rev"),      # a reviewer of another city section (权益维护科)
    ("city_approval", "city_yf_cw"),    # the right section, the wrong role
])
def test_a_user_without_the_role_at_the_unit_is_refused(env, org, step, intruder):
    case_id = start(env, org)
    steps = {"home_visit": ("t1_cw", VISIT_OK), "make_plan": ("t1_cw", plan()),
             "district_review": ("d1_rev", DISTRICT_PASS), "city_approval": ("city_yf_rev", CITY_OK)}
    for name, (user, data) in steps.items():
        if name == step:
            break
        do(env, org, user, case_id, name, data)
    row = the_row(env, case_id, step)
    with pytest.raises(PermissionDenied):
        complete_task(env, row.id, org.actor(intruder), steps[step][1])
    assert the_row(env, case_id, step).status == TaskStatus.open


def test_a_caseworker_of_another_unit_cannot_sign_acceptance(env, org, clock):
    case_id = to_acceptance(env, org, clock)
    district_row = next(r for r in open_rows(env, case_id, "acceptance")
                        if task_data(env, r)["signer"]["party"] == "district")
    with pytest.raises(PermissionDenied):
        complete_task(env, district_row.id, org.actor("t1_cw"), sign())


# ----------------------------------------------------------------------------- indicators

def test_indicators_count_households_days_per_stage_and_money(env, org, clock):
    done = start(env, org)
    do(env, org, "t1_cw", done, "home_visit", VISIT_OK)
    clock.advance(timedelta(days=2))
    do(env, org, "t1_cw", done, "make_plan", plan(28000))
    clock.advance(timedelta(days=1))
    do(env, org, "d1_rev", done, "district_review", DISTRICT_PASS)
    do(env, org, "city_yf_rev", done, "city_approval", CITY_OK)
    expire_publicity(env, done, clock)
    clock.advance(timedelta(days=30))
    do(env, org, "t1_cw", done, "construction", progress(100))
    sign_all(env, org, done, {})
    do(env, org, "d1_cw", done, "payment", payment(27500.5))
    do(env, org, "t1_cw", done, "follow_up", FOLLOW_UP)

    pending = to_publicity(env, org, budget=12000)  # approved, not yet paid
    start(env, org)                                 # screened only, no plan yet

    with env.db.read() as s:
        ind = compute(s)
        in_d2 = compute(s, unit_id=org.units["d2"])
    assert (ind.planned, ind.accepted, ind.acceptance_rate) == (2, 1, 0.5)
    assert (ind.approved_cases, ind.approved_total) == (2, Decimal("40000"))
    assert (ind.paid_cases, ind.paid_total) == (1, Decimal("27500.5"))
    assert ind.paid_ratio == pytest.approx(27500.5 / 40000)
    stages = {st.step_id: st for st in ind.stages}
    assert stages["make_plan"].avg_days == 1.0  # 2 days for one case, 0 for the other
    assert stages["make_plan"].max_days == 2.0
    assert stages["district_review"].max_days == 1.0
    assert stages["publicity"].cases == 1 and stages["publicity"].avg_days == pytest.approx(7.625)
    assert stages["construction"].avg_days == 30.0
    assert stages["acceptance"].cases == 1
    assert [st.step_id for st in ind.stages][:3] == ["home_visit", "make_plan", "district_review"]
    assert (in_d2.planned, in_d2.stages) == (0, [])
    assert pending
