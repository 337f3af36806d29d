"""Indicators of the soldier-file handover, computed from the task mirror and the history.

Session in, numbers out: nothing is typed in, nothing here knows about Flask. A period is
[since, until) on the instant each fact happened (task completed, timer fired, case started).
With `unit_id`, only the files registered at or routed through that unit's subtree count (a
district sees the files handed over to it; the city sees all).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import Select, select
from sqlalchemy.orm import Session

from engine.access import case_ids_under
from engine.models import HistoryEvent, HumanTask, ProcessInstance, TaskStatus

KEY = "settlement_handover"


@dataclass(frozen=True)
class HandoverIndicators:
    files_registered: int        # soldier files registered (cases started)
    files_handed_over: int       # receipts signed by a district (移交区镇)
    queries_sent: int            # query letters to army units (every round counts)
    reported_on_time: int        # 自主就业 whose report date is within the (rolled) 30 days
    report_deadline_missed: int  # the 30-day report clock ran out before the report was registered
    reported_late: int           # report date after the deadline (both paths)
    gave_up_benefits: int        # Art.51 determinations: treated as giving up benefits
    archived: int
    # The case behind each item of each figure above, by the field's name (a case once per item)
    cases: dict[str, tuple[int, ...]] = field(default_factory=dict, compare=False, repr=False)


@dataclass(frozen=True)
class _Scope:
    since: datetime | None
    until: datetime | None
    cases: list[int] | None  # None: every file


def _between(stmt: Select[Any], column: Any, since: datetime | None,
             until: datetime | None) -> Select[Any]:
    if since is not None:
        stmt = stmt.where(column >= since)
    if until is not None:
        stmt = stmt.where(column < until)
    return stmt


def _in_scope(stmt: Select[Any], column: Any, at: Any, scope: _Scope) -> Select[Any]:
    if scope.cases is not None:
        stmt = stmt.where(column.in_(scope.cases))
    return _between(stmt, at, scope.since, scope.until)


def _completed(session: Session, step: str, scope: _Scope) -> list[int]:
    """The case of each completed task of `step` in the period."""
    stmt = select(HumanTask.instance_id).where(
        HumanTask.process_key == KEY, HumanTask.step_id == step,
        HumanTask.status == TaskStatus.completed)
    return list(session.scalars(_in_scope(stmt, HumanTask.instance_id, HumanTask.completed_at, scope)))


def _created(session: Session, step: str, scope: _Scope) -> list[int]:
    stmt = select(HumanTask.instance_id).where(HumanTask.process_key == KEY, HumanTask.step_id == step)
    return list(session.scalars(_in_scope(stmt, HumanTask.instance_id, HumanTask.created_at, scope)))


def _flagged(session: Session, step: str, flag: str, scope: _Scope) -> list[int]:
    """The case of each completion of `step` whose recorded data set `flag` to True (history)."""
    stmt = (select(HistoryEvent.instance_id, HistoryEvent.data).join(
        ProcessInstance, ProcessInstance.id == HistoryEvent.instance_id)
            .where(ProcessInstance.process_key == KEY, HistoryEvent.action == "complete",
                   HistoryEvent.step_id == step))
    rows = session.execute(_in_scope(stmt, ProcessInstance.id, HistoryEvent.at, scope))
    return [case for case, data in rows if (data or {}).get(flag, [None, None])[1] is True]


def _without(items: list[int], taken: list[int]) -> list[int]:
    """`items` less one occurrence of each of `taken` (a case once per item)."""
    rest = list(items)
    for case in taken:
        rest.remove(case)
    return rest


def handover_indicators(session: Session, since: datetime | None = None,
                        until: datetime | None = None,
                        unit_id: int | None = None) -> HandoverIndicators:
    scope = _Scope(since, until, None if unit_id is None else case_ids_under(session, KEY, unit_id))
    registered = _in_scope(select(ProcessInstance.id).where(ProcessInstance.process_key == KEY),
                           ProcessInstance.id, ProcessInstance.created_at, scope)
    on_time_or_late = _completed(session, "report_in", scope)
    late_in_time_task = _flagged(session, "report_in", "reported_late", scope)
    # registered after the clock ran out, yet the report date may lie within it (0 days late)
    late_task_late = _flagged(session, "late_report", "reported_late", scope)
    late_task_on_time = _without(_completed(session, "late_report", scope), late_task_late)
    cases = {
        "files_registered": list(session.scalars(registered)),
        "files_handed_over": _completed(session, "district_receipt", scope),
        "queries_sent": _completed(session, "send_query", scope),
        "reported_on_time": _without(on_time_or_late, late_in_time_task) + late_task_on_time,
        "report_deadline_missed": _created(session, "late_report", scope),
        "reported_late": late_in_time_task + late_task_late,
        "gave_up_benefits": _flagged(session, "forfeit_confirm", "gave_up_benefits", scope),
        "archived": _completed(session, "archive", scope),
    }
    return HandoverIndicators(**{k: len(v) for k, v in cases.items()},
                              cases={k: tuple(sorted(v)) for k, v in cases.items()})
