"""JSON Schema step forms as HTML: field views for the Jinja macros, and request parsing.

A field's widget comes from its schema: `x-widget` first (textarea, radio, select, checkbox,
unit, actions), then type and format (boolean, number, date, enum, array of enums, ID number,
phone). The "actions" field is the row of decision buttons; each button posts its value.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from werkzeug.datastructures import MultiDict

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

    def selected(self, option: str) -> bool:
        if isinstance(self.value, list):
            return option in self.value
        return self.value == option


def action_style(value: str) -> str:
    return ACTION_STYLES.get(value, "primary")


def _as_text(value: Any) -> Any:
    if isinstance(value, list):
        return [_as_text(v) for v in value]
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _options(prop: dict[str, Any]) -> list[tuple[str, str]]:
    values = prop.get("enum") or (prop.get("items") or {}).get("enum") or []
    labels = prop.get("x-enum-labels") or (prop.get("items") or {}).get("x-enum-labels") or []
    return [(_as_text(v), str(labels[i]) if i < len(labels) else str(v)) for i, v in enumerate(values)]


def widget_of(prop: dict[str, Any]) -> str:
    hint, kind, fmt = prop.get("x-widget"), prop.get("type"), prop.get("format")
    if hint in ("textarea", "radio", "select", "checkbox", "unit", "actions", "checkboxes"):
        return str(hint)
    if kind == "array":
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
    if prop.get("x-placeholder"):
        attrs["placeholder"] = prop["x-placeholder"]
    return attrs


def field_views(schema: dict[str, Any] | None, values: dict[str, Any], errors: dict[str, str],
                unit_choices: UnitChoices | None = None, id_prefix: str = "") -> list[FieldView]:
    """One view per schema property, in schema order, with its value and error."""
    if not schema:
        return []
    required = set(schema.get("required", []))
    views = []
    for name, prop in schema.get("properties", {}).items():
        widget = widget_of(prop)
        value = values.get(name, prop.get("default"))
        view = FieldView(name=name, title=str(prop.get("title", name)), widget=widget,
                         required=name in required, description=prop.get("description"),
                         options=_options(prop), value=_as_text(value), error=errors.get(name),
                         attrs=_attrs(prop, widget), readonly=bool(prop.get("readOnly")),
                         dom_id=f"{id_prefix}f-{name}")
        if widget == "boolean":
            view.options = [("true", "是"), ("false", "否")]
        if widget == "unit" and unit_choices is not None:
            levels = prop.get("x-unit-levels")
            view.options = [(str(i), "　" * depth + n) for i, n, depth in unit_choices(levels)]
        views.append(view)
    return views


def split_actions(views: list[FieldView]) -> tuple[list[FieldView], FieldView | None]:
    """The input fields, and the decision field rendered as the row of buttons (if any)."""
    actions = next((v for v in views if v.widget == "actions"), None)
    return [v for v in views if v is not actions], actions


def raw_from_request(schema: dict[str, Any] | None, form: MultiDict[str, str]) -> dict[str, Any]:
    """The submitted strings of the schema's fields (lists for array fields), as typed."""
    raw: dict[str, Any] = {}
    for name, prop in (schema or {}).get("properties", {}).items():
        if prop.get("type") == "array":
            raw[name] = form.getlist(name)
        elif name in form:
            raw[name] = form.get(name)
    return raw
