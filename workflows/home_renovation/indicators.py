"""Indicators of the home-renovation process, computed from the task mirror and the case history.

- 验收通过率 (accepted ÷ planned): households whose acceptance all parties signed 合格, over
  households with a plan (a completed 制定方案 task). A case reaches 资金拨付 only through an
  all-合格 acceptance, so "accepted" = the case has a 资金拨付 task.
- 各环节用时 (days per stage): per step and case, the time its tasks stood open; parallel tasks
  (the three acceptance signatures) count once, a step done again (after 退回) counts again.
  Averaged over the cases that did the step. Tasks still open are not counted.
- 资金 (approved vs paid): per case the last approved budget (set at 市局/领导 approval) and the
  amount paid at 资金拨付, both read from the history, summed.

Plain SQLAlchemy over one session: usable from the web app, a CLI export or a test.
"""
from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import Select, select
from sqlalchemy.orm import Session

from engine.models import HistoryEvent, HumanTask, OrgUnit, ProcessInstance, TaskStatus

KEY = "home_renovation"
STEP_ORDER = ("home_visit", "make_plan", "district_review", "city_approval", "leader_approval",
              "publicity", "construction", "acceptance", "payment", "follow_up")
MONEY_STEPS = ("city_approval", "leader_approval", "payment")


@dataclass(frozen=True)
class StageTime:
    step_id: str
    step_name: str
    cases: int
    avg_days: float
    max_days: float


@dataclass(frozen=True)
class Indicators:
    planned: int
    accepted: int
    stages: list[StageTime]
    approved_cases: int
    approved_total: Decimal
    paid_cases: int
    paid_total: Decimal

    @property
    def acceptance_rate(self) -> float | None:
        return self.accepted / self.planned if self.planned else None

    @property
    def paid_ratio(self) -> float | None:
        return float(self.paid_total / self.approved_total) if self.approved_total else None


def _cases(unit_id: int | None, since: datetime | None, until: datetime | None) -> Select[Any]:
    """Ids of the cases in scope: registered at or below `unit_id`, created in [since, until)."""
    stmt = select(ProcessInstance.id).where(ProcessInstance.process_key == KEY)
    if unit_id is not None:
        stmt = stmt.join(OrgUnit, OrgUnit.id == ProcessInstance.org_unit_id).where(
            OrgUnit.path.like(f"%/{int(unit_id)}/%"))
    if since is not None:
        stmt = stmt.where(ProcessInstance.created_at >= since)
    if until is not None:
        stmt = stmt.where(ProcessInstance.created_at < until)
    return stmt


def compute(session: Session, *, unit_id: int | None = None, since: datetime | None = None,
            until: datetime | None = None) -> Indicators:
    """The indicators over the cases in scope (all home-renovation cases by default)."""
    cases = _cases(unit_id, since, until)
    tasks = session.execute(select(
        HumanTask.instance_id, HumanTask.step_id, HumanTask.step_name, HumanTask.status,
        HumanTask.created_at, HumanTask.completed_at).where(HumanTask.instance_id.in_(cases))).all()
    planned = {t.instance_id for t in tasks
               if t.step_id == "make_plan" and t.status == TaskStatus.completed}
    accepted = {t.instance_id for t in tasks if t.step_id == "payment"}
    approved, paid = _money(session, cases)
    return Indicators(
        planned=len(planned), accepted=len(accepted), stages=_stages(tasks),
        approved_cases=len(approved), approved_total=sum(approved.values(), Decimal(0)),
        paid_cases=len(paid), paid_total=sum(paid.values(), Decimal(0)))


def _stages(tasks: list[Any]) -> list[StageTime]:
    spans: dict[str, dict[int, list[tuple[datetime, datetime]]]] = defaultdict(lambda: defaultdict(list))
    names: dict[str, str] = {}
    for t in tasks:
        if t.completed_at is not None:
            spans[t.step_id][t.instance_id].append((t.created_at, t.completed_at))
            names[t.step_id] = t.step_name
    order = [s for s in STEP_ORDER if s in spans] + sorted(set(spans) - set(STEP_ORDER))
    out = []
    for step in order:
        days = [_open_days(intervals) for intervals in spans[step].values()]
        out.append(StageTime(step, names[step], len(days), sum(days) / len(days), max(days)))
    return out


def _open_days(intervals: list[tuple[datetime, datetime]]) -> float:
    """Length of the union of the intervals, in days."""
    merged: list[list[datetime]] = []
    for start, end in sorted(intervals):
        if merged and start <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], end)
        else:
            merged.append([start, end])
    return sum((end - start).total_seconds() for start, end in merged) / 86400


def _money(session: Session, cases: Select[Any]) -> tuple[dict[int, Decimal], dict[int, Decimal]]:
    """(approved budget, amount paid) per case, the last value each case recorded."""
    events = session.execute(select(HistoryEvent.instance_id, HistoryEvent.step_id, HistoryEvent.data)
                             .where(HistoryEvent.instance_id.in_(cases),
                                    HistoryEvent.action == "complete",
                                    HistoryEvent.step_id.in_(MONEY_STEPS))
                             .order_by(HistoryEvent.instance_id, HistoryEvent.seq)).all()
    approved: dict[int, Decimal] = {}
    paid: dict[int, Decimal] = {}
    for e in events:
        changes = e.data or {}
        if "approved_budget" in changes:  # {"field": [before, after]}
            approved[e.instance_id] = Decimal(str(changes["approved_budget"][1]))
        if e.step_id == "payment" and "pay_amount" in changes:
            paid[e.instance_id] = Decimal(str(changes["pay_amount"][1]))
    return approved, paid
