"""Authorization gaps closed: an admin cannot give themself a case role; a district admin sees
only the people (and phones) and admin log of their own district; the 原件号 of a repeat
petition is looked up only within the registering user's reach."""
from __future__ import annotations

import pytest
from sqlalchemy import select

from engine import admin, admin_ops
from engine.env import Env
from engine.errors import FormInvalid, NotFound, PermissionDenied
from engine.models import AdminEvent, OrgUnit, Role, User
from engine.orgs import Actor, create_user
from engine.runtime import start_case
from engine.stepper import SessionCaseLookup
from tests.factories import Org, petition_start_data, setup_petition
from tests.web.conftest import GOOD_ID, login, make_app

CASE_ROLES = [Role.caseworker, Role.reviewer, Role.leader, Role.auditor]


@pytest.fixture
def org(env: Env) -> Org:
    """The test org with the petition process, a district admin of d1, and phones on file."""
    org = setup_petition(env)
    with env.db.write() as s:
        d1 = s.get(OrgUnit, org.units["d1"])
        user = create_user(s, "d1_admin", "区系统管理员", "secret-pass", env.clock.now(), [(Role.admin, d1)])
        org.users["d1_admin"] = Actor(user.id, user.full_name)
        for name, phone in (("t1_cw", "13800000001"), ("t2_cw", "13900000002"), ("city_rev", "13700000003")):
            s.scalar(select(User).where(User.username == name)).phone = phone
    return org


# ----------------------------------------------------------------------------- self-grants

@pytest.mark.parametrize("role", CASE_ROLES)
def test_an_admin_cannot_grant_themself_a_case_role(env, org, role):
    me = org.actor("admin")
    with pytest.raises(PermissionDenied) as refused:
        admin.add_grant(env, me, me.id, role, org.units["d1"])
    assert "不能为自己授予办案角色" in refused.value.user_message
    with env.db.read() as s:
        assert not s.scalars(select(AdminEvent).where(AdminEvent.action == "grant_add")).all()


def test_a_district_admin_cannot_grant_themself_a_case_role_in_their_district(env, org):
    me = org.actor("d1_admin")
    with pytest.raises(PermissionDenied):
        admin.add_grant(env, me, me.id, Role.auditor, org.units["t1"])


def test_another_admin_may_grant_an_admin_a_case_role(env, org):
    """The second pair of eyes: the city admin gives the district admin a role; that admin
    could not have given it to themself."""
    grant = admin.add_grant(env, org.actor("admin"), org.actor("d1_admin").id, Role.auditor, org.units["t1"])
    assert grant > 0


def test_an_admin_may_still_grant_themself_an_admin_role_below(env, org):
    me = org.actor("admin")
    assert admin.add_grant(env, me, me.id, Role.admin, org.units["d1"]) > 0


def test_the_page_refuses_a_self_grant_with_the_message(env, org, tmp_path):
    app = make_app(env, tmp_path)
    with app.test_client() as client:
        login(client, "admin")
        me = org.actor("admin").id
        response = client.post(f"/admin/users/{me}/grants", data={"role": "auditor", "unit_id": str(org.units["city"])})
        assert response.status_code == 403 and "不能为自己授予办案角色" in response.text
        # and the case the admin wanted to read stays hidden
        case = start_case(env, "petition", org.actor("t1_cw"), org.units["t1"], petition_start_data())
        assert client.get(f"/cases/{case.instance_id}").status_code == 404


# ----------------------------------------------------------------------------- users and phones

def _usernames(page) -> set[str]:
    return {u.username for u in page.items}


def test_a_district_admin_lists_only_the_people_of_their_district(env, org):
    listed = admin.list_users(env, org.actor("d1_admin").id, per_page=100)
    assert {"d1_cw", "d1_rev", "d1_lead", "t1_cw", "v1_cw", "d1_admin"} <= _usernames(listed)
    assert not _usernames(listed) & {"d2_cw", "t2_cw", "city_cw", "city_rev", "city_lead", "admin"}
    assert listed.total == len(listed.items)
    everyone = admin.list_users(env, org.actor("admin").id, per_page=100)
    assert {"t2_cw", "city_rev", "d1_cw"} <= _usernames(everyone)


def test_a_district_admin_cannot_search_other_districts_by_phone(env, org):
    d1 = org.actor("d1_admin").id
    assert not admin.list_users(env, d1, "13900000002").items      # t2_cw, in d2
    assert not admin.list_users(env, d1, "13800000001").items      # t1_cw: no phone search at all
    assert _usernames(admin.list_users(env, org.actor("admin").id, "13900000002")) == {"t2_cw"}


def test_a_district_admin_does_not_find_a_user_of_another_district(env, org):
    d1 = org.actor("d1_admin").id
    for other in ("t2_cw", "city_rev", "admin"):
        with pytest.raises(NotFound):
            admin.user_page(env, d1, org.actor(other).id)
        with pytest.raises(NotFound):
            admin.get_user(env, d1, org.actor(other).id)
    assert admin.user_page(env, d1, org.actor("t1_cw").id).user.phone == "13800000001"


def test_the_phone_of_someone_working_also_outside_the_district_is_hidden(env, org):
    """t1_cw also holds a role at the city: the district admin sees them, not their phone."""
    t1 = org.actor("t1_cw").id
    admin.add_grant(env, org.actor("admin"), t1, Role.reviewer, org.units["city_xf"])
    d1 = org.actor("d1_admin").id
    page = admin.user_page(env, d1, t1)
    assert page.user.phone is None and page.manageable is False
    row = next(u for u in admin.list_users(env, d1, "t1_cw").items if u.username == "t1_cw")
    assert row.phone is None
    assert admin.user_page(env, org.actor("admin").id, t1).user.phone == "13800000001"


def test_a_new_user_without_roles_is_visible_to_the_district_admin_who_made_them(env, org):
    d1 = org.actor("d1_admin")
    new_id = admin.create_user(env, d1, "t1_new", "新同事", "secret-pass", "13600000000")
    assert admin.user_page(env, d1.id, new_id).user.phone == "13600000000"


def test_user_pages_in_the_browser_follow_the_scope(env, org, tmp_path):
    app = make_app(env, tmp_path)
    with app.test_client() as client:
        login(client, "d1_admin")
        listing = client.get("/admin/users?q=")
        assert "二镇经办" not in listing.text and "镇经办" in listing.text
        t2 = org.actor("t2_cw").id
        assert f'href="/admin/users/{t2}"' not in client.get("/admin/users?q=13900000002").text
        assert client.get(f"/admin/users/{org.actor('t2_cw').id}").status_code == 404
        mine = client.get(f"/admin/users/{org.actor('t1_cw').id}")
        assert mine.status_code == 200 and "13800000001" in mine.text


# ----------------------------------------------------------------------------- the admin log

def _log_targets(env, user_id) -> list[str]:
    return [e.target for e in admin.admin_events(env, user_id, per_page=100).items]


def test_a_district_admin_reads_only_their_districts_admin_log(env, org):
    city_admin = org.actor("admin")
    admin.reset_password(env, city_admin, org.actor("t2_cw").id, "another-pass1")   # d2
    admin.rename_unit(env, city_admin, org.units["t2"], "江北镇服务站")                 # d2
    admin.add_grant(env, city_admin, org.actor("d2_cw").id, Role.reviewer, org.units["d2"])
    admin.reset_password(env, city_admin, org.actor("t1_cw").id, "another-pass2")   # d1
    admin.rename_unit(env, city_admin, org.units["v1"], "幸福社区服务站")               # d1
    admin.add_grant(env, city_admin, org.actor("t1_cw").id, Role.reviewer, org.units["t1"])
    d1 = org.actor("d1_admin")
    admin.create_user(env, d1, "t1_new", "新同事", "secret-pass")                      # own action
    seen = _log_targets(env, d1.id)
    assert sorted(seen) == sorted(["t1_cw", "幸福社区服务站", "t1_cw", "t1_new"])
    page = admin.admin_events(env, d1.id)
    assert page.total == 4
    assert len(_log_targets(env, city_admin.id)) == 7
    recent = admin_ops.overview(env, d1.id).recent
    assert sorted(e.target for e in recent) == sorted(seen)


def test_the_admin_log_page_of_a_district_admin_hides_other_districts(env, org, tmp_path):
    admin.rename_unit(env, org.actor("admin"), org.units["t2"], "江北镇服务站")
    app = make_app(env, tmp_path)
    with app.test_client() as client:
        login(client, "d1_admin")
        for path in ("/admin/log", "/admin/"):
            page = client.get(path)
            assert page.status_code == 200 and "江北镇服务站" not in page.text, path
        login(client, "admin")
        assert "江北镇服务站" in client.get("/admin/log").text


# ----------------------------------------------------------------------------- 原件号

def test_a_repeat_of_another_districts_case_answers_like_no_case(env, org):
    """t2 (district d2) registered XF2026-00001; a t1 caseworker typing that number learns
    nothing: not that it exists, not whether the ID number matches."""
    other = start_case(env, "petition", org.actor("t2_cw"), org.units["t2"], petition_start_data())
    t1_cw, t1 = org.actor("t1_cw"), org.units["t1"]
    answers = []
    for id_number in (petition_start_data()["id_number"], GOOD_ID):
        with pytest.raises(FormInvalid) as refused:
            start_case(env, "petition", t1_cw, t1, petition_start_data(repeat_of=other.case_no, id_number=id_number))
        answers.append(refused.value.errors)
    with pytest.raises(FormInvalid) as missing:
        start_case(env, "petition", t1_cw, t1, petition_start_data(repeat_of="XF2026-09999"))
    assert answers == [missing.value.errors, missing.value.errors] == [{"repeat_of": "原件号不存在，请核对"}] * 2


def test_a_repeat_of_a_case_in_reach_is_linked(env, org):
    """The same number typed by the t2 caseworker, who may see the case, links it."""
    first = start_case(env, "petition", org.actor("t2_cw"), org.units["t2"], petition_start_data())
    again = start_case(env, "petition", org.actor("t2_cw"), org.units["t2"],
                       petition_start_data(repeat_of=first.case_no))
    with env.db.read() as s:
        lookup = SessionCaseLookup(env, s)
        assert lookup.visible_to(first.instance_id, org.actor("t2_cw").id)
        assert not lookup.visible_to(first.instance_id, org.actor("t1_cw").id)
        assert not lookup.visible_to(first.instance_id, org.actor("admin").id)
    assert again.case_no != first.case_no
