"""The compile-time rules of the BPMN script sandbox: every escape class is refused, with its line,
before anything runs; and what stays allowed still works."""
import ast

import pytest

from engine.sandbox.limits import SCRIPT_FILE
from engine.sandbox.policy import (FORBIDDEN_ATTRIBUTES, MAX_FORMAT_WIDTH, RongPolicy, ScriptRefused,
                                   compile_script)

# (class of escape, source): each must be refused by the compiler.
ESCAPES = [
    ("dunder_attribute", "x = now.__globals__"),
    ("dunder_attribute", "x = ().__class__.__base__"),
    ("dunder_attribute", "x = now.__code__"),
    ("dunder_name", "x = __builtins__"),
    ("dunder_name", "x = __import__('os')"),
    ("underscore_name", "_x = 1"),
    ("underscore_attribute", "x = now._private"),
    ("fullwidth_nfkc", "x = now._＿globals_＿"),
    ("fullwidth_nfkc", "x = _＿import_＿('os')"),
    ("fullwidth_nfkc", "x = ｇｅｔａｔｔｒ(now, 'a')"),
    ("format_traversal", "x = '{0.__globals__}'.format(now)"),
    ("format_traversal", "x = '{0.f}'.format_map({})"),
    ("format_traversal", "f = 'a'.format"),
    ("generator_frame", "g = (i for i in [1])\nx = g.gi_frame"),
    ("generator_frame", "g = (i for i in [1])\nx = g.gi_code"),
    ("frame_walk", "x = frame.f_back"),
    ("frame_walk", "x = frame.f_globals"),
    ("frame_walk", "x = frame.f_locals"),
    ("frame_walk", "x = frame.f_builtins"),
    ("coroutine_frame", "x = c.cr_frame"),
    ("coroutine_frame", "x = c.ag_frame"),
    ("traceback_frame", "x = tb.tb_frame"),
    ("traceback_frame", "x = tb.tb_next"),
    ("code_object", "x = c.co_code"),
    ("code_object", "x = c.co_consts"),
    ("closure_cell", "x = add_days.__closure__"),
    ("closure_cell", "x = cell.cell_contents"),
    ("closure_cell", "x = f.func_globals"),
    ("type_walk", "x = str.mro()"),
    ("type_walk", "x = int.__subclasses__()"),
    ("getattr_builtin", "x = getattr(now, 'a')"),
    ("getattr_builtin", "setattr(now, 'a', 1)"),
    ("getattr_builtin", "delattr(now, 'a')"),
    ("getattr_builtin", "x = hasattr(now, 'a')"),
    ("getattr_builtin", "x = vars(now)"),
    ("getattr_builtin", "x = dir(now)"),
    ("namespace_builtin", "x = globals()"),
    ("namespace_builtin", "x = locals()"),
    ("code_builtin", "eval('1')"),
    ("code_builtin", "exec('x = 1')"),
    ("code_builtin", "compile('1', 'f', 'eval')"),
    ("file_builtin", "open('/etc/passwd')"),
    ("import", "import os"),
    ("import", "import os.path as p"),
    ("import", "from os import system"),
    ("import", "from . import x"),
    ("class_trick", "class A:\n    pass"),
    ("class_trick", "class A(object):\n    x = 1"),
    ("decorator_trick", "@vars\ndef f():\n    pass"),
    ("lambda_trick", "f = lambda: now.__globals__"),
    ("lambda_trick", "f = lambda _a: 1"),
    ("exception_traceback", "try:\n    1 / 0\nexcept Exception as e:\n    x = e.__traceback__"),
    ("exception_traceback", "try:\n    pass\nfinally:\n    pass"),
    ("context_manager", "with x:\n    pass"),
    ("generator", "def g():\n    yield 1"),
    ("generator", "def g():\n    yield from [1]"),
    ("scope", "global x"),
    ("scope", "def f():\n    nonlocal x"),
    ("async", "async def f():\n    pass"),
    ("printing", "print('x')"),
    ("printing", "x = printed"),
    ("debugger", "breakpoint()"),
    ("io", "x = input()"),
    ("exit", "exit()"),
    ("zoneinfo_files", "x = BEIJING.from_file(1)"),
    ("zoneinfo_files", "BEIJING.clear_cache()"),
    ("percent_format", "x = '%s' % now.__globals__"),
    ("fstring_dunder", "x = f'{now.__globals__}'"),
    ("fstring_width", "x = f'{1:>99999999}'"),
    ("fstring_width", "x = f'{1:{n}}'"),
    ("syntax", "x = = 1"),
]


@pytest.mark.parametrize("source", [s for _c, s in ESCAPES], ids=[f"{c}-{i}" for i, (c, _s) in enumerate(ESCAPES)])
def test_escape_is_refused_at_compile_time(source):
    with pytest.raises(ScriptRefused) as caught:
        compile_script(source)
    assert caught.value.lineno >= 1
    assert caught.value.message


def test_refusal_names_the_line_of_the_offending_statement():
    with pytest.raises(ScriptRefused) as caught:
        compile_script("a = 1\nb = 2\nc = now.__globals__")
    assert caught.value.lineno == 3
    assert caught.value.message == 'attribute "__globals__" is not allowed in BPMN scripts'
    assert caught.value.filename == SCRIPT_FILE


def test_refusal_messages_say_what_was_refused():
    def message(source, mode="exec"):
        with pytest.raises(ScriptRefused) as caught:
            compile_script(source, mode)
        return caught.value.message

    assert message("_x = 1") == '"_x" is not allowed: names may not start with "_"'
    assert message("x = _＿import_＿") == '"__import__" is not allowed: names may not start with "_"'
    assert message("x = getattr") == '"getattr" is not allowed in BPMN scripts'
    assert message("print(1)") == '"print" is not allowed in BPMN scripts'
    assert message("x = now.format") == 'attribute "format" is not allowed in BPMN scripts'
    assert message("x = now.f_back2") == 'attribute "f_back2" is not allowed in BPMN scripts'
    assert message("x = now.gi_anything") == 'attribute "gi_anything" is not allowed in BPMN scripts'
    assert message("import os") == "imports are not allowed in BPMN scripts"
    assert message("from os import path") == "imports are not allowed in BPMN scripts"
    assert message("class A:\n    pass") == "class definitions are not allowed in BPMN scripts"
    assert message("try:\n    pass\nexcept Exception:\n    pass") == "try statements are not allowed in BPMN scripts"
    assert message("with a:\n    pass") == "with statements are not allowed in BPMN scripts"
    assert message("def g():\n    yield 1") == "generators (yield) are not allowed in BPMN scripts"
    assert message("def g():\n    yield from a") == "generators (yield) are not allowed in BPMN scripts"
    assert message("global a") == "global statements are not allowed in BPMN scripts"
    assert message("x = f'{a:{b}}'") == "computed format specs are not allowed in BPMN scripts"
    assert message(f"x = f'{{a:>{MAX_FORMAT_WIDTH + 1}}}'") == f"format widths over {MAX_FORMAT_WIDTH} are not allowed"
    assert message("x = = 1") == "syntax error: invalid syntax"
    assert message("a b", "eval") == "syntax error: invalid syntax"


def test_try_star_is_refused():
    policy = RongPolicy()
    node = ast.TryStar(body=[ast.Pass()], handlers=[], orelse=[], finalbody=[], lineno=4, col_offset=0)
    policy.visit(node)
    assert policy.problems == [(4, "try statements are not allowed in BPMN scripts")]


def test_allowed_constructs_compile():
    ok = [
        "x = 1 + 2 * 3 ** 2 - 4 // 2 % 3",
        "x = [i * 2 for i in range(3) if i]",
        "x = {k: v for k, v in d.items()}",
        "a, (b, c) = 1, (2, 3)",
        "for a, b in pairs:\n    total = a + b",
        "def f(a, b=1, *args, **kw):\n    return a\nx = f(1)",
        "f = lambda v: v + 1",
        "x = sorted(items, key=lambda i: i['k'])",
        "x = f'{name} {amount:>10.2f}'",
        "n = 1\nn += 1\nn *= 2",
        "x = s.upper().strip()",
        "del d['k']",
        "x = d['a'][0:2]",
        "x = a if b else c",
        "assert x, 'x'",
        "raise ValueError('bad')",
        "while n < 3:\n    n = n + 1\n    if n == 2:\n        continue\n    break",
        "x = '%s-%d' % ('a', 1)",
    ]
    for source in ok:
        assert compile_script(source) is not None, source


def test_expression_mode_strips_spaces_like_eval():
    code = compile_script("  amount > 1 \t", "eval")
    assert eval(code, {"amount": 2}) is True
    assert compile_script("amount\n", "eval") is not None


def test_compiled_code_is_cached_per_source_and_mode():
    first = compile_script("x = 41 + 1")
    assert compile_script("x = 41 + 1") is first
    assert compile_script("41 + 1", "eval") is not compile_script("41 + 1", "exec")


def test_guarded_operators_are_rewritten_to_binop():
    code = compile_script("x = a + b\ny = a * b\nz = a ** b\nw = a << b\nv = a % b\nu = a - b")
    assert "_binop_" in code.co_names
    calls = []

    def binop(op, a, b):
        calls.append(op)
        return 0

    scope = {"a": 2, "b": 3, "_binop_": binop}
    exec(code, scope)
    assert calls == ["+", "*", "**", "<<", "%"]
    assert scope["u"] == -1


def test_forbidden_attributes_cover_frames_generators_and_format():
    for name in ("gi_frame", "gi_code", "f_back", "f_globals", "f_locals", "tb_frame", "cr_frame",
                 "ag_frame", "func_globals", "mro", "format", "format_map", "cell_contents"):
        assert name in FORBIDDEN_ATTRIBUTES


def test_limits_of_the_rules_are_what_the_docs_say():
    from engine.sandbox.policy import _compile_cached
    assert MAX_FORMAT_WIDTH == 1000
    assert compile_script("x = f'{a:>1000}'") is not None
    with pytest.raises(ScriptRefused, match="format widths over 1000 are not allowed"):
        compile_script("x = f'{a:>1001}'")
    assert _compile_cached.cache_info().maxsize == 2048


def test_refusal_without_a_line_reports_line_zero():
    refused = ScriptRefused("bad", None)
    assert (refused.lineno, refused.offset, refused.filename, refused.msg) == (0, 0, SCRIPT_FILE, "bad")
    assert ScriptRefused("bad", 7).lineno == 7
    policy = RongPolicy()
    policy.error(ast.Pass(), "no position")
    assert policy.problems == [(0, "no position")]


@pytest.mark.parametrize("source,name", [("def open():\n    pass", "open"), ("def f(eval):\n    pass", "eval"),
                                         ("f = lambda getattr: 1", "getattr")])
def test_forbidden_names_are_refused_where_they_are_bound(source, name):
    with pytest.raises(ScriptRefused) as caught:
        compile_script(source)
    assert caught.value.message == f'"{name}" is not allowed in BPMN scripts'
