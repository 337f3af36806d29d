"""Runaway BPMN scripts are stopped within their budget wherever they run: in a user's command,
in the timer worker (which then moves on to the next case) and behind the web app (no 500)."""
from __future__ import annotations

import io
from datetime import timedelta

import pytest
from sqlalchemy import select

from engine.definitions import SpecCache
from engine.inbox import inbox
from engine.models import HumanTask, InstanceStatus, ProcessDefinition, TaskStatus
from engine.runtime import case_data, case_history, complete_task, start_case
from engine.scripting import ScriptLimits
from engine.worker import run_due_timers
from tests.factories import DATA, build_org, case_row, deploy_files, simple_config
from tests.web.conftest import login, make_app

# Deterministic budgets: the step limit stops loops whatever the machine's speed.
LIMITS = ScriptLimits(time_ms=600_000, max_steps=20_000)
RUNAWAYS = {
    "endless_loop": "while True:\n    pass",
    "huge_power": "x = 10 ** 10 ** 10",
    "huge_string": "x = 'x' * 10 ** 10",
    "string_built_in_a_loop": "x = 'x'\nwhile True:\n    x = x + x",
    "list_built_in_a_loop": "x = []\nwhile True:\n    x.append('x' * 50000)",
}
SCRIPT_SOURCE = (DATA / "script_case" / "script_case.bpmn").read_text(encoding="utf-8")
TIMER_SOURCE = (DATA / "timer_case" / "timer_case.bpmn").read_text(encoding="utf-8")


def _script_case(env, payload: str) -> None:
    env.script_limits = LIMITS
    env.extra_processes["script_case"] = simple_config("script_case", "SC")
    deploy_files(env, "script_case", {"script_case.bpmn": SCRIPT_SOURCE.replace("{payload}", payload).encode()})


@pytest.mark.parametrize("payload", list(RUNAWAYS.values()), ids=list(RUNAWAYS))
def test_runaway_script_in_a_user_command_puts_the_case_in_error(env, payload):
    org = build_org(env)
    _script_case(env, payload)
    cw = org.actor("t1_cw")
    started = start_case(env, "script_case", cw, org.units["t1"], {})
    env.specs = SpecCache()  # the next command as if in another process
    task = inbox(env, cw.id).items[0]
    result = complete_task(env, task.id, cw, {"amount": 10})
    assert result.status == InstanceStatus.error
    row = case_row(env, started.instance_id)
    assert row.status == InstanceStatus.error and row.error_step == "compute"
    assert "script stopped" in row.error_message
    last = case_history(env, started.instance_id)[-1]
    assert last.action == "error" and last.step_id == "compute"
    assert "x" not in case_data(env, started.instance_id)
    assert inbox(env, cw.id).items == []


def test_the_time_budget_stops_a_loop_too(env):
    org = build_org(env)
    env.script_limits = ScriptLimits(time_ms=1, max_steps=10 ** 12)
    env.extra_processes["script_case"] = simple_config("script_case", "SC")
    deploy_files(env, "script_case", {"script_case.bpmn": SCRIPT_SOURCE.replace(
        "{payload}", "while True:\n    pass").encode()})
    cw = org.actor("t1_cw")
    started = start_case(env, "script_case", cw, org.units["t1"], {})
    complete_task(env, inbox(env, cw.id).items[0].id, cw, {"amount": 10})
    assert "ran longer than 1 ms" in case_row(env, started.instance_id).error_message


def _timer_setup(env, org):
    def on_start(data, ctx):
        due = ctx.calendar.add_days(ctx.today, 15).due
        return {"decide_due_at": ctx.calendar.deadline_end(due).isoformat()}

    env.script_limits = LIMITS
    env.extra_processes["timer_case"] = simple_config("timer_case", "TM", on_start=on_start,
                                                      due_keys={"decide": "decide_due_at"})
    script = "if runaway:\n    while True:\n        pass\ndecide_overdue = True"
    source = TIMER_SOURCE.replace("<bpmn:script>decide_overdue = True</bpmn:script>",
                                  f"<bpmn:script>{script}</bpmn:script>")
    assert source != TIMER_SOURCE
    deploy_files(env, "timer_case", {"timer_case.bpmn": source.encode()})


def test_worker_stops_a_runaway_timer_script_and_moves_on_to_the_next_case(env, clock):
    org = build_org(env)
    _timer_setup(env, org)
    cw = org.actor("t1_cw")
    runaway = start_case(env, "timer_case", cw, org.units["t1"], {"runaway": True}).instance_id
    clock.advance(timedelta(minutes=1))  # the runaway case is due first
    fine = start_case(env, "timer_case", cw, org.units["t1"], {"runaway": False}).instance_id
    clock.advance(timedelta(days=20))

    assert run_due_timers(env) == 2
    assert run_due_timers(env) == 0  # the stopped case is not picked again

    stopped = case_row(env, runaway)
    assert stopped.status == InstanceStatus.error and stopped.error_step == "mark_overdue"
    assert "script stopped: more than 20000 steps" in stopped.error_message
    assert [e.action for e in case_history(env, runaway)][-2:] == ["timer", "error"]
    assert case_row(env, fine).status == InstanceStatus.running
    assert case_data(env, fine)["decide_overdue"] is True
    with env.db.read() as s:
        supervise = s.scalars(select(HumanTask).where(HumanTask.step_id == "supervise")).all()
    assert [(t.instance_id, t.status) for t in supervise] == [(fine, TaskStatus.open)]


def test_web_user_sees_a_chinese_message_when_a_script_runs_away(env, tmp_path):
    org = build_org(env)
    _script_case(env, RUNAWAYS["huge_string"])
    started = start_case(env, "script_case", org.actor("t1_cw"), org.units["t1"], {"amount": 10})
    [task] = inbox(env, org.actor("t1_cw").id).items
    app = make_app(env, tmp_path)
    with app.test_client() as client:
        login(client, "t1_cw")
        response = client.post(f"/tasks/{task.id}", data={}, follow_redirects=True)
    assert response.status_code == 200
    html = response.text
    assert "案件已暂停并通知系统管理员" in html
    assert "Traceback" not in html and "script stopped" not in html and "Exception" not in html
    assert case_row(env, started.instance_id).status == InstanceStatus.error


def test_web_app_takes_its_budget_from_the_config(env, tmp_path):
    app = make_app(env, tmp_path)
    # production's 500 ms; the test config keeps wall time as a 30 s backstop (steps stop loops)
    from config import Config
    assert Config.SCRIPT_TIME_LIMIT_MS == 500
    assert app.config["SCRIPT_TIME_LIMIT_MS"] == 30_000 and app.config["SCRIPT_MAX_SIZE"] == 100_000
    from webapp import create_app
    built = create_app({"ENV_NAME": "test", "DATABASE_URL": "sqlite://", "SCRIPT_MAX_STEPS": 123,
                        "SCRIPT_TIME_LIMIT_MS": 45})
    limits = built.extensions["rongflow_env"].script_limits
    assert (limits.max_steps, limits.time_ms) == (123, 45)
    assert built.extensions["rongflow_env"].script_engine.environment.limits == limits


def test_admin_upload_of_a_refused_script_shows_element_and_line_and_deploys_nothing(env, tmp_path):
    build_org(env)
    app = make_app(env, tmp_path)
    body = SCRIPT_SOURCE.replace("{payload}", "x = now._＿globals_＿").encode()
    with app.test_client() as client:
        login(client, "admin")
        response = client.post("/admin/definitions", content_type="multipart/form-data",
                               data={"key": "script_case", "files": [(io.BytesIO(body), "script_case.bpmn")]})
    assert response.status_code == 422
    html = response.text
    assert "部署失败，未部署任何内容" in html
    assert "脚本或表达式访问了不允许的属性" in html and "第 20 行" in html
    assert "bpmn:scriptTask id=compute" in html
    assert "Traceback" not in html
    with env.db.read() as s:
        assert s.scalars(select(ProcessDefinition).where(ProcessDefinition.key == "script_case")).all() == []
