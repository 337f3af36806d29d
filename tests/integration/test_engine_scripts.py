"""BPMN scripts run in the sandbox: a script that breaks the rules is refused at deploy with its
element and line; one that fails at run time leaves the case in error until an admin retries."""
from decimal import Decimal

import pytest
from sqlalchemy import select

from engine.definitions import SpecCache
from engine.env import Env
from engine.errors import DefinitionError, PermissionDenied
from engine.inbox import inbox
from engine.models import InstanceStatus, ProcessDefinition, ProcessInstance
from engine.runtime import case_data, case_history, complete_task, retry_case, start_case
from tests.factories import DATA, build_org, deploy_files, simple_config

SOURCE = (DATA / "script_case" / "script_case.bpmn").read_text(encoding="utf-8")
PAYLOAD_LINE = 20  # line of "{payload}" in script_case.bpmn (the script's third line)


def _deploy(env, payload: str = "pass"):
    env.extra_processes["script_case"] = simple_config("script_case", "SC")
    deploy_files(env, "script_case", {"script_case.bpmn": SOURCE.replace("{payload}", payload).encode()})


def _fill(env, org, data):
    cw = org.actor("t1_cw")
    started = start_case(env, "script_case", cw, org.units["t1"], {})
    task = inbox(env, cw.id).items[0]
    result = complete_task(env, task.id, cw, data)
    return started, result


def test_script_computes_with_whitelisted_helpers(env):
    org = build_org(env)
    _deploy(env)
    started, result = _fill(env, org, {"amount": 2000})
    assert result.status == InstanceStatus.running
    assert [t.step_id for t in inbox(env, org.actor("t1_cw").id).items] == ["big"]
    data = case_data(env, started.instance_id)
    assert Decimal(data["subsidy"]) == Decimal("1600.0")
    assert data["due"].startswith("2026-03-")


# One escape per class; each is refused when the definition is deployed.
REFUSED_AT_DEPLOY = {
    "open_builtin": "x = open('/etc/passwd').read()",
    "dunder_import": "x = __import__('os').getcwd()",
    "import_statement": "import os",
    "from_import": "from os import system",
    "dunder_attribute": "x = ().__class__.__bases__[0]",
    "fullwidth_nfkc": "x = now._＿globals_＿",
    "format_traversal": "x = '{0.__globals__}'.format(now)",
    "format_map": "x = '{a}'.format_map({'a': 1})",
    "generator_frame": "g = (i for i in [1])\nx = g.gi_frame.f_back.f_globals",
    "closure_cell": "x = add_days.__closure__[0].cell_contents",
    "getattr_builtin": "x = getattr(now, 'x')",
    "vars_builtin": "x = vars(now)",
    "subclasses_walk": "x = object.__subclasses__()",
    "class_trick": "class A:\n    pass",
    "decorator_trick": "@vars\ndef f():\n    pass",
    "traceback_frame": "try:\n    1 / 0\nexcept Exception as e:\n    x = e.__traceback__.tb_frame",
    "yield_generator": "def g():\n    yield 1",
    "global_statement": "global x",
    "print_call": "print('x')",
}


@pytest.mark.parametrize("payload", list(REFUSED_AT_DEPLOY.values()), ids=list(REFUSED_AT_DEPLOY))
def test_rule_breaking_script_is_refused_at_deploy_with_element_and_line(env, payload):
    env.extra_processes["script_case"] = simple_config("script_case", "SC")
    with pytest.raises(DefinitionError) as caught:
        _deploy(env, payload)
    err = caught.value
    assert err.file == "script_case.bpmn"
    assert err.element == "bpmn:scriptTask id=compute"
    assert err.line is not None and err.line >= PAYLOAD_LINE
    assert "流程定义有误" in err.user_message and "compute" in err.user_message
    with env.db.read() as s:
        assert s.scalars(select(ProcessDefinition).where(ProcessDefinition.key == "script_case")).all() == []


def test_refused_line_is_the_line_of_the_offending_statement(env):
    with pytest.raises(DefinitionError) as caught:
        _deploy(env, "ok = 1\nx = now.__globals__")
    assert caught.value.line == PAYLOAD_LINE + 1


# Scripts that compile under the rules but fail when they run: the case goes to error.
STOPPED_AT_RUN = {
    "type_builtin_missing": "x = type(now)",
    "object_builtin_missing": "x = object",
    "percent_format_on_object": "x = '%(a)s' % now",
    "sum_of_lists": "x = sum([[1]], [])",
    "huge_power": "x = 10 ** 10 ** 10",
    "huge_string": "x = 'x' * 10 ** 10",
    "huge_list": "x = [0] * 10 ** 10",
    "huge_range": "x = list(range(10 ** 9))",
    "string_doubling": "x = 'x'\nwhile True:\n    x = x + x",
    "endless_loop": "while True:\n    pass",
    "deep_recursion": "def f(n):\n    return f(n + 1)\nx = f(0)",
}


@pytest.mark.parametrize("payload", list(STOPPED_AT_RUN.values()), ids=list(STOPPED_AT_RUN))
def test_failing_script_puts_case_in_error(env, payload):
    org = build_org(env)
    _deploy(env, payload)
    started, result = _fill(env, org, {"amount": 10})
    assert result.status == InstanceStatus.error
    with env.db.read() as s:
        inst = s.get(ProcessInstance, started.instance_id)
    assert inst.status == InstanceStatus.error
    assert inst.error_step == "compute"
    assert inst.error_message
    assert "x" not in case_data(env, started.instance_id)
    assert case_history(env, started.instance_id)[-1].action == "error"


def test_script_error_records_step_and_line_and_admin_retry_continues(env):
    org = build_org(env)
    _deploy(env)
    started, result = _fill(env, org, {"note": "忘了填金额"})  # no 'amount': NameError in line 1
    assert result.status == InstanceStatus.error
    with env.db.read() as s:
        inst = s.get(ProcessInstance, started.instance_id)
    assert inst.error_step == "compute"
    assert inst.error_line == 1
    assert "amount" in inst.error_message
    assert inbox(env, org.actor("t1_cw").id).items == []
    assert case_history(env, started.instance_id)[-1].action == "error"

    with pytest.raises(PermissionDenied):
        retry_case(env, started.instance_id, org.actor("t1_cw"), {"amount": 500})
    retried = retry_case(env, started.instance_id, org.actor("admin"), {"amount": 500})
    assert retried.status == InstanceStatus.running
    assert [t.step_id for t in inbox(env, org.actor("t1_cw").id).items] == ["small"]
    actions = [e.action for e in case_history(env, started.instance_id)]
    assert actions == ["start", "complete", "error", "retry"]


def test_sandbox_holds_when_the_next_command_lands_in_another_process(env):
    """The case started in one engine process runs its script in a second one, with no spec cache."""
    org = build_org(env)
    _deploy(env, "y = 'x' * 10 ** 9")
    other = Env(db=env.db, clock=env.clock, calendar=env.calendar, bpmn_dir=env.bpmn_dir,
                extra_processes=dict(env.extra_processes))
    cw = org.actor("t1_cw")
    started = start_case(env, "script_case", cw, org.units["t1"], {})
    env.specs = SpecCache()
    task = inbox(other, cw.id).items[0]
    result = complete_task(other, task.id, cw, {"amount": 10})
    assert result.status == InstanceStatus.error
    with env.db.read() as s:
        inst = s.get(ProcessInstance, started.instance_id)
    assert inst.error_step == "compute" and "script stopped" in inst.error_message
    assert "y" not in case_data(env, started.instance_id)
