"""Compile-time rules for BPMN scripts and expressions, on top of RestrictedPython's policy.

Identifiers are checked in their NFKC form (the form Python itself uses, so ``_＿globals_＿`` is
``__globals__``). Refused: names and attributes starting with ``_``; frame, generator, code and
traceback attributes; ``format``/``format_map``; imports, classes, try/with, yield, global.
Operators that can build huge values in one C call are rewritten into ``_binop_`` (see guards).
"""
from __future__ import annotations

import ast
import re
import unicodedata
from functools import lru_cache
from types import CodeType

from RestrictedPython.transformer import INSPECT_ATTRIBUTES, RestrictingNodeTransformer

from engine.sandbox.limits import SCRIPT_FILE

FORBIDDEN_NAMES = frozenset(
    "getattr setattr delattr hasattr vars dir globals locals eval exec compile open breakpoint "
    "input help memoryview print printed builtins super exit quit".split())
FORBIDDEN_ATTRIBUTES = INSPECT_ATTRIBUTES | frozenset(
    "format format_map mro translate maketrans cell_contents func_globals func_code func_closure "
    "im_func im_self gi_running cr_running from_file no_cache clear_cache".split())
# Frame, traceback, code, generator, coroutine and async generator attributes, present and future.
_INTERNAL_PREFIX = re.compile(r"^(f|tb|co|gi|cr|ag)_")
GUARDED_OPERATORS: dict[type[ast.operator], str] = {
    ast.Add: "+", ast.Mult: "*", ast.Pow: "**", ast.LShift: "<<", ast.Mod: "%"}
# Statements and expressions refused whole (RestrictedPython would allow them).
REFUSED_NODES: dict[type[ast.AST], str] = {
    ast.Import: "imports", ast.ImportFrom: "imports", ast.ClassDef: "class definitions",
    ast.Try: "try statements", ast.TryStar: "try statements", ast.With: "with statements",
    ast.Yield: "generators (yield)", ast.YieldFrom: "generators (yield)", ast.Global: "global statements",
}
# Widths in f-string format specs (f"{x:>99999999}" would build a huge string in one C call).
MAX_FORMAT_WIDTH = 1000
_SPEC_NUMBER = re.compile(r"\d+")
CACHE_SIZE = 2048


class ScriptRefused(SyntaxError):
    """A script or expression does not compile under the rules; `lineno` is its line."""

    def __init__(self, message: str, line: int | None) -> None:
        super().__init__(message, (SCRIPT_FILE, line or 0, 0, None))
        self.message = message


class RongPolicy(RestrictingNodeTransformer):
    """RestrictedPython's transformer with the stricter rules above."""

    def __init__(self) -> None:
        super().__init__([], [], {})
        self.problems: list[tuple[int, str]] = []

    def error(self, node: ast.AST, info: str) -> None:
        self.problems.append((getattr(node, "lineno", 0), info))
        super().error(node, info)

    def check_name(self, node: ast.AST, name: str | None, allow_magic_methods: bool = False) -> None:
        if name is None:
            return
        name = unicodedata.normalize("NFKC", name)
        if name.startswith("_"):
            self.error(node, f'"{name}" is not allowed: names may not start with "_"')
        elif name in FORBIDDEN_NAMES:
            self.error(node, f'"{name}" is not allowed in BPMN scripts')

    def visit_Name(self, node: ast.Name) -> ast.AST:
        if node.id in FORBIDDEN_NAMES:  # before RestrictedPython turns print into _print
            self.error(node, f'"{node.id}" is not allowed in BPMN scripts')
            return node
        result: ast.AST = super().visit_Name(node)
        return result

    def visit_Attribute(self, node: ast.Attribute) -> ast.AST:
        attr = unicodedata.normalize("NFKC", node.attr)
        if attr.startswith("_") or attr in FORBIDDEN_ATTRIBUTES or _INTERNAL_PREFIX.match(attr):
            self.error(node, f'attribute "{attr}" is not allowed in BPMN scripts')
            return node
        result: ast.AST = super().visit_Attribute(node)
        return result

    def visit_BinOp(self, node: ast.BinOp) -> ast.AST:
        node = self.node_contents_visit(node)
        symbol = GUARDED_OPERATORS.get(type(node.op))
        if symbol is None:
            return node
        call = ast.Call(func=ast.Name("_binop_", ast.Load()),
                        args=[ast.Constant(symbol), node.left, node.right], keywords=[])
        return ast.copy_location(call, node)

    def visit_FormattedValue(self, node: ast.FormattedValue) -> ast.AST:
        spec = node.format_spec
        if spec is not None:
            parts = spec.values if isinstance(spec, ast.JoinedStr) else [spec]
            if not all(isinstance(p, ast.Constant) for p in parts):
                self.error(node, "computed format specs are not allowed in BPMN scripts")
            elif any(int(n) > MAX_FORMAT_WIDTH for p in parts for n in _SPEC_NUMBER.findall(str(p.value))):
                self.error(node, f"format widths over {MAX_FORMAT_WIDTH} are not allowed")
        result: ast.AST = self.node_contents_visit(node)
        return result

    def visit(self, node: ast.AST) -> ast.AST:
        refused = REFUSED_NODES.get(type(node))
        if refused is not None:
            self.error(node, f"{refused} are not allowed in BPMN scripts")
            return node
        result: ast.AST = super().visit(node)
        return result


def compile_script(source: str, mode: str = "exec") -> CodeType:
    """Compile a script ("exec") or an expression ("eval") under the rules; cached per source.
    Raises ScriptRefused with the line of the first problem."""
    return _compile_cached(source, mode)


@lru_cache(maxsize=CACHE_SIZE)
def _compile_cached(source: str, mode: str) -> CodeType:
    if mode == "eval":
        source = source.strip(" \t")  # as eval() itself does
    try:
        tree = ast.parse(source, SCRIPT_FILE, mode)
    except SyntaxError as exc:
        raise ScriptRefused(f"syntax error: {exc.msg}", exc.lineno) from None
    policy = RongPolicy()
    tree = policy.visit(tree)
    if policy.problems:
        line, message = policy.problems[0]
        raise ScriptRefused(message, line)
    ast.fix_missing_locations(tree)
    code: CodeType = compile(tree, SCRIPT_FILE, mode)
    return code
