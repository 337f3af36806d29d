"""待办 read as one index range per (role, unit) grant plus my claimed tasks (engine.inbox): every
page holds the rows, in the order, that the plain rule gives (claimed by me, or open for a role I
act in at the task's unit, mine or a proxied absent user's; due date, no date last, then id), with
the filters; the total is exact up to COUNT_CAP and says "more" above it; nobody else gets in."""
from __future__ import annotations

import random
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import func, insert, select, update

import engine.inbox
import engine.queries
from engine.inbox import TaskFilter, inbox, inbox_count
from engine.models import AppMessage, CaseCopy, HumanTask, ProcessInstance, Role, RoleGrant, TaskStatus
from engine.orgs import Actor
from engine.queries import ListCounts, list_counts
from engine.runtime import start_case
from engine.verbs.proxy import set_proxy
from tests.factories import Org, build_org, setup_plain
from tests.integration.verbs_support import add_user

UNITS = ("t1", "d1", "d2", "t2", "city")
ROLES = (Role.caseworker, Role.reviewer, Role.leader, Role.auditor)


@dataclass(frozen=True)
class Row:
    id: int
    role: str
    unit: int
    status: TaskStatus
    assignee_id: int | None
    due_at: datetime | None
    process_key: str
    case_no: str


def _grant(env, user: Actor, role: Role, unit_id: int) -> None:
    with env.db.write() as s:
        s.add(RoleGrant(user_id=user.id, role=role, org_unit_id=unit_id))


def _tasks(env, org: Org, others: list[Actor], n: int, seed: int) -> list[Row]:
    """n task rows at random: every role, unit and status, claimed by me or someone else, due
    dates from a short list (ties) and none at all, two processes, a few case numbers."""
    rnd = random.Random(seed)
    iid = start_case(env, "plain", org.actor("t1_cw"), org.units["t1"], {"subject": "x"}).instance_id
    now = env.clock.now()
    dues = [None, now - timedelta(days=1), now, now + timedelta(hours=3), now + timedelta(days=2)]
    me = org.actor("me")
    rows = []
    for k in range(n):
        status = rnd.choice((TaskStatus.open, TaskStatus.open, TaskStatus.claimed, TaskStatus.completed))
        assignee = rnd.choice([me, *others]).id if status != TaskStatus.open else None
        rows.append({"spiff_task_id": f"t-{k}", "instance_id": iid, "process_key": rnd.choice(("plain", "other")),
                     "case_no": f"BX-{k % 9}", "title": "", "step_id": "s", "step_name": "步骤",
                     "role": rnd.choice(ROLES), "org_unit_id": org.units[rnd.choice(UNITS)], "status": status,
                     "assignee_id": assignee, "due_at": rnd.choice(dues), "due_provisional": False,
                     "created_at": now})
    with env.db.write() as s:
        s.execute(insert(HumanTask), rows)
        got = s.execute(select(HumanTask.id, HumanTask.role, HumanTask.org_unit_id, HumanTask.status,
                               HumanTask.assignee_id, HumanTask.due_at, HumanTask.process_key,
                               HumanTask.case_no)).all()  # the real case's first task too
    return [Row(r.id, str(r.role), *r[2:]) for r in got]


def _plain(rows: list[Row], user_id: int, acting: set[tuple[str, int]], f: TaskFilter) -> list[int]:
    """The rule and the order written out plainly, independent of the database."""
    def wanted(r: Row) -> bool:
        if not ((r.status == TaskStatus.claimed and r.assignee_id == user_id)
                or (r.status == TaskStatus.open and (r.role, r.unit) in acting)):
            return False
        if f.process_key and r.process_key != f.process_key:
            return False
        bound = min((b for b in (f.due_before, f.overdue_at) if b), default=None)
        if bound and (r.due_at is None or r.due_at > bound):
            return False
        return not f.search or r.case_no == f.search

    keep = [r for r in rows if wanted(r)]
    return [r.id for r in sorted(keep, key=lambda r: (r.due_at is None, r.due_at or datetime.min, r.id))]


def _walk(env, user_id: int, f: TaskFilter, per_page: int) -> list[int]:
    ids: list[int] = []
    page = 1
    while True:
        got = inbox(env, user_id, f, page, per_page)
        ids += [t.id for t in got.items]
        if len(got.items) < per_page:
            assert not got.capped and got.total == len(ids), (page, got.total, len(ids))
            return ids
        page += 1


@pytest.fixture
def scene(env, clock) -> dict[str, Any]:
    """me: caseworker at t1, reviewer at d1, auditor at d1 (reads only), proxy of d2_cw
    (caseworker at d2) for three days; 240 task rows around them."""
    org = build_org(env)
    setup_plain(env)
    me = add_user(env, org, "me", "我", Role.caseworker, "t1")
    _grant(env, me, Role.reviewer, org.units["d1"])
    _grant(env, me, Role.auditor, org.units["d1"])
    now = clock.now()
    set_proxy(env, org.actor("d2_cw"), me.id, now, now + timedelta(days=3))
    others = [org.actor("t1_cw"), org.actor("d2_cw"), org.actor("t2_cw")]
    rows = _tasks(env, org, others, 240, seed=12)
    acting = {("caseworker", org.units["t1"]), ("reviewer", org.units["d1"]), ("caseworker", org.units["d2"])}
    return {"org": org, "me": me, "rows": rows, "acting": acting, "now": now}


def _filters(now: datetime) -> list[TaskFilter]:
    return [TaskFilter(), TaskFilter(process_key="other"), TaskFilter(search="BX-4"),
            TaskFilter(due_before=now + timedelta(hours=3)), TaskFilter(overdue_at=now),
            TaskFilter(process_key="plain", due_before=now + timedelta(days=2))]


@pytest.mark.parametrize("per_page", [1, 7, 20])
def test_every_page_holds_what_the_plain_rule_gives_in_its_order(env, scene, per_page):
    me = scene["me"]
    for f in _filters(scene["now"]):
        want = _plain(scene["rows"], me.id, scene["acting"], f)
        assert want, f  # each filter keeps some rows, so the comparison says something
        assert _walk(env, me.id, f, per_page) == want, f
    everything = _plain(scene["rows"], me.id, scene["acting"], TaskFilter())
    assert inbox_count(env, me.id) == len(everything)
    kept = [r for r in scene["rows"] if r.id in set(everything)]
    assert any(r.due_at is None for r in kept) and len({r.due_at for r in kept}) < len(kept)  # nulls and ties
    assert any(r.status == TaskStatus.claimed for r in kept)  # the claimed arm is in play


def test_others_stay_out_and_the_proxy_ends_with_its_period(env, scene, clock):
    org, me, rows, acting = scene["org"], scene["me"], scene["rows"], scene["acting"]
    mine = set(_walk(env, me.id, TaskFilter(), 20))
    auditor_pool = {r.id for r in rows if r.role == "auditor" and r.status == TaskStatus.open
                    and r.unit == org.units["d1"]}
    assert auditor_pool and not mine & auditor_pool  # an auditor grant reads, it does not act
    my_pool = {r.id for r in rows if r.status == TaskStatus.open and (r.role, r.unit) in acting}
    for name in ("t2_cw", "d1_lead", "city_audit"):  # other roles or units: none of my pool
        other = org.actor(name)
        theirs = _walk(env, other.id, TaskFilter(), 20)
        assert not set(theirs) & my_pool, name
    t2 = org.actor("t2_cw")
    assert _walk(env, t2.id, TaskFilter(), 20) == _plain(rows, t2.id, {("caseworker", org.units["t2"])}, TaskFilter())
    clock.set(scene["now"] + timedelta(days=4))  # the absence is over: d2's pool leaves my inbox
    after = _plain(rows, me.id, acting - {("caseworker", org.units["d2"])}, TaskFilter())
    assert _walk(env, me.id, TaskFilter(), 20) == after and len(after) < len(mine)
    assert inbox_count(env, me.id) == len(after)


def test_the_total_stops_at_the_cap_and_says_so(env, scene, monkeypatch):
    me = scene["me"]
    everything = _plain(scene["rows"], me.id, scene["acting"], TaskFilter())
    n = len(everything)
    monkeypatch.setattr(engine.inbox, "COUNT_CAP", 10)
    first = inbox(env, me.id, TaskFilter(), 1, 5)
    assert (first.total, first.capped, first.pages) == (10, True, 2)
    assert [t.id for t in first.items] == everything[:5]
    deeper = inbox(env, me.id, TaskFilter(), 4, 5)  # past the cap: counted to this page's end
    assert (deeper.total, deeper.capped) == (20, True) and [t.id for t in deeper.items] == everything[15:20]
    last = inbox(env, me.id, TaskFilter(), -(-n // 5), 5)
    assert (last.total, last.capped) == (n, False)
    assert inbox_count(env, me.id) == 11  # the badge: 10 and more
    monkeypatch.setattr(engine.inbox, "COUNT_CAP", n)  # exactly the cap: exact, not "more"
    assert (inbox(env, me.id).total, inbox(env, me.id).capped, inbox_count(env, me.id)) == (n, False, n)


STATEMENTS = {"sqlite": 4, "postgresql": 3}  # SQLite's read transaction issues its own BEGIN


def test_the_inbox_costs_three_statements_however_many_grants(env, scene):
    """The acting grants, the capped count, the page: one statement each, for one grant or four."""
    org, me = scene["org"], scene["me"]

    def cost(user_id: int) -> int:
        env.db.counter.reset()
        inbox(env, user_id, TaskFilter(search="BX-4"), 2, 5)
        return env.db.counter.statements

    one = cost(org.actor("t2_cw").id)
    with env.db.write() as s:
        for key in ("city", "t2", "d2"):
            s.add(RoleGrant(user_id=me.id, role=Role.leader, org_unit_id=org.units[key]))
    kind = "sqlite" if env.db.is_sqlite else "postgresql"
    assert cost(me.id) == one == STATEMENTS[kind]


def test_the_unfiltered_inbox_is_built_once_per_number_of_grants(env, scene):
    """Users with as many acting grants share one statement, each bound to their own grants."""
    org, rows = scene["org"], scene["rows"]
    engine.inbox._unfiltered.cache_clear()
    for name, unit in (("t2_cw", "t2"), ("d2_cw", "d2"), ("t2_cw", "t2")):  # one caseworker grant each
        user = org.actor(name)
        assert _walk(env, user.id, TaskFilter(), 20) == _plain(rows, user.id, {("caseworker", org.units[unit])},
                                                               TaskFilter()), name
    assert engine.inbox._unfiltered.cache_info().misses == 1


def test_the_header_counts_are_built_once_and_each_user_gets_their_own(env, scene):
    """The home page's six numbers: one statement per number of grants, shared, bound per user;
    each count is that user's own (written out plainly here), 待办 by the inbox's rule."""
    org, rows = scene["org"], scene["rows"]
    users = [org.actor("t2_cw"), org.actor("d2_cw"), org.actor("t1_cw")]  # one caseworker grant each
    ids = [r.id for r in rows]
    with env.db.write() as s:  # some done by each, messages and a copy each, read or not
        case_id = s.scalar(select(HumanTask.instance_id).limit(1))
        for k, user in enumerate(users):
            s.execute(update(HumanTask).where(HumanTask.id.in_(ids[k * 10:k * 10 + 3 + k]))
                      .values(status=TaskStatus.completed, completed_by_id=user.id))
            s.add(CaseCopy(instance_id=case_id, user_id=user.id, by_id=users[2].id, at=env.clock.now(),
                           read_at=env.clock.now() if k == 0 else None))
            for n in range(k + 1):
                s.add(AppMessage(user_id=user.id, kind="urged", title="催办", at=env.clock.now(),
                                 read_at=env.clock.now() if n == 0 else None))

    def plain(user: Actor) -> ListCounts:
        with env.db.read() as s:
            def n(stmt: Any) -> int:
                return int(s.scalar(select(func.count()).select_from(stmt.subquery())) or 0)
            return ListCounts(
                inbox(env, user.id).total,
                n(select(HumanTask.id).where(HumanTask.completed_by_id == user.id,
                                             HumanTask.status == TaskStatus.completed)),
                n(select(ProcessInstance.id).where(ProcessInstance.initiator_id == user.id)),
                n(select(CaseCopy.id).where(CaseCopy.user_id == user.id)),
                n(select(CaseCopy.id).where(CaseCopy.user_id == user.id, CaseCopy.read_at.is_(None))),
                n(select(AppMessage.id).where(AppMessage.user_id == user.id, AppMessage.read_at.is_(None))))

    engine.queries._counts.cache_clear()
    seen = [list_counts(env, u.id) for u in users]
    assert seen == [plain(u) for u in users]
    assert len({(c.done, c.copied, c.unread_messages) for c in seen}) == 3  # not one user's numbers thrice
    assert engine.queries._counts.cache_info().misses == 1
    assert list_counts(env, users[0].id, todo=7) == replace(seen[0], todo=7)
