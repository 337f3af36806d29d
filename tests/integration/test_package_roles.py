"""The role catalogue: seeded with the built-in roles, managed by city admins (admin log), and the
roles a package may name; a role outside it is refused at deploy, an added one is as good as a
built-in one (tests/web/test_catalogue_roles.py grants one and routes a task to it)."""
from __future__ import annotations

import pytest
from sqlalchemy import select

from engine.access import startable_processes
from engine.errors import DefinitionError, FormInvalid, PermissionDenied
from engine.models import AdminEvent, OrgUnit, Role
from engine.orgs import Actor, create_user
from engine.packages.roles import list_roles, save_role
from tests.factories import build_org
from tests.integration.test_package_upload import _replace, zipped
from engine.packages.upload import upload_package


@pytest.fixture
def org(env):
    org = build_org(env)
    with env.db.write() as s:
        d1 = s.get(OrgUnit, org.units["d1"])
        user = create_user(s, "d1_admin", "区系统管理员", "secret-pass", env.clock.now(), [(Role.admin, d1)])
        org.users["d1_admin"] = Actor(user.id, "区系统管理员")
    return org


def test_the_catalogue_holds_the_built_in_roles_and_city_admins_extend_it(env, org):
    rows = list_roles(env, org.actor("admin").id)
    assert [(r.key, r.builtin) for r in rows][:5] == [(r.value, True) for r in sorted(Role, key=lambda r: r.value)]
    assert {r.key: r.name for r in rows}["reviewer"] == "审核人"
    save_role(env, org.actor("admin"), "inspector", "督查员")
    save_role(env, org.actor("admin"), "reviewer", "科室负责人")
    names = {r.key: (r.name, r.builtin) for r in list_roles(env, org.actor("d1_admin").id)}
    assert names["inspector"] == ("督查员", False) and names["reviewer"] == ("科室负责人", True)
    with env.db.read() as s:
        logged = [e.target for e in s.scalars(select(AdminEvent).where(AdminEvent.action == "role_catalogue"))]
    assert logged == ["inspector", "reviewer"]


def test_only_a_city_admin_changes_it_and_only_admins_read_it(env, org):
    with pytest.raises(PermissionDenied):
        save_role(env, org.actor("d1_admin"), "inspector", "督查员")
    for user in ("d1_lead", "city_audit"):
        with pytest.raises(PermissionDenied):
            list_roles(env, org.actor(user).id)
        with pytest.raises(PermissionDenied):
            save_role(env, org.actor(user), "inspector", "督查员")
    assert "inspector" not in {r.key for r in list_roles(env, org.actor("admin").id)}


@pytest.mark.parametrize("key, name, field", [("Inspector", "督查员", "key"), ("x", "督查员", "key"),
                                              ("inspector", "", "name"), ("inspector", "长" * 65, "name")])
def test_a_bad_role_is_refused_with_a_message(env, org, key, name, field):
    with pytest.raises(FormInvalid) as refused:
        save_role(env, org.actor("admin"), key, name)
    assert field in refused.value.errors


def test_a_package_may_name_only_catalogued_roles_and_any_of_them_holds_tasks(env, org):
    files = _replace("process.toml", '"审核岗" = "reviewer"', '"审核岗" = "inspector"')
    with pytest.raises(DefinitionError) as unknown:
        upload_package(env, org.actor("admin"), zipped(files))
    assert "不在角色目录中" in unknown.value.user_message and unknown.value.element == "lanes.审核岗"
    save_role(env, org.actor("admin"), "inspector", "督查员")
    files["process.toml"] = files["process.toml"].replace(b'roles = ["caseworker"]', b'roles = ["inspector"]', 1)
    done = upload_package(env, org.actor("admin"), zipped(files))  # an added role is as good as a built-in one
    assert done.created and env.process("preferential_card").roles["district_review"] == "inspector"
    with env.db.write() as s:  # who may start: the added role at a town, not the town's caseworker
        t1 = s.get(OrgUnit, org.units["t1"])
        org.users["t1_insp"] = Actor(create_user(s, "t1_insp", "镇督查员", "secret-pass", env.clock.now(),
                                                 [("inspector", t1)]).id, "镇督查员")
    [option] = startable_processes(env, org.actor("t1_insp").id, [])
    assert (option.key, option.units) == ("preferential_card", [(org.units["t1"], "城东街道退役军人服务站")])
    assert startable_processes(env, org.actor("t1_cw").id, []) == []
