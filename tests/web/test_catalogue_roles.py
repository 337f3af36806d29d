"""Roles are data: a role a city admin adds to the catalogue is granted on the user page, a
package lane naming it routes the step's task to its holder at the task's unit, and whoever
lacks that role there stays out — inbox, task page and JSON API — whatever else they hold."""
from __future__ import annotations

from sqlalchemy import select

from engine.inbox import inbox
from engine.models import AdminEvent, HumanTask
from engine.orgs import Actor, create_user
from engine.packages.upload import upload_package
from engine.runtime import start_case
from tests.factories import build_org_with_sections, open_tasks
from tests.integration.test_package_upload import _replace, zipped
from tests.web.conftest import login
from tests.web.test_api import bearer, token

KEY = "preferential_card"
APPLY = {"applicant_name": "李卫国", "id_number": "320621197001010018", "category": "退役军人",
         "has_archive": "是", "disqualification": "无", "apply_date": "2026-03-02"}


def _user(env, org, username: str, name: str) -> Actor:
    with env.db.write() as s:
        user = create_user(s, username, name, "secret-pass", env.clock.now())
        org.users[username] = Actor(user.id, name)
    return org.users[username]


def _grant(client, org, username: str, role: str, unit: str):
    return client.post(f"/admin/users/{org.actor(username).id}/grants",
                       data={"role": role, "unit_id": str(org.units[unit])}, follow_redirects=True)


def test_an_added_role_is_granted_routes_a_package_task_and_keeps_others_out(env, app):
    org = build_org_with_sections(env)
    for username, name in (("d1_insp", "区督查员"), ("d2_insp", "二区督查员")):
        _user(env, org, username, name)
    admin = app.test_client()
    login(admin, "admin")

    refused = _grant(admin, org, "d1_insp", "inspector", "d1")  # not in the catalogue yet
    assert "角色不在角色目录中" in refused.get_data(as_text=True)
    assert admin.post("/admin/roles", data={"key": "inspector", "name": "督查员"}).status_code == 302
    assert "已授予角色" in _grant(admin, org, "d1_insp", "inspector", "d1").get_data(as_text=True)
    _grant(admin, org, "d2_insp", "inspector", "d2")
    page = admin.get(f"/admin/users/{org.actor('d1_insp').id}").get_data(as_text=True)
    assert "督查员" in page and 'value="inspector"' in page  # granted, and offered in the picker
    self_grant = _grant(admin, org, "admin", "inspector", "d1").get_data(as_text=True)
    assert "不能为自己授予办案角色" in self_grant  # an added role reads cases: never to oneself
    with env.db.read() as s:
        granted = s.scalars(select(AdminEvent).where(AdminEvent.action == "grant_add")).all()
    assert [e.details["role"] for e in granted] == ["inspector", "inspector"]

    files = _replace("process.toml", '"审核岗" = "reviewer"', '"审核岗" = "inspector"')
    upload_package(env, org.actor("admin"), zipped(files))
    case_id = start_case(env, KEY, org.actor("t1_cw"), org.units["t1"], APPLY).instance_id
    [task] = open_tasks(env, case_id, "district_review")
    assert (task.role, task.org_unit_id) == ("inspector", org.units["d1"])

    assert [t.id for t in inbox(env, org.actor("d1_insp").id).items] == [task.id]
    holder = app.test_client()
    login(holder, "d1_insp")
    shown = holder.get(f"/tasks/{task.id}")
    assert shown.status_code == 200 and "督查员" in shown.get_data(as_text=True)

    # the reviewer at the same district (the lane's old role) and the inspector of another district
    for username, sees_case in (("d1_rev", True), ("d2_insp", False)):
        assert inbox(env, org.actor(username).id).items == []
        h = bearer(token(env, org, username))
        assert task.id not in [t["id"] for t in app.test_client().get("/api/v1/tasks/inbox", headers=h).json["items"]]
        api = app.test_client().post(f"/api/v1/tasks/{task.id}/complete", headers=h,
                                     json={"data": {"district_decision": "通过"}})
        assert api.status_code in (403, 404), api.json
        other = app.test_client()
        login(other, username)
        page = other.get(f"/tasks/{task.id}")
        if sees_case:  # a district reviewer supervises the town's cases, but may not act
            assert page.status_code == 200
            assert other.post(f"/tasks/{task.id}", data={"district_decision": "通过"}).status_code in (403, 404)
        else:
            assert page.status_code == 404
    with env.db.read() as s:
        assert s.get(HumanTask, task.id).status.value == "open"

    done = app.test_client().post(f"/api/v1/tasks/{task.id}/complete", headers=bearer(token(env, org, "d1_insp")),
                                  json={"data": {"district_decision": "通过"}})
    assert done.status_code == 200, done.json
    [city] = open_tasks(env, case_id, "city_review")
    assert city.role == "inspector"  # the next step of the lane: an inspector of the city's 优抚科
