"""统计指标 of every process, one generic module: each process declares its indicators, this computes them.

A process declares an `IndicatorSet` (`ProcessConfig.indicators`): a package from its manifest's
`[[indicators]]` (built by engine.packages.loader), a Python process with a `compute` function of
its own. `section(scope, key, declared)` turns either into one `Section` of rows, so the report
(workflows.indicators) needs no edit when a process is added.

Declared indicators are counted from the case history and the task rows, for the cases registered
at or below one unit in one period. An event filter is {action, step?, field?, equals?}: a case
counts once when it has at least one matching event; `field`/`equals` test the value the event
recorded for that field (its data holds {field: [before, after]}); the action "task" matches a
task of the step being opened (any status). Kinds: count, rate (num ÷ den), duration (a case's
first `from_step` event — "start": registration — to its first completion of `to_step`), sum (the
last value each case recorded for `field`), ratio (of two sums, named by their `id`) and
stage_times (per step, the time its tasks stood open: parallel tasks count once, a step done again
counts again; one row per step). Values come with their basis ("12/15", "8 件").
"""
from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from sqlalchemy import Select, select
from sqlalchemy.orm import Session

from engine.models import HistoryEvent, HumanTask, OrgUnit, ProcessInstance, TaskStatus

DASH = "—"
BY_REGISTRATION = "按登记时间统计"


@dataclass(frozen=True)
class Row:
    label: str
    value: str       # what the cell shows: "80.0%", "12", "3.5 天", "28,000.00 元" or "—"
    basis: str = ""  # the counts behind a rate ("12/15"), or what a figure covers ("3 户")
    note: str = ""   # how it is counted, in a line
    # The cases behind the figure (instance ids, for the half-year report's companion table): a
    # case once per item it adds to a count (two query letters: twice), the cases of a rate's
    # denominator with `counted` its numerator's, the cases a sum or a duration covers. None: the
    # figure names no cases (a ratio of two sums).
    cases: tuple[int, ...] | None = field(default=None, compare=False, repr=False)
    counted: tuple[int, ...] | None = field(default=None, compare=False, repr=False)


Figure = Row  # the name the first package indicators used


@dataclass(frozen=True)
class Section:
    key: str
    title: str
    period: str      # what the period applies to in this section
    rows: list[Row]


@dataclass(frozen=True)
class Scope:
    """What every process's indicators get: a session, a unit subtree, a period and a clock."""
    session: Session
    unit_id: int
    since: datetime | None
    until: datetime | None
    as_of: datetime
    settings: Callable[[str], dict[str, Any]]


@dataclass(frozen=True)
class IndicatorSet:
    """A process's 统计指标: declared specs (manifest form), or a function of the scope."""
    title: str
    period: str = BY_REGISTRATION
    declared: tuple[dict[str, Any], ...] = ()
    compute: Callable[[Scope], list[Row]] | None = None
    order: int = 100  # sections are shown by order, then key


def section(scope: Scope, key: str, declared: IndicatorSet) -> Section:
    """One process's section of the report."""
    if declared.compute is not None:
        rows = declared.compute(scope)
    else:
        rows = compute(scope.session, key, list(declared.declared), unit_id=scope.unit_id,
                       since=scope.since, until=scope.until)
    return Section(key, declared.title, declared.period, rows)


# ----------------------------------------------------------------------------- formatting

def rate(numerator: int, denominator: int) -> tuple[str, str]:
    """(value, basis) of a rate: ("80.0%", "4/5"), or ("—", "0/0") without a denominator."""
    value = f"{numerator / denominator * 100:.1f}%" if denominator else DASH
    return value, f"{numerator}/{denominator}"


def rate_row(label: str, numerator: int, denominator: int, note: str = "",
             counted: Iterable[int] | None = None, cases: Iterable[int] | None = None) -> Row:
    value, basis = rate(numerator, denominator)
    return Row(label, value, basis, note, _ids(cases), _ids(counted))


def count_row(label: str, n: int, note: str = "", cases: Iterable[int] | None = None) -> Row:
    return Row(label, str(n), "", note, _ids(cases))


def case_rate_row(label: str, counted: Iterable[int], cases: Iterable[int], note: str = "") -> Row:
    """A rate whose numerator and denominator are the lists of cases (a case once per item)."""
    num, den = _ids(counted) or (), _ids(cases) or ()
    return rate_row(label, len(num), len(den), note, num, den)


def case_count_row(label: str, cases: Iterable[int], note: str = "") -> Row:
    ids = _ids(cases) or ()
    return count_row(label, len(ids), note, ids)


def _ids(cases: Iterable[int] | None) -> tuple[int, ...] | None:
    return None if cases is None else tuple(sorted(cases))


def money(amount: Decimal) -> str:
    return f"{amount:,.2f} 元"


# ----------------------------------------------------------------------------- the facts

@dataclass(frozen=True)
class Event:
    case: int
    action: str
    step: str | None
    at: datetime
    data: dict[str, Any]


@dataclass(frozen=True)
class TaskSpan:
    case: int
    step: str
    step_name: str
    status: TaskStatus
    opened: datetime
    closed: datetime | None


@dataclass(frozen=True)
class StageTime:
    step_id: str
    step_name: str
    cases: int
    avg_days: float
    max_days: float
    case_ids: tuple[int, ...] = ()  # the cases measured


def scoped_cases(key: str, unit_id: int | None, since: datetime | None,
                 until: datetime | None) -> Select[Any]:
    """Ids of process `key`'s cases registered at or below `unit_id`, created in [since, until)."""
    cases = select(ProcessInstance.id).where(ProcessInstance.process_key == key)
    if unit_id is not None:
        cases = cases.join(OrgUnit, OrgUnit.id == ProcessInstance.org_unit_id).where(
            OrgUnit.path.like(f"%/{int(unit_id)}/%"))
    if since is not None:
        cases = cases.where(ProcessInstance.created_at >= since)
    if until is not None:
        cases = cases.where(ProcessInstance.created_at < until)
    return cases


def history_events(session: Session, cases: Select[Any]) -> list[Event]:
    rows = session.execute(select(HistoryEvent.instance_id, HistoryEvent.action, HistoryEvent.step_id,
                                  HistoryEvent.at, HistoryEvent.data)
                           .where(HistoryEvent.instance_id.in_(cases)).order_by(HistoryEvent.id))
    return [Event(r[0], r[1], r[2], r[3], r[4] or {}) for r in rows]


def task_spans(session: Session, cases: Select[Any]) -> list[TaskSpan]:
    rows = session.execute(select(HumanTask.instance_id, HumanTask.step_id, HumanTask.step_name,
                                  HumanTask.status, HumanTask.created_at, HumanTask.completed_at)
                           .where(HumanTask.instance_id.in_(cases)).order_by(HumanTask.id))
    return [TaskSpan(*r) for r in rows]


class Facts:
    """The history events and (when asked for) the task rows of the cases in scope."""

    def __init__(self, session: Session, cases: Select[Any]) -> None:
        self.events = history_events(session, cases)
        self._session, self._cases = session, cases
        self._tasks: list[TaskSpan] | None = None

    @property
    def tasks(self) -> list[TaskSpan]:
        if self._tasks is None:
            self._tasks = task_spans(self._session, self._cases)
        return self._tasks

    def cases(self, flt: dict[str, Any]) -> set[int]:
        """The cases with at least one fact matching the filter."""
        if flt["action"] == "task":
            return {t.case for t in self.tasks if "step" not in flt or t.step == flt["step"]}
        return {e.case for e in self.events if matches(e, flt)}


def matches(event: Event, flt: dict[str, Any]) -> bool:
    if event.action != flt["action"] or ("step" in flt and event.step != flt["step"]):
        return False
    if "field" not in flt:
        return True
    return "equals" not in flt or recorded(event, flt["field"]) == flt["equals"]


def recorded(event: Event, name: str) -> Any:
    """The value an event recorded for a field (its data holds {field: [before, after]})."""
    change = event.data.get(name)
    return change[1] if isinstance(change, list) and len(change) == 2 else change


# ----------------------------------------------------------------------------- declared kinds

def compute(session: Session, key: str, indicators: list[dict[str, Any]], *, unit_id: int | None,
            since: datetime | None, until: datetime | None) -> list[Row]:
    """Every declared indicator of process `key` for the cases registered in scope."""
    facts = Facts(session, scoped_cases(key, unit_id, since, until))
    sums: dict[str, Decimal] = {}
    rows: list[Row] = []
    for spec in indicators:
        rows += _rows(spec, facts, sums)
    return rows


def _rows(spec: dict[str, Any], facts: Facts, sums: dict[str, Decimal]) -> list[Row]:
    label, note, kind = spec.get("label", ""), spec.get("note", ""), spec["kind"]
    if kind == "count":
        return [case_count_row(label, facts.cases(spec.get("event", {"action": "start"})), note)]
    if kind == "rate":
        return [case_rate_row(label, facts.cases(spec["num"]), facts.cases(spec["den"]), note)]
    if kind == "duration":
        return [_duration(spec, facts.events, label, note)]
    if kind == "stage_times":
        return _stage_rows(spec, facts.tasks)
    if kind == "ratio":
        return [_ratio(sums.get(spec["num"], Decimal(0)), sums.get(spec["den"], Decimal(0)), label, note)]
    total, row = _sum(spec, facts.events, label, note)
    if "id" in spec:
        sums[spec["id"]] = total
    return [row]


def _duration(spec: dict[str, Any], events: list[Event], label: str, note: str) -> Row:
    start_flt = {"action": "start"} if spec["from_step"] == "start" else {"action": "complete",
                                                                           "step": spec["from_step"]}
    starts: dict[int, datetime] = {}
    ends: dict[int, datetime] = {}
    for e in events:
        if matches(e, start_flt):
            starts.setdefault(e.case, e.at)
        if matches(e, {"action": "complete", "step": spec["to_step"]}):
            ends.setdefault(e.case, e.at)
    measured = [c for c in ends if c in starts and ends[c] >= starts[c]]
    days = [(ends[c] - starts[c]).total_seconds() / 86400 for c in measured]
    noun = spec.get("noun", "件")
    if not days:
        return Row(label, DASH, f"0 {noun}", note, ())
    return Row(label, f"{sum(days) / len(days):.1f} 天", f"{len(days)} {noun}",
               note or f"平均用时，最长 {max(days):.1f} 天", _ids(measured))


def sum_last(events: list[Event], name: str, flt: dict[str, Any]) -> dict[int, Decimal]:
    """Per case, the last numeric value its matching events recorded for field `name`."""
    last: dict[int, Decimal] = {}
    for e in events:
        if matches(e, {**flt, "field": name}):
            try:
                last[e.case] = Decimal(str(recorded(e, name)))
            except InvalidOperation:
                continue
    return last


def _sum(spec: dict[str, Any], events: list[Event], label: str, note: str) -> tuple[Decimal, Row]:
    last = sum_last(events, spec["field"], spec.get("event", {"action": "complete"}))
    total = sum(last.values(), Decimal(0))
    unit = f" {spec['unit']}" if spec.get("unit") else ""
    return total, Row(label, f"{total:,.2f}{unit}", f"{len(last)} {spec.get('noun', '件')}", note, _ids(last))


def _ratio(num: Decimal, den: Decimal, label: str, note: str) -> Row:
    value = f"{float(num / den) * 100:.1f}%" if den else DASH
    return Row(label, value, f"{num:,.2f}/{den:,.2f}", note)


def stage_times(tasks: list[TaskSpan], order: list[str] | tuple[str, ...] = ()) -> list[StageTime]:
    """Per step, over the cases that did it: the time its tasks stood open (their union, in days)."""
    spans: dict[str, dict[int, list[tuple[datetime, datetime]]]] = defaultdict(lambda: defaultdict(list))
    names: dict[str, str] = {}
    for t in tasks:
        if t.closed is not None:  # done (a cancelled task stood open until it was cancelled)
            spans[t.step][t.case].append((t.opened, t.closed))
            names[t.step] = t.step_name
    steps = [s for s in order if s in spans] + sorted(set(spans) - set(order))
    out = []
    for step in steps:
        days = [_open_days(intervals) for intervals in spans[step].values()]
        out.append(StageTime(step, names[step], len(days), sum(days) / len(days), max(days),
                             tuple(sorted(spans[step]))))
    return out


def _stage_rows(spec: dict[str, Any], tasks: list[TaskSpan]) -> list[Row]:
    template, noun = spec.get("label") or "环节用时：{step}", spec.get("noun", "件")
    return [Row(template.replace("{step}", s.step_name), f"{s.avg_days:.1f} 天", f"{s.cases} {noun}",
                spec.get("note") or f"平均用时，最长 {s.max_days:.1f} 天", s.case_ids)
            for s in stage_times(tasks, spec.get("steps", ()))]


def _open_days(intervals: list[tuple[datetime, datetime]]) -> float:
    """Length of the union of the intervals, in days."""
    merged: list[list[datetime]] = []
    for start, end in sorted(intervals):
        if merged and start <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], end)
        else:
            merged.append([start, end])
    return sum((end - start).total_seconds() for start, end in merged) / 86400
