"""The approval verbs in a real browser, on a petition at the district: the caseworker takes 调查办理
back (撤回), the reviewer returns the case to it (退回), the caseworker hands it to a colleague
(转办), who adds the district leader as a signer (加签); the message centre shows each to the right
person, with the unread count in the header."""
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

    lead, _ = pages()
    sign_in(lead, "d1_lead")
    assert any(t.startswith("加签：区经办二请您办理调查办理") for t in messages_of(lead))
    assert not any(t.startswith("加签") for t in messages_of(rev))
    lead.goto(f"/cases/{case_id}")
    timeline = lead.locator("body").inner_text()
    for label in ("撤回", "退回", "转办", "加签"):
        assert label in timeline
