"""Read models of one case: the case file (facts, clocks, timeline, attachments, diagram input),
the task page and the leader's approval queue.

Every function checks `engine.access` first and raises NotFound when the user may not see the
case. Facts are folded from the history's before→after pairs, tasks come from `human_task`; a
workflow is deserialized only where a page needs live data (engine.casedata): the messages a
case waits for, for a user who may register one, and a task form listing options from its data.
"""
from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, aliased, defer

from engine.access import HIDDEN_TASK, case_unit_ids, visible_case, visible_task
from engine.readable import is_internal, label_of
from engine.casedata import Options, field_options, lists_options, task_data
from engine.env import Env
from engine.errors import NotFound
from engine.forms import OPINION_HINT, load_form
from engine.history import ACTION_LABELS
from engine.ledger import handles, mask_id, mask_phone, user_scope
from engine.messages import MessageForm, registrable_messages
from engine.models import (Attachment, CaseCopy, HistoryEvent, HumanTask, InstanceStatus, OrgUnit,
                           ProcessInstance, Role, RoleCatalogue, User)
from engine.orgs import user_grants
from engine.queries import STATUS_LABELS, LegalClock, actionable, legal_clocks, process_name
from engine.runtime import can_act, four_eyes_refusal
from engine.stepper import OPEN_STATUSES

FACT_ACTIONS = ("start", "complete", "message", "retry")


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
    files: set[str] = field(default_factory=set)  # fields holding attachment ids
    unit_fields: set[str] = field(default_factory=set)  # fields holding an org unit id
    columns: dict[str, list[tuple[str, str]]] = field(default_factory=dict)  # record lists
    forms: dict[str, dict[str, str]] = field(default_factory=dict)  # form -> its field titles
    opinions: dict[str, str] = field(default_factory=dict)  # step id -> its x-opinion field
    personal: dict[str, str] = field(default_factory=dict)  # 身份证号 / phone fields: "id" or "phone"

    def own_titles(self, event: HistoryEvent) -> dict[str, str]:
        """The field titles of the form an event was recorded with (a step's, a message's)."""
        step = event.step_id or ""
        return self.forms.get(f"message_{step}" if event.action == "message" else step, {})


def form_catalog(forms_dir: Path) -> FormCatalog:
    catalog = FormCatalog()
    if not forms_dir.is_dir():
        return catalog
    for path in sorted(forms_dir.glob("*.json"), key=lambda p: (p.stem != "start", p.stem)):
        schema = load_form(forms_dir, path.stem) or {}
        for name, prop in schema.get("properties", {}).items():
            catalog.titles.setdefault(name, str(prop.get("title", name)))
            catalog.forms.setdefault(path.stem, {})[name] = str(prop.get("title", name))
            if prop.get("x-widget") == "actions":
                catalog.decisions[path.stem] = name
            if prop.get(OPINION_HINT) is True:
                catalog.opinions.setdefault(path.stem, name)
            if prop.get("x-widget") == "file":
                catalog.files.add(name)
            if prop.get("x-widget") == "unit":
                catalog.unit_fields.add(name)
            if prop.get("format") in ("cn-id-number", "cn-mobile"):
                catalog.personal.setdefault(name, "id" if prop["format"] == "cn-id-number" else "phone")
            items = prop.get("items") or {}
            if prop.get("type") == "array" and items.get("type") == "object":
                catalog.columns.setdefault(name, [(k, str(p.get("title", k)))
                                                  for k, p in items.get("properties", {}).items()])
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
                    units: dict[int, str], masked: bool = False) -> TimelineEntry:
    pairs = _pairs(event.data) if event.action in FACT_ACTIONS else {}
    own = catalog.own_titles(event)
    changes = [Change(k, label, *_masked(k, *_named(k, b, a, catalog, units), catalog, masked))
               for k, (b, a) in pairs.items()
               if not is_internal(k) and (label := own.get(k) or label_of(k, catalog.titles))]
    details = {k: v for k, v in (event.data or {}).items() if k not in pairs}
    decision_field = catalog.decisions.get(event.step_id or "")
    decision = pairs.get(decision_field, [None, None])[1] if decision_field else None
    return TimelineEntry(event, ACTION_LABELS.get(event.action, event.action),
                         units.get(event.org_unit_id or 0), changes, details, decision)


def _masked(name: str, before: Any, after: Any, catalog: FormCatalog, masked: bool) -> tuple[Any, Any]:
    """A 身份证号 or phone field's values masked for whoever does not handle the case."""
    kind = catalog.personal.get(name) if masked else None
    if kind is None:
        return before, after
    mask = mask_id if kind == "id" else mask_phone
    return tuple(mask(v) if isinstance(v, str) else v for v in (before, after))  # type: ignore[return-value]


def _named(name: str, before: Any, after: Any, catalog: FormCatalog,
           units: dict[int, str]) -> tuple[Any, Any]:
    """Show an org unit field by the unit's name, not its id."""
    if name not in catalog.unit_fields:
        return before, after
    return (units.get(before, before) if isinstance(before, int) else before,
            units.get(after, after) if isinstance(after, int) else after)


def _unit_values(events: list[HistoryEvent], catalog: FormCatalog) -> set[int]:
    """The org unit ids that unit fields of the history name (to look their names up)."""
    found: set[int] = set()
    for event in events:
        for key, pair in _pairs(event.data).items():
            if key in catalog.unit_fields:
                found.update(v for v in pair if isinstance(v, int))
    return found


def _unit_names(session: Session, ids: set[int]) -> dict[int, str]:
    if not ids:
        return {}
    rows = session.execute(select(OrgUnit.id, OrgUnit.name).where(OrgUnit.id.in_(ids)))
    return {unit_id: name for unit_id, name in rows}


def _user_name(session: Session, user_id: int | None) -> str | None:
    return session.scalar(select(User.full_name).where(User.id == user_id)) if user_id else None


def _events(session: Session, instance_ids: list[int],
            actions: Sequence[str] = ()) -> dict[int, list[HistoryEvent]]:
    """The cases' history in order; given `actions`, only events of those actions."""
    out: dict[int, list[HistoryEvent]] = defaultdict(list)
    if instance_ids:
        stmt = select(HistoryEvent).where(HistoryEvent.instance_id.in_(instance_ids))
        if actions:
            stmt = stmt.where(HistoryEvent.action.in_(actions))
        for e in session.scalars(stmt.order_by(HistoryEvent.instance_id, HistoryEvent.seq)):
            out[e.instance_id].append(e)
    return out


# ----------------------------------------------------------------------------- case file

@dataclass(frozen=True)
class Fact:
    field: str
    label: str
    value: Any
    columns: list[tuple[str, str]] = field(default_factory=list)  # a list of records: its table
    files: list[tuple[int, str]] = field(default_factory=list)    # attachment ids: (id, name)


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
    messages: list[MessageForm] = field(default_factory=list)  # what the user may register now
    returns: list[tuple[str, str]] = field(default_factory=list)  # 退回: (from step, to step), oldest first


def process_catalog(env: Env, key: str) -> FormCatalog:
    """The process's form catalog, its own labels of hook-set keys added as titles."""
    try:
        config = env.process(key)
    except KeyError:
        return FormCatalog()
    catalog = form_catalog(config.forms_dir)
    for name, label in config.field_labels.items():
        catalog.titles.setdefault(name, label)
    return catalog


def _facts(catalog: FormCatalog, values: dict[str, Any],
           attachments: Sequence[Attachment] = (), masked: bool = False) -> list[Fact]:
    """The case's registered facts; `masked`: 身份证号 and phone as 3206**********0016 and
    139****5678 (for whoever does not handle the case, the ledger's rule: engine.ledger)."""
    names = catalog.start_fields or list(values)
    files = {a.id: a.filename for a in attachments}
    if masked:
        values = {k: (mask_id if catalog.personal[k] == "id" else mask_phone)(str(v))
                  if k in catalog.personal and isinstance(v, str) else v for k, v in values.items()}
    return [_fact(catalog, n, values[n], files) for n in names
            if values.get(n) not in (None, "", [])]


def sees_personal_data(session: Session, user_id: int, instance: ProcessInstance) -> bool:
    """Whether the user sees the case's 身份证号 and phone in full: its initiator, and caseworkers
    of a unit the case was registered at or routed to (engine.ledger.handles); reviewers,
    leaders, auditors and readers of a copy see them masked, on the case page and in print."""
    return handles(user_scope(session, user_id), instance.initiator_id, instance.unit_ids,
                   instance.org_unit_id)


def _fact(catalog: FormCatalog, name: str, value: Any, files: dict[int, str]) -> Fact:
    if name in catalog.files and isinstance(value, list):  # only this case's own attachments
        return Fact(name, catalog.titles.get(name, name), value,
                    files=[(v, files[v]) for v in value if isinstance(v, int) and v in files])
    return Fact(name, catalog.titles.get(name, name), value, columns=catalog.columns.get(name, []))


def _lapse_labels(env: Env, key: str) -> dict[str, str]:
    try:
        return env.process(key).lapse_labels
    except KeyError:  # a process no longer registered: plain clock states
        return {}


def case_file(env: Env, user_id: int, instance_id: int, soon_days: int = 3) -> CaseFile:
    with env.db.read() as session:
        instance = visible_case(session, user_id, instance_id)
        events = _events(session, [instance.id])[instance.id]
        rows = list(session.scalars(select(HumanTask).where(HumanTask.instance_id == instance.id)
                                    .order_by(HumanTask.id)))
        catalog = process_catalog(env, instance.process_key)
        units = _unit_names(session, set(case_unit_ids(instance)) | {instance.org_unit_id}
                            | {e.org_unit_id for e in events if e.org_unit_id}
                            | _unit_values(events, catalog))
        open_rows = [r for r in rows if r.status in OPEN_STATUSES]
        attachments = _attachments(session, instance.id)
        masked = not sees_personal_data(session, user_id, instance)
        return CaseFile(
            instance=instance, process_name=process_name(env, instance.process_key),
            status_label=STATUS_LABELS.get(instance.status, instance.status.value),
            unit_name=units.get(instance.org_unit_id, ""),
            routed_units=[units[u] for u in case_unit_ids(instance) if u in units],
            initiator_name=_user_name(session, instance.initiator_id),
            facts=_facts(catalog, fold_facts(events), attachments, masked=masked),
            open_tasks=open_rows,
            clocks=legal_clocks(rows, env.clock.now(), soon_days, _lapse_labels(env, instance.process_key)),
            timeline=[_timeline_entry(e, catalog, units, masked) for e in events],
            attachments=attachments,
            copy=session.scalar(select(CaseCopy).where(CaseCopy.instance_id == instance.id,
                                                       CaseCopy.user_id == user_id)),
            completed_steps={e.step_id for e in events if e.action == "complete" and e.step_id},
            current_steps={r.step_id for r in open_rows},
            messages=registrable_messages(env, session, user_id, instance),
            returns=[(e.step_id, str(e.data["to_step"])) for e in events
                     if e.action == "return" and e.step_id and isinstance(e.data, dict) and e.data.get("to_step")])


def _attachments(session: Session, instance_id: int) -> list[Attachment]:
    return list(session.scalars(select(Attachment).where(Attachment.instance_id == instance_id)
                                .order_by(Attachment.id)))


@dataclass(frozen=True)
class DiagramInput:
    bpmn: bytes
    process_id: str
    completed: set[str]
    current: set[str]
    returns: list[tuple[str, str]] = field(default_factory=list)


def diagram_input(env: Env, case: CaseFile) -> DiagramInput:
    """What webapp.diagram.render_svg needs: the main BPMN file and the step ids to highlight."""
    with env.db.read() as session:
        parsed = env.specs.get(session, case.instance.definition_id)
    completed = set(case.completed_steps) | _event_ids(parsed.spec, "StartEvent")
    if case.instance.status == InstanceStatus.completed:
        ends = _event_ids(parsed.spec, "EndEvent")
        completed |= ends if len(ends) == 1 else set()
    return DiagramInput(parsed.main_bpmn(), case.instance.process_key, completed,
                        set(case.current_steps), list(case.returns))


def _event_ids(spec: Any, class_name: str) -> set[str]:
    return {ts.bpmn_id for ts in spec.task_specs.values()
            if type(ts).__name__ == class_name and getattr(ts, "bpmn_id", None)}


# ----------------------------------------------------------------------------- task page

@dataclass(frozen=True)
class Opinion:
    """An earlier step as the next person reads it: who, when, the decision, the opinion and
    what the step's form recorded (or what a registered message said)."""
    step_name: str | None
    actor_name: str
    at: datetime
    text: str
    decision: Any
    fields: list[Change] = field(default_factory=list)


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
    options: dict[str, Options] = field(default_factory=dict)  # x-options-from fields
    refusal: str | None = None  # why this user may not do the task (four eyes)
    role_name: str = ""  # the task's role as the role catalogue names it ("" when not read)


@dataclass(frozen=True)
class TaskHead:
    """A task row with its case, its unit and the names its page shows, read in one statement."""
    row: HumanTask
    instance: ProcessInstance
    unit: OrgUnit
    assignee_name: str | None
    role_name: str


_ASSIGNEE = aliased(User)


def task_head(session: Session, task_id: int) -> TaskHead | None:
    """The task, its case, its unit (in the session, so later `session.get`s of them ask
    nothing), its assignee's and its role's names; None when there is no such task."""
    found = session.execute(
        select(HumanTask, ProcessInstance, OrgUnit, _ASSIGNEE.full_name, RoleCatalogue.name)
        .join(ProcessInstance, ProcessInstance.id == HumanTask.instance_id)
        .join(OrgUnit, OrgUnit.id == HumanTask.org_unit_id)
        .join(RoleCatalogue, RoleCatalogue.key == HumanTask.role)
        .outerjoin(_ASSIGNEE, _ASSIGNEE.id == HumanTask.assignee_id)
        .where(HumanTask.id == task_id)).first()
    return TaskHead(*found) if found is not None else None


def _opinions(timeline: list[TimelineEntry], catalog: FormCatalog) -> list[Opinion]:
    out = []
    for t in timeline:
        if t.event.action not in ("complete", "message"):
            continue
        decision_field = catalog.decisions.get(t.event.step_id or "")
        opinion_field = catalog.opinions.get(t.event.step_id or "")  # shown as the opinion
        own = catalog.own_titles(t.event)  # the form's own fields, not what hooks derived
        fields = [c for c in t.changes if c.field in own and c.field != decision_field
                  and c.field not in catalog.files and c.after not in (None, "", [])
                  and not (c.field == opinion_field and c.after == t.event.opinion)]
        if t.event.opinion or t.decision or fields:
            out.append(Opinion(t.event.step_name, t.event.actor_name, t.event.at,
                               t.event.opinion, t.decision, fields))
    return out


def _task_page(env: Env, session: Session, user_id: int, row: HumanTask,
               instance: ProcessInstance, events: list[HistoryEvent], head: TaskHead | None = None) -> TaskPage:
    """`head`: the task's unit and names already read (task_head), else read here."""
    config = env.process(instance.process_key)
    catalog = form_catalog(config.forms_dir)
    schema = load_form(config.forms_dir, row.step_id)
    values = fold_facts(events)
    # Prefill from the registration and from this step's own earlier rounds (after a 退回),
    # not from other steps that happen to use the same field name.
    own = fold_facts([e for e in events if e.action == "start" or e.step_id == row.step_id])
    props = (schema or {}).get("properties", {})
    prefill = {k: own[k] for k in props if k in own and k != catalog.decisions.get(row.step_id)}
    known = {row.org_unit_id: head.unit.name} if head is not None else {}
    units = {**known, **_unit_names(session, ({row.org_unit_id} | _unit_values(events, catalog)) - set(known))}
    attachments = _attachments(session, instance.id)
    allowed = can_act(session, user_id, row, env.clock.now())
    refusal = four_eyes_refusal(session, config, row, user_id) if allowed else None
    # 身份证号 and phone in full for the case's handlers (no extra read: the caseworker acting on
    # the step, or the case's initiator); a reviewer's or leader's page shows them masked
    full = instance.initiator_id == user_id or (allowed and row.role == Role.caseworker)
    timeline = [_timeline_entry(e, catalog, units, not full) for e in events]
    options = (field_options(config, schema, task_data(env, session, instance, row.spiff_task_id))
               if allowed and lists_options(schema) else {})
    return TaskPage(row, instance, config.name, units.get(row.org_unit_id, ""),
                    head.assignee_name if head is not None else _user_name(session, row.assignee_id),
                    schema, prefill,
                    _facts(catalog, values, attachments, masked=not full), _opinions(timeline, catalog),
                    attachments, allowed and refusal is None, options, refusal,
                    head.role_name if head is not None else "")


def task_page(env: Env, user_id: int, task_id: int) -> TaskPage:
    """The task with its case facts, earlier opinions, form schema and what the user may do."""
    with env.db.read() as session:
        return head_page(env, session, user_id, visible_head(env, session, user_id, task_id))


def visible_head(env: Env, session: Session, user_id: int, task_id: int) -> TaskHead:
    """The task's head (task_head), or NotFound when the user may not see the task. While the
    caller holds it, the session answers `get`s of its row, case and unit without a statement."""
    head = task_head(session, task_id)
    if head is None:
        raise NotFound(f"task {task_id} does not exist", HIDDEN_TASK)
    visible_task(session, user_id, task_id, env.clock.now())  # the head's row and case: no read
    return head


def head_page(env: Env, session: Session, user_id: int, head: TaskHead) -> TaskPage:
    """The task page of a visible task: the case's facts and opinions from one read of the
    history's steps (other events show nothing here), and its attachments."""
    events = _events(session, [head.instance.id], FACT_ACTIONS)[head.instance.id]
    return _task_page(env, session, user_id, head.row, head.instance, events, head)


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
