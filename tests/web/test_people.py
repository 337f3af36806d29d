"""The person picker's API (抄送 and 转办): the org tree, search, and only the people the engine
lets receive it; someone who may not copy or hand on gets 403, a case one cannot see 404."""
from __future__ import annotations

from engine.inbox import inbox
from engine.models import OrgUnit, Role
from engine.orgs import create_user
from tests.web.conftest import login, start_plain


def _people(units):
    return {(u["name"], p["name"]) for u in units for p in u["people"]}


def test_cc_picker_lists_everyone_but_me_under_their_units_and_searches(client, env, plain):
    case = start_plain(env, plain)
    login(client, "t1_cw")
    units = client.get(f"/people/cc/{case.instance_id}").json["units"]
    names = [u["name"] for u in units]
    assert names[0] == "XX市退役军人事务局" and units[0]["depth"] == 0  # the tree from the top
    assert names.index("海安区退役军人事务局") < names.index("幸福社区退役军人服务站")
    assert {u["name"]: u["depth"] for u in units}["幸福社区退役军人服务站"] == 3
    people = _people(units)
    assert ("海安区退役军人事务局", "区经办") in people and ("江北镇退役军人服务站", "二镇经办") in people
    assert not any(name == "镇经办" for _unit, name in people)  # not oneself
    by_unit = client.get(f"/people/cc/{case.instance_id}?q=江北镇").json["units"]
    assert _people(by_unit) == {("江北镇退役军人服务站", "二镇经办")}
    by_name = _people(client.get(f"/people/cc/{case.instance_id}?q=区领导").json["units"])
    assert by_name == {("海安区退役军人事务局", "区领导")}
    assert _people(client.get(f"/people/cc/{case.instance_id}?q=d1_rev").json["units"]) == \
        {("海安区退役军人事务局", "区审核")}  # an exact username
    assert client.get(f"/people/cc/{case.instance_id}?q=无此人").json["units"] == []


def test_cc_picker_refuses_who_may_not_copy_or_see(app, env, plain):
    case = start_plain(env, plain)
    for username, status in (("city_audit", 403), ("admin", 404), ("t2_cw", 404)):
        client = app.test_client()
        login(client, username)
        assert client.get(f"/people/cc/{case.instance_id}").status_code == status, username
    assert app.test_client().get(f"/people/cc/{case.instance_id}").status_code == 302  # to the login


def test_transfer_picker_lists_only_the_tasks_possible_receivers(app, env, plain):
    case = start_plain(env, plain)
    with env.db.write() as s:
        create_user(s, "t1_cw2", "镇经办二", "secret-pass", env.clock.now(),
                    [(Role.caseworker, s.get(OrgUnit, plain.units["t1"]))])
        create_user(s, "t1_rev", "镇审核", "secret-pass", env.clock.now(),
                    [(Role.reviewer, s.get(OrgUnit, plain.units["t1"]))])
    task_id = inbox(env, plain.actor("t1_cw").id).items[0].id
    client = app.test_client()
    login(client, "t1_cw")
    units = client.get(f"/people/transfer/{task_id}").json["units"]
    assert _people(units) == {("城东街道退役军人服务站", "镇经办二")}  # not the reviewer, not oneself
    assert client.get(f"/people/transfer/{task_id}?q=二区").json["units"] == []
    assert case.instance_id
    for username, status in (("d1_lead", 403), ("t2_cw", 404)):
        other = app.test_client()
        login(other, username)
        assert other.get(f"/people/transfer/{task_id}").status_code == status, username


def test_the_case_page_offers_the_cc_form_only_to_who_may_copy(app, env, plain):
    case = start_plain(env, plain)
    for username, offered in (("t1_cw", True), ("d1_rev", True), ("city_audit", False)):
        client = app.test_client()
        login(client, username)
        page = client.get(f"/cases/{case.instance_id}")
        assert page.status_code == 200, username
        assert ('id="cc-users"' in page.text) is offered, username
        assert ("/people/cc/" in page.text) is offered, username
