"""Indicators declared in a process package's manifest, computed from the case history.

One generic engine for every declarative package: counts, rates (numerator and denominator over
history events), durations between two steps and sums of a data field, for the cases registered
at or below one unit in one period. An event filter is {action, step?, field?, equals?}: a case
counts once when it has at least one matching event; `field`/`equals` test the value the event
recorded for that field (its data holds {field: [before, after]}). A duration runs from a case's
first matching `from_step` event (the step "start" is the registration) to its first completion
of `to_step`. Values come with their basis ("12/15", "8 件") like every other indicator row.
"""
from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.models import HistoryEvent, OrgUnit, ProcessInstance

DASH = "—"


@dataclass(frozen=True)
class Figure:
    label: str
    value: str
    basis: str = ""
    note: str = ""


@dataclass(frozen=True)
class _Event:
    case: int
    action: str
    step: str | None
    at: datetime
    data: dict[str, Any]


def compute(session: Session, key: str, indicators: list[dict[str, Any]], *, unit_id: int | None,
            since: datetime | None, until: datetime | None) -> list[Figure]:
    """Every declared indicator of process `key` for the cases registered in scope."""
    events = _events(session, key, unit_id, since, until)
    return [_figure(spec, events) for spec in indicators]


def _events(session: Session, key: str, unit_id: int | None, since: datetime | None,
            until: datetime | None) -> list[_Event]:
    cases = select(ProcessInstance.id).where(ProcessInstance.process_key == key)
    if unit_id is not None:
        cases = cases.join(OrgUnit, OrgUnit.id == ProcessInstance.org_unit_id).where(
            OrgUnit.path.like(f"%/{int(unit_id)}/%"))
    if since is not None:
        cases = cases.where(ProcessInstance.created_at >= since)
    if until is not None:
        cases = cases.where(ProcessInstance.created_at < until)
    rows = session.execute(select(HistoryEvent.instance_id, HistoryEvent.action, HistoryEvent.step_id,
                                  HistoryEvent.at, HistoryEvent.data)
                           .where(HistoryEvent.instance_id.in_(cases)).order_by(HistoryEvent.id))
    return [_Event(r[0], r[1], r[2], r[3], r[4] or {}) for r in rows]


def _matches(event: _Event, flt: dict[str, Any]) -> bool:
    if event.action != flt["action"] or ("step" in flt and event.step != flt["step"]):
        return False
    if "field" not in flt:
        return True
    change = event.data.get(flt["field"])
    value = change[1] if isinstance(change, list) and len(change) == 2 else change
    return "equals" not in flt or value == flt["equals"]


def _cases(events: list[_Event], flt: dict[str, Any]) -> set[int]:
    return {e.case for e in events if _matches(e, flt)}


def _figure(spec: dict[str, Any], events: list[_Event]) -> Figure:
    label, note, kind = spec["label"], spec.get("note", ""), spec["kind"]
    if kind == "count":
        return Figure(label, str(len(_cases(events, spec.get("event", {"action": "start"})))), "", note)
    if kind == "rate":
        num, den = len(_cases(events, spec["num"])), len(_cases(events, spec["den"]))
        value = f"{num / den * 100:.1f}%" if den else DASH
        return Figure(label, value, f"{num}/{den}", note)
    if kind == "duration":
        return _duration(spec, events, label, note)
    return _sum(spec, events, label, note)


def _duration(spec: dict[str, Any], events: list[_Event], label: str, note: str) -> Figure:
    start_flt = {"action": "start"} if spec["from_step"] == "start" else {"action": "complete",
                                                                           "step": spec["from_step"]}
    starts: dict[int, datetime] = {}
    ends: dict[int, datetime] = {}
    for e in events:
        if _matches(e, start_flt):
            starts.setdefault(e.case, e.at)
        if _matches(e, {"action": "complete", "step": spec["to_step"]}):
            ends.setdefault(e.case, e.at)
    days = [(ends[c] - starts[c]).total_seconds() / 86400 for c in ends if c in starts and ends[c] >= starts[c]]
    if not days:
        return Figure(label, DASH, "0 件", note)
    return Figure(label, f"{sum(days) / len(days):.1f} 天", f"{len(days)} 件",
                  note or f"平均用时，最长 {max(days):.1f} 天")


def _sum(spec: dict[str, Any], events: list[_Event], label: str, note: str) -> Figure:
    flt = {**spec.get("event", {"action": "complete"}), "field": spec["field"]}
    last: dict[int, Decimal] = defaultdict(Decimal)
    for e in events:
        if _matches(e, flt):
            change = e.data.get(spec["field"])
            value = change[1] if isinstance(change, list) and len(change) == 2 else change
            try:
                last[e.case] = Decimal(str(value))
            except InvalidOperation:
                continue
    total = sum(last.values(), Decimal(0))
    return Figure(label, f"{total:,.2f}", f"{len(last)} 件", note)


def cases_behind(session: Session, key: str, spec: dict[str, Any], *, unit_id: int | None,
                 since: datetime | None, until: datetime | None) -> set[int]:
    """The ids of the cases one declared indicator counts (the case ledger's click-through): a
    count's cases, a rate's numerator, a duration's measured cases, a sum's summed cases."""
    events = _events(session, key, unit_id, since, until)
    kind = spec["kind"]
    if kind == "count":
        return _cases(events, spec.get("event", {"action": "start"}))
    if kind == "rate":
        return _cases(events, spec["num"])
    if kind == "duration":
        start = {"action": "start"} if spec["from_step"] == "start" else {"action": "complete",
                                                                          "step": spec["from_step"]}
        starts = {e.case: e.at for e in reversed(events) if _matches(e, start)}
        ends = {e.case: e.at for e in reversed(events) if _matches(e, {"action": "complete", "step": spec["to_step"]})}
        return {c for c in ends if c in starts and ends[c] >= starts[c]}
    flt = {**spec.get("event", {"action": "complete"}), "field": spec["field"]}
    out = set()
    for e in events:
        if _matches(e, flt):
            change = e.data.get(spec["field"])
            value = change[1] if isinstance(change, list) and len(change) == 2 else change
            try:
                Decimal(str(value))
            except InvalidOperation:
                continue
            out.add(e.case)
    return out
