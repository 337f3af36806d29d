"""Home renovation is a complete process package: bpmn/home_renovation/ passes the full package check,
and deployed from the database under a key no Python serves, it runs a household from screening to
archive by the right people — routing, the leader threshold, publicity, the countersign, the money
checks and its 统计指标 all from process.toml — with the spec cache dropped and two engines alternating."""
from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from engine.calendar import default_calendar
from engine.errors import DefinitionError, FormInvalid
from engine.forms import load_form, opinion_field
from engine.indicators import Scope, section
from engine.models import InstanceStatus, Role
from engine.packages.hooks import ManifestHooks
from engine.packages.loader import check_package
from engine.packages.package import from_files
from engine.packages.store import deploy_package
from engine.runtime import case_data, complete_task, start_case
from engine.worker import run_due_timers
from tests.factories import build_org_with_sections, case_row, open_tasks
from tests.package_helpers import BPMN, Alternating

KEY = "hr_package"
START = {"household_head": "张建国", "id_number": "320621194503120010", "beneficiary_category": "伤残军人",
         "address": "幸福社区3组12号", "housing_condition": "老旧平房，屋面漏雨", "needs": "屋面防水",
         "screening_date": "2026-03-02"}
PLAN = {"items": "屋面防水维修", "budget": 32000, "contractor": "海安建安工程有限公司",
        "planned_start": "2026-04-01", "planned_finish": "2026-05-15"}
SIGN = {"acceptance_result": "合格", "signer_name": "签字人", "sign_date": "2026-05-20"}


def folder_files(key: str = "home_renovation") -> dict[str, bytes]:
    root = BPMN / "home_renovation"
    files = {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}
    text = files["process.toml"].decode()
    files["process.toml"] = text.replace('key = "home_renovation"', f'key = "{key}"', 1).encode()
    return files


def test_the_folder_passes_the_full_package_check_with_no_python_hook():
    config = check_package(from_files(folder_files("home_renovation")), default_calendar())
    for hook in (config.assign, config.on_start, config.on_complete, config.summarize, config.task_label):
        assert isinstance(getattr(hook, "__self__", None), ManifestHooks)
    assert config.due_keys == {"publicity": "publicity_due_at", "construction": "construction_due_at"}
    assert config.indicators is not None and config.indicators.order == 20


@pytest.fixture
def org(env: Any) -> Any:
    built = build_org_with_sections(env)
    with env.db.write() as s:
        deploy_package(s, from_files(folder_files(KEY)), env.calendar, env.clock.now())
    return built


def test_a_household_runs_from_the_package_alone(env, org, clock):
    run = Alternating(env, org)
    u = org.units
    case_id = start_case(env, KEY, org.actor("v1_cw"), u["v1"], START).instance_id
    row = case_row(env, case_id)
    assert row.case_no.startswith("YJ") and row.title == "张建国户宜居改造（伤残军人）"
    run.act(case_id, "home_visit", "t1_cw", {"visit_date": "2026-03-03", "survey": "属实", "eligibility": "符合条件"},
            refused=("t2_cw", "v1_cw"))
    [plan_row] = open_tasks(env, case_id, "make_plan")
    with pytest.raises(FormInvalid) as err:
        complete_task(env, plan_row.id, org.actor("t1_cw"), {**PLAN, "budget": 60000, "planned_finish": "2026-03-01"})
    assert err.value.errors == {"planned_finish": "计划竣工日期不能早于计划开工日期",
                                "budget": "预算60,000.00元超过每户上限50,000.00元"}
    run.act(case_id, "make_plan", "t1_cw", PLAN)
    run.act(case_id, "district_review", "d1_rev", {"district_decision": "通过"}, refused=("d1_cw",))
    run.act(case_id, "city_approval", "city_yf_rev", {"city_decision": "同意"}, refused=("city_rev", "city_yf_cw"))
    [leader] = open_tasks(env, case_id, "leader_approval")  # 32000 is above the 30000 threshold
    assert (leader.org_unit_id, leader.role) == (u["city"], Role.leader)
    run.act(case_id, "leader_approval", "city_lead", {"leader_decision": "同意"}, refused=("d1_lead",))
    assert case_data(env, case_id)["approved_budget"] == 32000

    [publicity] = open_tasks(env, case_id, "publicity")
    assert publicity.org_unit_id == u["v1"] and publicity.due_at is not None
    clock.set(publicity.due_at)
    assert run_due_timers(env) == 1
    run.act(case_id, "construction", "t1_cw", {"report_date": "2026-05-15", "progress_percent": 100,
                                              "progress_note": "全部完工"}, refused=("t2_cw",))
    signing = open_tasks(env, case_id, "acceptance")
    assert sorted(t.org_unit_id for t in signing) == sorted([u["t1"], u["t1"], u["d1"]])
    assert sorted(t.step_name.rsplit("：", 1)[-1] for t in signing) == ["区局", "户主", "镇（街道）"]
    for task in signing:
        user = "d1_cw" if task.org_unit_id == u["d1"] else "t1_cw"
        complete_task(run.env, task.id, org.actor(user), SIGN)
    [pay] = open_tasks(env, case_id, "payment")
    with pytest.raises(FormInvalid) as err:
        complete_task(env, pay.id, org.actor("d1_cw"), {"pay_amount": 32000.5, "pay_date": "2026-05-28",
                                                        "payee": "海安建安", "voucher_no": "HA-1"})
    assert err.value.errors == {"pay_amount": "拨付金额32,000.50元超过批准预算32,000.00元，不能拨付"}
    run.act(case_id, "payment", "d1_cw", {"pay_amount": 30000, "pay_date": "2026-05-28", "payee": "海安建安",
                                         "voucher_no": "HA-1"}, refused=("t1_cw",))
    clock.advance(timedelta(days=3))
    run.act(case_id, "follow_up", "t1_cw", {"follow_up_date": "2026-06-10", "satisfaction": "满意",
                                           "follow_up_note": "居住安全"})
    assert case_row(env, case_id).status == InstanceStatus.completed
    data = case_data(env, case_id)
    assert [s["party"] for s in data["signatures"]] and {s["result"] for s in data["signatures"]} == {"合格"}
    assert data["archived_on"] and data["progress_log"][0]["percent"] == 100

    declared = env.process(KEY).indicators
    with env.db.read() as s:
        rows = section(Scope(s, u["city"], None, None, clock.now(), lambda key: {}), KEY, declared).rows
        in_d2 = section(Scope(s, u["d2"], None, None, clock.now(), lambda key: {}), KEY, declared).rows
    got = {r.label: (r.value, r.basis) for r in rows}
    assert got["验收通过率"] == ("100.0%", "1/1")
    assert got["批准资金"] == ("32,000.00 元", "1 户")
    assert got["已拨付资金"] == ("30,000.00 元", "1 户")
    assert got["拨付比例"] == ("93.8%", "30,000.00/32,000.00")
    assert [r.label for r in rows][4:6] == ["环节用时：入户核查", "环节用时：制定改造方案（一户一案）"]
    assert got["环节用时：回访"] == ("3.0 天", "1 户")
    assert {r.label: r.value for r in in_d2}["验收通过率"] == "—"


@pytest.mark.parametrize("old, new, element, zh", [
    ('step = "payment"\nfield = "pay_amount"', 'step = "pay"\nfield = "pay_amount"', "rules.limits[4].step",
     "第 4 条 rules.limits 引用的环节“pay”在流程图中不存在"),
    ('above = "leader_threshold"', 'above = "leader_limit"', "rules.thresholds[1].above",
     "第 1 条 rules.thresholds 引用的设置项“leader_limit”未在 [settings] 中定义"),
])
def test_a_rule_naming_a_missing_step_or_setting_is_refused_with_its_line(old, new, element, zh):
    files = folder_files()
    text = files["process.toml"].decode()
    assert text.count(old) == 1
    files["process.toml"] = text.replace(old, new).encode()
    with pytest.raises(DefinitionError) as err:
        check_package(from_files(files), default_calendar())
    assert (err.value.file, err.value.element) == ("process.toml", element)
    assert zh in err.value.user_message
    header = text.splitlines()[err.value.line - 1]
    assert header.startswith("[[rules.") and new.split("\n")[0] in "\n".join(
        files["process.toml"].decode().splitlines()[err.value.line - 1:err.value.line + 6])


def test_the_package_forms_mark_each_steps_own_opinion():
    """The x-opinion fields of home renovation (tests/unit/test_opinion_field.py reads only
    workflows/*/forms, where these forms lived before they moved into the package)."""
    forms = BPMN / "home_renovation" / "forms"
    marked = {p.stem: opinion_field(load_form(forms, p.stem)) for p in sorted(forms.glob("*.json"))}
    assert {step: field for step, field in marked.items() if field} == {
        "district_review": "district_opinion", "city_approval": "city_opinion",
        "leader_approval": "leader_opinion", "acceptance": "acceptance_note"}
