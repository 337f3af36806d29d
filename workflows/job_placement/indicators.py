"""Indicators of the yearly job placement, computed from the task mirror and the history.

Session in, numbers out. Per plan: candidates, on-post on time or late (Art.75), whether the
year's placement was done within the months of Art.31 (done = the placement phase ended, which
is when the follow-up tasks appear), and follow-up findings. Plans may be limited to those
registered in [since, until) and to those registered at or routed through `unit_id`'s subtree.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from engine.access import case_ids_under
from engine.calendar import is_overdue
from engine.models import HistoryEvent, HumanTask, ProcessInstance
from workflows.dates import day
from workflows.job_placement.clocks import deadline_end, placement_due
from workflows.job_placement.rules import SETTINGS

KEY = "job_placement"


@dataclass(frozen=True)
class PlanIndicators:
    instance_id: int
    case_no: str
    plan_year: int
    candidates: int
    receipt_date: date
    placement_due_on: date
    on_post_in_time: int
    on_post_late: int                 # on post more than 30 days after the letter (Art.75)
    placement_done_at: datetime | None
    within_deadline: bool | None      # None: still running, deadline not yet passed
    follow_up_issues: int             # placements the follow-up review found non-compliant


def _start_facts(session: Session, instance_id: int) -> dict[str, Any]:
    data = session.scalar(select(HistoryEvent.data).where(
        HistoryEvent.instance_id == instance_id, HistoryEvent.action == "start")) or {}
    return {k: v[1] for k, v in data.items() if isinstance(v, list) and len(v) == 2}


def _completed_values(session: Session, instance_id: int, steps: tuple[str, ...],
                      key: str) -> list[dict[str, Any]]:
    """The value a completion of one of `steps` recorded for `key` (from the history)."""
    rows = session.scalars(select(HistoryEvent.data).where(
        HistoryEvent.instance_id == instance_id, HistoryEvent.action == "complete",
        HistoryEvent.step_id.in_(steps)))
    return [d[key][1] for d in rows if isinstance((d or {}).get(key), list)]


def _done_at(session: Session, instance_id: int) -> datetime | None:
    done: datetime | None = session.scalar(select(func.min(HumanTask.created_at)).where(
        HumanTask.instance_id == instance_id, HumanTask.step_id == "follow_up"))
    return done


def _plans(session: Session, since: datetime | None, until: datetime | None,
           unit_id: int | None) -> list[Any]:
    stmt = select(ProcessInstance.id, ProcessInstance.case_no).where(ProcessInstance.process_key == KEY)
    if since is not None:
        stmt = stmt.where(ProcessInstance.created_at >= since)
    if until is not None:
        stmt = stmt.where(ProcessInstance.created_at < until)
    if unit_id is not None:
        stmt = stmt.where(ProcessInstance.id.in_(case_ids_under(session, KEY, unit_id)))
    return list(session.execute(stmt.order_by(ProcessInstance.id)).all())


def plan_indicators(session: Session, now: datetime, plan_year: int | None = None,
                    months: int = int(SETTINGS["placement_months"]), *,
                    since: datetime | None = None, until: datetime | None = None,
                    unit_id: int | None = None) -> list[PlanIndicators]:
    instances = _plans(session, since, until, unit_id)
    out = []
    for instance_id, case_no in instances:
        facts = _start_facts(session, instance_id)
        if plan_year is not None and int(facts.get("plan_year", 0)) != plan_year:
            continue
        due = placement_due(day(facts["receipt_date"]), months)
        placements = _completed_values(session, instance_id, ("confirm_on_post", "late_on_post"),
                                       "placement")
        follow_ups = _completed_values(session, instance_id, ("follow_up",), "follow_up_result")
        done_at = _done_at(session, instance_id)
        limit = deadline_end(due)
        within = (not is_overdue(done_at, limit)) if done_at else (False if is_overdue(now, limit) else None)
        out.append(PlanIndicators(
            instance_id, case_no, int(facts.get("plan_year", 0)), len(facts.get("candidates") or []),
            day(facts["receipt_date"]), due, sum(1 for p in placements if not p["late"]),
            sum(1 for p in placements if p["late"]), done_at, within,
            sum(1 for f in follow_ups if not f["compliant"])))
    return out


def placement_summary(plans: list[PlanIndicators]) -> dict[str, Any]:
    """Totals over plans: the rates a report quotes."""
    placed = sum(p.on_post_in_time + p.on_post_late for p in plans)
    decided = [p for p in plans if p.within_deadline is not None]
    return {
        "plans": len(plans), "candidates": sum(p.candidates for p in plans), "placed": placed,
        "on_post_in_time_rate": (sum(p.on_post_in_time for p in plans) / placed) if placed else None,
        "plans_within_deadline": sum(1 for p in decided if p.within_deadline),
        "plans_overdue": sum(1 for p in decided if not p.within_deadline),
        "follow_up_issues": sum(p.follow_up_issues for p in plans),
    }
