"""Declarative per-step forms: JSON Schema files that validate both UI and API input.

Each user task `<step>` of process `<key>` has workflows/<key>/forms/<step>.json. Validation
messages are Chinese, per field, ready for the form page.
"""
from __future__ import annotations

import errno
import json
import os
import re
import stat
from datetime import date
from functools import lru_cache
from pathlib import Path
from typing import Any

from jsonschema import Draft202012Validator, FormatChecker
from jsonschema.exceptions import ValidationError

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.errors import FormInvalid
from engine.models import OrgUnit

_FORMAT_CHECKER = FormatChecker()
OPINION_HINT = "x-opinion"  # a step form's own opinion field (see opinion_field)
SHOW_IF = "x-show-if"  # {"field": "<name>", "in": [values]}: the field exists only for those values


@_FORMAT_CHECKER.checks("cn-id-number")
def _is_id_number(value: object) -> bool:
    return not isinstance(value, str) or is_valid_id_number(value)


@_FORMAT_CHECKER.checks("cn-mobile")
def _is_phone(value: object) -> bool:
    if not isinstance(value, str):
        return True
    digits = value.replace("-", "").replace(" ", "")
    return digits.isdigit() and 7 <= len(digits) <= 12


def is_valid_id_number(value: str) -> bool:
    """A mainland resident ID number: 18 characters with the GB 11643 check digit."""
    if len(value) != 18 or not value[:17].isdigit():
        return False
    weights = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
    total = sum(int(c) * w for c, w in zip(value[:17], weights))
    return "10X98765432"[total % 11] == value[17].upper()


def id_check_digit(first17: str) -> str:
    weights = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
    return "10X98765432"[sum(int(c) * w for c, w in zip(first17, weights)) % 11]


_MISSING_ERRNOS = frozenset({errno.ENOENT, errno.ENOTDIR, errno.EBADF, errno.ELOOP})


@lru_cache(maxsize=512)
def _load_schema(path: str, mtime: float) -> dict[str, Any]:
    with open(path, encoding="utf-8") as fh:
        schema: dict[str, Any] = json.load(fh)
    Draft202012Validator.check_schema(schema)
    return schema


def load_form(forms_dir: Path, step_id: str) -> dict[str, Any] | None:
    """The JSON Schema of one step, or None when the step has no form file."""
    path = os.path.join(forms_dir, f"{step_id}.json")
    try:
        info = os.stat(path)  # one system call: whether it is there, and its version
    except OSError as exc:
        if exc.errno in _MISSING_ERRNOS:  # what Path.is_file takes for "no such file"
            return None
        raise
    if not stat.S_ISREG(info.st_mode):
        return None
    return _load_schema(path, info.st_mtime)


def _choice_text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return "" if value is None else str(value)


def shown_when(prop: dict[str, Any]) -> tuple[str, list[str]] | None:
    """A field's `x-show-if` as (controlling field, values as text), or None (always shown)."""
    cond = prop.get(SHOW_IF)
    if not isinstance(cond, dict) or not isinstance(cond.get("field"), str):
        return None
    return cond["field"], [_choice_text(v) for v in cond.get("in") or []]


def hidden_fields(schema: dict[str, Any] | None, data: dict[str, Any]) -> set[str]:
    """The fields whose `x-show-if` the data does not meet: not shown, not required, not kept.
    A field shown only under a hidden field is hidden too."""
    props = (schema or {}).get("properties") or {}
    hidden: set[str] = set()
    for _ in range(len(props)):  # conditions may chain (a field shown under a shown field)
        before = len(hidden)
        for name, prop in props.items():
            when = shown_when(prop) if isinstance(prop, dict) else None
            if when and (when[0] in hidden or _choice_text(data.get(when[0])) not in when[1]):
                hidden.add(name)
        if len(hidden) == before:
            break
    return hidden


def required_when(schema: dict[str, Any] | None) -> dict[str, list[tuple[str, list[str]]]]:
    """Fields required only for some choices, from the schema's `if`/`then` rules of the form
    {"if": {"properties": {F: {"const": V} or {"enum": [...]}}}, "then": {"required": [...]}}:
    field -> [(F, values as text)]; the form marks them with * when the choice is made."""
    rules = [schema or {}, *((schema or {}).get("allOf") or [])]
    out: dict[str, list[tuple[str, list[str]]]] = {}
    for rule in rules:
        cond, then = rule.get("if"), rule.get("then")
        if not isinstance(cond, dict) or not isinstance(then, dict):
            continue
        props = cond.get("properties") or {}
        if len(props) != 1:
            continue
        (field, test), = props.items()
        values = ([test["const"]] if "const" in test else test.get("enum")) if isinstance(test, dict) else None
        if not values:
            continue
        for name in then.get("required") or []:
            out.setdefault(name, []).append((field, [_choice_text(v) for v in values]))
    return out


def validate_form(schema: dict[str, Any], data: dict[str, Any], session: Session | None = None) -> None:
    """Raise FormInvalid with one Chinese message per failing field. A field hidden by its
    `x-show-if` is not checked (nor required); coerce_form has dropped its value. With a
    `session`, a unit field must also name a unit its picker offers (`unit_errors`)."""
    hidden = hidden_fields(schema, data)
    if hidden:
        data = {k: v for k, v in data.items() if k not in hidden}
    validator = Draft202012Validator(schema, format_checker=_FORMAT_CHECKER)
    errors: dict[str, str] = {}
    for err in sorted(validator.iter_errors(data), key=lambda e: list(e.absolute_path)):
        if err.validator == "required" and isinstance(err.instance, dict):
            prefix = [str(p) for p in err.absolute_path]
            for missing in (k for k in err.validator_value if k not in err.instance):
                field = ".".join([*prefix, missing])
                errors.setdefault(field, _required_message(err, schema, missing))
            continue
        errors.setdefault(_field_of(err), _message(err, schema))
    errors = {k: v for k, v in errors.items() if k.split(".")[0] not in hidden}
    if session is not None:
        for name, message in unit_errors(session, schema, data).items():
            errors.setdefault(name, message)
    if errors:
        raise FormInvalid(errors)


def unit_errors(session: Session, schema: dict[str, Any], data: dict[str, Any]) -> dict[str, str]:
    """A unit field (`x-widget: unit`) names an active org unit at one of its `x-unit-levels`:
    the picker's own choices (engine.queries.unit_choices), so a caller of the API cannot route a
    case to a unit the form does not offer. One statement, only when such a field has a value;
    the property's `x-messages["x-unit-levels"]` words the refusal."""
    fields = {name: prop.get("x-unit-levels") for name, prop in schema.get("properties", {}).items()
              if isinstance(prop, dict) and prop.get("x-widget") == "unit"
              and isinstance(data.get(name), int) and not isinstance(data.get(name), bool)}
    if not fields:
        return {}
    found = dict(session.execute(select(OrgUnit.id, OrgUnit.level).where(
        OrgUnit.id.in_(sorted({data[n] for n in fields})), OrgUnit.active.is_(True))).all())
    props = schema["properties"]
    return {name: str((props[name].get("x-messages") or {}).get("x-unit-levels")
                      or f"请从列表中选择{_title(schema, name)}")
            for name, levels in fields.items()
            if data[name] not in found or (levels and found[data[name]].value not in levels)}


def _required_message(err: ValidationError, schema: dict[str, Any], field: str) -> str:
    custom = (err.schema.get("x-messages") or {}).get("required") if isinstance(err.schema, dict) else None
    if isinstance(custom, dict):
        custom = custom.get(field)
    if custom:
        return str(custom)
    # The field's own schema first: a record's field (an array item) has its title there.
    local = (err.schema.get("properties") or {}).get(field) if isinstance(err.schema, dict) else None
    title = local.get("title") if isinstance(local, dict) else None
    return f"请填写{title or _title(schema, field)}"


def _field_of(err: ValidationError) -> str:
    if err.validator == "required" and isinstance(err.instance, dict):
        missing = [k for k in err.validator_value if k not in err.instance]
        return ".".join([*map(str, err.absolute_path), missing[0]]) if missing else "__all__"
    path = [str(p) for p in err.absolute_path]
    return ".".join(path) if path else "__all__"


def _title(schema: dict[str, Any], field: str) -> str:
    prop = schema.get("properties", {}).get(field.split(".")[0], {})
    return str(prop.get("title", field))


def _message(err: ValidationError, schema: dict[str, Any]) -> str:
    custom = (err.schema.get("x-messages") or {}).get(str(err.validator)) if isinstance(err.schema, dict) else None
    if custom:
        return str(custom)
    v, val = err.validator, err.validator_value
    if v == "required":
        return f"请填写{_title(schema, _field_of(err))}"
    if v == "minLength":
        return "此项为必填项" if val == 1 else f"至少填写 {val} 个字"
    if v == "maxLength":
        return f"最多 {val} 个字"
    if v == "minimum":
        return f"不能小于 {val}"
    if v == "maximum":
        return f"不能大于 {val}"
    if v == "exclusiveMinimum":
        return f"必须大于 {val}"
    if v == "enum":
        return "请从给定选项中选择"
    if v == "const":
        return "取值不符合要求"
    if v == "type":
        return {"integer": "请填写整数", "number": "请填写数字", "boolean": "请选择是或否",
                "array": "格式不正确", "string": "格式不正确"}.get(str(val), "格式不正确")
    if v == "format":
        return {"date": "请填写有效日期（年-月-日）", "cn-id-number": "身份证号码格式或校验位不正确",
                "cn-mobile": "请填写有效电话号码", "date-time": "请填写有效时间"}.get(str(val), "格式不正确")
    if v == "pattern":
        return "格式不正确"
    if v in ("minItems",):
        return f"至少选择 {val} 项"
    if v in ("maxItems",):
        return f"最多选择 {val} 项"
    return "填写内容不符合要求"


def coerce_form(schema: dict[str, Any], raw: dict[str, Any]) -> dict[str, Any]:
    """Turn HTML form strings into the schema's types; unconvertible values stay strings so the
    validator reports them (and the page can show what was typed)."""
    out: dict[str, Any] = {}
    props = schema.get("properties", {})
    for name, prop in props.items():
        if prop.get("readOnly"):
            continue
        value = raw.get(name)
        kind = prop.get("type")
        if kind == "array":
            items = value if isinstance(value, list) else ([] if value in (None, "") else [value])
            if items or name in raw:
                out[name] = [_coerce_item(prop.get("items") or {}, v) for v in items]
            continue
        if value is None or (isinstance(value, str) and value.strip() == ""):
            if kind == "boolean" and prop.get("x-widget") == "checkbox":
                out[name] = False
            continue
        out[name] = _coerce_scalar(kind, value)
    for name in hidden_fields(schema, out):  # x-show-if: a hidden field's value is not kept
        out.pop(name, None)
    return out


def _coerce_item(schema: dict[str, Any], value: Any) -> Any:
    """One array item: a record's fields by their own types (blank ones left out), or a scalar."""
    if isinstance(value, dict):
        props = schema.get("properties", {})
        return {k: _coerce_scalar(props.get(k, {}).get("type"), v) for k, v in value.items()
                if not (isinstance(v, str) and v.strip() == "")}
    return _coerce_scalar(schema.get("type"), value)


# What a number field may hold: ASCII digits of a sane length (not "²", "1_000", "nan", "inf" or
# 5,000 digits, which int()/float() accept or choke on); anything else stays text for the validator.
_INTEGER_TEXT = re.compile(r"[+-]?[0-9]{1,15}")
_NUMBER_TEXT = re.compile(r"[+-]?(?:[0-9]{1,15}(?:\.[0-9]{0,12})?|\.[0-9]{1,12})(?:[eE][+-]?[0-9]{1,2})?")


def _coerce_scalar(kind: Any, value: Any) -> Any:
    if not isinstance(value, str):
        return value
    text = value.strip()
    if kind == "integer":
        return int(text) if _INTEGER_TEXT.fullmatch(text) else text
    if kind == "number":
        if not _NUMBER_TEXT.fullmatch(text):
            return text
        number = float(text)
        return int(number) if number.is_integer() and "." not in text else number
    if kind == "boolean":
        return {"true": True, "1": True, "on": True, "yes": True, "是": True,
                "false": False, "0": False, "no": False, "否": False}.get(text.lower(), text)
    return text


def opinion_field(schema: dict[str, Any] | None) -> str | None:
    """The field a step's form marks `"x-opinion": true` (its own 审核意见, 认定理由...), if any:
    the form then has no separate opinion box, and the field's value is the step's opinion."""
    for name, prop in ((schema or {}).get("properties") or {}).items():
        if prop.get(OPINION_HINT) is True:
            return str(name)
    return None


def form_opinion(schema: dict[str, Any] | None, data: dict[str, Any], typed: str | None) -> str | None:
    """The opinion to record with a step: its x-opinion field's value when the form has one and
    the data carries it, even blank (the data keeps the field too); else what was typed into the
    opinion box, or passed by an engine or API caller that sent no such field."""
    name = opinion_field(schema)
    value = data.get(name) if name and name in data else typed
    text = value.strip() if isinstance(value, str) else ""
    return text or None


def today_iso() -> str:
    return date.today().isoformat()


def today_defaults(schema: dict[str, Any] | None, today: date) -> dict[str, str]:
    """Initial values of the date fields a form marks `"x-default": "today"` (e.g. 收到日期):
    the local date of the engine's clock, as a form shows and the demo fills them."""
    props = (schema or {}).get("properties") or {}
    return {name: today.isoformat() for name, prop in props.items() if prop.get("x-default") == "today"}
