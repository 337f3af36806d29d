"""The verbs' pages without a browser: the 代理 page sets a proxy who then finds the moved task, the
message centre marks read and opens the task, and nothing internal reaches the page."""
from datetime import timedelta

from engine.models import HumanTask, OrgUnit, Role, TaskStatus
from engine.orgs import create_user
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


def _form(page: str, css_class: str) -> str:
    """The HTML of the first form of this class on the page (its opening tag to </form>)."""
    start = page.index(f'class="{css_class}') if f'class="{css_class}' in page else page.index(css_class)
    start = page.rindex("<form", 0, start)
    return page[start:page.index("</form>", start)]


def _selected(form_html: str, value: str) -> bool:
    return f'<option value="{value}" selected>' in form_html


def _at_handle_with_a_mate(env):
    """A petition at 办理 in district d1, whose unit has a second caseworker (d1_cw2, `mate`)."""
    org = setup_petition(env)
    with env.db.write() as s:
        mate = create_user(s, "d1_cw2", "区经办二", "secret-pass", env.clock.now(),
                           [(Role.caseworker, s.get(OrgUnit, org.units["d1"]))]).id
    case_id = register_petition(env, org)
    assign_petition(env, org, case_id)
    [handle] = open_tasks(env, case_id, "handle")
    return org, mate, case_id, handle


def test_a_refused_verb_form_comes_back_on_its_page_with_the_reason_and_what_was_typed(env, tmp_path):
    """转办, 委派, 加签, 减签, 撤回 (task and case page), 退回 and 催办 (task and case page): each
    refusal (missing opinion, wrong target, not allowed now, too soon) answers with the page the form
    was posted from, the Chinese reason next to the form and the typed text and choices kept."""
    from engine.verbs.signers import add_signer, remove_signer
    from tests.factories import PETITION_HANDLED, act
    org, mate, case_id, handle = _at_handle_with_a_mate(env)
    lead = org.actor("d1_lead").id
    app = make_app(env, tmp_path)
    with app.test_client() as client:
        login(client, "d1_cw")
        # 转办 without a reason: the chosen person stays chosen
        r = client.post(f"/tasks/{handle.id}/transfer",
                        data={"to_user_id": str(mate), "mode": "transfer", "reason": ""})
        page = r.get_data(as_text=True)
        form = _form(page, "mb-3 verb-transfer")
        assert r.status_code == 422 and "请填写转办原因" in form and _selected(form, str(mate))
        # 委派 to someone who may not receive it: the reason typed and the mode stay
        r = client.post(f"/tasks/{handle.id}/transfer", data={"to_user_id": str(lead), "mode": "delegate",
                                                             "reason": "请代为约谈原单位"})
        form = _form(r.get_data(as_text=True), "mb-3 verb-transfer")
        assert r.status_code == 403 and 'value="请代为约谈原单位"' in form
        assert 'value="delegate" checked' in form and "verb-refusal" in form
        # 加签 without a reason: the signer and the position stay
        r = client.post(f"/tasks/{handle.id}/signers", data={"user_id": str(lead), "position": "before", "reason": ""})
        form = _form(r.get_data(as_text=True), "mb-3 verb-signer")
        assert r.status_code == 422 and "请填写加签原因" in form and _selected(form, str(lead))
        assert 'value="before" checked' in form
    add_signer(env, handle.id, org.actor("d1_cw"), lead, "alongside", "涉及补缴社保，请领导会签")
    [signer] = [t for t in open_tasks(env, case_id, "handle") if t.id != handle.id]
    with app.test_client() as client:
        login(client, "d1_cw")
        # 减签 without a reason: back on the holder's page, next to that signer's form
        r = client.post(f"/tasks/{signer.id}/remove-signer", data={"reason": "", "_page_task": str(handle.id)})
        page = r.get_data(as_text=True)
        assert r.status_code == 422 and "调查办理" in page and "请填写减签原因" in page
        assert f'action="/tasks/{handle.id}/transfer"' in page  # the holder's page, not the signer's
        # 减签 of a task that is not an added signer's: the reason typed stays
        r = client.post(f"/tasks/{handle.id}/remove-signer", data={"reason": "不再需要", "_page_task": str(handle.id)})
        page = r.get_data(as_text=True)
        assert r.status_code == 409 and "只能减去尚未办理的加签人" in page and 'value="不再需要"' in page
    remove_signer(env, signer.id, org.actor("d1_cw"), "领导已口头同意")
    act(env, org, case_id, "handle", "d1_cw", PETITION_HANDLED)
    [review] = open_tasks(env, case_id, "review")
    claim_task(env, review.id, org.actor("d1_rev"))
    with app.test_client() as client:
        login(client, "d1_cw")
        # 撤回 once the next step is claimed, from the task page: the reason typed stays
        r = client.post(f"/tasks/{handle.id}/withdraw", data={"reason": "漏填原单位意见"})
        form = _form(r.get_data(as_text=True), "mb-3 verb-withdraw")
        assert r.status_code == 409 and "下一步骤已被认领办理，不能撤回" in form and 'value="漏填原单位意见"' in form
        # ... and from the case page: back on the case page with the reason
        r = client.post(f"/tasks/{handle.id}/withdraw", data={"_from": "case"})
        page = r.get_data(as_text=True)
        assert r.status_code == 409 and "case-verbs" in page and "下一步骤已被认领办理，不能撤回" in page
    with app.test_client() as client:
        login(client, "d1_rev")
        # 退回 without an opinion: the chosen step stays; to a step that cannot be: the opinion stays
        r = client.post(f"/tasks/{review.id}/return", data={"step_id": "handle", "opinion": " "})
        form = _form(r.get_data(as_text=True), "mb-3 verb-return")
        assert r.status_code == 422 and "退回时请填写退回意见" in form and _selected(form, "handle")
        r = client.post(f"/tasks/{review.id}/return", data={"step_id": "no_such_step", "opinion": "请补充约谈记录"})
        form = _form(r.get_data(as_text=True), "mb-3 verb-return")
        assert r.status_code == 409 and "verb-refusal" in form and ">请补充约谈记录</textarea>" in form
    with app.test_client() as client:
        login(client, "d1_lead")
        assert client.post(f"/tasks/{review.id}/urge", data={"note": "请今日办结"}).status_code == 302
        # 催办 again too soon: the note stays; from the case page, back there
        r = client.post(f"/tasks/{review.id}/urge", data={"note": "再次催办"})
        form = _form(r.get_data(as_text=True), "verb-urge")
        assert r.status_code == 409 and "小时内已催办过" in form and 'value="再次催办"' in form
        r = client.post(f"/tasks/{review.id}/urge", data={"_from": "case"})
        page = r.get_data(as_text=True)
        assert r.status_code == 409 and "case-verbs" in page and "小时内已催办过" in page
        assert "Traceback" not in page and "InvalidState" not in page
    with app.test_client() as client:  # someone who cannot see the case still gets nothing but 404
        login(client, "d2_cw")
        assert client.post(f"/tasks/{review.id}/return", data={"step_id": "handle", "opinion": "x"}).status_code == 404
        assert client.post(f"/tasks/{review.id}/urge", data={"_from": "case"}).status_code == 404


def test_refused_hand_back_supervision_and_feedback_keep_what_was_typed(env, tmp_path):
    """委派's hand-back (the step's own form), 开具督办单 by someone who may not, and the 督办 feedback
    refused (empty, then already given): each comes back with the reason and the typed text."""
    from engine.verbs.supervision import open_order
    from engine.verbs.transfer import delegate_task
    org, mate, case_id, handle = _at_handle_with_a_mate(env)
    delegate_task(env, handle.id, org.actor("d1_cw"), mate, "请代为约谈原单位")
    typed = {"investigation": "已约谈原单位人事科", "_opinion": "建议支持"}
    app = make_app(env, tmp_path)
    with app.test_client() as client:
        login(client, "d1_cw2")
        r = client.post(f"/tasks/{handle.id}/hand-back", data=typed)  # the rest of the form is missing
        page = r.get_data(as_text=True)
        assert r.status_code == 422 and "表单填写有误" in page
        assert "已约谈原单位人事科</textarea>" in page and "建议支持</textarea>" in page
    with app.test_client() as client:
        login(client, "d1_cw")  # the delegator: the task is not delegated to them
        r = client.post(f"/tasks/{handle.id}/hand-back", data=typed)
        page = r.get_data(as_text=True)
        assert r.status_code == 403 and "该任务未委派给您" in page and "Traceback" not in page
        r = client.post(f"/cases/{case_id}/supervise", data={"kind": "久拖未决", "requirement": "请报告进展"})
        assert r.status_code == 403 and "verb-supervise" not in r.get_data(as_text=True)  # who may not: the 403 page
    order = open_order(env, case_id, org.actor("d1_lead"), "请于3日内书面报告进展", None, "久拖未决")
    with app.test_client() as client:
        login(client, "d1_cw")
        r = client.post(f"/cases/{case_id}/supervision/{order}", data={"feedback": "  "})
        form = _form(r.get_data(as_text=True), "mt-1 verb-answer")
        assert r.status_code == 422 and "请填写书面反馈" in form
        assert client.post(f"/cases/{case_id}/supervision/{order}", data={"feedback": "已书面报告"}).status_code == 302
        r = client.post(f"/cases/{case_id}/supervision/{order}", data={"feedback": "补充报告"})
        page = r.get_data(as_text=True)
        assert r.status_code == 409 and "该督办单已反馈" in page and "补充报告" in page
