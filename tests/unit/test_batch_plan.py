"""Which leader items the workbench offers for batch (webapp.leader.batch_plan): only those a
decision and an opinion decide, with the opinion required where the form or the process says."""
from __future__ import annotations

import json
from pathlib import Path

from webapp.leader import batch_plan

FORMS = Path(__file__).resolve().parents[2] / "workflows" / "petition" / "forms"


def _form(name: str) -> dict:
    return json.loads((FORMS / f"{name}.json").read_text(encoding="utf-8"))


def test_the_petition_approval_is_batched_and_its_return_needs_an_opinion():
    plan = batch_plan(_form("approve"), {})
    assert plan is not None
    assert plan.values == {"approve": "同意", "return": "退回"}
    assert plan.opinion_field == "approval_opinion"
    assert plan.opinion_required == {"approve": False, "return": True}


def test_a_process_setting_requires_an_opinion_for_every_decision():
    plan = batch_plan(_form("approve"), {"leader_opinion_required": True})
    assert plan is not None and plan.opinion_required == {"approve": True, "return": True}


def test_a_form_that_needs_more_than_a_decision_and_an_opinion_is_opened_on_its_own():
    schema = {"type": "object", "required": ["decision", "approved_amount"],
              "properties": {"decision": {"type": "string", "x-widget": "actions", "enum": ["批准", "不批准"]},
                             "approved_amount": {"type": "number", "title": "核定金额"}}}
    assert batch_plan(schema, {}) is None
    assert batch_plan({"type": "object", "properties": {"note": {"type": "string"}}}, {}) is None
    assert batch_plan(None, {}) is None
    no_approve = {"type": "object", "properties": {
        "decision": {"type": "string", "x-widget": "actions", "enum": ["提交审核", "申请延期"]}}}
    assert batch_plan(no_approve, {}) is None
