"""The script environment at run time: task data in and out as before, helpers from the engine's
clock, nothing of the process within reach, and every guard checking before C code runs."""
import threading
from datetime import date, datetime, timezone
from decimal import Decimal

import pytest

from engine.calendar import default_calendar
from engine.clock import ManualClock
from engine.sandbox.guards import Guards, size_of
from engine.sandbox.limits import Budget, ScriptLimits
from engine.sandbox.policy import ScriptRefused
from engine.scripting import RongScriptEngine, SafeEnvironment, script_helpers

NOW = datetime(2026, 3, 2, 1, 0, tzinfo=timezone.utc)  # Monday 09:00 in Beijing
# Wall time only as a backstop (as tests/conftest.py's env): none of these tests is about time,
# and a loaded machine's stall of half a second is no script running long.
BACKSTOP = ScriptLimits(time_ms=30_000)


@pytest.fixture
def env() -> SafeEnvironment:
    engine = RongScriptEngine(ManualClock(NOW), default_calendar(), BACKSTOP)
    return engine.environment


def run(env, script, **data):
    env.execute(script, data)
    return data


# ---------------------------------------------------------------------------- task data semantics
def test_assigned_names_become_task_data_and_helpers_and_functions_do_not(env):
    data = run(env, "def f(v):\n    return v * 2\ny = f(amount)\nz = now()\ng = lambda: 1", amount=21)
    assert data == {"amount": 21, "y": 42, "z": NOW}


def test_deleted_names_leave_the_task_data(env):
    assert run(env, "del old\nnew = 1", old=1, keep=2) == {"keep": 2, "new": 1}


def test_underscore_data_is_kept_but_invisible_to_scripts(env):
    data = run(env, "x = 1", _hidden="h")
    assert data == {"_hidden": "h", "x": 1}
    with pytest.raises(NameError):
        env.evaluate("hidden", {"_hidden": 1})


def test_a_failed_script_writes_nothing_back(env):
    data = {"amount": 1}
    with pytest.raises(ZeroDivisionError):
        env.execute("partial = 1\nx = 1 / 0", data)
    assert data == {"amount": 1}


def test_task_data_may_not_shadow_a_helper(env):
    with pytest.raises(ValueError, match="overwrites a predefined"):
        env.execute("x = 1", {"now": 1})


def test_helper_names_assigned_by_a_script_are_dropped(env):
    assert run(env, "today = 5\nx = 1") == {"x": 1}


def test_external_context_is_visible_but_not_written_back(env):
    data = {"a": 1}
    env.execute("b = a + ext", data, {"ext": 2})
    assert data == {"a": 1, "b": 3}
    assert env.evaluate("a + ext", {"a": 1}, {"ext": 2}) == 3


def test_task_data_wins_over_external_context_in_expressions(env):
    assert env.evaluate("v", {"v": "data"}, {"v": "external"}) == "data"
    assert env.evaluate("v", {}, {"v": "external"}) == "external"


def test_execute_returns_true(env):
    assert env.execute("x = 1", {}) is True


def test_helpers_use_the_engine_clock_and_calendar(env):
    assert env.evaluate("now()", {}) == NOW
    assert env.evaluate("today()", {}) == date(2026, 3, 2)
    assert env.evaluate("add_days(today(), 1)", {}) == "2026-03-04T00:00:00+08:00"
    assert env.evaluate("add_working_days('2026-03-06T09:00:00+08:00', 1)", {}) == "2026-03-10T00:00:00+08:00"
    assert env.evaluate("add_days(now(), 0)", {}) == "2026-03-03T00:00:00+08:00"
    assert env.evaluate("add_days(date(2026, 3, 2), 0)", {}) == "2026-03-03T00:00:00+08:00"
    assert env.evaluate("Decimal('1.5') * 2", {}) == Decimal("3.0")
    assert env.evaluate("timedelta(days=1).days + timezone.utc.utcoffset(None).days", {}) == 1
    assert env.evaluate("BEIJING.key", {}) == "Asia/Shanghai"
    assert env.evaluate("datetime(2026, 1, 1).year", {}) == 2026


@pytest.mark.parametrize("n", [3661, -1, 1.5, True, "3"])
def test_day_helpers_refuse_absurd_counts(env, n):
    for helper in ("add_days", "add_working_days"):
        with pytest.raises(ValueError) as caught:
            env.evaluate(f"{helper}(today(), n)", {"n": n})
        assert str(caught.value) == "days must be a whole number from 0 to 3660"


@pytest.mark.parametrize("n", [3660, 0])
def test_day_helpers_accept_the_extremes(env, n):
    assert env.evaluate("add_days(today(), n)", {"n": n})


def test_helpers_are_closures_over_no_module_globals():
    helpers = script_helpers(ManualClock(NOW), default_calendar())
    assert set(helpers) == {"Decimal", "date", "datetime", "timedelta", "timezone", "BEIJING", "now",
                            "today", "add_days", "add_working_days"}


def test_default_limits_and_engine_limits(env):
    assert RongScriptEngine(ManualClock(NOW), default_calendar()).environment.limits == ScriptLimits()
    assert env.limits == BACKSTOP
    engine = RongScriptEngine(ManualClock(NOW), default_calendar(), ScriptLimits(max_steps=7))
    assert engine.environment.limits.max_steps == 7
    assert engine.clock.now() == NOW


# ------------------------------------------------------------------------------- nothing leaks
LEAKS = [
    "type(now)", "object", "__import__", "open", "os", "sys", "gc", "builtins", "config", "SECRET_KEY",
    "app", "current_app", "id(now)", "chr(1)", "callable(now)", "issubclass(int, int)", "pow(2, 2)",
    "setattr", "compile", "exec", "iter([])", "next", "super", "memoryview", "bytes", "bytearray",
    "classmethod", "property", "staticmethod", "hash(1)", "slice(1)", "divmod(1, 1)",
]


@pytest.mark.parametrize("expression", LEAKS)
def test_process_names_are_not_reachable(env, expression):
    with pytest.raises((NameError, ScriptRefused)):
        env.evaluate(expression, {})


RUNTIME_REFUSED = [
    ("x = '%(a)s' % now", TypeError),
    ("x = now.anything", AttributeError),
    ("x = str.upper('a')", AttributeError),
]


@pytest.mark.parametrize("script,error", RUNTIME_REFUSED)
def test_runtime_failures_raise_and_leave_no_data(env, script, error):
    data = {}
    with pytest.raises(error):
        env.execute(script, data)
    assert data == {}


def test_getattr_guard_refuses_what_the_compiler_would(env):
    guards = Guards(Budget(BACKSTOP))
    for name in ("__globals__", "_x", "format", "gi_frame", "mro", 3):
        with pytest.raises(AttributeError, match="is not allowed in BPMN scripts"):
            guards.getattr(now_helper(), name)
    assert guards.getattr("a", "upper")() == "A"
    assert guards.getattr(Decimal("1.5"), "is_finite")() is True
    assert guards.getattr(object(), "missing", 5) == 5


def now_helper():
    return script_helpers(ManualClock(NOW), default_calendar())["now"]


def test_container_methods_are_wrapped_and_charged(env):
    budget = Budget(BACKSTOP)
    guards = Guards(budget)
    upper = guards.getattr("abc", "upper")
    assert upper.__name__ == "guarded"
    assert upper() == "ABC"
    assert budget.alloc == 3
    plain = guards.getattr(date(2026, 1, 1), "isoformat")
    assert plain() == "2026-01-01"


def test_write_guard_allows_dicts_and_lists_only(env):
    data = run(env, "d = {}\nd['a'] = 1\nl = [0]\nl[0] = 2")
    assert data == {"d": {"a": 1}, "l": [2]}
    with pytest.raises(TypeError):
        env.execute("t = today()\nt.year = 1", {})


def test_sequence_unpacking_works_under_the_guards(env):
    data = run(env, "a, (b, c) = [1, (2, 3)]\nfor k, v in pairs:\n    s = k + v\nx = [p + q for p, q in pairs]",
               pairs=[(1, 2), (3, 4)])
    assert (data["a"], data["b"], data["c"], data["s"], data["x"]) == (1, 2, 3, 7, [3, 7])


def test_star_arguments_go_through_apply(env):
    assert env.evaluate("max(*values, **opts)", {"values": [1, 3, 2], "opts": {}}) == 3


def test_slices_are_charged(env):
    budget = Budget(BACKSTOP)
    guards = Guards(budget)
    assert guards.getitem([1, 2, 3, 4], slice(1, 3)) == [2, 3]
    assert budget.alloc == 2
    assert guards.getitem({"k": "vvvv"}, "k") == "vvvv"
    assert budget.alloc == 2


def test_isinstance_sees_the_real_types_behind_counted_builtins(env):
    assert env.evaluate("isinstance(v, str)", {"v": "a"}) is True
    assert env.evaluate("isinstance(v, (list, dict))", {"v": {}}) is True
    assert env.evaluate("isinstance(v, (list, tuple))", {"v": "a"}) is False
    assert env.evaluate("isinstance(v, int)", {"v": 1}) is True
    assert env.evaluate("isinstance(v, Decimal)", {"v": Decimal(1)}) is True


def test_counted_builtins_behave_like_the_real_ones(env):
    assert env.evaluate("list('ab') + sorted([2, 1]) + list(tuple([3]))", {}) == ["a", "b", 1, 2, 3]
    assert env.evaluate("set([1, 1]) == {1} and frozenset([1]) == {1}", {}) is True
    assert env.evaluate("dict(a=1)", {}) == {"a": 1}
    assert env.evaluate("str(12) + str()", {}) == "12"
    assert env.evaluate("sum([1, 2]) + sum([1], 10) + sum([Decimal('0.5')], Decimal(0))", {}) == Decimal("14.5")
    assert env.evaluate("sum([0.5], 0.5)", {}) == 1.0
    assert env.evaluate("int('7') + int() + int(Decimal('2.5')) + int('11', 2)", {}) == 12
    assert env.evaluate("list(range(3)) + list(range(1, 3))", {}) == [0, 1, 2, 1, 2]
    assert env.evaluate("[abs(-1), len('ab'), round(1.4), min(1, 2), max(1, 2), bool(0), float('1')]",
                        {}) == [1, 2, 1, 1, 2, False, 1.0]
    assert env.evaluate("list(zip([1], [2])) + list(enumerate('a')) + list(reversed([1, 2]))", {}) == \
        [(1, 2), (0, "a"), 2, 1]
    assert env.evaluate("list(map(str, [1])) + list(filter(None, [0, 1])) + [any([1]), all([])]",
                        {}) == ["1", 1, True, True]


def test_exceptions_can_be_raised_by_scripts(env):
    for name in ("ValueError", "KeyError", "TypeError", "Exception"):
        with pytest.raises(Exception) as caught:
            env.execute(f"raise {name}('x')", {})
        assert type(caught.value).__name__ == name


def test_size_of():
    assert [size_of(v) for v in ("abc", b"ab", [1], (1, 2), {"a": 1}, {1, 2, 3}, frozenset(),
                                 bytearray(b"a"))] == [3, 2, 1, 2, 1, 3, 0, 1]
    assert size_of(2 ** 80) == 10
    assert size_of(255) == 1
    assert size_of(1.5) == 0
    assert size_of(None) == 0


# ---------------------------------------------------------------------------------- threads
def test_scripts_run_in_threads_each_with_its_own_budget(env):
    results = {}

    def work(i):
        data = {"i": i}
        env.execute("x = 0\nwhile x < 1000:\n    x = x + 1\ny = i", data)
        results[i] = data

    threads = [threading.Thread(target=work, args=(i,)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert results == {i: {"i": i, "x": 1000, "y": i} for i in range(4)}


def test_no_module_or_namespace_is_within_two_public_attributes(env):
    """Walk what a script can name, two attribute steps deep, as the guards allow: no module,
    no frame, no code object, no function globals, nothing holding a SECRET_KEY."""
    import types
    guards = Guards(Budget(ScriptLimits(max_alloc=10 ** 12)))
    scope = {**env.globals, **{k: v for k, v in guards.builtins().items() if not k.startswith("_")}}
    bad_types = (types.ModuleType, types.FrameType, types.CodeType, types.TracebackType)
    seen = 0
    level = list(scope.items())
    for _depth in range(2):
        following = []
        for path, value in level:
            for attr in dir(value):
                try:
                    got = guards.getattr(value, attr)
                except (AttributeError, TypeError, ValueError):
                    continue
                seen += 1
                assert not isinstance(got, bad_types), f"{path}.{attr}"
                assert not (isinstance(got, dict) and ("SECRET_KEY" in got or "__builtins__" in got)), \
                    f"{path}.{attr}"
                following.append((f"{path}.{attr}", got))
        level = following
    assert seen > 300


def test_service_tasks_fail_as_a_step_error_naming_the_operation():
    from pathlib import Path

    from SpiffWorkflow.bpmn import BpmnWorkflow
    from SpiffWorkflow.bpmn.exceptions import WorkflowTaskException
    from SpiffWorkflow.spiff.parser.process import SpiffBpmnParser
    parser = SpiffBpmnParser()
    parser.add_bpmn_file(str(Path(__file__).parent.parent / "data" / "timer_case" / "timer_case.bpmn"))
    engine = RongScriptEngine(ManualClock(NOW), default_calendar(), BACKSTOP)
    workflow = BpmnWorkflow(parser.get_spec("timer_case"), script_engine=engine)
    task = workflow.get_next_task(spec_name="mark_overdue")
    with pytest.raises(WorkflowTaskException) as caught:
        engine.call_service(task, operation_name="send_sms")
    assert str(caught.value).startswith("no service 'send_sms' is available to service task 'mark_overdue'")
    assert caught.value.task is task
