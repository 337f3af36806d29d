"""The demo city behind the README's run command, built through the engine once per run (the
`demo_city` session fixture); its build time is measured in bench/bench_demo.py, never asserted
here (a loaded machine would make such a test flaky).

Besides cases of every process in every state, the demo must read true: staff work in office
hours on working days, the dates written into forms agree with the case's timeline, opinions fit
the decision, the city has one name, and the README's logins and unit names are what the app
shows and what `rongflow demo` prints."""
from __future__ import annotations

import re
from datetime import date, time, timezone
from pathlib import Path

from sqlalchemy import func, select

from engine.calendar import BEIJING
from engine.forms import load_form
from engine.models import (HistoryEvent, HumanTask, InstanceStatus, OrgUnit, ProcessDefinition, ProcessInstance,
                           RoleGrant, TaskStatus, User)
from engine.orgs import ROLE_LABELS, check_password
from workflows import package_keys, process_keys
from workflows.demo_city import CITY_NAME, DEMO_PASSWORD
from workflows.indicators import report

ROOT = Path(__file__).resolve().parents[2]
SEVEN = {"preferential_card", "hardship_aid", "merit_notice", "station_inspection", "public_welfare_post",
         "model_veteran", "active_family_aid"}


def _local(at):
    return (at if at.tzinfo else at.replace(tzinfo=timezone.utc)).astimezone(BEIJING)


def _after(value):
    """The value an event recorded: form data is kept as [before, after]."""
    return value[-1] if isinstance(value, list) and len(value) == 2 else value


def _events(env, actions=None):
    with env.db.read() as s:
        query = select(HistoryEvent, ProcessInstance.process_key, ProcessInstance.created_at).join(
            ProcessInstance, ProcessInstance.id == HistoryEvent.instance_id)
        if actions:
            query = query.where(HistoryEvent.action.in_(actions))
        return s.execute(query).all()


def test_demo_city_has_cases_of_every_process_in_every_state(demo_city):
    env, city = demo_city.env, demo_city.city
    assert len(city.units) == 1 + 7 + 4 + 12 + 36
    with env.db.read() as s:
        by_status = dict(s.execute(select(ProcessInstance.status, func.count())
                                   .group_by(ProcessInstance.status)).all())
        per_process = dict(s.execute(select(ProcessInstance.process_key, func.count())
                                     .group_by(ProcessInstance.process_key)).all())
        overdue = s.scalar(select(func.count()).select_from(HumanTask).where(
            HumanTask.status.in_((TaskStatus.open, TaskStatus.claimed)),
            HumanTask.due_at < env.clock.now()))
        # a case handled twice was returned (退回) by review or approval
        returned = s.scalar(select(func.count()).select_from(
            select(HumanTask.instance_id).where(HumanTask.step_id == "handle",
                                                HumanTask.status == TaskStatus.completed)
            .group_by(HumanTask.instance_id).having(func.count() > 1).subquery()))
        first_case = s.scalar(select(func.min(ProcessInstance.created_at)))
        deployed = s.scalar(select(func.max(ProcessDefinition.deployed_at)))
    assert deployed < first_case  # the processes were there before the first case
    assert 240 <= sum(per_process.values()) <= 300
    assert set(per_process) == set(process_keys()) | set(package_keys(ROOT / "bpmn")) >= SEVEN
    assert by_status[InstanceStatus.running] >= 50 and by_status[InstanceStatus.completed] >= 60
    assert overdue > 0 and returned > 0


def test_the_seven_packages_run_by_the_right_role_at_the_right_level_with_the_seeds_figures(demo_city):
    env = demo_city.env
    with env.db.read() as s:
        levels = {u.id: u.level.value for u in s.scalars(select(OrgUnit))}
        grants = {(g.user_id, g.role, g.org_unit_id) for g in s.scalars(select(RoleGrant))}
        done = s.scalars(select(HumanTask).where(HumanTask.process_key.in_(SEVEN),
                                                 HumanTask.status == TaskStatus.completed)).all()
        lead = s.scalar(select(User.id).where(User.username == "city_lead1"))
    assert {t.process_key for t in done} == SEVEN
    for t in done:  # whoever completed a step holds the step's role at the step's unit
        assert (t.completed_by_id, t.role, t.org_unit_id) in grants, (t.process_key, t.step_id)
    level_of = {(t.process_key, t.step_id): set() for t in done}
    for t in done:
        level_of[(t.process_key, t.step_id)].add(levels[t.org_unit_id])
    expected = {("preferential_card", "district_review"): {"district"}, ("preferential_card", "city_review"): {"city"},
                ("preferential_card", "town_issue"): {"town"}, ("hardship_aid", "village_check"): {"village"},
                ("hardship_aid", "town_visit"): {"town"}, ("hardship_aid", "district_approval"): {"district"},
                ("merit_notice", "verify"): {"city"}, ("merit_notice", "deliver"): {"town"},
                ("station_inspection", "video_check"): {"district"}, ("public_welfare_post", "placement"): {"town"},
                ("model_veteran", "city_selection"): {"city"}, ("active_family_aid", "aid_plan"): {"town"}}
    for step, level in expected.items():
        assert level_of.get(step) == level, step
    figures = {(sec.key, r.label): r.value for sec in report(env, lead).sections for r in sec.rows}

    def number(key, label):
        return float(re.sub(r"[^\d.]", "", figures[(key, label)]) or 0)

    for key, label in [("preferential_card", "申领完成率"), ("preferential_card", "激活率"),
                       ("hardship_aid", "发放金额合计（元）"), ("merit_notice", "送达率"),
                       ("merit_notice", "其中优秀士兵"), ("station_inspection", "整改到位"),
                       ("public_welfare_post", "上岗率"), ("model_veteran", "当选人数"),
                       ("active_family_aid", "帮扶率")]:
        assert number(key, label) > 0, (key, label, figures.get((key, label)))
    assert 50 <= number("preferential_card", "申领完成率") < 100
    assert 40 <= number("preferential_card", "激活率") < 100  # the bank does not activate every card


def test_staff_work_in_office_hours_on_working_days(demo_city):
    env = demo_city.env
    by_people = [(key, ev.step_id, _local(ev.at)) for ev, key, _created in _events(env) if ev.actor_id]
    assert len(by_people) > 1000
    for key, step, at in by_people:
        assert time(8, 30) <= at.time() <= time(17, 30), (key, step, at)
        assert env.calendar.is_workday(at.date()), (key, step, at)


def test_dates_in_forms_agree_with_the_timeline(demo_city):
    """A date of something done (收到日期, 核实日期, 送达日期 ...) is on or before the day the step
    was completed; on a step's form, not before the case was registered. Plans and deadlines
    (计划…, …期限, 公示结束日期) look ahead and are left out."""
    env = demo_city.env
    forms, checked = {}, 0
    for ev, key, created in _events(env, ("start", "complete")):
        step = "start" if ev.action == "start" else ev.step_id
        if (key, step) not in forms:
            forms[(key, step)] = load_form(env.process(key).forms_dir, step) or {}
        for name, prop in (forms[(key, step)].get("properties") or {}).items():
            value = _after(ev.data.get(name))
            if prop.get("format") != "date" or not isinstance(value, str) or re.search(
                    "计划|期限|公示结束", prop.get("title", "")):
                continue
            on, done, registered = date.fromisoformat(value), _local(ev.at).date(), _local(created).date()
            assert on <= done, (key, step, name, value, done)
            assert ev.action == "start" or on >= registered, (key, step, name, value, registered)
            checked += 1
    assert checked > 500


RETURNS = {"退回", "退回复审"}
REFUSALS = {"不同意", "不通过", "不符合", "不批准", "不推荐", "未入选", "不属实", "不予受理", "未到位", "需整改"}
AGREES = {"同意", "通过", "符合", "批准", "推荐", "入选", "属实", "整改到位", "合格", "无异议"}


def test_opinions_fit_the_decision_they_go_with(demo_city):
    """No 同意 on a 退回 or a refusal, no 退回 or 不同意 on an approval."""
    checked = 0
    for ev, key, _created in _events(demo_city.env, ("complete",)):
        if not ev.opinion:
            continue
        words = {_after(v) for v in ev.data.values() if isinstance(_after(v), str)}
        agreeing = "同意" in re.sub("不同意|不予同意", "", ev.opinion)
        if words & (RETURNS | REFUSALS):
            assert not agreeing, (key, ev.step_id, words, ev.opinion)
            checked += 1
        elif words & AGREES:
            assert not re.search("退回|不同意|不予", ev.opinion), (key, ev.step_id, words, ev.opinion)
    assert checked > 20


def _readme_logins() -> list[tuple[str, str, str]]:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    section = text.split("## Demo logins", 1)[1].split("\n## ", 1)[0]
    rows = re.findall(r"^\| `([a-z0-9_]+)` \| ([^|]+?) \| ([^|]+?) \|", section, re.M)
    assert len(rows) >= 15
    return rows


def test_the_city_has_one_name_in_the_app_the_console_and_the_readme(demo_city):
    with demo_city.env.db.read() as s:
        names = list(s.scalars(select(OrgUnit.name)))
        root = s.scalar(select(OrgUnit.name).where(OrgUnit.parent_id.is_(None)))
    assert root == f"{CITY_NAME}退役军人事务局"
    assert not [n for n in names if "XX" in n or "某" in n]
    assert f"演示城市：{CITY_NAME}" in demo_city.printed
    readme = (ROOT / "README.md").read_text(encoding="utf-8").split("## Demo logins", 1)[1].split("\n## ", 1)[0]
    assert CITY_NAME in readme and "XX" not in readme


def test_every_readme_login_works_at_the_unit_and_role_it_names_and_rongflow_demo_prints_it(demo_city):
    with demo_city.env.db.read() as s:
        users = {u.username: u for u in s.scalars(select(User))}
        grants = {(u, unit, role) for u, unit, role in s.execute(
            select(User.username, OrgUnit.name, RoleGrant.role).join(RoleGrant, RoleGrant.user_id == User.id)
            .join(OrgUnit, OrgUnit.id == RoleGrant.org_unit_id)).all()}
    labels = {label: role for role, label in ROLE_LABELS.items()}
    printed = demo_city.printed
    for username, unit, role in _readme_logins():
        assert username in users, username
        assert check_password(users[username].password_hash, DEMO_PASSWORD), username
        assert (username, unit, labels[role]) in grants, (username, unit, role)
        assert re.search(rf"^\s+{username}\s+{re.escape(unit)} · {role}", printed, re.M), username


def test_a_bulk_load_commits_without_waiting_for_the_disk_and_then_waits_again(env):
    """The demo build's relaxed durability (engine.db.Database.bulk_load) ends with the build."""
    def setting():
        query = "PRAGMA synchronous" if env.db.is_sqlite else "SHOW synchronous_commit"
        with env.db.engine.connect() as conn:
            return conn.exec_driver_sql(query).scalar()

    full = setting()
    with env.db.bulk_load():
        assert setting() in (1, "off")  # SQLite NORMAL / PostgreSQL off
    assert setting() == full and full in (2, "on")  # SQLite FULL / PostgreSQL on
