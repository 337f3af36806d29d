"""The "x-opinion" hint: which field of a step form is the step's opinion, and the process
forms that carry it (one per form at most, a free-text field)."""
from __future__ import annotations

from pathlib import Path

import pytest

from engine.forms import form_opinion, load_form, opinion_field

WORKFLOWS = Path(__file__).resolve().parents[2] / "workflows"
SCHEMA = {"properties": {"review_decision": {"type": "string", "x-widget": "actions"},
                         "review_opinion": {"type": "string", "x-widget": "textarea", "x-opinion": True}}}
FORMS = sorted(WORKFLOWS.glob("*/forms/*.json"))
# step forms whose own opinion field replaces the generic opinion box
MARKED = {
    "petition": {"intake": "intake_opinion", "approve_refusal": "refusal_approval_opinion",
                 "approve_extension": "extension_opinion", "review": "review_opinion",
                 "approve": "approval_opinion", "supervise_intake": "intake_supervision_note",
                 "supervise_handling": "handling_supervision_note",
                 "supervise_first_review": "first_review_supervision_note",
                 "supervise_second_review": "second_review_supervision_note",
                 "accept_late_first": "late_first_reason", "accept_late_second": "late_second_reason"},
    "home_renovation": {"district_review": "district_opinion", "city_approval": "city_opinion",
                        "leader_approval": "leader_opinion", "acceptance": "acceptance_note"},
    "job_placement": {"allocation_approval": "allocation_opinion", "publish_ranking": "ranking_note",
                      "review_file": "review_note"},
    "settlement_handover": {"classify_confirm": "classify_note", "forfeit_confirm": "forfeit_reason"},
}


def test_the_marked_field_is_the_opinion():
    assert opinion_field(SCHEMA) == "review_opinion"
    assert form_opinion(SCHEMA, {"review_opinion": "  事实清楚 "}, "typed") == "事实清楚"
    assert form_opinion(SCHEMA, {"review_opinion": ""}, "typed") is None
    # a caller that sends no such field (the engine API, a script) keeps the opinion it passed
    assert form_opinion(SCHEMA, {}, " typed ") == "typed"
    assert form_opinion(SCHEMA, {"review_opinion": None}, "typed") is None


def test_without_a_marked_field_the_typed_opinion_counts():
    plain = {"properties": {"note": {"type": "string"}}}
    assert opinion_field(plain) is None and opinion_field(None) is None
    assert form_opinion(plain, {"note": "x"}, " 同意 ") == "同意"
    assert form_opinion(plain, {}, "") is None and form_opinion(None, {}, None) is None


@pytest.mark.parametrize("path", FORMS, ids=lambda p: f"{p.parent.parent.name}/{p.stem}")
def test_process_forms_mark_at_most_one_free_text_field(path):
    schema = load_form(path.parent, path.stem) or {}
    marked = [n for n, p in schema.get("properties", {}).items() if p.get("x-opinion") is True]
    assert len(marked) <= 1
    for name in marked:
        prop = schema["properties"][name]
        assert prop["type"] == "string" and prop.get("x-widget") == "textarea", name
    assert (marked[0] if marked else None) == MARKED.get(path.parent.parent.name, {}).get(path.stem)
