"""Whatever fails inside a step ends as the case's error state: message, step and line, the
workflow at its last committed state (or at SpiffWorkflow's own clean ERROR state), a history
event, and an admin retry that re-runs the failed step. Never an exception out of the engine."""
from dataclasses import replace
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from engine.definitions import SpecCache
from engine.env import make_env
from engine.errors import FormInvalid, InvalidState, NotFound
from engine.inbox import inbox
from engine.models import HistoryEvent, HumanTask, InstanceStatus, TaskStatus
from engine.runtime import case_data, case_history, complete_task, deliver_message, retry_case, start_case
from engine.worker import run_due_timers
from tests.factories import build_org, case_row, deploy_files, simple_config
from tests.integration.step_error_models import FAILING_STEP, KINDS, model

# What the admin sets on retry so that each kind's failed step succeeds.
FIXES = {"data_output": {"approved_amount": 10}, "script_type": {"amount": "10"},
         "condition": {"amount": "10"}, "service": None, "timer_expr": {"wait_period": "PT1H"},
         "timer_value": None}
CLEAN = {"script_type", "condition", "service"}  # SpiffWorkflow keeps these in its own ERROR state


def _setup(env, kind, **config):
    org = build_org(env)
    env.extra_processes["step_errors"] = simple_config("step_errors", "SE", **config)
    deploy_files(env, "step_errors", {"step_errors.bpmn": model(kind)})
    started = start_case(env, "step_errors", org.actor("t1_cw"), org.units["t1"], {})
    [task] = inbox(env, org.actor("t1_cw").id).items
    return org, started.instance_id, task


def _events(env, case_id):
    return [e.action for e in case_history(env, case_id)]


@pytest.mark.parametrize("kind", KINDS)
def test_a_failing_step_puts_the_case_in_error_and_keeps_the_completion(env, kind):
    org, case_id, task = _setup(env, kind)
    state_before = case_row(env, case_id).state
    result = complete_task(env, task.id, org.actor("t1_cw"), {"amount": 10}, opinion="同意")

    assert result.status == InstanceStatus.error
    assert result.error and result.user_message and "管理员" in result.user_message
    inst = case_row(env, case_id)
    assert inst.status == InstanceStatus.error
    assert inst.error_step == FAILING_STEP[kind]
    assert inst.error_message == result.error
    assert _events(env, case_id) == ["start", "complete", "error"]
    error_event = case_history(env, case_id)[-1]
    assert error_event.step_id == FAILING_STEP[kind]
    assert error_event.data["rolled_back"] is (kind not in CLEAN)
    with env.db.read() as s:
        row = s.get(HumanTask, task.id)
        open_rows = s.scalar(select(func.count()).select_from(HumanTask).where(
            HumanTask.status.in_((TaskStatus.open, TaskStatus.claimed))))
    assert (row.status, row.completed_by_id) == (TaskStatus.completed, org.actor("t1_cw").id)
    assert open_rows == 0 and inbox(env, org.actor("t1_cw").id).items == []
    assert inst.next_timer_at is None
    if kind not in CLEAN:  # rolled back: the committed tree plus the completion's data
        assert inst.state != state_before
        assert case_data(env, case_id)["amount"] == 10


def test_script_error_names_the_line(env):
    org, case_id, task = _setup(env, "script_type")
    complete_task(env, task.id, org.actor("t1_cw"), {"amount": 10})
    inst = case_row(env, case_id)
    assert inst.error_line == 2 and "TypeError" in inst.error_message
    assert case_history(env, case_id)[-1].data["error_line"] == 'subsidy = amount + "元"'


@pytest.mark.parametrize("kind", sorted(k for k, fix in FIXES.items() if fix is not None))
def test_admin_retry_with_corrected_data_re_runs_the_failed_step(env, kind):
    org, case_id, task = _setup(env, kind)
    complete_task(env, task.id, org.actor("t1_cw"), {"amount": 10})
    env.specs = SpecCache()  # the retry lands in another process
    result = retry_case(env, case_id, org.actor("admin"), FIXES[kind])
    assert result.status == InstanceStatus.running, result.error
    assert _events(env, case_id)[-1] == "retry"
    if kind.startswith("timer"):  # the timer now waits; the worker fires it an hour later
        env.clock.advance(timedelta(hours=2))
        assert run_due_timers(env) == 1
    assert [t.step_id for t in inbox(env, org.actor("t1_cw").id).items] == ["check"]
    assert case_row(env, case_id).error_message is None


def test_a_service_task_fails_with_a_clear_message(env):
    org, case_id, task = _setup(env, "service")
    complete_task(env, task.id, org.actor("t1_cw"), {"amount": 10})
    inst = case_row(env, case_id)
    assert inst.error_step == "fail"
    assert "no service 'archive_lookup' is available to service task 'fail'" in inst.error_message


@pytest.mark.parametrize("kind", ["data_output", "timer_value"])
def test_retry_that_fails_again_stays_in_error_with_one_more_event(env, kind):
    org, case_id, task = _setup(env, kind)
    complete_task(env, task.id, org.actor("t1_cw"), {"amount": 10})
    state = case_row(env, case_id).state
    result = retry_case(env, case_id, org.actor("admin"), {})
    assert result.status == InstanceStatus.error and result.error
    assert _events(env, case_id) == ["start", "complete", "error", "retry", "error"]
    assert case_row(env, case_id).state == state  # rolled back to the same committed state


def test_two_engines_alternating_see_the_same_error_and_retry(env, db_url, clock):
    org, case_id, task = _setup(env, "data_output")
    other = make_env(db_url, clock=clock)
    other.script_limits = env.script_limits  # the second engine as the first (a wall-time backstop)
    other.extra_processes.update(env.extra_processes)
    try:
        complete_task(other, task.id, org.actor("t1_cw"), {"amount": 10})
        assert case_row(env, case_id).status == InstanceStatus.error
        retry_case(env, case_id, org.actor("admin"), {"approved_amount": 5})
        [check] = inbox(other, org.actor("t1_cw").id).items
        complete_task(other, check.id, org.actor("t1_cw"), {})
    finally:
        other.db.dispose()
    assert case_row(env, case_id).status == InstanceStatus.completed


# ----------------------------------------------------------------------------- hooks

def _broken_hook(step_id, data, ctx):
    if step_id == "fill" and not data.get("hook_fixed"):
        raise ZeroDivisionError("division by zero")
    return {"hooked": True}


def test_a_bug_in_on_complete_is_the_case_error_and_retry_re_runs_the_hook(env):
    org, case_id, task = _setup(env, "plain", on_complete=_broken_hook)
    result = complete_task(env, task.id, org.actor("t1_cw"), {"amount": 10})
    assert result.status == InstanceStatus.error
    inst = case_row(env, case_id)
    assert inst.error_step == "fill"
    assert inst.error_message.startswith("process hook on_complete failed: ZeroDivisionError")
    assert _events(env, case_id) == ["start", "complete", "error"]
    retried = retry_case(env, case_id, org.actor("admin"), {"hook_fixed": True})
    assert retried.status == InstanceStatus.running
    assert case_data(env, case_id)["hooked"] is True


def test_a_hook_refusal_is_not_a_case_error(env):
    def refusing(step_id, data, ctx):
        raise FormInvalid({"amount": "金额超出上限"})

    org, case_id, task = _setup(env, "script_type", on_complete=refusing)
    with pytest.raises(FormInvalid):
        complete_task(env, task.id, org.actor("t1_cw"), {"amount": 10})
    assert case_row(env, case_id).status == InstanceStatus.running
    assert _events(env, case_id) == ["start"]


def test_a_bug_in_assign_rolls_the_step_back_to_an_error(env):
    def assign(step_id, data, ctx):
        if step_id == "check":
            raise KeyError("handling_unit_id")
        return ctx.case_unit_id

    org, case_id, task = _setup(env, "plain", assign=assign)
    result = complete_task(env, task.id, org.actor("t1_cw"), {"amount": 10})
    assert result.status == InstanceStatus.error
    assert "KeyError" in case_row(env, case_id).error_message
    assert _events(env, case_id) == ["start", "complete", "error"]
    with env.db.read() as s:
        assert s.scalar(select(func.count()).select_from(HumanTask)) == 1


# ----------------------------------------------------------------------------- worker, start, messages

def test_a_timer_whose_branch_fails_puts_the_case_in_error_in_the_worker(env):
    org, case_id, task = _setup(env, "timer_expr")
    complete_task(env, task.id, org.actor("t1_cw"), {"amount": 10, "wait_period": "PT1H"})
    assert case_row(env, case_id).status == InstanceStatus.running
    # the case is stored with a timer; its branch's next step will fail: break the process hook
    env.extra_processes["step_errors"] = replace(env.extra_processes["step_errors"],
                                                 assign=lambda *_: 1 / 0)
    env.clock.advance(timedelta(hours=2))
    assert run_due_timers(env) == 1
    inst = case_row(env, case_id)
    assert inst.status == InstanceStatus.error and "ZeroDivisionError" in inst.error_message
    assert _events(env, case_id)[-1] == "error"
    assert "timer" not in _events(env, case_id)  # the firing was rolled back with the step
    assert run_due_timers(env) == 0  # a case in error waits for the admin


def test_a_failing_first_step_leaves_the_new_case_in_error(env):
    org = build_org(env)
    env.extra_processes["step_errors"] = simple_config("step_errors", "SE")
    source = model("script_type").replace(b'<bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="fill" />',
                                          b'<bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="boom" />'
                                          b'<bpmn:serviceTask id="boom" name="x"><bpmn:extensionElements>'
                                          b'<spiffworkflow:serviceTaskOperator id="op"><spiffworkflow:parameters />'
                                          b'</spiffworkflow:serviceTaskOperator></bpmn:extensionElements>'
                                          b'</bpmn:serviceTask><bpmn:sequenceFlow id="f0" sourceRef="boom" '
                                          b'targetRef="fill" />')
    deploy_files(env, "step_errors", {"step_errors.bpmn": source})
    started = start_case(env, "step_errors", org.actor("t1_cw"), org.units["t1"], {"amount": 1})
    inst = case_row(env, started.instance_id)
    assert inst.status == InstanceStatus.error and inst.error_step == "boom"
    assert _events(env, started.instance_id) == ["start", "error"]


def test_starting_a_deployed_key_without_a_process_package_is_a_clear_not_found(env):
    org = build_org(env)
    deploy_files(env, "no_package_here", {"p.bpmn": model("script_type").replace(
        b'id="step_errors"', b'id="no_package_here"')})
    with pytest.raises(NotFound) as caught:
        start_case(env, "no_package_here", org.actor("t1_cw"), org.units["t1"], {})
    assert "no process package" in caught.value.message
    assert "流程" in caught.value.user_message and "workflows" not in caught.value.user_message


MESSAGE_MODEL = """<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" id="d" targetNamespace="t">
  <bpmn:message id="msg_reply" name="reply" />
  <bpmn:process id="step_errors" isExecutable="true">
    <bpmn:laneSet id="ls"><bpmn:lane id="l" name="caseworker"><bpmn:flowNodeRef>check</bpmn:flowNodeRef>
    </bpmn:lane></bpmn:laneSet>
    <bpmn:startEvent id="start" />
    <bpmn:intermediateCatchEvent id="wait_reply" name="等待答复">
      <bpmn:messageEventDefinition id="med" messageRef="msg_reply" />
    </bpmn:intermediateCatchEvent>
    <bpmn:scriptTask id="use_reply" name="处理答复"><bpmn:script>total = answer + 1</bpmn:script></bpmn:scriptTask>
    <bpmn:userTask id="check" name="复核" />
    <bpmn:endEvent id="end" />
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="wait_reply" />
    <bpmn:sequenceFlow id="f2" sourceRef="wait_reply" targetRef="use_reply" />
    <bpmn:sequenceFlow id="f3" sourceRef="use_reply" targetRef="check" />
    <bpmn:sequenceFlow id="f4" sourceRef="check" targetRef="end" />
  </bpmn:process>
</bpmn:definitions>
""".encode()


def test_a_message_whose_next_step_fails_puts_the_case_in_error(env):
    org = build_org(env)
    env.extra_processes["step_errors"] = simple_config("step_errors", "SE")
    deploy_files(env, "step_errors", {"step_errors.bpmn": MESSAGE_MODEL})
    case_id = start_case(env, "step_errors", org.actor("t1_cw"), org.units["t1"], {}).instance_id
    result = deliver_message(env, case_id, "reply", {"answer": "是"})
    assert result.status == InstanceStatus.error and result.user_message
    assert case_row(env, case_id).error_step == "use_reply"
    assert _events(env, case_id) == ["start", "message", "error"]
    with pytest.raises(InvalidState):  # in error: no second message
        deliver_message(env, case_id, "reply", {"answer": 2})
    retry_case(env, case_id, org.actor("admin"), {"answer": 2})
    assert [t.step_id for t in inbox(env, org.actor("t1_cw").id).items] == ["check"]
    assert case_data(env, case_id)["total"] == 3


def test_history_chain_still_verifies_after_rolled_back_steps(env):
    from engine.history import verify_chain
    org, case_id, task = _setup(env, "timer_value")
    complete_task(env, task.id, org.actor("t1_cw"), {"amount": 10})
    retry_case(env, case_id, org.actor("admin"), {})
    with env.db.read() as s:
        assert verify_chain(s, case_id).ok
        assert s.scalar(select(func.count()).select_from(HistoryEvent)) == 5


@pytest.mark.parametrize("kind", ["service", "timer_value", "data_output"])
def test_workflows_check_reports_a_failing_step_instead_of_crashing(kind, tmp_path):
    from engine.calendar import default_calendar
    from engine.checks import check_process
    (tmp_path / "step_errors").mkdir()
    (tmp_path / "step_errors" / "step_errors.bpmn").write_bytes(model(kind))
    forms = tmp_path / "forms"
    forms.mkdir()
    for step in ("fill", "check"):
        (forms / f"{step}.json").write_text('{"type": "object", "title": "表单"}', encoding="utf-8")
    config = replace(simple_config("step_errors", "SE"), forms_dir=forms)
    report = check_process("step_errors", tmp_path, config, default_calendar())
    assert not report.ok and not report.completed
    assert any(p.startswith("smoke run failed: ") for p in report.problems), report.problems


def test_the_worker_parks_a_case_it_cannot_load_and_fires_the_others(env, clock):
    org, case_b, task_b = _setup(env, "timer_expr")
    env.extra_processes["orphan"] = simple_config("orphan", "OR")
    deploy_files(env, "orphan", {"orphan.bpmn": model("timer_expr")})  # the same model, another key
    case_a = start_case(env, "orphan", org.actor("t1_cw"), org.units["t1"], {}).instance_id
    [task_a] = [t for t in inbox(env, org.actor("t1_cw").id).items if t.instance_id == case_a]
    complete_task(env, task_a.id, org.actor("t1_cw"), {"wait_period": "PT1H"})
    clock.advance(timedelta(minutes=1))
    complete_task(env, task_b.id, org.actor("t1_cw"), {"wait_period": "PT1H"})
    del env.extra_processes["orphan"]  # its package is gone: the case cannot be loaded
    clock.advance(timedelta(hours=2))
    assert run_due_timers(env) == 2
    parked = case_row(env, case_a)
    assert parked.status == InstanceStatus.error and "no process package" in parked.error_message
    assert parked.next_timer_at is None and _events(env, case_a)[-1] == "error"
    assert [t.step_id for t in inbox(env, org.actor("t1_cw").id).items] == ["check"]
    assert run_due_timers(env) == 0


def test_the_users_message_names_the_step_by_its_name_never_by_its_id():
    from engine.faults import StepFailure
    named = StepFailure("x", "Activity_0f5s2ld", "受理登记", None, None, rolled_back=True)
    unnamed = StepFailure("x", "Activity_0f5s2ld", None, None, None, rolled_back=False)
    assert "“受理登记”步骤" in named.user_message and "未生效" in named.user_message
    assert "Activity" not in unnamed.user_message and "后续步骤" in unnamed.user_message
