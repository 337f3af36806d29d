"""Deploy-time check: every script and expression of a BPMN/DMN set must compile under the
sandbox rules, or the whole set is refused with its file, element and line."""
from __future__ import annotations

import ast
from collections.abc import Iterator
from typing import Any

from lxml import etree

from engine.errors import DefinitionError
from engine.sandbox.policy import ScriptRefused, compile_script

SPIFF_NS = "http://spiffworkflow.org/bpmn/schema/1.0/core"
_PREFIXES = {"http://www.omg.org/spec/BPMN/20100524/MODEL": "bpmn", SPIFF_NS: "spiffworkflow"}
EXEC_TAGS = frozenset({"script", "preScript", "postScript"})
EVAL_TAGS = frozenset({"conditionExpression", "condition", "timeDate", "timeDuration", "timeCycle",
                       "loopCardinality", "completionCondition", "loopCondition", "messagePayload",
                       "payloadExpression"})
DMN_EVAL_PARENTS = frozenset({"inputExpression", "outputEntry"})
# (text, mode, line offset) of one code snippet; mode "match" is a DMN input entry.
Snippet = tuple[str, str, int]


def check_definition(files: dict[str, bytes]) -> None:
    """Compile every script, condition, timer, multi-instance, message and DMN expression of the
    files under the sandbox rules. Raises DefinitionError on the first one refused."""
    for name in sorted(files):
        try:
            tree = etree.fromstring(files[name], parser=etree.XMLParser(resolve_entities=False,
                                                                        no_network=True))
        except etree.XMLSyntaxError:
            continue  # reported by the parser with its own message
        for element, (text, mode, line) in _snippets(tree, dmn=name.endswith(".dmn")):
            try:
                _compile(text, mode)
            except ScriptRefused as exc:
                raise _refusal(exc, name, element, line) from None


def check_query_calls(files: dict[str, bytes], known: frozenset[str], allowed: frozenset[str]) -> None:
    """Refuse a call to a named query of the engine (`known`: engine.named_queries.QUERIES) that
    the process does not list as callable: DefinitionError with file, element and line, in Chinese."""
    for name in sorted(files):
        try:
            tree = etree.fromstring(files[name], parser=etree.XMLParser(resolve_entities=False,
                                                                        no_network=True))
        except etree.XMLSyntaxError:
            continue  # reported by the parser with its own message
        for element, (text, mode, line) in _snippets(tree, dmn=name.endswith(".dmn")):
            for called, offset in _called_names(text, mode):
                if called in known and called not in allowed:
                    at = line + offset - 1
                    error = DefinitionError(
                        f"{_owner(element)} calls the named query {called!r}, which process.toml does not "
                        f"list in callable_queries", file=name, element=_owner(element), line=at)
                    error.user_message = (f"流程定义调用了未在 process.toml 的 callable_queries 中声明的查询"
                                          f"“{called}”（文件 {name}，元素 {_owner(element)}，第 {at} 行）")
                    raise error


def _called_names(text: str, mode: str) -> list[tuple[str, int]]:
    """(name, line within the snippet) of every plain-name call, e.g. f(x); nothing if it does not
    parse (the compile check reports that)."""
    source = text.replace("?", "dmninputexpr") if mode == "match" else text
    trees = []
    for candidate in ([source, f"dmninputexpr {source}"] if mode == "match" else [source]):
        try:
            trees.append(ast.parse(candidate.strip(" \t") if mode != "exec" else candidate,
                                   mode="exec" if mode == "exec" else "eval"))
            break
        except SyntaxError:
            continue
    return [(node.func.id, node.lineno) for tree in trees for node in ast.walk(tree)
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Name)]


def _compile(text: str, mode: str) -> None:
    if mode != "match":
        compile_script(text, mode)
        return
    # A DMN input entry: "?" stands for the input; otherwise SpiffWorkflow puts the input
    # before it, with "==" when the entry is a plain value.
    text = text.replace("?", "dmninputexpr")
    try:
        compile_script(text, "eval")
    except ScriptRefused as exc:
        if not exc.message.startswith("syntax error"):
            raise
        compile_script(f"dmninputexpr {text}", "eval")


def _snippets(tree: Any, dmn: bool) -> Iterator[tuple[Any, Snippet]]:
    for el in tree.iter():
        if not isinstance(el.tag, str):
            continue
        local = etree.QName(el).localname
        if dmn:
            parent = el.getparent()
            kind = etree.QName(parent).localname if local == "text" and parent is not None else None
            if kind in DMN_EVAL_PARENTS:
                yield el, (el.text or "", "eval", el.sourceline)
            elif kind == "inputEntry" and (el.text or "").strip() not in ("", "-"):
                yield el, (el.text or "", "match", el.sourceline)
            continue
        if local in EXEC_TAGS:
            yield el, (el.text or "", "exec", el.sourceline)
        elif local in EVAL_TAGS or (local == "expression" and etree.QName(el).namespace == SPIFF_NS):
            yield el, (el.text or "", "eval", el.sourceline)
        elif local == "formalExpression" and _parent_name(el) == "correlationPropertyRetrievalExpression":
            yield el, (el.text or "", "eval", el.sourceline)
        elif local == "parameter" and el.get("value") is not None:
            yield el, (el.get("value"), "eval", el.sourceline)


def _parent_name(el: Any) -> str | None:
    parent = el.getparent()
    return etree.QName(parent).localname if parent is not None else None


def _owner(el: Any) -> str:
    """The element a user finds in the modeler: the nearest one with an id."""
    node = el
    while node is not None and node.get("id") is None:
        node = node.getparent()
    node = node if node is not None else el
    qname = etree.QName(node)
    prefix = _PREFIXES.get(qname.namespace or "", "dmn")
    ident = node.get("id")
    return f"{prefix}:{qname.localname}" + (f" id={ident}" if ident else "")


def _refusal(exc: ScriptRefused, file: str, el: Any, first_line: int) -> DefinitionError:
    line = first_line + max((exc.lineno or 1) - 1, 0)
    part = etree.QName(el).localname
    error = DefinitionError(f"{part} refused by the script sandbox: {exc.message}", file=file,
                            element=_owner(el), line=line)
    error.user_message = (f"流程定义有误：{_zh_reason(exc.message)}（文件 {file}，元素 {_owner(el)}，"
                          f"第 {line} 行）。脚本和表达式只能使用流程数据和允许的函数。")
    return error


def _zh_reason(message: str) -> str:
    if message.startswith("syntax error"):
        return "脚本或表达式有语法错误"
    if message.startswith("attribute"):
        return "脚本或表达式访问了不允许的属性"
    if "names may not" in message or message.startswith('"'):
        return "脚本或表达式使用了不允许的名称"
    return "脚本或表达式使用了不允许的写法"
