"""Indicators of the petition process (domain.md §2.1), computed from the case history, the task
rows and the cases — never typed in. Scope: petitions registered in [since, until) that were
registered at, or routed through, a unit in the subtree of `unit_id` (all by default).

- 及时受理率: the first intake decision made before its deadline ÷ cases decided, plus cases still
  undecided past the deadline at `as_of`.
- 按期办结率: reply served on or before the handling deadline (60 days, or up to 90 with approved
  extensions — the deadline the case carried) ÷ accepted cases replied, plus those still
  unanswered past the deadline at `as_of`.
- 满意率: (满意 + 基本满意) ÷ ratings given, over both stages; per stage (受理, 办理) likewise.
  A rating comes from the caseworker's follow-up or the petitioner's online evaluation.
- 参评率: cases with a rating ÷ cases whose reply was served.
- 一次性化解率: closed cases (replied, 办结/终结) with no 复查 request and no repeat petition on the
  same matter by `resolution_days` after closing ÷ such closed cases; only cases closed at least
  `resolution_days` before `as_of` count (younger ones cannot be judged yet).
- 重复信访: cases that name an earlier case (repeat_of) or repeat an earlier case's matter (same
  ID number and category).
- 复查率: 复查 requests ÷ replies served; 复核率: 复核 requests ÷ 复查 answers served.
- 督办按期反馈率: 督办单 answered before their deadline ÷ those answered, plus those unanswered
  past it at `as_of` (a 督办单 cancelled before its deadline, e.g. the case ended, is left out).

Plain SQLAlchemy over one session: usable from the web app, a CLI export or a test.
"""
from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.access import case_unit_ids
from engine.calendar import BusinessCalendar, days_late, is_overdue
from engine.casefile import fold_facts
from engine.models import (HistoryEvent, HumanTask, InstanceStatus, OrgUnit, ProcessInstance, SupervisionOrder,
                           TaskStatus)
from engine.verbs.supervision import counts

KEY = "petition"
DEFAULT_RESOLUTION_DAYS = 90
SATISFIED = ("满意", "基本满意")
STAGES = {"受理": "intake_satisfaction", "办理": "handling_satisfaction"}


@dataclass(frozen=True)
class Rate:
    numerator: int
    denominator: int
    # the case of each item counted: in the numerator (`hits`) and in the denominator (`of`)
    hits: tuple[int, ...] = field(default=(), compare=False, repr=False)
    of: tuple[int, ...] = field(default=(), compare=False, repr=False)

    @property
    def value(self) -> float | None:
        return self.numerator / self.denominator if self.denominator else None


@dataclass(frozen=True)
class Indicators:
    cases: int
    timely_intake: Rate
    on_time_handling: Rate
    satisfaction: Rate
    satisfaction_by_stage: dict[str, Rate]
    participation: Rate
    one_time_resolution: Rate
    repeat_petitions: int
    first_review_rate: Rate
    second_review_rate: Rate
    supervision_on_time: Rate
    case_ids: tuple[int, ...] = field(default=(), compare=False, repr=False)    # the cases counted
    repeat_ids: tuple[int, ...] = field(default=(), compare=False, repr=False)  # the repeat petitions


@dataclass
class _Case:
    row: Any
    facts: dict[str, Any] = field(default_factory=dict)
    ratings: dict[str, str] = field(default_factory=dict)
    tasks: list[Any] = field(default_factory=list)


def compute(session: Session, *, since: datetime | None = None, until: datetime | None = None,
            unit_id: int | None = None, as_of: datetime | None = None,
            resolution_days: int = DEFAULT_RESOLUTION_DAYS) -> Indicators:
    """The indicators over the petitions in scope, as they stand at `as_of` (default: now)."""
    now = as_of or datetime.now(timezone.utc)
    cases = _load(session, _scope(session, since, until, unit_id))
    replied = [c for c in cases.values() if c.facts.get("served_on")]
    first_answered = [c for c in cases.values() if c.facts.get("first_review_served_on")]
    rated = [c for c in replied if c.ratings]
    ratings = [(c.row.id, stage, value) for c in rated for stage, value in c.ratings.items()]
    repeats = _repeats(session, cases.values())
    return Indicators(
        cases=len(cases),
        timely_intake=_timely_intake(cases.values(), now),
        on_time_handling=_on_time_handling(cases.values(), now),
        satisfaction=_rate([i for i, _s, v in ratings if v in SATISFIED], [i for i, _s, _v in ratings]),
        satisfaction_by_stage={stage: _rate([i for i, s, v in ratings if s == stage and v in SATISFIED],
                                            [i for i, s, _v in ratings if s == stage]) for stage in STAGES},
        participation=_rate([c.row.id for c in rated], [c.row.id for c in replied]),
        one_time_resolution=_one_time(session, cases.values(), now, resolution_days),
        repeat_petitions=len(repeats),
        first_review_rate=_rate([c.row.id for c in replied if c.facts.get("first_review_requested_on")],
                                [c.row.id for c in replied]),
        second_review_rate=_rate([c.row.id for c in first_answered
                                  if c.facts.get("second_review_requested_on")],
                                 [c.row.id for c in first_answered]),
        supervision_on_time=_supervision(session, cases, now),
        case_ids=tuple(sorted(cases)), repeat_ids=tuple(sorted(repeats)))


def _rate(hits: list[int], of: list[int]) -> Rate:
    return Rate(len(hits), len(of), tuple(sorted(hits)), tuple(sorted(of)))


def _scope(session: Session, since: datetime | None, until: datetime | None,
           unit_id: int | None) -> list[Any]:
    stmt = select(ProcessInstance.id, ProcessInstance.case_no, ProcessInstance.status,
                  ProcessInstance.created_at, ProcessInstance.closed_at, ProcessInstance.org_unit_id,
                  ProcessInstance.unit_ids, ProcessInstance.subject_id_no).where(
        ProcessInstance.process_key == KEY)
    if since is not None:
        stmt = stmt.where(ProcessInstance.created_at >= since)
    if until is not None:
        stmt = stmt.where(ProcessInstance.created_at < until)
    rows = session.execute(stmt).all()
    if unit_id is None:
        return list(rows)
    subtree = set(session.scalars(select(OrgUnit.id).where(OrgUnit.path.like(f"%/{int(unit_id)}/%"))))
    return [r for r in rows if subtree & ({r.org_unit_id} | set(case_unit_ids(r)))]  # type: ignore[arg-type]


def _load(session: Session, rows: list[Any]) -> dict[int, _Case]:
    cases = {r.id: _Case(r) for r in rows}
    ids = list(cases)
    by_case: dict[int, list[HistoryEvent]] = defaultdict(list)
    for e in session.scalars(select(HistoryEvent).where(HistoryEvent.instance_id.in_(ids))
                             .order_by(HistoryEvent.instance_id, HistoryEvent.seq)):
        by_case[e.instance_id].append(e)
    for case_id, events in by_case.items():
        cases[case_id].facts = fold_facts(events)
        cases[case_id].ratings = _ratings(events)
    for t in session.scalars(select(HumanTask).where(HumanTask.instance_id.in_(ids)).order_by(HumanTask.id)):
        cases[t.instance_id].tasks.append(t)
    return cases


def _ratings(events: list[HistoryEvent]) -> dict[str, str]:
    """Stage -> rating, from the follow-up task or the petitioner's online evaluation."""
    out: dict[str, str] = {}
    for e in events:
        if (e.action, e.step_id) not in (("complete", "evaluate"), ("message", "petitioner_evaluation")):
            continue
        after = {k: v[1] for k, v in (e.data or {}).items() if isinstance(v, list) and len(v) == 2}
        if after.get("evaluated") is False:
            continue
        for stage, key in STAGES.items():
            if after.get(key):
                out[stage] = str(after[key])
    return out


def _timely_intake(cases: Any, now: datetime) -> Rate:
    timely: list[int] = []
    counted: list[int] = []
    for c in cases:
        intakes = [t for t in c.tasks if t.step_id == "intake"]
        if not intakes:
            continue
        done = [t for t in intakes if t.status == TaskStatus.completed]
        first = done[0] if done else None
        if first is not None:
            counted.append(c.row.id)
            if first.due_at is None or not is_overdue(first.completed_at, first.due_at):
                timely.append(c.row.id)
        elif any(t.due_at is not None and is_overdue(now, t.due_at) for t in intakes):
            counted.append(c.row.id)
    return _rate(timely, counted)


def _on_time_handling(cases: Any, now: datetime) -> Rate:
    on_time: list[int] = []
    counted: list[int] = []
    for c in cases:
        f = c.facts
        if (not f.get("handling_due_on") or f.get("intake_outcome") not in ("受理", "交办")
                or f.get("opinion_matter") is False):  # 建议/检举: no 意见书, no 60-day clock
            continue
        due = date.fromisoformat(str(f["handling_due_on"]))
        if f.get("served_on"):
            counted.append(c.row.id)
            if days_late(date.fromisoformat(str(f["served_on"])), due) == 0:
                on_time.append(c.row.id)
        elif c.row.status == InstanceStatus.running and is_overdue(now, BusinessCalendar.deadline_end(due)):
            counted.append(c.row.id)
    return _rate(on_time, counted)


def _one_time(session: Session, cases: Any, now: datetime, days: int) -> Rate:
    window = timedelta(days=days)
    closed = [c for c in cases if c.row.status == InstanceStatus.completed and c.facts.get("served_on")
              and c.row.closed_at is not None and c.row.closed_at + window <= now]
    later = _same_matter_cases(session, closed)
    resolved = []
    for c in closed:
        repeated = any(o.created_at > c.row.created_at and o.created_at <= c.row.closed_at + window
                       for o in later.get(c.row.id, []))
        if not c.facts.get("first_review_requested_on") and not repeated:
            resolved.append(c.row.id)
    return _rate(resolved, [c.row.id for c in closed])


def _same_matter_cases(session: Session, cases: list[_Case]) -> dict[int, list[Any]]:
    """Per case, the other petitions that name it (repeat_of) or have its ID number and category."""
    if not cases:
        return {}
    subjects = {c.row.subject_id_no for c in cases if c.row.subject_id_no}
    others = _petitions_of(session, subjects) if subjects else []
    linked = _petitions_repeating(session, {c.row.case_no for c in cases},
                                  min(c.row.created_at for c in cases))
    out: dict[int, list[Any]] = defaultdict(list)
    for c in cases:
        for o in {*others, *linked}:
            if o.id == c.row.id:
                continue
            same = (o.subject_id_no == c.row.subject_id_no and o.category == c.facts.get("category"))
            if same or o.repeat_of == c.row.case_no:
                out[c.row.id].append(o)
    return out


@dataclass(frozen=True)
class _Petition:
    id: int
    case_no: str
    subject_id_no: str | None
    created_at: datetime
    category: str | None
    repeat_of: str | None


def _petitions(session: Session, where: Any) -> list[_Petition]:
    rows = session.execute(select(ProcessInstance.id, ProcessInstance.case_no, ProcessInstance.subject_id_no,
                                  ProcessInstance.created_at, HistoryEvent.data)
                           .join(HistoryEvent, HistoryEvent.instance_id == ProcessInstance.id)
                           .where(ProcessInstance.process_key == KEY, HistoryEvent.action == "start", where)).all()
    return [_Petition(r.id, r.case_no, r.subject_id_no, r.created_at, _after(r.data, "category"),
                      _after(r.data, "repeat_of")) for r in rows]


def _petitions_of(session: Session, subjects: set[str | None]) -> list[_Petition]:
    return _petitions(session, ProcessInstance.subject_id_no.in_(subjects))


def _petitions_repeating(session: Session, numbers: set[str], since: datetime) -> list[_Petition]:
    """Petitions registered from `since` on that name one of `numbers` as repeat_of."""
    return [p for p in _petitions(session, ProcessInstance.created_at >= since) if p.repeat_of in numbers]


def _after(data: dict[str, Any] | None, key: str) -> Any:
    value = (data or {}).get(key)
    return value[1] if isinstance(value, list) and len(value) == 2 else None


def _repeats(session: Session, cases: Any) -> list[int]:
    """The cases that repeat an earlier petition."""
    mine = list(cases)
    subjects = {c.row.subject_id_no for c in mine if c.row.subject_id_no}
    earlier = _petitions_of(session, subjects) if subjects else []
    found = []
    for c in mine:
        same = any(o.id != c.row.id and o.created_at < c.row.created_at
                   and o.subject_id_no == c.row.subject_id_no and o.category == c.facts.get("category")
                   for o in earlier)
        if c.facts.get("repeat_of") or same:
            found.append(c.row.id)
    return found


def _supervision(session: Session, cases: dict[int, _Case], now: datetime) -> Rate:
    """督办按期反馈率 from the engine's supervision orders (engine.verbs.supervision.counts): an
    answered order counts, on time or late; an unanswered one once its deadline passed while its
    case was open."""
    on_time: list[int] = []
    counted: list[int] = []
    for order in session.scalars(select(SupervisionOrder).where(SupervisionOrder.instance_id.in_(list(cases)))
                                 .order_by(SupervisionOrder.id)):
        due, ok = counts(order, now, cases[order.instance_id].row.closed_at)
        if due:
            counted.append(order.instance_id)
            if ok:
                on_time.append(order.instance_id)
    return _rate(on_time, counted)
