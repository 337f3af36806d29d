"""JSON Schema step forms as HTML: field views for the Jinja macros, and request parsing.

A field's widget comes from its schema: `x-widget` first (textarea, radio, select, checkbox,
unit, actions, file), then type and format (boolean, number, date, enum, array of enums, array of
free text, array of objects as a table, ID number, phone). The "actions" field is the row of
decision buttons; each button posts its value. A "file" field holds attachment ids: the files
kept from an earlier round are checkboxes, new files come through a file input of the same name.
Options of a select may come from the task's data ("x-options-from", see `apply_options`).
"""
from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from werkzeug.datastructures import FileStorage, MultiDict

from engine.attachments import ALLOWED_TYPES, Upload
from engine.forms import hidden_fields, required_when, shown_when
from webapp.inputs import parse_id

UnitChoices = Callable[[list[str] | None], list[tuple[int, str, int]]]

ACTION_STYLES = {"同意": "success", "通过": "success", "受理": "success", "批准": "success",
                 "不同意": "danger", "不予受理": "danger", "驳回": "danger", "不批准": "danger",
                 "退回": "warning"}


@dataclass
class FieldView:
    name: str
    title: str
    widget: str
    required: bool = False
    description: str | None = None
    options: list[tuple[str, str]] = field(default_factory=list)  # (value, label)
    value: Any = ""            # str, or list[str] for checkboxes
    error: str | None = None
    attrs: dict[str, Any] = field(default_factory=dict)
    readonly: bool = False
    dom_id: str = ""
    show_if: str = ""          # x-show-if as JSON for forms.js ({"field": ..., "in": [...]})
    required_if: str = ""      # the choices that make it required, as JSON for forms.js
    hidden: bool = False       # hidden by its x-show-if for the current values

    def selected(self, option: str) -> bool:
        if isinstance(self.value, list):
            return option in self.value
        return self.value == option


def action_style(value: str) -> str:
    return ACTION_STYLES.get(value, "primary")


def _as_text(value: Any) -> Any:
    if isinstance(value, list):
        return [_as_text(v) for v in value]
    if isinstance(value, dict):
        return {k: _as_text(v) for k, v in value.items()}
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _text(value: Any) -> str:
    text = _as_text(value)
    return text if isinstance(text, str) else ""


def _options(prop: dict[str, Any]) -> list[tuple[str, str]]:
    values = prop.get("enum") or (prop.get("items") or {}).get("enum") or []
    labels = prop.get("x-enum-labels") or (prop.get("items") or {}).get("x-enum-labels") or []
    return [(_as_text(v), str(labels[i]) if i < len(labels) else str(v)) for i, v in enumerate(values)]


def widget_of(prop: dict[str, Any]) -> str:
    hint, kind, fmt = prop.get("x-widget"), prop.get("type"), prop.get("format")
    if hint in ("textarea", "radio", "select", "checkbox", "unit", "actions", "checkboxes", "file"):
        return str(hint)
    if kind == "array":
        items = prop.get("items") or {}
        if items.get("type") == "object":
            return "table"  # rows of records (e.g. a plan's candidates): one input per column
        if hint is None and items.get("type") == "string" and "enum" not in items:
            return "list"  # free-text items (e.g. names): a row of text inputs
        return "checkboxes"
    if kind == "boolean":
        return "boolean"
    if "enum" in prop:
        return "select"
    if kind in ("integer", "number"):
        return "number"
    return {"date": "date", "cn-id-number": "idcard", "cn-mobile": "tel"}.get(str(fmt), "text")


def _attrs(prop: dict[str, Any], widget: str) -> dict[str, Any]:
    attrs: dict[str, Any] = {}
    if widget == "number":
        attrs["step"] = "1" if prop.get("type") == "integer" else "any"
        attrs["inputmode"] = "numeric" if prop.get("type") == "integer" else "decimal"
        for key in ("minimum", "maximum"):
            if key in prop:
                attrs[key[:3]] = prop[key]
    if widget in ("text", "textarea", "idcard", "tel") and "maxLength" in prop:
        attrs["maxlength"] = prop["maxLength"]
    if widget == "idcard":
        attrs.update(maxlength=18, autocomplete="off")
    if widget == "tel":
        attrs["inputmode"] = "tel"
    if widget == "list":
        attrs["slots"] = min(int(prop.get("maxItems", 5)), 10)
        if "maxLength" in (prop.get("items") or {}):
            attrs["maxlength"] = prop["items"]["maxLength"]
    if widget == "table":
        attrs.update(columns=_columns(prop["items"]), slots=int(prop.get("x-rows", 3)))
    if widget == "file":
        attrs["accept"] = ",".join(f".{ext}" for ext in ALLOWED_TYPES)
    if prop.get("x-placeholder"):
        attrs["placeholder"] = prop["x-placeholder"]
    return attrs


@dataclass(frozen=True)
class Column:
    """One column of a table field: an item property."""
    name: str
    title: str
    input_type: str        # text or number
    required: bool
    attrs: dict[str, Any]


def _columns(items: dict[str, Any]) -> list[Column]:
    required = set(items.get("required", []))
    out = []
    for name, prop in items.get("properties", {}).items():
        number = prop.get("type") in ("integer", "number")
        attrs: dict[str, Any] = {"maxlength": 18} if prop.get("format") == "cn-id-number" else {}
        if "maxLength" in prop:
            attrs["maxlength"] = prop["maxLength"]
        if number:
            attrs.update({k[:3]: prop[k] for k in ("minimum", "maximum") if k in prop},
                         step="1" if prop.get("type") == "integer" else "any")
        out.append(Column(name, str(prop.get("title", name)), "number" if number else "text",
                          name in required, attrs))
    return out


def field_views(schema: dict[str, Any] | None, values: dict[str, Any], errors: dict[str, str],
                unit_choices: UnitChoices | None = None, id_prefix: str = "") -> list[FieldView]:
    """One view per schema property, in schema order, with its value and error."""
    if not schema:
        return []
    required = set(schema.get("required", []))
    current = {k: values.get(k, p.get("default")) for k, p in schema.get("properties", {}).items()}
    hidden, conditional = hidden_fields(schema, current), required_when(schema)
    views = []
    for name, prop in schema.get("properties", {}).items():
        widget = widget_of(prop)
        value = current[name]
        when, needs = shown_when(prop), conditional.get(name, [])
        needed = name in required or any(_text(current.get(f)) in vals for f, vals in needs)
        view = FieldView(name=name, title=str(prop.get("title", name)), widget=widget,
                         required=needed, description=prop.get("description"),
                         options=_options(prop), value=_as_text(value), error=errors.get(name),
                         attrs=_attrs(prop, widget), readonly=bool(prop.get("readOnly")),
                         dom_id=f"{id_prefix}f-{name}", hidden=name in hidden,
                         show_if=json.dumps({"field": when[0], "in": when[1]}, ensure_ascii=False) if when else "",
                         required_if=json.dumps([{"field": f, "in": v} for f, v in needs], ensure_ascii=False)
                         if needs and name not in required else "")
        if widget == "boolean" or (widget == "radio" and prop.get("type") == "boolean"):
            view.options = [("true", "是"), ("false", "否")]
        if widget == "unit" and unit_choices is not None:
            levels = prop.get("x-unit-levels")
            view.options = [(str(i), "　" * depth + n) for i, n, depth in unit_choices(levels)]
        if widget == "table":  # errors of single cells, keyed "<row>.<column>"
            view.attrs["cell_errors"] = {k[len(name) + 1:]: v for k, v in errors.items()
                                         if k.startswith(f"{name}.")}
        views.append(view)
    return views


def apply_options(views: list[FieldView], options: dict[str, list[tuple[str, str]]]) -> None:
    """Set the options of fields listed from the task's data (engine TaskPage.options)."""
    for view in views:
        if view.name in options:
            view.options = list(options[view.name])


def name_files(views: list[FieldView], names: dict[int, str]) -> None:
    """The kept files of each file field, as (attachment id, file name) options."""
    for view in views:
        if view.widget == "file":
            kept = view.value if isinstance(view.value, list) else []
            view.options = [(v, names.get(parse_id(v) or 0, f"附件 {v}") if parse_id(v) else v) for v in kept]


def split_actions(views: list[FieldView]) -> tuple[list[FieldView], FieldView | None]:
    """The input fields, and the decision field rendered as the row of buttons (if any)."""
    actions = next((v for v in views if v.widget == "actions"), None)
    return [v for v in views if v is not actions], actions


def raw_from_request(schema: dict[str, Any] | None, form: MultiDict[str, str]) -> dict[str, Any]:
    """The submitted strings of the schema's fields (lists for array fields), as typed."""
    raw: dict[str, Any] = {}
    for name, prop in (schema or {}).get("properties", {}).items():
        if prop.get("type") == "array" and (prop.get("items") or {}).get("type") == "object":
            raw[name] = _table_rows(form, name)
        elif prop.get("type") == "array":  # blank inputs of a "list" row are not items
            raw[name] = [v for v in form.getlist(name) if v.strip()]
        elif name in form:
            raw[name] = form.get(name)
    return raw


def _table_rows(form: MultiDict[str, str], name: str) -> list[dict[str, str]]:
    """The rows of a table field (inputs "<name>-<row>-<column>"); blank cells and rows dropped."""
    cells: dict[int, dict[str, str]] = {}
    pattern = re.compile(rf"{re.escape(name)}-([0-9]{{1,4}})-(\w+)")
    for key in form:
        found = pattern.fullmatch(key)
        value = (form.get(key) or "").strip()
        if found and value:
            cells.setdefault(int(found.group(1)), {})[found.group(2)] = value
    return [cells[i] for i in sorted(cells)]


def files_from_request(schema: dict[str, Any] | None,
                       files: MultiDict[str, FileStorage]) -> dict[str, list[Upload]]:
    """The files chosen in the form's file fields (x-widget "file"), read into memory."""
    out: dict[str, list[Upload]] = {}
    for name, prop in (schema or {}).get("properties", {}).items():
        if prop.get("x-widget") == "file":
            out[name] = [Upload(f.filename or "", f.read()) for f in files.getlist(name) if f.filename]
    return out


def with_file_ids(raw: dict[str, Any], stored: dict[str, list[int]]) -> dict[str, Any]:
    """The raw form values with the ids of the files just stored added to their fields."""
    out = dict(raw)
    for name, ids in stored.items():
        out[name] = [*out.get(name, []), *(str(i) for i in ids)]
    return out
