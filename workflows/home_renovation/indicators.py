"""Home renovation's indicators as one object, from the generic engine.indicators (the 统计指标 page
reads the manifest's [[indicators]] instead; this keeps the figures callable from code and tests).

- 验收通过率 (accepted ÷ planned): households whose acceptance all parties signed 合格 (only that
  reaches 资金拨付) over households with a plan (a completed 制定方案).
- 各环节用时: per step and case, the time its tasks stood open (engine.indicators.stage_times).
- 资金 (approved vs paid): per case the last approved budget and the amount paid, summed.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from sqlalchemy.orm import Session

from engine.indicators import Facts, StageTime, scoped_cases, stage_times, sum_last

KEY = "home_renovation"
STEP_ORDER = ("home_visit", "make_plan", "district_review", "city_approval", "leader_approval",
              "publicity", "construction", "acceptance", "payment", "follow_up")


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


def compute(session: Session, *, unit_id: int | None = None, since: datetime | None = None,
            until: datetime | None = None) -> Indicators:
    """The indicators over the cases in scope (all home-renovation cases by default)."""
    facts = Facts(session, scoped_cases(KEY, unit_id, since, until))
    approved = sum_last(facts.events, "approved_budget", {"action": "complete"})
    paid = sum_last(facts.events, "pay_amount", {"action": "complete", "step": "payment"})
    return Indicators(
        planned=len(facts.cases({"action": "complete", "step": "make_plan"})),
        accepted=len(facts.cases({"action": "task", "step": "payment"})),
        stages=stage_times(facts.tasks, STEP_ORDER),
        approved_cases=len(approved), approved_total=sum(approved.values(), Decimal(0)),
        paid_cases=len(paid), paid_total=sum(paid.values(), Decimal(0)))
