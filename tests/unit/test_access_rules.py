"""engine.access rule by rule: for every way in (initiator, 抄送, a role at a unit the case was
routed to, a supervising role above it, a start grant), someone just beside it stays out."""
from __future__ import annotations

from dataclasses import FrozenInstanceError, replace

import pytest
from sqlalchemy import delete, select

from engine import access
from engine.copies import copy_case
from engine.inbox import ACTING_ROLES
from engine.packages.roles import save_role
from engine.errors import NotFound
from engine.models import HumanTask, OrgLevel, OrgUnit, ProcessInstance, Role, RoleGrant
from engine.orgs import Actor, create_unit, create_user
from engine.attachments import UploadPolicy, add_attachment
from tests.factories import DATA, Org, build_org, deploy_dir
from tests.web.conftest import start_plain, web_plain_config


@pytest.fixture
def org(env) -> Org:
    org = build_org(env)
    env.extra_processes["plain"] = web_plain_config()
    deploy_dir(env, "plain", DATA / "plain")
    return org


def _sees(env, org, username, case_id) -> bool:
    with env.db.read() as s:
        return access.can_view_case(s, org.actor(username).id, s.get(ProcessInstance, case_id))


def test_a_copy_opens_the_case_to_its_recipient_only(env, org):
    """抄送: the copied user sees the case; a colleague who was not copied stays out, and the
    copy opens no other case."""
    copied = start_plain(env, org).instance_id
    other = start_plain(env, org).instance_id
    assert not _sees(env, org, "t2_cw", copied)
    copy_case(env, copied, org.actor("t1_cw"), [org.actor("t2_cw").id])
    assert _sees(env, org, "t2_cw", copied)
    assert not _sees(env, org, "d2_cw", copied)       # not copied, same district as the recipient
    assert not _sees(env, org, "t2_cw", other)        # the copy is of one case only


def test_the_initiator_sees_their_case_and_not_a_colleagues(env, org):
    with env.db.write() as s:
        unit = s.get(OrgUnit, org.units["t2"])
        second = create_user(s, "t2_cw2", "二镇经办二", "secret-pass", env.clock.now(), [(Role.caseworker, unit)])
        org.users["t2_cw2"] = Actor(second.id, second.full_name)
    mine = start_plain(env, org, "t2_cw", "t2").instance_id
    theirs = start_plain(env, org, "t2_cw2", "t2").instance_id
    with env.db.write() as s:  # the colleague leaves the unit: only having started it is left
        s.execute(delete(RoleGrant).where(RoleGrant.user_id == org.actor("t2_cw2").id))
    assert _sees(env, org, "t2_cw2", theirs)
    assert not _sees(env, org, "t2_cw2", mine)


@pytest.mark.parametrize(("username", "sees"), [
    ("t1_cw", True),        # a role at the unit the case is at
    ("v1_cw", False),       # a caseworker below the unit
    ("d1_cw", False),       # a caseworker above: caseworkers do not supervise
    ("d1_rev", True), ("d1_lead", True), ("city_lead", True), ("city_audit", True),  # supervisors above
    ("city_rev", False),    # a reviewer of the city's petition section: not above the town
    ("d2_cw", False), ("t2_cw", False), ("admin", False),
])
def test_who_sees_a_town_case(env, org, username, sees):
    case_id = start_plain(env, org).instance_id
    assert _sees(env, org, username, case_id) is sees


def test_a_supervisor_of_a_sibling_subtree_stays_out(env, org):
    """Unit ids past 9 so that "/1/" and "/11/" differ: a reviewer at unit 1x sees nothing of unit x."""
    with env.db.write() as s:
        city = s.get(OrgUnit, org.units["city"])
        extra = [create_unit(s, f"x{i}", f"单位{i}", OrgLevel.district, city) for i in range(8)]
        lookalike = next(u for u in extra if str(u.id).endswith(str(org.units["d2"])))
        x_rev = create_user(s, "x_rev", "相似单位审核", "secret-pass", env.clock.now(),
                            [(Role.reviewer, lookalike)]).id
        lookalike_id = lookalike.id
    case_id = start_plain(env, org, "t2_cw", "t2").instance_id
    with env.db.read() as s:
        assert not access.can_view_case(s, x_rev, s.get(ProcessInstance, case_id))
        assert access.subtree_ids(s, lookalike_id) == {lookalike_id}
        assert access.subtree_ids(s, org.units["d1"]) == {org.units[k] for k in ("d1", "t1", "v1")}


def test_an_added_role_reads_the_cases_at_its_own_units_only(env, org):
    """A role an admin added to the catalogue works like a caseworker: it sees a case routed to
    its unit, not one below it (it supervises nothing), not one elsewhere; it acts and copies,
    while auditors and admins only read."""
    save_role(env, org.actor("admin"), "inspector", "督查员")
    with env.db.write() as s:
        for username, unit in (("t1_insp", "t1"), ("d1_insp", "d1"), ("t2_insp", "t2")):
            user = create_user(s, username, username, "secret-pass", env.clock.now(),
                               [("inspector", s.get(OrgUnit, org.units[unit]))])
            org.users[username] = Actor(user.id, username)
    case_id = start_plain(env, org).instance_id  # registered at t1
    assert [_sees(env, org, u, case_id) for u in ("t1_insp", "d1_insp", "t2_insp")] == [True, False, False]
    assert "inspector" in access.CASE_ROLES and Role.auditor in access.CASE_ROLES
    assert Role.admin not in access.CASE_ROLES and None not in access.CASE_ROLES
    assert "inspector" not in access.SUBTREE_ROLES
    assert "inspector" in ACTING_ROLES and Role.caseworker in ACTING_ROLES
    assert Role.auditor not in ACTING_ROLES and Role.admin not in ACTING_ROLES
    copy_case(env, case_id, org.actor("t1_insp"), [org.actor("t2_cw").id])  # an acting role copies
    assert _sees(env, org, "t2_cw", case_id)


def test_units_of_a_case_are_read_from_its_path():
    assert access.case_unit_ids(ProcessInstance(unit_ids="/3/17/")) == [3, 17]
    assert access.case_unit_ids(ProcessInstance(unit_ids=None)) == []
    assert access.case_unit_ids(ProcessInstance(unit_ids="/")) == []
    assert access.case_unit_ids(ProcessInstance(unit_ids="")) == []


def test_case_ids_under_a_unit(env, org):
    t1_case = start_plain(env, org).instance_id
    t2_case = start_plain(env, org, "t2_cw", "t2").instance_id
    with env.db.read() as s:
        assert access.case_ids_under(s, "plain", org.units["d1"]) == [t1_case]
        assert access.case_ids_under(s, "plain", org.units["d2"]) == [t2_case]
        assert sorted(access.case_ids_under(s, "plain", org.units["city"])) == sorted([t1_case, t2_case])
        assert access.case_ids_under(s, "other", org.units["city"]) == []
    with env.db.write() as s:  # the t1 case is handed over to d2 (as a 转送 would)
        s.get(ProcessInstance, t1_case).unit_ids = f"/{org.units['d2']}/"
    with env.db.read() as s:
        assert sorted(access.case_ids_under(s, "plain", org.units["d2"])) == sorted([t1_case, t2_case])
        assert access.case_ids_under(s, "plain", org.units["d1"]) == [t1_case]  # registered there


def test_visible_rows_or_not_found(env, org, tmp_path):
    case_id = start_plain(env, org).instance_id
    att = add_attachment(env, case_id, org.actor("t1_cw"), "证明.pdf", b"%PDF-1.4\n",
                         UploadPolicy(tmp_path, 1024 * 1024))
    with env.db.read() as s:
        task = s.scalar(select(HumanTask).where(HumanTask.instance_id == case_id))
        me, outsider = org.actor("t1_cw").id, org.actor("t2_cw").id
        assert access.visible_case(s, me, case_id).id == case_id
        assert access.visible_task(s, me, task.id).id == task.id
        assert access.visible_attachment(s, me, att).id == att
        for call, arg, message in ((access.visible_case, case_id, "案件不存在或您无权查看"),
                                   (access.visible_task, task.id, "任务不存在或您无权查看"),
                                   (access.visible_attachment, att, "附件不存在或您无权查看")):
            kind = {access.visible_case: "case", access.visible_task: "task"}.get(call, "attachment")
            for who, what in ((outsider, arg), (me, 99999)):
                with pytest.raises(NotFound) as hidden:
                    call(s, who, what)
                assert hidden.value.user_message == message
                assert hidden.value.message == f"{kind} {what} not visible to user {who}"
    access.check_case_visible(env, me, case_id)
    access.check_task_visible(env, me, task.id)
    with pytest.raises(NotFound):
        access.check_case_visible(env, outsider, case_id)
    with pytest.raises(NotFound):
        access.check_task_visible(env, outsider, task.id)


# ----------------------------------------------------------------------------- starting

def _options(env, org, username, keys=("plain",)):
    return {o.key: o.units for o in access.startable_processes(env, org.actor(username).id, list(keys))}


def test_who_may_start_where(env, org):
    assert _options(env, org, "t1_cw") == {"plain": [(org.units["t1"], "城东街道退役军人服务站")]}
    assert _options(env, org, "d1_rev") == {}                      # start_roles: caseworkers only
    env.extra_processes["configured_only"] = replace(web_plain_config(), key="configured_only")  # never deployed
    assert _options(env, org, "t1_cw", ("configured_only", "unknown_key", "plain")).keys() == {"plain"}
    assert access.startable_processes(env, org.actor("t1_cw").id, []) == []
    option = access.startable_processes(env, org.actor("t1_cw").id, ["plain"])[0]
    with pytest.raises(FrozenInstanceError):
        option.key = "other"  # type: ignore[misc]


def test_start_levels_and_units_narrow_the_choice(env, org):
    env.extra_processes["plain"] = replace(web_plain_config(), start_levels=frozenset({"district"}))
    assert _options(env, org, "t1_cw") == {}
    assert _options(env, org, "d1_cw") == {"plain": [(org.units["d1"], "海安区退役军人事务局")]}
    env.extra_processes["plain"] = replace(web_plain_config(), start_units=frozenset({"d2.t2"}))
    assert _options(env, org, "t1_cw") == {}
    assert _options(env, org, "t2_cw") == {"plain": [(org.units["t2"], "江北镇退役军人服务站")]}
    env.extra_processes["plain"] = replace(web_plain_config(), start_roles=frozenset({Role.reviewer}))
    assert _options(env, org, "d1_rev") == {"plain": [(org.units["d1"], "海安区退役军人事务局")]}
    assert _options(env, org, "t1_cw") == {}


def test_an_inactive_unit_is_no_place_to_start(env, org):
    with env.db.write() as s:
        s.get(OrgUnit, org.units["t1"]).active = False
    assert _options(env, org, "t1_cw") == {}
    assert _options(env, org, "t2_cw") == {"plain": [(org.units["t2"], "江北镇退役军人服务站")]}


def test_each_grant_is_weighed_on_its_own(env, org):
    """A user working at a district and at a town: a rule refusing the district grant (read
    first) does not hide the town one."""
    with env.db.write() as s:
        units = [s.get(OrgUnit, org.units[k]) for k in ("t1", "d2")]
        both = create_user(s, "t1_d2_cw", "两地经办", "secret-pass", env.clock.now(),
                           [(Role.caseworker, u) for u in units])
        org.users["t1_d2_cw"] = Actor(both.id, both.full_name)
    town = [(org.units["t1"], "城东街道退役军人服务站")]
    env.extra_processes["plain"] = replace(web_plain_config(), start_levels=frozenset({"town"}))
    assert _options(env, org, "t1_d2_cw") == {"plain": town}
    env.extra_processes["plain"] = replace(web_plain_config(), start_units=frozenset({"d1.t1"}))
    assert _options(env, org, "t1_d2_cw") == {"plain": town}


def test_a_caseworker_at_a_unit_the_case_was_routed_to_sees_it(env, org):
    """Routed on to the district (its "/t1/d1/" list): the district's caseworker now sees it, the
    other district's does not, and the unit it started at still does."""
    case_id = start_plain(env, org).instance_id
    assert not _sees(env, org, "d1_cw", case_id)
    with env.db.write() as s:
        case = s.get(ProcessInstance, case_id)
        case.unit_ids = f"/{org.units['t1']}/{org.units['d1']}/"
    assert _sees(env, org, "d1_cw", case_id)
    assert not _sees(env, org, "d2_cw", case_id)
    assert _sees(env, org, "t1_cw", case_id)


def test_a_grant_that_may_not_start_does_not_hide_a_later_one_that_may(env, org):
    """A user who audits the city (granted first) and works at the town may start at the town."""
    with env.db.write() as s:
        city, town = s.get(OrgUnit, org.units["city"]), s.get(OrgUnit, org.units["t1"])
        both = create_user(s, "audit_cw", "审计兼经办", "secret-pass", env.clock.now(),
                           [(Role.auditor, city), (Role.caseworker, town)])
        org.users["audit_cw"] = Actor(both.id, both.full_name)
    assert _options(env, org, "audit_cw") == {"plain": [(org.units["t1"], "城东街道退役军人服务站")]}
