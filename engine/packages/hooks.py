"""The manifest's routing, clocks, rules and queries as the hooks of a ProcessConfig.

A declarative package has no Python: these functions read its manifest. Routing picks each
step's unit (an ancestor, an organ's section, a unit in the data by path); clocks put
`<clock>_due_at` (and `_provisional`) into the data when the case starts and whenever a step
completes, so the next task row (and a timeDate boundary timer on it) reads it; rules refuse bad
input with a Chinese message on the field (limits against settings or other data values,
conditional required fields, uniqueness, exclusions); thresholds and record rules derive data
(the flag a gateway reads, values a step records, lists built across steps); queries answer
read-only questions about other cases into the data, where BPMN expressions and DMN tables read them.
"""
from __future__ import annotations

import re
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from engine.calendar import to_local_date
from engine.errors import DefinitionError, FormInvalid, NotFound
from engine.process_api import HookContext

Data = dict[str, Any]
CLOSED_OUT = {"cancelled", "terminated"}  # cases that never counted
PLACEHOLDER = re.compile(r"\{([A-Za-z_][A-Za-z0-9_]*)(?::(money))?\}")
EMPTY: tuple[Any, ...] = (None, "", [])


class ManifestHooks:
    """Hooks of one manifest (plain data in, plain data out)."""

    def __init__(self, manifest: dict[str, Any]) -> None:
        self.m = manifest
        self.key: str = manifest["key"]
        self.steps: dict[str, Any] = manifest.get("steps", {})
        self.clocks: dict[str, Any] = manifest.get("clocks", {})
        rules = manifest.get("rules", {})
        self.unique: list[dict[str, Any]] = rules.get("unique", [])
        self.limits: list[dict[str, Any]] = rules.get("limits", [])
        self.exclude: list[dict[str, Any]] = rules.get("exclude", [])
        self.required: list[dict[str, Any]] = rules.get("required", [])
        self.thresholds: list[dict[str, Any]] = rules.get("thresholds", [])
        self.record: list[dict[str, Any]] = rules.get("record", [])
        self.queries: dict[str, Any] = manifest.get("queries", {})
        self.summary: dict[str, Any] = manifest.get("summary", {})

    # ------------------------------------------------------------------ routing
    def assign(self, step_id: str, data: Data, ctx: HookContext) -> int:
        rule = self.steps.get(step_id, {})
        route = rule.get("route", "case_unit")
        if route == "ancestor":  # of the case's unit, or of the unit a form field names
            base = _unit_field(step_id, rule["field"], data) if "field" in rule else ctx.case_unit_id
            return _section(ctx, _ancestor(ctx, base, rule["level"]), rule.get("section"))
        if route == "field":  # a data key, or a path into one ("signer.unit_id": a countersign's party)
            return _unit_field(step_id, rule["field"], data)
        if route == "unit":
            return _section(ctx, ctx.orgs.unit_id(rule["unit"]), rule.get("section"))
        return ctx.case_unit_id  # case_unit, initiator: where the initiator registered the case

    def task_label(self, step_id: str, data: Data) -> str | None:
        """`steps.<id>.label`: the data path telling a multi-instance step's tasks apart."""
        path = self.steps.get(step_id, {}).get("label")
        value = lookup(data, path) if path else None
        return str(value) if value not in (None, "") else None

    # ------------------------------------------------------------------ hooks
    def on_start(self, data: Data, ctx: HookContext) -> Data:
        self._check("start", data, ctx)
        answers = self._answer_queries(data, ctx, exclude_self=False)
        self._check_exclusions(answers, ctx)
        self._check_unique(data, ctx)
        derived = self._derive("start", data, ctx)
        view = {**data, **derived}
        return {**derived, **answers, **self._clocks(view, ctx)}

    def on_complete(self, step_id: str, data: Data, ctx: HookContext) -> Data:
        self._check(step_id, data, ctx)
        derived = self._derive(step_id, data, ctx)
        view = {**data, **derived}
        return {**derived, **self._answer_queries(view, ctx, exclude_self=True), **self._clocks(view, ctx)}

    def summarize(self, data: Data) -> tuple[str, str | None, str | None]:
        title = fill(self.summary.get("title") or self.m["name"], data)
        name_f, id_f = self.summary.get("name_field"), self.summary.get("id_field")
        name = str(data[name_f]) if name_f and data.get(name_f) else None
        id_no = str(data[id_f]).upper() if id_f and data.get(id_f) else None
        return title[:255], name, id_no

    def due_keys(self) -> dict[str, str]:
        return {c["step"]: f"{name}_due_at" for name, c in self.clocks.items()}

    # ------------------------------------------------------------------ clocks
    def _clocks(self, data: Data, ctx: HookContext) -> Data:
        out: Data = {}
        for name, clock in self.clocks.items():
            start = _start_day(clock.get("from", "step_start"), data, ctx)
            if start is None:
                continue
            n = int(_setting(clock["days"], ctx))
            if clock.get("kind", "calendar") == "working":
                found = ctx.calendar.add_working_days(start, n)
            else:
                found = ctx.calendar.add_days(start, n, roll_forward=bool(clock.get("roll_forward")))
            out[f"{name}_due_at"] = ctx.calendar.deadline_end(found.due).isoformat()
            out[f"{name}_due_at_provisional"] = bool(clock.get("provisional")) or found.provisional
        return out

    # ------------------------------------------------------------------ rules
    def _check(self, step_id: str, data: Data, ctx: HookContext) -> None:
        """Limits and conditional required fields of this step; every refusal at once."""
        errors: dict[str, str] = {}
        for rule in self.limits:
            if rule.get("step", "start") == step_id and holds(rule.get("when"), data):
                errors.update(_limit(rule, data, ctx))
        for rule in self.required:
            if rule.get("step", "start") == step_id and holds(rule.get("when"), data) \
                    and data.get(rule["field"]) in EMPTY:
                errors.setdefault(rule["field"], rule["message"])
        if errors:
            raise FormInvalid(errors)

    # ------------------------------------------------------------------ derived data
    def _derive(self, step_id: str, data: Data, ctx: HookContext) -> Data:
        """Thresholds, then the record rules in manifest order, each seeing what the last left."""
        out: Data = {}
        for rule in self.thresholds:
            if rule.get("step", "start") == step_id:
                above = holds(rule.get("when"), data) and _number(data.get(rule["field"])) > _number(
                    _setting(rule["above"], ctx))
                out[rule["set"]] = above
        for rule in self.record:
            view = {**data, **out}
            if rule.get("step", "start") != step_id or not holds(rule.get("when"), view):
                continue
            for key, item in rule.get("append", {}).items():
                out[key] = [*(view.get(key) or []), resolve(item, view, ctx)]
            for key, value in rule.get("set", {}).items():
                out[key] = resolve(value, view, ctx)
        return out

    def _check_exclusions(self, answers: Data, ctx: HookContext) -> None:
        for rule in self.exclude:
            limit = int(_setting(rule["max"], ctx))
            if int(answers.get(rule["query"], 0)) >= limit:
                field = rule.get("field") or self.summary.get("id_field") or "_form"
                raise FormInvalid({field: fill(rule["message"], {"max": limit, "count": answers[rule["query"]]})})

    def _check_unique(self, data: Data, ctx: HookContext) -> None:
        id_field = self.summary.get("id_field")
        if not self.unique or ctx.cases is None or not id_field or not data.get(id_field):
            return
        others = [c for c in ctx.cases.by_subject(self.key, str(data[id_field]))
                  if c.status not in CLOSED_OUT]
        for rule in self.unique:
            fields = rule["fields"]
            if any(all(str(c.data.get(f)) == str(data.get(f)) for f in fields) for c in others):
                raise FormInvalid({fields[-1]: rule["message"]})

    # ------------------------------------------------------------------ queries
    def _answer_queries(self, data: Data, ctx: HookContext, exclude_self: bool) -> Data:
        return {name: self._query(q, data, ctx, exclude_self) for name, q in self.queries.items()}

    def _query(self, q: dict[str, Any], data: Data, ctx: HookContext, exclude_self: bool) -> int:
        subject = data.get(q.get("subject_field") or self.summary.get("id_field") or "")
        if ctx.cases is None or not subject:
            return 0
        found = [c for c in ctx.cases.by_subject(q.get("process", self.key), str(subject))
                 if not (exclude_self and c.case_no == ctx.case_no)]
        wanted = q.get("status")  # default: every case that counts (not cancelled or terminated)
        found = [c for c in found if (c.status in wanted if wanted else c.status not in CLOSED_OUT)]
        if q["name"] == "cases_this_year":
            return sum(1 for c in found if _local_year(c.created_at) == ctx.today.year)
        years = int(_setting(q.get("years", 1), ctx))
        since = date(ctx.today.year - years, ctx.today.month, min(ctx.today.day, 28))
        return sum(1 for c in found if _local_day(c.created_at) >= since)


def _limit(rule: dict[str, Any], data: Data, ctx: HookContext) -> dict[str, str]:
    """{field: message} when the field's value passes a bound: max/min (a number or a setting) or
    max_field/min_field (another data value: an approved budget, a start date)."""
    value = data.get(rule["field"])
    if value in EMPTY:
        return {}
    on = rule.get("on", rule["field"])
    for side in ("max", "min"):
        if side in rule:
            bound = _setting(rule[side], ctx)
        elif f"{side}_field" in rule:
            bound = lookup(data, rule[f"{side}_field"])
            if bound in EMPTY:
                return {on: rule.get("missing", rule["message"])} if "missing" in rule else {}
        else:
            continue
        if _compare(value, bound) == (1 if side == "max" else -1):
            return {on: fill(rule["message"], {**data, side: bound, "value": value})}
    return {}


def _compare(a: Any, b: Any) -> int:
    """-1, 0, 1: as numbers when both are, else as text (ISO dates order as text)."""
    try:
        x, y = Decimal(str(a)), Decimal(str(b))
    except InvalidOperation:
        x, y = str(a), str(b)  # type: ignore[assignment]
    return (x > y) - (x < y)


def holds(when: dict[str, Any] | None, data: Data) -> bool:
    """`when`: every field equals its value, or meets {min, max, in, empty}."""
    for name, want in (when or {}).items():
        have = lookup(data, name)
        if isinstance(want, dict):
            if "empty" in want and (have in EMPTY) != want["empty"]:
                return False
            if "in" in want and have not in want["in"]:
                return False
            if "min" in want and (have in EMPTY or _number(have) < _number(want["min"])):
                return False
            if "max" in want and (have in EMPTY or _number(have) > _number(want["max"])):
                return False
        elif have != want:
            return False
    return True


def resolve(value: Any, data: Data, ctx: HookContext) -> Any:
    """A record value: {field = path, default?}, {setting = name}, {today = true}, {ancestor =
    level, section?} (a unit id above the case's unit), a table of values, a list, or a literal."""
    if isinstance(value, dict):
        keys = set(value)
        if "field" in keys and keys <= {"field", "default"}:
            found = lookup(data, value["field"])
            return value.get("default") if found is None else found
        if keys == {"setting"}:
            return _setting(value["setting"], ctx)
        if keys == {"today"}:
            return ctx.today.isoformat()
        if "ancestor" in keys and keys <= {"ancestor", "section"}:
            return _section(ctx, _ancestor(ctx, ctx.case_unit_id, value["ancestor"]), value.get("section"))
        return {k: resolve(v, data, ctx) for k, v in value.items()}
    if isinstance(value, list):
        return [resolve(v, data, ctx) for v in value]
    return value


def lookup(data: Data, path: str) -> Any:
    """A value by dotted path ("signer.unit_id"); None where a part is missing."""
    current: Any = data
    for part in path.split("."):
        if not isinstance(current, dict):
            return None
        current = current.get(part)
    return current


def _section(ctx: HookContext, organ_id: int, section: str | None) -> int:
    """The section of an organ by code suffix (a setting's name or the suffix itself)."""
    if not section:
        return organ_id
    suffix = str(ctx.settings.get(section, section))
    found = ctx.orgs.section_of(organ_id, suffix)
    if found is None:
        raise NotFound(f"unit {organ_id} has no section with code suffix {suffix!r}",
                       f"未找到编码后缀为“{suffix}”的科室，请管理员检查组织机构设置")
    return int(found)


def _unit_field(step_id: str, field: str, data: Data) -> int:
    value = lookup(data, field)
    if value in (None, "") or not str(value).isdigit():
        raise DefinitionError(f"step {step_id}: routing field {field!r} holds no unit id",
                              element=f"steps.{step_id}", user_message=f"环节“{step_id}”的办理单位字段为空")
    return int(value)


def _ancestor(ctx: HookContext, unit_id: int, level: str) -> int:
    ancestor_at = getattr(ctx.orgs, "ancestor_at", None)  # the session's and the smoke run's lookups
    if ancestor_at is not None:
        found = ancestor_at(unit_id, level)
        if found is not None:
            return int(found)
    current: int | None = unit_id
    while current is not None:
        if ctx.orgs.level(current) == level:
            return current
        current = ctx.orgs.parent_id(current)
    raise DefinitionError(f"unit {unit_id} has no ancestor at level {level}",
                          user_message=f"登记单位没有上级“{level}”单位，无法确定办理单位")


def _start_day(source: str, data: Data, ctx: HookContext) -> date | None:
    if source == "step_start":
        return ctx.today
    value = data.get(source)
    if not value:
        return None
    try:
        return date.fromisoformat(str(value)[:10])
    except ValueError:
        return None


def _setting(value: Any, ctx: HookContext) -> Any:
    """A number, or the name of a setting (overridable per deployment)."""
    if isinstance(value, str):
        if value not in ctx.settings:
            raise DefinitionError(f"setting {value!r} is not declared", element=f"settings.{value}",
                                  user_message=f"未定义设置项“{value}”")
        return ctx.settings[value]
    return value


def _number(value: Any) -> Decimal:
    try:
        return Decimal(str(value))
    except InvalidOperation:
        return Decimal(0)


def _local_day(at: datetime) -> date:
    return to_local_date(at)


def _local_year(at: datetime) -> int:
    return _local_day(at).year


def fill(template: str, values: Data) -> str:
    """`{name}` placeholders replaced by plain values (no attribute or index access; unknown:
    empty); `{name:money}` as an amount in yuan, 50,000.00元."""
    def one(m: re.Match[str]) -> str:
        value = values.get(m.group(1), "")
        return f"{_number(value):,.2f}元" if m.group(2) == "money" else str(value)
    return PLACEHOLDER.sub(one, template)
