"""The approval verbs in a real browser, on a petition at the district: the caseworker takes 调查办理
back (撤回), the reviewer returns the case to it (退回), the caseworker hands it to a colleague
(转办), who adds the district leader as a signer (加签); the message centre shows each to the right
person, with the unread count in the header; the diagram draws the 退回; the leader opens a 督办单
on the case page and the caseworker answers it there."""
from __future__ import annotations

import pytest

from engine.models import OrgUnit, Role
from engine.orgs import create_user
from tests.factories import PETITION_HANDLED, act, assign_petition, open_tasks, register_petition
from tests.web.browser_support import sign_in

pytestmark = pytest.mark.browser
pytest_plugins = ["tests.web.browser_fixtures"]  # browser, petition_org, server, pages
sqlite_only = pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)


def click(page, form_selector: str, button: str) -> None:
    with page.expect_navigation():
        page.locator(form_selector).get_by_role("button", name=button).click()


def messages_of(page) -> list[str]:
    page.goto("/messages")
    return [t.strip() for t in page.locator(".messages-list .message-title").all_inner_texts()]


@sqlite_only
def test_withdraw_return_transfer_and_add_signer_reach_the_right_people(env, petition_org, pages):
    org = petition_org
    with env.db.write() as s:
        create_user(s, "d1_cw2", "区经办二", "secret-pass", env.clock.now(),
                    [(Role.caseworker, s.get(OrgUnit, org.units["d1"]))])
    case_id = register_petition(env, org)
    assign_petition(env, org, case_id)
    act(env, org, case_id, "handle", "d1_cw", PETITION_HANDLED)

    cw, _ = pages()
    sign_in(cw, "d1_cw")
    cw.goto(f"/cases/{case_id}")
    click(cw, ".case-verbs .verb-withdraw", "撤回")
    assert "已撤回" in cw.locator(".alert-success").inner_text()
    assert cw.locator(".case-list .task-mark", has_text="撤回").count() == 1
    rev, _ = pages()
    sign_in(rev, "d1_rev")
    assert any(t.startswith("撤回：区经办撤回了调查办理") for t in messages_of(rev))

    act(env, org, case_id, "handle", "d1_cw", PETITION_HANDLED)
    [review] = open_tasks(env, case_id, "review")
    rev.goto(f"/tasks/{review.id}")
    rev.select_option("#v-return-step", label="调查办理（区经办）")
    rev.fill("#v-return-opinion", "请补充原单位的书面说明")
    click(rev, ".verb-return", "退回")
    assert "已退回" in rev.locator(".alert-success").inner_text()

    cw.goto("/")
    assert cw.locator(".nav-messages .unread-count").inner_text().isdigit()
    assert any(t.startswith("退回：调查办理") and "请补充原单位的书面说明" in t for t in messages_of(cw))
    with cw.expect_navigation():
        cw.locator(".messages-list li", has_text="退回：调查办理").get_by_role("button", name="查看任务").click()
    assert "请补充原单位的书面说明" in cw.locator(".task-mark-note").inner_text()
    cw.select_option("#v-transfer-user", label="区经办二")
    cw.locator(".verb-transfer input[name=reason]").fill("本人外出培训")
    click(cw, ".verb-transfer", "转交")

    mate, _ = pages()
    sign_in(mate, "d1_cw2")
    got = messages_of(mate)
    assert any(t.startswith("转办：区经办将调查办理") for t in got)
    assert not any(t.startswith("退回") for t in got)  # the return was for the one who did the step
    [handle] = open_tasks(env, case_id, "handle")
    mate.goto(f"/tasks/{handle.id}")
    assert "本人外出培训" in mate.locator(".task-mark-note").inner_text()
    mate.select_option("#v-signer-user", label="区领导")
    mate.locator(".verb-signer input[name=reason]").fill("涉及补缴社保，请领导会签")
    click(mate, ".verb-signer", "加签")
    assert "已加签" in mate.locator(".alert-success").inner_text()

    lead, lead_problems = pages()
    sign_in(lead, "d1_lead")
    assert any(t.startswith("加签：区经办二请您办理调查办理") for t in messages_of(lead))
    assert not any(t.startswith("加签") for t in messages_of(rev))
    lead.goto(f"/cases/{case_id}")
    timeline = lead.locator("body").inner_text()
    for label in ("撤回", "退回", "转办", "加签"):
        assert label in timeline
    # the diagram draws the 退回 jump, with its legend
    assert lead.locator(".diagram svg .bpmn-return[data-from=review][data-to=handle]").count() == 1
    assert "红色虚线箭头：退回" in lead.locator(".diagram .bpmn-legend").text_content()

    # 督办单 on the case page (the engine's 督办, the petition's 督办事由): the unit answers there
    lead_problems.expected_statuses.add(422)  # the refused 督办 form comes back with its page
    lead.select_option("#v-supervise-kind", label="久拖未决")
    click(lead, ".verb-supervise", "开具督办单")
    assert "请填写督办要求" in lead.locator(".verb-supervise").inner_text()  # refused, kind kept
    assert lead.locator("#v-supervise-kind").input_value() == "久拖未决"
    lead.fill("#v-supervise-req", "请三日内书面报告办理进展")
    click(lead, ".verb-supervise", "开具督办单")
    assert "已开具督办单" in lead.locator(".alert-success").inner_text()
    assert any(t.startswith("督办（久拖未决）：") for t in messages_of(cw))
    cw.goto(f"/cases/{case_id}")
    cw.locator(".verb-answer textarea[name=feedback]").fill("已约谈原单位，本周内报告")
    click(cw, ".verb-answer", "书面反馈")
    assert "按期" in cw.locator(".supervision-order").inner_text()
