"""The figures behind the charts of 统计指标: cases registered per month, per unit below the chosen
one (the districts, for the city), and open tasks overdue per step. Same reach as the indicators:
the cases registered at or below one unit (and, for overdue tasks, tasks at units below it), in
one period of registration; plain numbers out, the web layer draws them."""
from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from engine.calendar import BEIJING
from engine.env import Env
from engine.lapses import deployed_window_steps, overdue
from engine.models import HumanTask, OrgUnit, ProcessInstance, TaskStatus
from engine.orgs import path_ids


@dataclass(frozen=True)
class Bar:
    label: str
    value: float
    key: str = ""  # what a click on the bar filters by (a unit id, a process key), if anything


@dataclass(frozen=True)
class Series:
    title: str
    unit: str        # what the numbers count: "件", "元"
    bars: list[Bar]


def _subtree(session: Session, unit_id: int) -> dict[int, str]:
    rows = session.execute(select(OrgUnit.id, OrgUnit.path).where(
        OrgUnit.path.like(f"%/{int(unit_id)}/%"))).all()
    return {r.id: r.path for r in rows}


def _registered(session: Session, unit_id: int, since: datetime | None, until: datetime | None) -> list:  # type: ignore[type-arg]
    stmt = select(ProcessInstance.org_unit_id, ProcessInstance.created_at).where(
        ProcessInstance.org_unit_id.in_(list(_subtree(session, unit_id))))
    if since is not None:
        stmt = stmt.where(ProcessInstance.created_at >= since)
    if until is not None:
        stmt = stmt.where(ProcessInstance.created_at < until)
    return list(session.execute(stmt).all())


def monthly_trend(session: Session, unit_id: int, since: datetime | None,
                  until: datetime | None, months: int = 12) -> Series:
    """Cases registered per Beijing month (the last `months` months that have any, oldest first)."""
    counts = Counter(r.created_at.astimezone(BEIJING).strftime("%Y-%m")
                     for r in _registered(session, unit_id, since, until))
    keys = sorted(counts)[-months:]
    return Series("每月登记件数", "件", [Bar(f"{k[:4]}年{int(k[5:])}月", counts[k], k) for k in keys])


def unit_ranking(session: Session, unit_id: int, since: datetime | None,
                 until: datetime | None) -> Series:
    """Cases registered under each unit directly below `unit_id` (the districts, for the city),
    most first; cases registered at `unit_id` itself count as 本级."""
    children = dict(session.execute(select(OrgUnit.id, OrgUnit.name).where(
        OrgUnit.parent_id == unit_id, OrgUnit.is_section.is_(False))).all())
    paths = _subtree(session, unit_id)
    counts: Counter[int] = Counter()
    for r in _registered(session, unit_id, since, until):
        ids = path_ids(paths.get(r.org_unit_id))
        below = next((u for u in ids if u in children), None)
        counts[below if below is not None else unit_id] += 1
    bars = [Bar(children[u], counts[u], str(u)) for u in children]
    if counts[unit_id]:
        bars.append(Bar("本级", counts[unit_id], str(unit_id)))
    return Series("各单位登记件数排名", "件", sorted(bars, key=lambda b: (-b.value, b.label)))


def overdue_by_step(session: Session, unit_id: int, now: datetime,
                    windows: dict[str, list[str]] | None = None) -> Series:
    """Open tasks overdue now at units of the subtree, per process step (most first); option
    windows (`windows`, engine.lapses) are nobody's delay and left out."""
    rows = session.execute(
        select(HumanTask.process_key, HumanTask.step_name, func.count())
        .where(HumanTask.status.in_((TaskStatus.open, TaskStatus.claimed)),
               overdue(windows or {}, now),
               HumanTask.org_unit_id.in_(list(_subtree(session, unit_id))))
        .group_by(HumanTask.process_key, HumanTask.step_name)).all()
    bars = [Bar(r[1], r[2], r[0]) for r in rows]
    return Series("各环节超期未办件数", "件", sorted(bars, key=lambda b: (-b.value, b.label)))


def trend_charts(env: Env, unit_id: int, since: datetime | None, until: datetime | None) -> list[Series]:
    """The three charts for a unit's subtree and period (the caller has checked the user may read
    that unit's indicators, as workflows.indicators.report does)."""
    with env.db.read() as session:
        return [monthly_trend(session, unit_id, since, until), unit_ranking(session, unit_id, since, until),
                overdue_by_step(session, unit_id, env.clock.now(), deployed_window_steps(env, session))]
