"""Object-level authorization: who may open which case, task and attachment (404, not 403)."""
from __future__ import annotations

import pytest

from engine.access import can_view_case
from engine.attachments import UploadPolicy, add_attachment
from engine.copies import copy_case
from engine.inbox import inbox
from engine.models import ProcessInstance
from engine.runtime import complete_task
from tests.web.conftest import login, start_plain

PDF = b"%PDF-1.4\n% test\n"


@pytest.fixture
def town_case(env, plain, tmp_path):
    """A case of the first town (t1) with one attachment, still at its first step."""
    started = start_plain(env, plain)
    att = add_attachment(env, started.instance_id, plain.actor("t1_cw"), "证明.pdf", PDF,
                         UploadPolicy(tmp_path / "uploads", 1024 * 1024))
    task = inbox(env, plain.actor("t1_cw").id).items[0]
    return started.instance_id, task.id, att


def _urls(case_id: int, task_id: int, att_id: int) -> list[str]:
    return [f"/cases/{case_id}", f"/cases/{case_id}/print", f"/tasks/{task_id}",
            f"/attachments/{att_id}"]


@pytest.mark.parametrize("username", ["t2_cw", "d2_cw", "v1_cw", "admin"])
def test_outsiders_get_404_for_every_url_of_the_case(client, town_case, username):
    case_id, task_id, att_id = town_case
    login(client, username)
    for url in _urls(case_id, task_id, att_id):
        response = client.get(url)
        assert response.status_code == 404, url
        assert "不存在或您无权查看" in response.text
    for url in (f"/tasks/{task_id}", f"/tasks/{task_id}/claim", f"/tasks/{task_id}/unclaim",
                f"/cases/{case_id}/cc", f"/cases/{case_id}/attachments"):
        assert client.post(url, data={"user_ids": ["1"]}).status_code == 404, url
    assert client.get("/cases/99999").status_code == 404  # same answer as for a missing case


@pytest.mark.parametrize("username", ["t1_cw", "d1_rev", "d1_lead", "city_audit"])
def test_own_unit_and_supervisors_above_may_see_it(client, town_case, username):
    case_id, task_id, att_id = town_case
    login(client, username)
    for url in _urls(case_id, task_id, att_id):
        assert client.get(url).status_code == 200, url


def test_supervisor_without_a_role_at_the_task_sees_but_cannot_act(client, town_case):
    case_id, task_id, _att = town_case
    login(client, "d1_rev")
    html = client.get(f"/tasks/{task_id}").text
    assert "没有办理权限" in html and 'name="_opinion"' not in html
    assert client.post(f"/tasks/{task_id}", data={}).status_code == 403


def test_district_caseworker_sees_the_case_once_it_is_routed_there(env, plain):
    started = start_plain(env, plain)
    d1_cw = plain.actor("d1_cw")
    with env.db.read() as s:
        assert not can_view_case(s, d1_cw.id, s.get(ProcessInstance, started.instance_id))
    cw = plain.actor("t1_cw")
    for _ in range(2):  # step1 and step2 at the town; step3 goes to the district
        task = [t for t in inbox(env, cw.id).items if t.instance_id == started.instance_id][0]
        complete_task(env, task.id, cw, {})
    with env.db.read() as s:
        instance = s.get(ProcessInstance, started.instance_id)
        assert instance.unit_ids == f"/{plain.units['t1']}/{plain.units['d1']}/"
        assert can_view_case(s, d1_cw.id, instance)
        assert not can_view_case(s, plain.actor("d2_cw").id, instance)


def test_a_copy_lets_its_recipient_read_the_case(env, client, town_case, plain):
    case_id, _task, _att = town_case
    login(client, "t2_cw")
    assert client.get(f"/cases/{case_id}").status_code == 404
    copy_case(env, case_id, plain.actor("t1_cw"), [plain.actor("t2_cw").id])
    assert client.get(f"/cases/{case_id}").status_code == 200
