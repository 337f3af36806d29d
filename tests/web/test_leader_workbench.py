"""领导审批 workbench (issue 13 point 3): a compact list, batch approve or return with one opinion
(each item its own command, each with its result), the confirm step where an opinion is required,
常用意见 per user, and the 退回/急 markers."""
from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

import pytest

from engine.env import Env
from engine.forms import id_check_digit
from engine.models import OrgUnit, Role, TaskStatus
from engine.orgs import Actor, create_user
from engine.runtime import case_history, complete_task
from engine.opinions import add_opinion, list_opinions
from tests.factories import PETITION_HANDLED, Org, act, all_tasks, assign_petition, beijing, open_tasks
from tests.factories import register_petition as register
from tests.factories import setup_petition
from tests.web.conftest import login


@pytest.fixture
def org(env: Env) -> Org:
    return setup_petition(env)


def to_approval(env: Env, org: Org, **data: Any) -> tuple[int, int]:
    """A petition of d1 handled and reviewed: its 审批 task waits for d1's leader."""
    case_id = register(env, org, **data)
    assign_petition(env, org, case_id)
    act(env, org, case_id, "handle", "d1_cw", PETITION_HANDLED)
    act(env, org, case_id, "review", "d1_rev", {"review_decision": "通过"})
    [task] = open_tasks(env, case_id, "approve")
    return case_id, task.id


@pytest.fixture
def three(env: Env, org: Org, clock: Any) -> list[tuple[int, int]]:
    clock.set(beijing("2026-03-16", 10))
    people = [("王建国", "3206021968051200"), ("李卫东", "3206021970030400"), ("张秀英", "3206021972110800")]
    return [to_approval(env, org, petitioner_name=name, id_number=_id(f"{first}1")) for name, first in people]


def _id(first17: str) -> str:
    return first17 + id_check_digit(first17)


def _status(env: Env, case_id: int) -> TaskStatus:
    return all_tasks(env, case_id, "approve")[-1].status


def test_the_list_is_compact_and_marks_what_needs_attention(env, client, org, three, clock):
    clock.advance(timedelta(days=80))  # past the approvals' due dates
    login(client, "d1_lead")
    page = client.get("/leader").text
    items = re.findall(r'<details class="(wb-item[^"]*)" name="workbench"', page)
    assert len(items) == 3 and all("wb-urgent" in c for c in items)
    assert page.count('class="badge text-bg-warning wb-mark-urgent">急<') == 3
    assert page.count('name="task" value="') == 3  # each can be batched (decision + opinion)
    assert "批量同意" in page and "批量退回" in page and "<details" in page and " open" not in page
    summary = re.search(r"<summary>(.*?)</summary>", page, re.S).group(1)
    assert "XF2026-" in summary and "审批" in summary and "海安区退役军人事务局" in summary


def test_batch_approve_applies_each_item_and_shows_each_result(env, client, org, three):
    (a, ta), (b, tb), (c, tc) = three
    add_opinion(env, org.actor("d1_lead").id, "同意，请按意见书答复")
    [stock] = list_opinions(env, org.actor("d1_lead").id)
    login(client, "d1_lead")
    assert f'value="{tc}"' in client.get("/leader").text
    with env.db.write() as s:  # another leader of the district decides one of them meanwhile
        other = create_user(s, "d1_lead2", "区副局长", "secret-pass", env.clock.now(),
                            [(Role.leader, s.get(OrgUnit, org.units["d1"]))])
        other_actor = Actor(other.id, other.full_name)
    complete_task(env, tc, other_actor, {"approval_decision": "同意"})
    page = client.post("/leader/batch", data={"decision": "approve", "stock": str(stock.id),
                                              "task": [str(ta), str(tb), str(tc)]})
    assert page.status_code == 200
    assert _status(env, a) == _status(env, b) == TaskStatus.completed
    [event] = [e for e in case_history(env, c) if e.action == "complete" and e.step_id == "approve"]
    assert event.actor_name == "区副局长"  # not done twice
    done = re.findall(r'<li class="wb-done[^"]*">(.*?)</li>', page.text, re.S)
    refused = re.findall(r'<li class="wb-refused[^"]*">(.*?)</li>', page.text, re.S)
    assert len(done) == 2 and all("已同意" in d for d in done)
    assert len(refused) == 1 and "该事项已由他人办理完毕" in refused[0], refused
    assert "完成 2 件，未办理 1 件" in page.text
    [event] = [e for e in case_history(env, a) if e.action == "complete" and e.step_id == "approve"]
    assert event.opinion == "同意，请按意见书答复"


def test_batch_return_asks_for_confirmation_and_an_opinion(env, client, org, three):
    (a, ta), (b, tb), _ = three
    login(client, "d1_lead")
    ask = client.post("/leader/batch", data={"decision": "return", "task": [str(ta), str(tb)]})
    assert ask.status_code == 200 and "确认批量退回（2 件）" in ask.text
    assert ask.text.count("须填写意见</span>") == 2
    assert _status(env, a) == TaskStatus.open
    blank = client.post("/leader/batch", data={"decision": "return", "confirmed": "1",
                                               "task": [str(ta), str(tb)]})
    assert blank.status_code == 422 and "请填写审批意见" in blank.text
    assert _status(env, a) == TaskStatus.open and _status(env, b) == TaskStatus.open
    done = client.post("/leader/batch", data={"decision": "return", "confirmed": "1",
                                              "opinion": "证据不足，请补充调查", "task": [str(ta), str(tb)]})
    assert done.status_code == 200 and "完成 2 件" in done.text
    assert all_tasks(env, a, "approve")[0].status == TaskStatus.completed
    assert open_tasks(env, a, "handle") or open_tasks(env, a, "review")  # went back
    page = client.get("/leader").text
    assert "wb-mark-returned" not in page  # the returned cases are back with the caseworker


def test_batch_only_acts_on_the_users_own_queue(env, client, org, three):
    (a, ta), _, _ = three
    login(client, "d2_cw")
    page = client.post("/leader/batch", data={"decision": "approve", "opinion": "同意", "task": [str(ta)]})
    assert page.status_code == 200 and "该事项不在您的待审批列表中" in page.text
    assert "XF2026-" not in page.text  # nothing about the case is shown
    assert _status(env, a) == TaskStatus.open
    nothing = client.post("/leader/batch", data={"decision": "approve"})
    assert nothing.status_code == 302
    client.get("/logout")
    login(client, "d1_lead")
    long = client.post("/leader/batch", data={"decision": "approve", "opinion": "字" * 2001, "task": [str(ta)]},
                       follow_redirects=True)
    assert "审批意见最多 2000 个字，未办理任何事项" in long.text and _status(env, a) == TaskStatus.open


def test_stock_opinions_are_added_listed_and_removed_by_their_owner_only(env, client, org):
    login(client, "d1_lead")
    assert client.post("/leader/opinions", data={"text": "同意"}).status_code == 302
    assert client.post("/leader/opinions", data={"text": ""}).status_code == 302
    page = client.get("/leader").text
    assert "请填写常用意见" in page and page.count("stock-item") == 1
    [mine] = list_opinions(env, org.actor("d1_lead").id)
    client.get("/logout")
    login(client, "city_lead")
    assert client.post(f"/leader/opinions/{mine.id}/delete").status_code == 404
    assert list_opinions(env, org.actor("d1_lead").id) == [mine]
    client.get("/logout")
    login(client, "d1_lead")
    assert client.post(f"/leader/opinions/{mine.id}/delete").status_code == 302
    assert list_opinions(env, org.actor("d1_lead").id) == []
