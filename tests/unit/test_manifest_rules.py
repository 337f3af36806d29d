"""The manifest's generic rules (engine.packages.hooks) on plain data: limits against settings and
other data values, conditional required fields, thresholds, record rules, routing to a section or
by a data path, and step labels — each with the case it must refuse or leave alone."""
from __future__ import annotations

from datetime import date, datetime, timezone
from typing import Any

import pytest

from engine.calendar import default_calendar
from engine.checks import StandInOrgs
from engine.errors import FormInvalid, NotFound
from engine.packages.hooks import ManifestHooks, fill, holds, resolve
from engine.packages.manifest import validate_manifest
from engine.process_api import HookContext

MANIFEST: dict[str, Any] = {
    "key": "demo_rules", "name": "规则", "case_prefix": "GZ",
    "settings": {"cap": 100, "threshold": 50, "section_code": "yf"},
    "steps": {"approve": {"route": "ancestor", "level": "city", "section": "section_code"},
              "sign": {"route": "field", "field": "signer.unit_id", "label": "signer.name"}},
    "rules": {
        "limits": [
            {"step": "plan", "field": "amount", "max": "cap", "message": "金额{value:money}超过{max:money}"},
            {"step": "plan", "field": "finish", "min_field": "begin", "message": "结束早于开始"},
            {"step": "pay", "field": "paid", "max_field": "approved", "missing": "没有批准额", "message": "超过{max}"},
            {"step": "review", "when": {"decision": "通过"}, "field": "amount", "max": "cap", "on": "decision",
             "message": "不能通过"},
        ],
        "required": [{"step": "review", "when": {"objection": True}, "field": "opinion", "message": "请填写意见"}],
        "thresholds": [{"step": "approve", "when": {"decision": "同意"}, "field": "amount", "above": "threshold",
                        "set": "needs_leader"}],
        "record": [
            {"step": "approve", "when": {"decision": "同意", "needs_leader": False},
             "set": {"approved": {"field": "amount"}, "approved_on": {"today": True}}},
            {"step": "report",
             "append": {"log": {"pct": {"field": "pct"}, "photos": {"field": "photos", "default": []}}}},
            {"step": "report", "when": {"pct": {"min": 100}, "marks": {"empty": False}},
             "append": {"old_marks": {"field": "marks"}}},
            {"step": "report", "when": {"pct": {"min": 100}},
             "set": {"marks": [], "signers": [{"party": "town", "unit_id": {"ancestor": "town"}}],
                     "cap_then": {"setting": "cap"}}},
        ],
    },
}


class Orgs(StandInOrgs):
    def __init__(self, sections: bool = True) -> None:
        super().__init__()
        self.sections = sections

    def section_of(self, organ_id: int, code_suffix: str) -> int | None:
        return super().section_of(organ_id, code_suffix) if self.sections else None


def ctx(orgs: StandInOrgs | None = None, **settings: Any) -> HookContext:
    now = datetime(2026, 3, 2, 2, tzinfo=timezone.utc)
    return HookContext(now=now, today=date(2026, 3, 2), calendar=default_calendar(), orgs=orgs or Orgs(),
                       case_unit_id=7, case_no="GZ2026-00001", initiator_id=1,
                       settings={**MANIFEST["settings"], **settings})


HOOKS = ManifestHooks(MANIFEST)


def test_the_example_manifest_is_valid_against_the_published_schema():
    validate_manifest(MANIFEST)


def test_limits_against_a_setting_and_another_field_report_every_refusal_at_once():
    with pytest.raises(FormInvalid) as err:
        HOOKS.on_complete("plan", {"amount": 100.5, "begin": "2026-04-01", "finish": "2026-03-31"}, ctx())
    assert err.value.errors == {"amount": "金额100.50元超过100.00元", "finish": "结束早于开始"}
    HOOKS.on_complete("plan", {"amount": 100, "begin": "2026-04-01", "finish": "2026-04-01"}, ctx())
    with pytest.raises(FormInvalid) as err:  # a deployment's lower cap
        HOOKS.on_complete("plan", {"amount": 90}, ctx(cap=80))
    assert err.value.errors == {"amount": "金额90.00元超过80.00元"}


def test_a_limit_against_a_missing_value_says_so_and_another_step_is_not_checked():
    with pytest.raises(FormInvalid) as err:
        HOOKS.on_complete("pay", {"paid": 1}, ctx())
    assert err.value.errors == {"paid": "没有批准额"}
    with pytest.raises(FormInvalid) as err:
        HOOKS.on_complete("pay", {"paid": 11, "approved": 10}, ctx())
    assert err.value.errors == {"paid": "超过10"}
    HOOKS.on_complete("pay", {"paid": 10, "approved": 10}, ctx())
    HOOKS.on_complete("other", {"paid": 11, "approved": 10, "amount": 1000}, ctx())


def test_a_conditional_limit_and_required_field_apply_only_when_their_condition_holds():
    with pytest.raises(FormInvalid) as err:
        HOOKS.on_complete("review", {"decision": "通过", "amount": 101, "objection": True}, ctx())
    assert err.value.errors == {"decision": "不能通过", "opinion": "请填写意见"}
    HOOKS.on_complete("review", {"decision": "退回", "amount": 101, "objection": False}, ctx())
    HOOKS.on_complete("review", {"decision": "退回", "objection": True, "opinion": "已核实"}, ctx())


@pytest.mark.parametrize("amount, decision, needs, approved", [
    (50, "同意", False, 50), (50.01, "同意", True, None), (500, "退回", False, None)])
def test_a_threshold_chooses_the_approver_and_the_record_follows_it(amount, decision, needs, approved):
    out = HOOKS.on_complete("approve", {"amount": amount, "decision": decision}, ctx())
    assert out["needs_leader"] is needs
    assert out.get("approved") == approved
    assert ("approved_on" in out) is (approved is not None)


def test_record_rules_append_and_set_in_order_each_seeing_the_last():
    first = HOOKS.on_complete("report", {"pct": 40}, ctx())
    assert first["log"] == [{"pct": 40, "photos": []}] and "signers" not in first
    done = HOOKS.on_complete("report", {"pct": 100, "photos": [3], "log": first["log"], "marks": ["x"]}, ctx())
    assert done["log"] == [{"pct": 40, "photos": []}, {"pct": 100, "photos": [3]}]
    assert done["old_marks"] == [["x"]] and done["marks"] == []
    assert done["signers"] == [{"party": "town", "unit_id": 7}] and done["cap_then"] == 100
    again = HOOKS.on_complete("report", {"pct": 100, "marks": []}, ctx())
    assert "old_marks" not in again  # nothing failed before


def test_routing_to_a_section_by_setting_and_by_a_data_path():
    orgs = Orgs()
    assert HOOKS.assign("approve", {}, ctx(orgs)) == orgs.unit_id("7.yf")
    assert HOOKS.assign("approve", {}, ctx(orgs, section_code="ya")) == orgs.unit_id("7.ya")
    with pytest.raises(NotFound) as err:
        HOOKS.assign("approve", {}, ctx(Orgs(sections=False)))
    assert "未找到编码后缀为“yf”的科室" in err.value.user_message
    assert HOOKS.assign("sign", {"signer": {"unit_id": 42}}, ctx()) == 42
    assert HOOKS.task_label("sign", {"signer": {"name": "户主"}}) == "户主"
    assert HOOKS.task_label("approve", {"signer": {"name": "户主"}}) is None


def test_conditions_values_and_placeholders():
    assert holds({"a": {"in": [1, 2]}, "b.c": "x"}, {"a": 2, "b": {"c": "x"}})
    assert not holds({"a": {"max": 1}}, {"a": 2}) and not holds({"a": {"min": 1}}, {})
    assert not holds({"a": {"empty": True}}, {"a": [1]}) and holds({"a": {"empty": True}}, {"a": []})
    assert resolve({"field": "a.b", "default": 0}, {"a": {}}, ctx()) == 0
    assert resolve({"note": "固定", "n": [{"field": "x"}]}, {"x": 5}, ctx()) == {"note": "固定", "n": [5]}
    assert fill("{a:money}/{b}/{c}", {"a": "1234.5", "b": "x"}) == "1,234.50元/x/"
