"""Budgets of BPMN scripts: steps and time through the trace function, sizes checked before the C
code runs, the run's total allocation; the caller's tracer comes back afterwards."""
import sys
from datetime import datetime, timezone
from decimal import Decimal

import pytest

from engine.calendar import default_calendar
from engine.clock import ManualClock
from engine.sandbox.guards import Guards
from engine.sandbox.limits import (SCRIPT_FILE, Budget, ScriptBudgetExceeded, ScriptLimits, limits_from,
                                   traced)
from engine.scripting import RongScriptEngine

NOW = datetime(2026, 3, 2, 1, 0, tzinfo=timezone.utc)
STEPS_ONLY = ScriptLimits(time_ms=3_600_000, max_steps=5_000)
# The default budgets with wall time only as a backstop: for tests not about time (a loaded
# machine's stall of half a second is no script running long).
BACKSTOP = ScriptLimits(time_ms=30_000)


def environment(limits: ScriptLimits):
    return RongScriptEngine(ManualClock(NOW), default_calendar(), limits).environment


def stopped(limits, script, data=None):
    with pytest.raises(ScriptBudgetExceeded) as caught:
        environment(limits).execute(script, data if data is not None else {})
    return str(caught.value)


# ------------------------------------------------------------------------------ runaway scripts
def test_endless_loop_is_stopped_by_the_step_budget():
    assert stopped(STEPS_ONLY, "while True:\n    pass") == "script stopped: more than 5000 steps"


def test_one_line_endless_loop_is_stopped_too():
    assert stopped(STEPS_ONLY, "while True: pass") == "script stopped: more than 5000 steps"


def test_endless_loop_in_an_expression_is_stopped():
    with pytest.raises(ScriptBudgetExceeded):
        environment(STEPS_ONLY).evaluate("[x for x in range(100000) for y in range(100000)]", {})


def test_endless_loop_is_stopped_by_the_time_budget():
    limits = ScriptLimits(time_ms=1, max_steps=10 ** 12)
    assert stopped(limits, "while True:\n    pass") == "script stopped: ran longer than 1 ms"


def test_deep_recursion_is_stopped():
    with pytest.raises((ScriptBudgetExceeded, RecursionError)):
        environment(STEPS_ONLY).execute("def f(n):\n    return f(n + 1)\nx = f(0)", {})


@pytest.mark.parametrize("script,reason", [
    ("x = 10 ** 10 ** 10", "a power"),
    ("x = 'x' * 10 ** 10", "a repeated sequence"),
    ("x = 10 ** 10 * 'x'", "a repeated sequence"),
    ("x = [0] * 10 ** 10", "a repeated sequence"),
    ("x = list(range(10 ** 9))", "a range"),
    ("x = 1 << 10 ** 9", "a shifted number"),
    ("a = 2 ** 399999\nx = a * a * a", "a product"),
    ("x = 'x'\nwhile True:\n    x = x + x", "a joined sequence"),
    ("x = [1]\nwhile True:\n    x += x", "a joined sequence"),
    ("x = 'ab' * 1000\nwhile True:\n    x = x.replace('a', 'aa')", "a replaced string"),
    ("x = 'a'.ljust(10 ** 9)", "a padded string"),
    ("x = 'a'.rjust(10 ** 9)", "a padded string"),
    ("x = 'a'.center(10 ** 9)", "a padded string"),
    ("x = '1'.zfill(10 ** 9)", "a padded string"),
    ("x = ('\\t' * 1000).expandtabs(1000)", "an expanded string"),
    ("x = ('\\t' * 20000).expandtabs()", "an expanded string"),
    ("x = ''.join(['x' * 1000] * 1000)", "a joined string"),
    ("x = [1]\nwhile True:\n    x.extend(x)", "an extended list"),
    ("x = '%0999999999d' % 1", "a % format width"),
    ("x = '%.999999999f' % 1", "a % format width"),
    ("x = int(Decimal('1e999999'))", "a number"),
    ("x = list(set(range(100000)) | {-1})", "a list"),
])
def test_huge_values_are_refused_before_they_are_built(script, reason):
    message = stopped(ScriptLimits(time_ms=60_000, max_steps=10 ** 7), script)
    assert message.startswith(f"script stopped: {reason} of size ")
    assert message.endswith("is over the limit of 100000")


def test_star_widths_in_percent_formatting_are_refused():
    assert stopped(BACKSTOP, "x = '%*d' % (10 ** 9, 1)") == \
        "script stopped: '*' widths in % formatting are not allowed"


def test_sum_adds_numbers_only():
    assert stopped(BACKSTOP, "x = sum([[1]] * 100, [])") == "script stopped: sum() adds numbers only"


def test_many_moderate_values_exhaust_the_allocation_budget():
    assert stopped(BACKSTOP, "x = []\nwhile True:\n    x.append('x' * 100000)") == \
        "script stopped: made more than 10000000 items in all"


def test_the_budget_stays_broken_once_broken():
    budget = Budget(ScriptLimits(max_alloc=10))
    with pytest.raises(ScriptBudgetExceeded):
        budget.spend(11)
    with pytest.raises(ScriptBudgetExceeded):
        budget.check_size(10 ** 9, "x")
    assert budget.breach == "script stopped: made more than 10 items in all"


# -------------------------------------------------------------------------- the Budget itself
def test_steps_count_up_to_the_limit_exactly():
    budget = Budget(ScriptLimits(time_ms=10 ** 9, max_steps=3))
    frame = sys._getframe()
    for _ in range(3):
        assert budget.trace(frame, "call", None) is None  # helper frames: counted, not traced
    assert budget.steps == 3 and budget.breach is None
    budget.trace(frame, "line", None)
    assert budget.breach == "script stopped: more than 3 steps"


def test_time_limit_reads_the_given_clock():
    now = [100.0]
    budget = Budget(ScriptLimits(time_ms=250, max_steps=10 ** 9), clock=lambda: now[0])
    assert budget.deadline == 100.25
    frame = sys._getframe()
    now[0] = 100.25
    budget.trace(frame, "line", None)
    assert budget.breach is None
    now[0] = 100.2501
    budget.trace(frame, "line", None)
    assert budget.breach == "script stopped: ran longer than 250 ms"


def test_trace_raises_only_in_script_frames_and_turns_on_opcode_events():
    budget = Budget(ScriptLimits(time_ms=10 ** 9, max_steps=1))
    helper_frame = sys._getframe()
    budget.trace(helper_frame, "line", None)
    budget.trace(helper_frame, "line", None)  # over budget, but not a script frame: no raise
    assert budget.breach == "script stopped: more than 1 steps"
    script_frame = eval(compile("__import__('sys')._getframe()", SCRIPT_FILE, "eval"))
    with pytest.raises(ScriptBudgetExceeded, match="more than 1 steps"):
        budget.trace(script_frame, "call", None)

    fresh = Budget(BACKSTOP)
    script_frame.f_trace_opcodes = False
    assert fresh.trace(script_frame, "call", None) == fresh.trace
    assert script_frame.f_trace_opcodes is True
    helper_frame.f_trace_opcodes = False
    assert fresh.trace(helper_frame, "call", None) is None
    assert helper_frame.f_trace_opcodes is False
    assert fresh.steps == 2


def test_check_size_and_spend_boundaries():
    budget = Budget(ScriptLimits(max_size=10, max_alloc=20))
    budget.check_size(10, "a thing")
    with pytest.raises(ScriptBudgetExceeded, match="^script stopped: a thing of size 11 is over the limit of 10$"):
        budget.check_size(11, "a thing")
    budget = Budget(ScriptLimits(max_size=10, max_alloc=20))
    budget.spend(15)
    budget.spend(5)
    assert budget.alloc == 20
    with pytest.raises(ScriptBudgetExceeded, match="more than 20 items"):
        budget.spend(1)


def test_fail_keeps_the_first_reason():
    budget = Budget(BACKSTOP)
    for reason in ("first", "second"):
        with pytest.raises(ScriptBudgetExceeded, match=reason):
            budget.fail(reason)
    assert budget.breach == "first"


def test_traced_restores_the_previous_tracer_and_reports_a_hidden_breach():
    calls = []

    def outer(frame, event, arg):
        calls.append(event)
        return None

    previous = sys.gettrace()
    sys.settrace(outer)
    try:
        budget = Budget(BACKSTOP)
        with traced(budget):
            assert sys.gettrace() == budget.trace
        assert sys.gettrace() is outer
        broken = Budget(BACKSTOP)
        with pytest.raises(ScriptBudgetExceeded, match="hidden"):
            with traced(broken):
                broken.breach = "hidden"
        assert sys.gettrace() is outer
        with pytest.raises(KeyError):
            with traced(Budget(BACKSTOP)):
                raise KeyError("x")
        assert sys.gettrace() is outer
    finally:
        sys.settrace(previous)


def test_default_limits():
    assert ScriptLimits() == ScriptLimits(time_ms=500, max_steps=1_000_000, max_size=100_000,
                                          max_alloc=10_000_000)


def test_limits_from_settings():
    assert limits_from({}) == ScriptLimits()
    assert limits_from({"SCRIPT_TIME_LIMIT_MS": "20", "SCRIPT_MAX_STEPS": 30, "SCRIPT_MAX_SIZE": 40,
                        "SCRIPT_MAX_ALLOC": 50}) == ScriptLimits(20, 30, 40, 50)


# ------------------------------------------------------------------------------- the guards
@pytest.fixture
def guards():
    return Guards(Budget(ScriptLimits(max_size=10, max_alloc=1000)))


def test_binop_boundaries(guards):
    assert guards.binop("+", "x" * 5, "y" * 5) == "x" * 5 + "y" * 5
    assert guards.binop("+", [1] * 5, [2] * 5) == [1] * 5 + [2] * 5
    assert guards.binop("+", 1, 2) == 3
    assert guards.binop("*", "ab", 5) == "ab" * 5
    assert guards.binop("*", 5, "ab") == "ab" * 5
    assert guards.binop("*", 2, 3) == 6
    assert guards.binop("**", 2, 40) == 2 ** 40
    assert guards.binop("**", 2, -1) == 0.5
    assert guards.binop("**", 2.0, 3) == 8.0
    assert guards.binop("<<", 1, 79) == 1 << 79
    assert guards.binop("%", "%5d", 3) == "    3"
    assert guards.binop("%", 7, 4) == 3
    for op, a, b in [("+", "x" * 6, "y" * 5), ("+", (1,) * 6, (2,) * 5), ("*", "ab", 6), ("*", 6, "ab"),
                     ("*", 2 ** 80, 2 ** 16), ("**", 2, 44), ("**", 3, 44), ("<<", 1, 88),
                     ("%", "%11d", 1), ("%", "%.11f", 1.0), ("%", b"%11d", 1), ("%", "%(a)11s", {"a": 1})]:
        with pytest.raises(ScriptBudgetExceeded):
            guards.binop(op, a, b)
            pytest.fail(f"{a!r} {op} {b!r} went through")


def test_binop_boundaries_on_products_of_numbers(guards):
    assert guards.binop("*", 2 ** 40, 2 ** 40) == 2 ** 80
    with pytest.raises(ScriptBudgetExceeded, match="a product of size 11"):
        guards.binop("*", 2 ** 47, 2 ** 40)


def test_power_of_zero_and_one_bits(guards):
    assert guards.binop("**", 0, 80) == 0
    with pytest.raises(ScriptBudgetExceeded, match="a power of size 11"):
        guards.binop("**", 1, 88)


def test_inplace_operators(guards):
    items = [1]
    assert guards.inplace("+=", items, [2]) is items and items == [1, 2]
    assert guards.inplace("*=", [1], 3) == [1, 1, 1]
    assert guards.inplace("-=", 5, 2) == 3
    assert guards.inplace("/=", 5, 2) == 2.5
    assert guards.inplace("//=", 5, 2) == 2
    assert guards.inplace("%=", 5, 2) == 1
    assert guards.inplace("**=", 2, 3) == 8
    assert guards.inplace("<<=", 1, 3) == 8
    assert guards.inplace(">>=", 8, 3) == 1
    assert guards.inplace("&=", 6, 3) == 2
    assert guards.inplace("|=", 6, 3) == 7
    assert guards.inplace("^=", 6, 3) == 5
    with pytest.raises(ScriptBudgetExceeded):
        guards.inplace("+=", "x" * 10, "y")
    with pytest.raises(ScriptBudgetExceeded):
        guards.inplace("*=", "xx", 6)


def test_results_are_charged(guards):
    guards.binop("+", "abc", "de")
    assert guards.budget.alloc == 5
    guards.binop("*", 2 ** 40, 2 ** 40)
    assert guards.budget.alloc == 15


def test_string_method_boundaries(guards):
    def call(obj, name, *args):
        return guards.getattr(obj, name)(*args)

    assert call("a", "ljust", 10) == "a" + " " * 9
    assert call("a", "rjust", 10) == " " * 9 + "a"
    assert call("a", "center", 10) == "a".center(10)
    assert call("1", "zfill", 10) == "0" * 9 + "1"
    assert call("\t", "expandtabs") == " " * 8
    assert call("\t", "expandtabs", 10) == " " * 10
    assert call("aa", "replace", "a", "bbbb") == "bbbbbbbb"
    assert call("aaa", "replace", "a", "bbbb", 2) == "bbbbbbbba"
    assert call("aaaaaaaaaa", "replace", "a", "") == ""
    assert call("xy", "replace", "", "ab") == "abxabyab"
    assert call(b"aa", "replace", b"a", b"bbbbb") == b"bbbbbbbbbb"
    assert call(",", "join", ["abcd", "efgh"]) == "abcd,efgh"
    assert call("", "join", (c for c in "abc")) == "abc"
    for obj, name, args in [("a", "ljust", (11,)), ("a", "rjust", (11,)), ("a", "center", (11,)),
                            ("1", "zfill", (11,)), ("a\tb", "expandtabs", (5,)), ("aa\tbb", "expandtabs", ()),
                            ("aaa", "replace", ("a", "bbbb")), ("xyz", "replace", ("", "abc")),
                            ("aaaaaa", "replace", ("a", "bb", 5)), (b"aaaaaa", "replace", (b"a", b"bb")),
                            (",", "join", (["abcde", "efghi"],)), ("", "join", (["x"] * 11,))]:
        with pytest.raises(ScriptBudgetExceeded):
            call(obj, name, *args)
            pytest.fail(f"{obj!r}.{name}{args!r} went through")


def test_list_growth_boundaries(guards):
    items = [0] * 8
    guards.getattr(items, "append")(1)
    guards.getattr(items, "insert")(0, 2)
    assert items == [2] + [0] * 8 + [1]
    with pytest.raises(ScriptBudgetExceeded):
        guards.getattr(items, "append")(3)
    with pytest.raises(ScriptBudgetExceeded):
        guards.getattr(items, "insert")(0, 3)
    few = [1, 2]
    guards.getattr(few, "extend")(x for x in range(8))
    assert few == [1, 2, 0, 1, 2, 3, 4, 5, 6, 7]
    with pytest.raises(ScriptBudgetExceeded):
        guards.getattr(few, "extend")([1])
    members = set(range(9))
    guards.getattr(members, "add")(9)
    with pytest.raises(ScriptBudgetExceeded):
        guards.getattr(members, "add")(10)


def test_growth_calls_are_charged(guards):
    guards.getattr([], "append")(1)
    assert guards.budget.alloc == 1
    guards.getattr([], "extend")([1, 2, 3])
    assert guards.budget.alloc == 1


def test_range_and_counted_builtins(guards):
    built = guards.builtins()
    assert list(built["range"](10)) == list(range(10))
    assert guards.budget.alloc == 10
    with pytest.raises(ScriptBudgetExceeded, match="a range of size 11"):
        built["range"](11)
    assert built["list"]("abcdefghij") == list("abcdefghij")
    with pytest.raises(ScriptBudgetExceeded, match="a list of size 11"):
        built["list"]("abcdefghijk")
    with pytest.raises(ScriptBudgetExceeded, match="a str of size 11"):
        built["str"](12345678901)
    assert built["sorted"].__name__ == "sorted"


def test_int_of_huge_decimals(guards):
    assert guards.int(Decimal("1e21")) == 10 ** 21
    with pytest.raises(ScriptBudgetExceeded, match="a number of size 11"):
        guards.int(Decimal("1e22"))
    assert guards.int(Decimal("-1e21")) == -(10 ** 21)
    assert guards.int(Decimal("0.5")) == 0
    with pytest.raises(ValueError):
        guards.int(Decimal("NaN"))


def test_sum_start_values(guards):
    assert guards.sum([1, 2]) == 3
    assert guards.sum([1], 1.5) == 2.5
    assert guards.sum([Decimal(1)], Decimal(1)) == Decimal(2)
    for start in ("", [], ()):
        with pytest.raises(ScriptBudgetExceeded, match="sum\\(\\) adds numbers only"):
            guards.sum([], start)


def test_script_file_name_is_the_one_spiffworkflow_looks_for():
    assert SCRIPT_FILE == "<string>"


def test_plain_objects_keep_their_own_methods(guards):
    plain = guards.getattr(datetime(2026, 1, 1), "isoformat")
    assert plain.__name__ == "isoformat"
    assert guards.getattr("a", "upper").__name__ == "guarded"


def test_default_tab_size_is_eight():
    assert Guards(Budget(ScriptLimits(max_size=16))).getattr("\t\t", "expandtabs")() == " " * 16
    with pytest.raises(ScriptBudgetExceeded, match="an expanded string of size 16"):
        Guards(Budget(ScriptLimits(max_size=15))).getattr("\t\t", "expandtabs")()


def test_replace_with_a_zero_count_changes_nothing(guards):
    assert guards.getattr("aaa", "replace")("a", "bbbb", 0) == "aaa"


def test_percent_templates_with_unencodable_characters_are_still_checked(guards):
    with pytest.raises(ScriptBudgetExceeded, match="a % format width of size 11"):
        guards.binop("%", "\ud800%11d", 1)


def test_matrix_inplace_operator_is_passed_through(guards):
    class Matrix:
        def __imatmul__(self, other):
            return "multiplied"

    assert guards.inplace("@=", Matrix(), 1) == "multiplied"


def test_limits_cannot_be_changed_once_made():
    import dataclasses
    with pytest.raises(dataclasses.FrozenInstanceError):
        ScriptLimits().max_steps = 10 ** 12  # type: ignore[misc]
