"""The verbs' pages without a browser: the 代理 page sets a proxy who then finds the moved task, the
message centre marks read and opens the task, and nothing internal reaches the page."""
from datetime import timedelta

from engine.models import HumanTask, TaskStatus
from engine.runtime import claim_task
from engine.verbs.proxy import set_proxy
from tests.factories import assign_petition, open_tasks, register_petition, setup_petition
from tests.web.conftest import login, make_app


def test_a_user_sets_a_proxy_and_moves_a_claimed_task(env, tmp_path):
    org = setup_petition(env)
    case_id = register_petition(env, org)
    assign_petition(env, org, case_id)
    [handle] = open_tasks(env, case_id, "handle")
    claim_task(env, handle.id, org.actor("d1_cw"))
    app = make_app(env, tmp_path)
    with app.test_client() as client:
        login(client, "d1_cw")
        page = client.get("/proxy").get_data(as_text=True)
        assert "代理设置" in page and "区领导" in page
        bad = client.post("/proxy", data={"proxy_id": str(org.actor("d1_lead").id), "starts_on": "x"})
        assert bad.status_code == 422 and "Traceback" not in bad.get_data(as_text=True)
        assert client.post("/proxy", data={"proxy_id": str(org.actor("d1_lead").id), "starts_on": "2026-03-02",
                                           "ends_on": "2026-03-06"}).status_code == 302
        assert "区领导：2026-03-02 00:00 至 2026-03-07 00:00" in client.get("/proxy").get_data(as_text=True)
        client.post("/proxy/move")
    with env.db.read() as s:
        row = s.get(HumanTask, handle.id)
        assert (row.status, row.assignee_id, row.mark) == (TaskStatus.claimed, org.actor("d1_lead").id, "proxy")
    with app.test_client() as client:
        login(client, "d1_lead")
        centre = client.get("/messages").get_data(as_text=True)
        assert "代理：区经办不在岗" in centre
        assert 'unread-count' in client.get("/").get_data(as_text=True)
        client.post("/messages/read-all")
        assert 'unread-count' not in client.get("/").get_data(as_text=True)
        task_page = client.get(f"/tasks/{handle.id}").get_data(as_text=True)
        assert "代区经办办理" in task_page and "proxy" not in task_page


def test_the_case_diagram_draws_a_return_with_its_legend(env, tmp_path):
    from engine.verbs.returning import return_task
    from tests.factories import PETITION_HANDLED, act
    org = setup_petition(env)
    case_id = register_petition(env, org)
    assign_petition(env, org, case_id)
    act(env, org, case_id, "handle", "d1_cw", PETITION_HANDLED)
    [review] = open_tasks(env, case_id, "review")
    return_task(env, review.id, org.actor("d1_rev"), "handle", "调查不充分，请补充约谈记录")
    app = make_app(env, tmp_path)
    with app.test_client() as client:
        login(client, "d1_cw")
        page = client.get(f"/cases/{case_id}").get_data(as_text=True)
    assert 'class="bpmn-return" data-from="review" data-to="handle"' in page
    assert "红色虚线箭头：退回" in page


def test_a_proxy_finds_the_absent_users_pool_task_opens_and_takes_it(env, tmp_path):
    """The proxy (a caseworker of another district, who could not see the case) has the absent
    caseworker's pool task in the inbox, opens its page, claims it; a colleague of the proxy who
    is nobody's proxy finds nothing and is refused."""
    org = setup_petition(env)
    case_id = register_petition(env, org)
    assign_petition(env, org, case_id)
    [handle] = open_tasks(env, case_id, "handle")  # d1's caseworkers' pool task
    now = env.clock.now()
    set_proxy(env, org.actor("d1_cw"), org.actor("d2_cw").id, now, now + timedelta(days=3))
    app = make_app(env, tmp_path)
    with app.test_client() as client:
        login(client, "t2_cw")  # not a proxy: the case stays hidden
        assert f"/tasks/{handle.id}" not in client.get("/").get_data(as_text=True)
        assert client.get(f"/tasks/{handle.id}").status_code == 404
        assert client.post(f"/tasks/{handle.id}/claim").status_code == 404
    with app.test_client() as client:
        login(client, "d2_cw")
        assert f"/tasks/{handle.id}" in client.get("/").get_data(as_text=True)
        page = client.get(f"/tasks/{handle.id}")
        assert page.status_code == 200 and f'action="/tasks/{handle.id}/claim"' in page.get_data(as_text=True)
        assert client.post(f"/tasks/{handle.id}/claim").status_code == 302
        assert "代区经办办理" in client.get(f"/tasks/{handle.id}").get_data(as_text=True)
    with env.db.read() as s:
        row = s.get(HumanTask, handle.id)
        assert (row.assignee_id, row.mark, row.mark_by_id) == (org.actor("d2_cw").id, "proxy", org.actor("d1_cw").id)
