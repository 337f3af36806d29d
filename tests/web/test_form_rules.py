"""Form rules of step forms (issue 13 point 6): x-show-if fields (hidden in the page, not required
and their values dropped on the server), the * of fields required for the chosen action, 请选择
as the first option, the date picker's text input (ISO value), and 承办单位 limited to the units
the routing rule allows (交办 goes to a district bureau)."""
from __future__ import annotations

import re
from typing import Any

import pytest

from engine.env import Env
from engine.runtime import case_data, case_history
from tests.factories import Org, beijing, open_tasks, setup_petition
from tests.factories import register_petition as register
from tests.web.conftest import login


@pytest.fixture
def org(env: Env) -> Org:
    return setup_petition(env)


@pytest.fixture
def intake(env: Env, org: Org, clock: Any) -> tuple[int, int]:
    clock.set(beijing("2026-03-16", 10))
    case_id = register(env, org)
    [task] = open_tasks(env, case_id, "intake")
    return case_id, task.id


def _wrapper(page: str, name: str) -> str:
    found = re.search(rf'<div class="form-field" data-field="{name}"[^>]*>', page)
    assert found, name
    return found.group(0)


def test_the_page_hides_choice_fields_and_marks_what_the_choice_requires(client, org, intake):
    login(client, "city_cw")
    page = client.get(f"/tasks/{intake[1]}").text
    refusal = _wrapper(page, "refusal_detail")
    assert "data-show-if=" in refusal and "不予受理" in refusal and refusal.endswith(" hidden>")
    assert not _wrapper(page, "intake_notice_on").endswith(" hidden>")  # shown for every outcome
    # 承办单位 is required for 交办 only: its * is there, hidden until that choice
    unit = _wrapper(page, "handling_unit_id")
    assert "data-required-if=" in unit
    assert re.search(r'承办单位 <span class="text-danger req-star" aria-hidden="true" hidden>\*</span>', page)
    # 请选择 first; 承办单位 lists the district bureaus only (交办 goes to a district)
    options = re.search(r'<select[^>]*name="handling_unit_id".*?</select>', page, re.S).group(0)
    labels = re.findall(r"<option[^>]*>([^<]*)</option>", options)
    assert labels[0] == "请选择…"
    assert [x.strip("　") for x in labels[1:]] == ["海安区退役军人事务局", "江北区退役军人事务局"]
    # a date: a text input with an ISO pattern and the local picker, not the locale's <input type=date>
    notice = re.search(r'<input[^>]*name="intake_notice_on"[^>]*>', page).group(0)
    assert 'type="text"' in notice and "data-date-input" in notice and 'placeholder="年-月-日"' in notice
    assert 'type="date"' not in page


def test_a_hidden_required_field_does_not_block_and_its_value_is_dropped(env, client, org, intake):
    case_id, task = intake
    login(client, "city_cw")
    # 受理 with a 不予受理说明 and a 转送机关 typed before changing the choice: both are hidden
    response = client.post(f"/tasks/{task}", data={
        "intake_outcome": "受理", "refusal_detail": "曾写的理由", "transfer_organ": "市人社局",
        "intake_notice_on": "2026-03-16"})
    assert response.status_code == 302, response.text
    data = case_data(env, case_id)
    assert data["intake_outcome"] == "受理"
    assert "refusal_detail" not in data and "transfer_organ" not in data
    done = [e for e in case_history(env, case_id) if e.action == "complete"][-1]
    assert "refusal_detail" not in done.data and "intake_outcome" in done.data


def test_the_chosen_action_shows_and_requires_its_fields(env, client, org, intake):
    case_id, task = intake
    login(client, "city_cw")
    refused = client.post(f"/tasks/{task}", data={"intake_outcome": "交办"})
    assert refused.status_code == 422
    assert "请填写承办单位" in refused.text
    unit = _wrapper(refused.text, "handling_unit_id")
    assert not unit.endswith(" hidden>")
    assert re.search(r'承办单位 <span class="text-danger req-star" aria-hidden="true">\*</span>', refused.text)
    assert _wrapper(refused.text, "refusal_detail").endswith(" hidden>")
    assert open_tasks(env, case_id, "intake")  # nothing done


def test_a_shown_field_is_still_required_and_checked(env, client, org, intake):
    case_id, task = intake
    login(client, "city_cw")
    refused = client.post(f"/tasks/{task}", data={"intake_outcome": "不予受理", "refusal_detail": "说明"})
    assert refused.status_code == 422 and "请填写不予受理理由" in refused.text
    assert "说明</textarea>" in refused.text  # what was typed stays


# ----------------------------------------------------------------------------- 身份证号 / phone masking

def test_id_number_and_phone_are_masked_for_roles_that_do_not_handle_the_case(env, client, org, clock):
    """Full for the case's handlers (its initiator, caseworkers where it is routed); masked for
    reviewers, leaders and auditors on the case page, its print view, the task and the workbench."""
    from tests.factories import PETITION_HANDLED, act, assign_petition
    clock.set(beijing("2026-03-16", 10))
    case_id = register(env, org)
    assign_petition(env, org, case_id)
    act(env, org, case_id, "handle", "d1_cw", PETITION_HANDLED)
    full_id, full_phone = "320602196805120016", "13912345678"
    masked_id, masked_phone = "3206**********0016", "139****5678"
    for user, full in (("t1_cw", True), ("d1_cw", True), ("d1_rev", False), ("d1_lead", False),
                       ("city_audit", False)):
        login(client, user)
        for path in (f"/cases/{case_id}", f"/cases/{case_id}/print"):
            page = client.get(path).text
            shown = (full_id, full_phone) if full else (masked_id, masked_phone)
            hidden = (masked_id, masked_phone) if full else (full_id, full_phone)
            assert all(s in page for s in shown), (user, path)
            assert not any(h in page for h in hidden), (user, path)
        client.get("/logout")
    [review] = open_tasks(env, case_id, "review")
    login(client, "d1_rev")
    page = client.get(f"/tasks/{review.id}").text
    assert masked_id in page and full_id not in page and full_phone not in page
