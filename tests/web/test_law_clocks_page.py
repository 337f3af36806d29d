"""The case page and the forms follow the law-true clocks (issue 9): the 收到日期 defaults to
today on the registration form and on the 签收 form; a window that closed unused reads 期满未申请
/ 未评价 in neutral grey, a missed deadline still reads 超期完成 in red; the due day shown is the
rolled one."""
from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from engine.env import Env
from engine.models import HumanTask
from engine.stepper import OPEN_STATUSES
from engine.worker import run_due_timers
from tests.factories import Org, act, open_tasks, petition_replied, register_petition, setup_petition
from tests.factories import beijing as at
from tests.web.conftest import login


@pytest.fixture
def org(env: Env) -> Org:
    return setup_petition(env)


def clock_items(html: str) -> list[str]:
    return [re.sub(r"\s+", " ", m) for m in re.findall(r'<li class="clock clock-[a-z]+">(.*?)</li>', html, re.S)]


def test_receipt_dates_default_to_today_on_the_forms(env, client, org, clock):
    clock.set(at("2026-10-08"))
    login(client, "t1_cw")
    form = client.get("/start/petition").text
    assert re.search(r'name="received_on"[^>]*value="2026-10-08"|value="2026-10-08"[^>]*name="received_on"', form)
    assert "收到日期" in form
    case = register_petition(env, org)
    act(env, org, case, "intake", "city_cw", {"intake_outcome": "交办", "handling_unit_id": org.units["d1"]})
    [sign] = open_tasks(env, case, "receive_assignment")
    login(client, "d1_cw")
    page = client.get(f"/tasks/{sign.id}").text
    assert re.search(r'name="assignment_received_on"[^>]*value="2026-10-08"|'
                     r'value="2026-10-08"[^>]*name="assignment_received_on"', page)


def test_unused_windows_read_neutrally_and_a_missed_deadline_stays_red(env, client, org, clock):
    clock.set(at("2026-08-01"))
    case = register_petition(env, org)
    clock.set(at("2026-09-01"))  # intake decided on day 31: late
    act(env, org, case, "intake", "city_cw", {"intake_outcome": "受理"})
    petition_replied(env, org, case)  # served 09-01: the 复查 window runs to 10-08 (rolled)
    clock.set(at("2026-10-09", 0))
    assert run_due_timers(env) == 1
    login(client, "city_cw")
    items = clock_items(client.get(f"/cases/{case}").text)
    window = next(i for i in items if "复查申请登记" in i)
    assert "期满未申请" in window and "text-bg-light" in window and "超期" not in window
    assert "截止 2026-10-08" in window
    evaluation = next(i for i in items if "满意度评价" in i)
    assert "未评价" in evaluation and "text-bg-danger" not in evaluation
    intake = next(i for i in items if "受理审查" in i)
    assert "超期完成" in intake and "text-bg-danger" in intake


def test_an_ended_window_open_for_late_requests_is_neutral_in_the_lists_and_on_the_task(env, client, org, clock):
    clock.set(at("2026-09-01"))
    case = register_petition(env, org)
    act(env, org, case, "intake", "city_cw", {"intake_outcome": "受理"})
    petition_replied(env, org, case)  # the 复查 window runs to 10-08 (rolled), then 15 days of grace
    [window] = open_tasks(env, case, "review_request")
    clock.set(at("2026-10-12"))
    run_due_timers(env)
    assert [t.id for t in open_tasks(env, case, "review_request")] == [window.id]
    login(client, "city_cw")
    inbox = re.sub(r"\s+", " ", client.get("/?tab=todo").text)
    row = next(r for r in inbox.split('list-group-item-action') if "复查申请登记" in r)
    assert "期满未申请" in row and "已超期" not in row
    task = re.sub(r"\s+", " ", client.get(f"/tasks/{window.id}").text)
    assert "due-lapsed" in task and "期满未申请" in task
    items = clock_items(client.get(f"/cases/{case}").text)
    item = next(i for i in items if "复查申请登记" in i)
    assert "仍可登记逾期申请" in item and "超期" not in item
    # a task that is not a citizen's window keeps its red badge when overdue
    other = register_petition(env, org, id_number="11010519491231002X")
    clock.set(at("2026-10-30"))
    login(client, "city_cw")
    inbox = re.sub(r"\s+", " ", client.get("/?tab=todo").text)
    row = next(r for r in inbox.split('list-group-item-action') if "受理审查" in r and "已超期" in r)
    assert "due-lapsed" not in row and other


def test_the_overdue_filters_chart_and_gauge_leave_an_ended_window_out(env, client, org, clock):
    """An ended 复查 window (open for late requests) is nobody's delay: the 超期 filters of the
    inbox (page and API), the ledger's overdue filter and deadline, the 超期 chart and the overdue
    gauge leave it out, while an overdue 受理审查 of another case stays in all of them."""
    from engine.calendar import is_overdue
    from engine.inbox import TaskFilter, inbox
    from engine.ledger import LedgerQuery, ledger
    from engine.ops.status import gauges
    from engine.trends import overdue_by_step, trend_charts

    clock.set(at("2026-09-01"))
    case = register_petition(env, org)
    act(env, org, case, "intake", "city_cw", {"intake_outcome": "受理"})
    petition_replied(env, org, case)
    [window] = open_tasks(env, case, "review_request")
    other = register_petition(env, org, id_number="11010519491231002X")
    [late] = open_tasks(env, other, "intake")
    now = at("2026-10-20")  # the window ended 10-08; its 15 days of grace run on
    clock.set(now)
    run_due_timers(env)
    assert [t.id for t in open_tasks(env, case, "review_request")] == [window.id]
    assert is_overdue(now, window.due_at) and is_overdue(now, late.due_at)
    city = org.actor("city_cw").id

    listed = [t.id for t in inbox(env, city, TaskFilter(overdue_at=now)).items]
    assert late.id in listed and window.id not in listed
    assert window.id in [t.id for t in inbox(env, city).items]  # still in the inbox itself
    login(client, "city_cw")
    page = re.sub(r"\s+", " ", client.get("/?tab=todo&status=overdue").text)
    assert "受理审查" in page and "复查申请登记" not in page
    api = [t["id"] for t in client.get("/api/v1/tasks/inbox?status=overdue").json["items"]]
    assert late.id in api and window.id not in api

    found = {r.id: r for r in ledger(env, city, "petition", LedgerQuery(overdue_at=now)).items}
    assert other in found and case not in found
    row = next(r for r in ledger(env, city, "petition").items if r.id == case)
    assert row.due_at is None  # its only deadline is the ended window's

    steps = [b.label for b in trend_charts(env, org.units["city"], None, None)[2].bars]
    with env.db.read() as session:
        unfiltered = [b.label for b in overdue_by_step(session, org.units["city"], now).bars]
    assert any("复查申请登记" in s for s in unfiltered) and not any("复查申请登记" in s for s in steps)
    assert "受理审查" in steps
    with env.db.read() as session:
        rows = session.scalars(select(HumanTask).where(HumanTask.status.in_(OPEN_STATUSES))).all()
    windows = env.process("petition").lapse_labels
    expected = sum(1 for r in rows if r.due_at is not None and is_overdue(now, r.due_at)
                   and r.step_id not in windows)
    assert gauges(env).overdue_tasks == expected
    assert expected < sum(1 for r in rows if r.due_at is not None and is_overdue(now, r.due_at))
