"""The ledger's scope is engine.access's rule: for every user of the test org, the cases
engine.ledger lists are exactly those `can_view_case` lets them open — registered, routed, copied,
supervised — and nobody else's; 身份证号 and phone are whole only for whoever handles the case."""
from __future__ import annotations

from typing import Any

from engine.access import can_view_case
from engine.copies import copy_case
from engine.ledger import LedgerQuery, ledger, ledger_all, mask_id, mask_phone
from engine.models import ProcessInstance, Role, User
from engine.orgs import granted_subtrees
from tests.factories import (assign_petition, beijing, build_org, register_petition, setup_petition,
                             soldier_id_number)


def _world(env: Any, clock: Any) -> dict[str, Any]:
    org = setup_petition(env)
    clock.set(beijing("2026-03-02"))
    a = register_petition(env, org, petitioner_name="王建国", id_number=soldier_id_number(21))
    b = register_petition(env, org, "t2_cw", "t2", petitioner_name="赵江北", id_number=soldier_id_number(22))
    c = register_petition(env, org, "city_cw", "city_xf", petitioner_name="钱市区", id_number=soldier_id_number(23))
    assign_petition(env, org, a, "d1")
    assign_petition(env, org, b, "d2")
    copy_case(env, b, org.actor("t2_cw"), [org.actor("v1_cw").id])  # 抄送 to a village worker of d1
    return {"org": org, "cases": [a, b, c]}


def test_every_user_sees_in_the_ledger_exactly_the_cases_they_may_open(env, clock):
    world = _world(env, clock)
    with env.db.read() as s:
        users = s.query(User).all()
        cases = s.query(ProcessInstance).all()
        expected = {u.id: {c.id for c in cases if can_view_case(s, u.id, c)} for u in users}
    for user in users:
        listed = {r.id for r in ledger_all(env, user.id, "petition")}
        assert listed == expected[user.id], user.username
    org = world["org"]
    a, b, c = world["cases"]
    assert expected[org.actor("v1_cw").id] == {b}        # by the copy alone
    assert expected[org.actor("d1_lead").id] == {a}      # its district's case, not the others
    assert expected[org.actor("admin").id] == set()      # an admin without a case role
    assert expected[org.actor("city_lead").id] == {a, b, c}


def test_a_search_never_reaches_past_the_scope(env, clock):
    world = _world(env, clock)
    org = world["org"]
    d1_lead = org.actor("d1_lead").id
    for term in ("赵江北", soldier_id_number(22), "钱市区", "江北", "XF"):
        found = {r.id for r in ledger_all(env, d1_lead, "petition", LedgerQuery(text=term))}
        assert found <= {world["cases"][0]}, term
    page = ledger(env, d1_lead, "petition", LedgerQuery(unit_id=org.units["d2"]))
    assert page.total == 0


def test_id_numbers_and_phones_are_whole_only_for_those_who_handle_the_case(env, clock):
    world = _world(env, clock)
    org = world["org"]
    a, b, _c = world["cases"]
    whole = soldier_id_number(21)

    def row(username: str, case: int) -> Any:
        return next(r for r in ledger_all(env, org.actor(username).id, "petition") if r.id == case)
    for username in ("t1_cw", "d1_cw", "city_cw"):  # registrar, handling unit, intake section
        got = row(username, a)
        assert (got.id_no, got.phone, got.masked) == (whole, "13912345678", False), username
    for username in ("d1_lead", "d1_rev", "city_audit", "city_lead"):
        got = row(username, a)
        assert (got.id_no, got.phone, got.masked) == (mask_id(whole), "139****5678", True), username
    assert row("v1_cw", b).masked  # a copy shows the case, not the whole numbers
    assert mask_id(whole) == whole[:4] + "*" * 10 + whole[-4:] and mask_phone("13912345678") == "139****5678"


def test_the_unit_pickers_offer_the_subtrees_of_the_users_role_units_and_nothing_else(env):
    org = build_org(env)
    u = org.units
    with env.db.read() as s:
        d1_lead = granted_subtrees(s, org.actor("d1_lead").id, (Role.leader,))
        assert d1_lead == [(u["d1"], "海安区退役军人事务局", 1), (u["t1"], "城东街道退役军人服务站", 2),
                           (u["v1"], "幸福社区退役军人服务站", 3)]  # its district in tree order, not d2's
        assert granted_subtrees(s, org.actor("d1_lead").id, (Role.caseworker,)) == []  # another role
        assert granted_subtrees(s, org.actor("admin").id, (Role.leader, Role.caseworker)) == []
