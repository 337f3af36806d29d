"""开具督办单 and 领导包案 from a petition's case page: who sees the 督办 form (the engine's 督办 of
every process, with the petition's 督办事由) and the 包案 button, the refusals, a refused form that
keeps what was typed, the 包案 badge and the leader's "我包案的"."""
from __future__ import annotations

from typing import Any

import pytest

from engine.env import Env
from engine.runtime import case_history
from engine.verbs.supervision import case_orders
from tests.factories import Org, act, assign_petition, beijing, setup_petition
from tests.factories import register_petition as register
from tests.web.conftest import login, start_plain


@pytest.fixture
def org(env: Env) -> Org:
    return setup_petition(env)


@pytest.fixture
def case(env: Env, org: Org, clock: Any) -> int:
    """A petition of the town t1, assigned by the city to 海安区 (d1), being handled there."""
    clock.set(beijing("2026-03-16", 10))  # Monday
    case_id = register(env, org)
    assign_petition(env, org, case_id)
    return case_id


def supervise_form(case_id: int) -> str:
    return f'action="/cases/{case_id}/supervise"'


def take_link(case_id: int) -> str:
    return f'href="/cases/{case_id}/ownership"'


# ----------------------------------------------------------------------------- 督办单

def test_district_leader_opens_a_supervision_order_from_the_case_page(env, client, org, case):
    login(client, "d1_lead")
    page = client.get(f"/cases/{case}").text
    assert supervise_form(case) in page and take_link(case) in page
    assert 'name="kind"' in page and '<option value="久拖未决">' in page and 'name="requirement"' in page
    assert 'name="due_on"' in page and f'href="/cases/{case}/supervision"' not in page  # one UI

    missing = client.post(f"/cases/{case}/supervise", data={"kind": "久拖未决", "due_on": "2026-03-20"})
    assert missing.status_code == 422
    assert "请填写督办要求" in missing.text
    assert '<option value="久拖未决" selected>' in missing.text and 'value="2026-03-20"' in missing.text
    past = client.post(f"/cases/{case}/supervise",
                       data={"kind": "其他", "requirement": "请报告进展", "due_on": "2026-03-01"})
    assert past.status_code == 422 and "反馈期限不能早于今天" in past.text
    assert "请报告进展</textarea>" in past.text
    no_kind = client.post(f"/cases/{case}/supervise", data={"requirement": "请报告进展"})
    assert no_kind.status_code == 422 and "请选择督办事由" in no_kind.text
    assert case_orders(env, case) == []

    done = client.post(f"/cases/{case}/supervise",
                       data={"kind": "久拖未决", "requirement": "请于3日内书面报告进展", "due_on": "2026-03-20"})
    assert done.status_code == 302 and done.location.endswith(f"/cases/{case}")
    [order] = case_orders(env, case)
    assert (order.org_unit_id, order.due_at, order.kind) == (org.units["d1"], beijing("2026-03-21", 0), "久拖未决")
    [event] = [e for e in case_history(env, case) if e.action == "supervise"]
    assert (event.actor_name, event.opinion) == ("区领导", "请于3日内书面报告进展")
    shown = client.get(f"/cases/{case}").text
    assert "已开具督办单" in shown and "督办单</strong>（久拖未决）" in shown

    client.get("/logout")
    login(client, "d1_cw")  # the unit answers on the case page
    answer_form = f'action="/cases/{case}/supervision/{order.id}"'
    assert answer_form in client.get(f"/cases/{case}").text
    assert client.post(f"/cases/{case}/supervision/{order.id}", data={"feedback": "已书面报告"}).status_code == 302
    assert case_orders(env, case)[0].on_time is True


def test_the_petition_section_may_supervise_but_not_take_the_case(env, client, org, case):
    login(client, "city_cw")
    page = client.get(f"/cases/{case}").text
    assert supervise_form(case) in page and take_link(case) not in page
    assert client.post(f"/cases/{case}/supervise",
                       data={"kind": "其他", "requirement": "请报告"}).status_code == 302
    assert len(case_orders(env, case)) == 1
    assert client.get(f"/cases/{case}/ownership").status_code == 403
    assert client.post(f"/cases/{case}/ownership", data={}).status_code == 403


@pytest.mark.parametrize("username", ["t1_cw", "d1_cw", "d1_rev", "city_audit"])
def test_who_sees_the_case_but_may_not_supervise_is_refused(env, client, org, case, username):
    login(client, username)
    page = client.get(f"/cases/{case}").text
    assert supervise_form(case) not in page and take_link(case) not in page
    order = {"kind": "其他", "requirement": "请报告"}
    assert client.post(f"/cases/{case}/supervise", data=order).status_code == 403
    assert client.post(f"/cases/{case}/supervise", data={}).status_code == 403  # before the form
    assert client.get(f"/cases/{case}/ownership").status_code == 403
    assert client.post(f"/cases/{case}/ownership", data={}).status_code == 403
    assert case_orders(env, case) == []


def test_who_may_not_see_the_case_gets_404(env, client, org, case):
    login(client, "d2_cw")
    assert client.post(f"/cases/{case}/supervise", data={"kind": "其他"}).status_code == 404
    assert client.get(f"/cases/{case}/ownership").status_code == 404
    assert client.post(f"/cases/{case}/ownership", data={}).status_code == 404


def test_a_closed_case_is_not_supervised(env, client, org):
    transferred = register(env, org, category="住房")
    act(env, org, transferred, "intake", "city_cw", {"intake_outcome": "转送", "transfer_organ": "市住建局"})
    login(client, "city_lead")
    assert supervise_form(transferred) not in client.get(f"/cases/{transferred}").text
    closed = client.post(f"/cases/{transferred}/supervise", data={"kind": "其他", "requirement": "请报告"})
    assert closed.status_code == 409 and "案件已结束" in closed.text


def test_a_plain_case_has_no_petition_actions(env, client, plain):
    started = start_plain(env, plain)
    login(client, "d1_lead")
    page = client.get(f"/cases/{started.instance_id}")
    assert page.status_code == 200 and "/ownership" not in page.text and 'name="kind"' not in page.text
    assert client.post(f"/cases/{started.instance_id}/ownership", data={}).status_code == 404


# ----------------------------------------------------------------------------- 领导包案

def test_a_leader_takes_the_case_and_finds_it_in_their_list(env, client, org, case):
    login(client, "d1_lead")
    assert "我包案的" in client.get("/leader").text and "您尚未包案" in client.get("/leader").text
    form = client.get(f"/cases/{case}/ownership")
    assert form.status_code == 200 and 'name="ownership_note"' in form.text
    too_long = client.post(f"/cases/{case}/ownership", data={"ownership_note": "重" * 2001})
    assert too_long.status_code == 422 and "最多 2000 个字" in too_long.text
    taken = client.post(f"/cases/{case}/ownership", data={"ownership_note": "重点信访事项"})
    assert taken.status_code == 302
    page = client.get(f"/cases/{case}").text
    assert "包案：区领导" in page and take_link(case) not in page
    mine = client.get("/leader").text
    assert "我包案的" in mine and "XF2026-00001" in mine and "您尚未包案" not in mine
    [event] = [e for e in case_history(env, case) if e.step_id == "leader_ownership"]
    assert (event.actor_name, event.data["ownership_note"]) == ("区领导", [None, "重点信访事项"])

    client.get("/logout")
    login(client, "city_lead")  # the city leader takes it over
    assert "包案：区领导" in client.get(f"/cases/{case}").text
    assert client.post(f"/cases/{case}/ownership", data={}).status_code == 302
    assert "包案：市局领导" in client.get(f"/cases/{case}").text
    assert "XF2026-00001" in client.get("/leader").text
    client.get("/logout")
    login(client, "d1_lead")
    assert "XF2026-00001" not in client.get("/leader").text


def test_a_leader_of_another_branch_may_not_take_the_case(env, client, org):
    city_case = register(env, org, username="city_cw", unit="city_xf")  # never went through d1
    act(env, org, city_case, "intake", "city_cw", {"intake_outcome": "受理"})
    login(client, "d1_lead")
    assert client.post(f"/cases/{city_case}/ownership", data={}).status_code == 404  # not visible
    client.get("/logout")
    login(client, "city_rev")
    assert take_link(city_case) not in client.get(f"/cases/{city_case}").text
    assert client.post(f"/cases/{city_case}/ownership", data={}).status_code == 403
