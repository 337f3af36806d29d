"""Read models for the web pages: case lists, counts, the case file, the task page, legal clocks.

Reads only (one read session each). Every function that returns one case's content checks
`engine.access` first and raises NotFound when the user may not see it. Nothing here
deserializes a workflow: case facts are folded from the history, tasks come from `human_task`.
"""
from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import and_, func, or_, select
from sqlalchemy.orm import Session, defer
from sqlalchemy.sql.elements import ColumnElement

from engine.access import case_unit_ids, visible_case, visible_task
from engine.calendar import to_local_date
from engine.env import Env
from engine.forms import load_form
from engine.history import ACTION_LABELS
from engine.inbox import inbox_count
from engine.models import (Attachment, CaseCopy, HistoryEvent, HumanTask, InstanceStatus, OrgUnit,
                           ProcessInstance, Role, RoleGrant, TaskStatus, User)
from engine.orgs import user_grants
from engine.runtime import can_act
from engine.stepper import OPEN_STATUSES

STATUS_LABELS = {InstanceStatus.running: "办理中", InstanceStatus.suspended: "已挂起",
                 InstanceStatus.error: "运行出错", InstanceStatus.completed: "已办结",
                 InstanceStatus.cancelled: "已撤销", InstanceStatus.terminated: "已终止"}
TASK_STATUS_LABELS = {TaskStatus.open: "待认领", TaskStatus.claimed: "已认领",
                      TaskStatus.completed: "已完成", TaskStatus.cancelled: "已取消"}
FACT_ACTIONS = ("start", "complete", "message", "retry")


# ----------------------------------------------------------------------------- due dates

@dataclass(frozen=True)
class Due:
    """A deadline as users read it: the last day, days left, and a colour state."""
    due_at: datetime
    day: date          # the deadline day (due_at is the instant after it ends)
    days_left: int     # 0 = due today, negative = overdue by that many days
    state: str         # "ok" | "soon" | "overdue"
    provisional: bool


def due_info(due_at: datetime | None, now: datetime, soon_days: int,
             provisional: bool = False) -> Due | None:
    if due_at is None:
        return None
    day = to_local_date(due_at - timedelta(microseconds=1))
    days_left = (day - to_local_date(now)).days
    state = "overdue" if now >= due_at else ("soon" if days_left <= soon_days else "ok")
    return Due(due_at, day, days_left, state, provisional)


# ----------------------------------------------------------------------------- case lists

@dataclass(frozen=True)
class CaseFilter:
    process_key: str | None = None
    status: InstanceStatus | None = None
    due_before: datetime | None = None   # has an open task due by then
    search: str | None = None            # case number, petitioner name or ID number


@dataclass(frozen=True)
class CaseRow:
    instance: ProcessInstance
    current_steps: list[str]
    due_at: datetime | None
    due_provisional: bool
    copy: CaseCopy | None = None
    copied_by: str | None = None


@dataclass(frozen=True)
class CasePage:
    items: list[CaseRow]
    total: int
    page: int
    per_page: int

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.per_page))


def _case_filter(stmt: Any, f: CaseFilter) -> Any:
    if f.process_key:
        stmt = stmt.where(ProcessInstance.process_key == f.process_key)
    if f.status:
        stmt = stmt.where(ProcessInstance.status == f.status)
    if f.due_before:
        due = select(HumanTask.instance_id).where(HumanTask.status.in_(OPEN_STATUSES),
                                                  HumanTask.due_at <= f.due_before)
        stmt = stmt.where(ProcessInstance.id.in_(due))
    if f.search and f.search.strip():
        term = f.search.strip()
        stmt = stmt.where(or_(ProcessInstance.case_no == term, ProcessInstance.subject_name == term,
                              ProcessInstance.subject_id_no == term.upper()))
    return stmt


def _open_tasks_by_case(session: Session, ids: list[int]) -> dict[int, list[HumanTask]]:
    out: dict[int, list[HumanTask]] = defaultdict(list)
    if ids:
        for row in session.scalars(select(HumanTask).where(
                HumanTask.instance_id.in_(ids), HumanTask.status.in_(OPEN_STATUSES))
                .order_by(HumanTask.id)):
            out[row.instance_id].append(row)
    return out


def _case_row(instance: ProcessInstance, rows: list[HumanTask], **extra: Any) -> CaseRow:
    dues = sorted((r for r in rows if r.due_at is not None), key=lambda r: r.due_at)  # type: ignore[arg-type,return-value]
    first = dues[0] if dues else None
    return CaseRow(instance, [r.step_name for r in rows], first.due_at if first else None,
                   bool(first and first.due_provisional), **extra)


def started_cases(env: Env, user_id: int, f: CaseFilter = CaseFilter(), page: int = 1,
                  per_page: int = 20) -> CasePage:
    """我发起的: cases this user started, newest first."""
    with env.db.read() as session:
        base = _case_filter(select(ProcessInstance).where(ProcessInstance.initiator_id == user_id), f)
        total = session.scalar(select(func.count()).select_from(base.subquery())) or 0
        cases = session.scalars(base.options(defer(ProcessInstance.state))
                                .order_by(ProcessInstance.created_at.desc(), ProcessInstance.id.desc())
                                .limit(per_page).offset((page - 1) * per_page)).all()
        tasks = _open_tasks_by_case(session, [c.id for c in cases])
        return CasePage([_case_row(c, tasks[c.id]) for c in cases], total, page, per_page)


def copied_cases(env: Env, user_id: int, f: CaseFilter = CaseFilter(), page: int = 1,
                 per_page: int = 20) -> CasePage:
    """抄送我的: cases copied to this user, newest copy first, with read marks."""
    with env.db.read() as session:
        base = _case_filter(select(ProcessInstance, CaseCopy, User.full_name)
                            .join(CaseCopy, CaseCopy.instance_id == ProcessInstance.id)
                            .join(User, User.id == CaseCopy.by_id)
                            .where(CaseCopy.user_id == user_id), f)
        total = session.scalar(select(func.count()).select_from(base.subquery())) or 0
        rows = session.execute(base.options(defer(ProcessInstance.state))
                               .order_by(CaseCopy.at.desc(), CaseCopy.id.desc())
                               .limit(per_page).offset((page - 1) * per_page)).all()
        tasks = _open_tasks_by_case(session, [r[0].id for r in rows])
        items = [_case_row(c, tasks[c.id], copy=cc, copied_by=by) for c, cc, by in rows]
        return CasePage(items, total, page, per_page)


@dataclass(frozen=True)
class ListCounts:
    todo: int
    done: int
    started: int
    copied: int
    copied_unread: int


def list_counts(env: Env, user_id: int) -> ListCounts:
    """The numbers on the four tabs of the home page."""
    with env.db.read() as session:
        done = session.scalar(select(func.count()).select_from(HumanTask).where(
            HumanTask.completed_by_id == user_id, HumanTask.status == TaskStatus.completed)) or 0
        started = session.scalar(select(func.count()).select_from(ProcessInstance)
                                 .where(ProcessInstance.initiator_id == user_id)) or 0
        copied = session.scalar(select(func.count()).select_from(CaseCopy)
                                .where(CaseCopy.user_id == user_id)) or 0
        unread = session.scalar(select(func.count()).select_from(CaseCopy).where(
            CaseCopy.user_id == user_id, CaseCopy.read_at.is_(None))) or 0
    return ListCounts(inbox_count(env, user_id), done, started, copied, unread)


def actionable(user_id: int, grants: list[tuple[Role, int]],
               roles: frozenset[Role] = frozenset({Role.caseworker, Role.reviewer, Role.leader})
               ) -> ColumnElement[bool]:
    """Tasks the user may act on: claimed by them, or open for a role they hold at its unit."""
    pool = [and_(HumanTask.role == r, HumanTask.org_unit_id == u) for r, u in grants if r in roles]
    mine = and_(HumanTask.status == TaskStatus.claimed, HumanTask.assignee_id == user_id,
                HumanTask.role.in_(roles))
    return or_(mine, and_(HumanTask.status == TaskStatus.open, or_(*pool))) if pool else mine


# ----------------------------------------------------------------------------- history folding

@dataclass(frozen=True)
class Change:
    field: str
    label: str
    before: Any
    after: Any


@dataclass(frozen=True)
class TimelineEntry:
    event: HistoryEvent
    label: str
    unit_name: str | None
    changes: list[Change]
    details: dict[str, Any]
    decision: Any = None


@dataclass
class FormCatalog:
    """Field titles and decision fields of every form of a process, read from its forms dir."""
    titles: dict[str, str] = field(default_factory=dict)
    decisions: dict[str, str] = field(default_factory=dict)  # step id -> its actions field
    start_fields: list[str] = field(default_factory=list)


def form_catalog(forms_dir: Path) -> FormCatalog:
    catalog = FormCatalog()
    if not forms_dir.is_dir():
        return catalog
    for path in sorted(forms_dir.glob("*.json"), key=lambda p: (p.stem != "start", p.stem)):
        schema = load_form(forms_dir, path.stem) or {}
        for name, prop in schema.get("properties", {}).items():
            catalog.titles.setdefault(name, str(prop.get("title", name)))
            if prop.get("x-widget") == "actions":
                catalog.decisions[path.stem] = name
        if path.stem == "start":
            catalog.start_fields = list(schema.get("properties", {}))
    return catalog


def _pairs(data: dict[str, Any]) -> dict[str, list[Any]]:
    return {k: v for k, v in (data or {}).items() if isinstance(v, list) and len(v) == 2}


def fold_facts(events: list[HistoryEvent]) -> dict[str, Any]:
    """The current value of every form field, replayed from the history's before→after pairs."""
    facts: dict[str, Any] = {}
    for event in events:
        if event.action in FACT_ACTIONS:
            facts.update({k: after for k, (_before, after) in _pairs(event.data).items()})
    return facts


def _timeline_entry(event: HistoryEvent, catalog: FormCatalog,
                    units: dict[int, str]) -> TimelineEntry:
    pairs = _pairs(event.data) if event.action in FACT_ACTIONS else {}
    changes = [Change(k, catalog.titles.get(k, k), b, a) for k, (b, a) in pairs.items()]
    details = {k: v for k, v in (event.data or {}).items() if k not in pairs}
    decision_field = catalog.decisions.get(event.step_id or "")
    decision = pairs.get(decision_field, [None, None])[1] if decision_field else None
    return TimelineEntry(event, ACTION_LABELS.get(event.action, event.action),
                         units.get(event.org_unit_id or 0), changes, details, decision)


def _unit_names(session: Session, ids: set[int]) -> dict[int, str]:
    if not ids:
        return {}
    return dict(session.execute(select(OrgUnit.id, OrgUnit.name).where(OrgUnit.id.in_(ids))).tuples())


def _user_name(session: Session, user_id: int | None) -> str | None:
    return session.scalar(select(User.full_name).where(User.id == user_id)) if user_id else None


def _events(session: Session, instance_ids: list[int]) -> dict[int, list[HistoryEvent]]:
    out: dict[int, list[HistoryEvent]] = defaultdict(list)
    if instance_ids:
        for e in session.scalars(select(HistoryEvent).where(HistoryEvent.instance_id.in_(instance_ids))
                                 .order_by(HistoryEvent.instance_id, HistoryEvent.seq)):
            out[e.instance_id].append(e)
    return out


# ----------------------------------------------------------------------------- legal clocks

@dataclass(frozen=True)
class LegalClock:
    step_id: str
    step_name: str
    due: Due
    state: str          # "running" | "overdue" | "met" | "missed" | "stopped"
    finished_at: datetime | None


CLOCK_LABELS = {"running": "计时中", "overdue": "已超期", "met": "按期完成", "missed": "超期完成",
                "stopped": "已停止"}


def legal_clocks(rows: list[HumanTask], now: datetime, soon_days: int) -> list[LegalClock]:
    """One clock per (step, deadline) of the case's task rows: running, met or missed."""
    latest: dict[tuple[str, datetime], HumanTask] = {}
    for row in sorted(rows, key=lambda r: r.id):
        if row.due_at is not None:
            latest[(row.step_id, row.due_at)] = row
    clocks = []
    for row in latest.values():
        due = due_info(row.due_at, now, soon_days, row.due_provisional)
        assert due is not None
        clocks.append(LegalClock(row.step_id, row.step_name, due, _clock_state(row, now),
                                 row.completed_at))
    return sorted(clocks, key=lambda c: c.due.due_at)


def _clock_state(row: HumanTask, now: datetime) -> str:
    assert row.due_at is not None
    if row.status in OPEN_STATUSES:
        return "overdue" if now >= row.due_at else "running"
    finished = row.completed_at or now
    if row.status == TaskStatus.completed:
        return "met" if finished <= row.due_at else "missed"
    return "missed" if finished >= row.due_at else "stopped"


# ----------------------------------------------------------------------------- case file

@dataclass(frozen=True)
class Fact:
    field: str
    label: str
    value: Any


@dataclass(frozen=True)
class CaseFile:
    """Everything the case page shows."""
    instance: ProcessInstance
    process_name: str
    status_label: str
    unit_name: str
    routed_units: list[str]
    initiator_name: str | None
    facts: list[Fact]
    open_tasks: list[HumanTask]
    clocks: list[LegalClock]
    timeline: list[TimelineEntry]
    attachments: list[Attachment]
    copy: CaseCopy | None
    completed_steps: set[str]
    current_steps: set[str]


def _process_name(env: Env, key: str) -> str:
    try:
        return env.process(key).name
    except KeyError:
        return key


def _catalog(env: Env, key: str) -> FormCatalog:
    try:
        return form_catalog(env.process(key).forms_dir)
    except KeyError:
        return FormCatalog()


def _facts(catalog: FormCatalog, values: dict[str, Any]) -> list[Fact]:
    names = catalog.start_fields or list(values)
    return [Fact(n, catalog.titles.get(n, n), values[n]) for n in names
            if values.get(n) not in (None, "", [])]


def case_file(env: Env, user_id: int, instance_id: int, soon_days: int = 3) -> CaseFile:
    with env.db.read() as session:
        instance = visible_case(session, user_id, instance_id)
        events = _events(session, [instance.id])[instance.id]
        rows = list(session.scalars(select(HumanTask).where(HumanTask.instance_id == instance.id)
                                    .order_by(HumanTask.id)))
        units = _unit_names(session, set(case_unit_ids(instance)) | {instance.org_unit_id}
                            | {e.org_unit_id for e in events if e.org_unit_id})
        catalog = _catalog(env, instance.process_key)
        open_rows = [r for r in rows if r.status in OPEN_STATUSES]
        return CaseFile(
            instance=instance, process_name=_process_name(env, instance.process_key),
            status_label=STATUS_LABELS.get(instance.status, instance.status.value),
            unit_name=units.get(instance.org_unit_id, ""),
            routed_units=[units[u] for u in case_unit_ids(instance) if u in units],
            initiator_name=_user_name(session, instance.initiator_id),
            facts=_facts(catalog, fold_facts(events)), open_tasks=open_rows,
            clocks=legal_clocks(rows, env.clock.now(), soon_days),
            timeline=[_timeline_entry(e, catalog, units) for e in events],
            attachments=_attachments(session, instance.id),
            copy=session.scalar(select(CaseCopy).where(CaseCopy.instance_id == instance.id,
                                                       CaseCopy.user_id == user_id)),
            completed_steps={e.step_id for e in events if e.action == "complete" and e.step_id},
            current_steps={r.step_id for r in open_rows})


def _attachments(session: Session, instance_id: int) -> list[Attachment]:
    return list(session.scalars(select(Attachment).where(Attachment.instance_id == instance_id)
                                .order_by(Attachment.id)))


@dataclass(frozen=True)
class DiagramInput:
    bpmn: bytes
    process_id: str
    completed: set[str]
    current: set[str]


def diagram_input(env: Env, case: CaseFile) -> DiagramInput:
    """What webapp.diagram.render_svg needs: the main BPMN file and the step ids to highlight."""
    with env.db.read() as session:
        parsed = env.specs.get(session, case.instance.definition_id)
    completed = set(case.completed_steps) | _event_ids(parsed.spec, "StartEvent")
    if case.instance.status == InstanceStatus.completed:
        ends = _event_ids(parsed.spec, "EndEvent")
        completed |= ends if len(ends) == 1 else set()
    return DiagramInput(parsed.main_bpmn(), case.instance.process_key, completed,
                        set(case.current_steps))


def _event_ids(spec: Any, class_name: str) -> set[str]:
    return {ts.bpmn_id for ts in spec.task_specs.values()
            if type(ts).__name__ == class_name and getattr(ts, "bpmn_id", None)}


# ----------------------------------------------------------------------------- task page

@dataclass(frozen=True)
class Opinion:
    step_name: str | None
    actor_name: str
    at: datetime
    text: str
    decision: Any


@dataclass(frozen=True)
class TaskPage:
    task: HumanTask
    instance: ProcessInstance
    process_name: str
    unit_name: str
    assignee_name: str | None
    schema: dict[str, Any] | None
    values: dict[str, Any]      # current case values of the form's fields (prefill)
    facts: list[Fact]
    opinions: list[Opinion]
    attachments: list[Attachment]
    can_act: bool


def _opinions(timeline: list[TimelineEntry]) -> list[Opinion]:
    return [Opinion(t.event.step_name, t.event.actor_name, t.event.at, t.event.opinion, t.decision)
            for t in timeline if t.event.action == "complete" and (t.event.opinion or t.decision)]


def _task_page(env: Env, session: Session, user_id: int, row: HumanTask,
               instance: ProcessInstance, events: list[HistoryEvent]) -> TaskPage:
    config = env.process(instance.process_key)
    catalog = form_catalog(config.forms_dir)
    schema = load_form(config.forms_dir, row.step_id)
    values = fold_facts(events)
    props = (schema or {}).get("properties", {})
    prefill = {k: values[k] for k in props if k in values and k != catalog.decisions.get(row.step_id)}
    units = _unit_names(session, {row.org_unit_id})
    timeline = [_timeline_entry(e, catalog, {}) for e in events]
    return TaskPage(row, instance, config.name, units.get(row.org_unit_id, ""),
                    _user_name(session, row.assignee_id), schema, prefill,
                    _facts(catalog, values), _opinions(timeline),
                    [a for a in _attachments(session, instance.id)],
                    can_act(session, user_id, row))


def task_page(env: Env, user_id: int, task_id: int) -> TaskPage:
    """The task with its case facts, earlier opinions, form schema and what the user may do."""
    with env.db.read() as session:
        row = visible_task(session, user_id, task_id)
        instance = session.get(ProcessInstance, row.instance_id)
        assert instance is not None
        return _task_page(env, session, user_id, row, instance, _events(session, [instance.id])[instance.id])


def leader_queue(env: Env, user_id: int, limit: int = 50) -> list[TaskPage]:
    """领导审批: leader tasks the user may act on now, each with key facts and earlier opinions."""
    with env.db.read() as session:
        cond = actionable(user_id, user_grants(session, user_id), frozenset({Role.leader}))
        rows = session.scalars(select(HumanTask).where(cond).order_by(
            HumanTask.due_at.is_(None), HumanTask.due_at, HumanTask.id).limit(limit)).all()
        ids = sorted({r.instance_id for r in rows})
        cases = {c.id: c for c in session.scalars(select(ProcessInstance).options(
            defer(ProcessInstance.state)).where(ProcessInstance.id.in_(ids)))}
        events = _events(session, ids)
        return [_task_page(env, session, user_id, r, cases[r.instance_id], events[r.instance_id])
                for r in rows]


# ----------------------------------------------------------------------------- pickers

def unit_choices(env: Env, levels: list[str] | None = None) -> list[tuple[int, str, int]]:
    """(id, name, depth) of the active org units in tree order, for the "unit" form widget."""
    with env.db.read() as session:
        stmt = select(OrgUnit).where(OrgUnit.active.is_(True))
        if levels:
            stmt = stmt.where(OrgUnit.level.in_(levels))
        units = session.scalars(stmt).all()
        key = {u.id: [int(p) for p in u.path.strip("/").split("/") if p] for u in units}
        return [(u.id, u.name, len(key[u.id]) - 1) for u in sorted(units, key=lambda u: key[u.id])]


def user_choices(env: Env, exclude_id: int | None = None) -> list[tuple[int, str, str]]:
    """(id, full name, first unit name) of active users, for the 抄送 picker."""
    with env.db.read() as session:
        rows = session.execute(select(User.id, User.full_name, func.min(OrgUnit.name))
                               .outerjoin(RoleGrant, RoleGrant.user_id == User.id)
                               .outerjoin(OrgUnit, OrgUnit.id == RoleGrant.org_unit_id)
                               .where(User.active.is_(True))
                               .group_by(User.id, User.full_name).order_by(User.id)).all()
        return [(r[0], r[1], r[2] or "") for r in rows if r[0] != exclude_id]
