"""One opinion box per step: a step form whose own field is its opinion ("x-opinion": true, e.g.
审核's 意见说明) shows no second, generic 审批意见 box — on the task page and on the leader page —
and that field's value is recorded as the step's opinion: in the history and the timeline."""
from __future__ import annotations

import re

import pytest

from engine.env import Env
from engine.runtime import case_history
from tests.factories import (PETITION_HANDLED, Org, act, open_tasks, register_petition,
                             setup_petition, sign_assignment)
from tests.web.conftest import login


@pytest.fixture
def org(env: Env) -> Org:
    return setup_petition(env)


def opinion_of(env: Env, case_id: int, step_id: str) -> str | None:
    [event] = [e for e in case_history(env, case_id) if e.action == "complete" and e.step_id == step_id]
    return event.opinion


def test_the_intake_form_records_its_own_opinion_field(env, client, org):
    case = register_petition(env, org)
    [task] = open_tasks(env, case, "intake")
    login(client, "city_cw")
    page = client.get(f"/tasks/{task.id}").text
    assert 'name="intake_opinion"' in page and 'name="_opinion"' not in page
    done = client.post(f"/tasks/{task.id}", data={
        "intake_outcome": "交办", "handling_unit_id": str(org.units["d1"]),
        "intake_opinion": "  请海安区依政策办理  ", "_opinion": "not shown, not recorded"})
    assert done.status_code == 302
    assert opinion_of(env, case, "intake") == "请海安区依政策办理"
    [event] = [e for e in case_history(env, case) if e.step_id == "intake" and e.action == "complete"]
    assert event.data["intake_opinion"] == [None, "请海安区依政策办理"]  # the data keeps its key
    assert "意见：请海安区依政策办理" in client.get(f"/cases/{case}").text  # the timeline


def test_review_and_leader_approval_show_one_opinion_box_each(env, client, org):
    case = register_petition(env, org)
    act(env, org, case, "intake", "city_cw", {"intake_outcome": "交办", "handling_unit_id": org.units["d1"]})
    sign_assignment(env, org, case)
    act(env, org, case, "handle", "d1_cw", PETITION_HANDLED, opinion="调查完毕，提交审核")
    [review] = open_tasks(env, case, "review")

    login(client, "d1_rev")
    page = client.get(f"/tasks/{review.id}").text
    assert 'name="review_opinion"' in page and 'name="_opinion"' not in page
    assert "审批意见" not in page  # no generic box label either
    returned = client.post(f"/tasks/{review.id}", data={"review_decision": "退回"})
    assert returned.status_code == 422 and "请填写意见说明" in returned.text
    assert 'name="_opinion"' not in returned.text
    client.post(f"/tasks/{review.id}", data={"review_decision": "通过", "review_opinion": "事实清楚，依据充分"})
    assert opinion_of(env, case, "review") == "事实清楚，依据充分"

    client.get("/logout")
    login(client, "d1_lead")
    leader = client.get("/leader").text
    [card] = re.findall(r'<details class="wb-item[^"]*"(.*?)</details>', leader, re.S)
    assert 'name="approval_opinion"' in card and 'name="_opinion"' not in card
    assert card.count("事实清楚，依据充分") == 1  # earlier opinions: not twice (opinion and field)
    [approve] = open_tasks(env, case, "approve")
    done = client.post(f"/tasks/{approve.id}", data={"_next": "leader", "approval_decision": "同意",
                                                      "approval_opinion": "同意，按意见书答复"})
    assert done.status_code == 302 and done.location.endswith("/leader")
    assert opinion_of(env, case, "approve") == "同意，按意见书答复"
    timeline = client.get(f"/cases/{case}").text
    assert "意见：事实清楚，依据充分" in timeline and "意见：同意，按意见书答复" in timeline


def test_a_step_without_an_opinion_field_keeps_the_generic_box(env, client, org):
    case = register_petition(env, org)
    act(env, org, case, "intake", "city_cw", {"intake_outcome": "交办", "handling_unit_id": org.units["d1"]})
    [sign] = open_tasks(env, case, "receive_assignment")
    login(client, "d1_cw")
    page = client.get(f"/tasks/{sign.id}").text
    assert 'name="_opinion"' in page and "办理意见" in page
    client.post(f"/tasks/{sign.id}", data={"assignment_decision": "签收", "assignment_received_on": "2026-03-02",
                                           "_opinion": "已签收"})
    assert opinion_of(env, case, "receive_assignment") == "已签收"


def test_an_empty_opinion_field_records_no_opinion(env, client, org):
    case = register_petition(env, org)
    [task] = open_tasks(env, case, "intake")
    login(client, "city_cw")
    client.post(f"/tasks/{task.id}", data={"intake_outcome": "受理", "intake_opinion": "   ",
                                           "_opinion": "ignored"})
    assert opinion_of(env, case, "intake") is None
