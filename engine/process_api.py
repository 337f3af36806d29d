"""What a process package under workflows/<key>/ provides to the engine.

The engine calls these hooks inside its transaction; they are plain functions of data, never of
Flask. Only `engine/` imports SpiffWorkflow; the hooks see dicts and the context below.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any, Protocol

from engine.calendar import BusinessCalendar
from engine.documents.catalogue import DocumentSet
from engine.indicators import IndicatorSet
from engine.models import Role


class OrgLookup(Protocol):
    def unit_id(self, code: str) -> int: ...
    def unit_code(self, unit_id: int) -> str: ...
    def parent_id(self, unit_id: int) -> int | None: ...
    def organ_of(self, unit_id: int) -> int: ...
    def section_of(self, organ_id: int, code_suffix: str) -> int | None: ...
    def level(self, unit_id: int) -> str: ...


@dataclass(frozen=True)
class CaseInfo:
    """Another case, as a hook may see it: read-only facts and a copy of its current data."""
    id: int
    case_no: str
    process_key: str
    status: str               # an InstanceStatus value
    org_unit_id: int          # where it was registered
    subject_id_no: str | None
    created_at: datetime
    closed_at: datetime | None
    data: dict[str, Any]


class CaseLookup(Protocol):
    """Read-only questions a hook may ask about other cases (same transaction, no locks taken).
    Used for rules that span cases: repeat petitions, 越级, matters terminated for good."""
    def by_case_no(self, case_no: str) -> CaseInfo | None: ...
    def by_subject(self, process_key: str, subject_id_no: str) -> list[CaseInfo]: ...
    # Whether a user may see a case (engine.access): a hook that answers a user about another
    # case (e.g. a case number they typed) answers only within that user's reach.
    def visible_to(self, case_id: int, user_id: int) -> bool: ...


@dataclass(frozen=True)
class HookContext:
    """What a hook may use: the time, the calendar, the org tree, the case's own facts."""
    now: datetime
    today: date
    calendar: BusinessCalendar
    orgs: OrgLookup
    case_unit_id: int
    case_no: str
    initiator_id: int | None
    settings: dict[str, Any]
    # Other cases (None where the engine has no database, e.g. the smoke run of `workflows check`).
    cases: CaseLookup | None = None


Assign = Callable[[str, dict[str, Any], HookContext], int]
DataHook = Callable[[str, dict[str, Any], HookContext], dict[str, Any]]


@dataclass(frozen=True)
class ProcessConfig:
    key: str
    name: str
    case_prefix: str
    forms_dir: Path
    # Roles that may start a case (at the unit the case is registered at).
    start_roles: frozenset[str] = frozenset({Role.caseworker})
    # Levels at which a case may be started (empty: any).
    start_levels: frozenset[str] = frozenset()
    # Unit codes at which a case may be started, e.g. one section (empty: any).
    start_units: frozenset[str] = frozenset()
    # step id -> org unit id of the task (default: the unit the case was registered at).
    assign: Assign | None = None
    # step id -> role (a role catalogue key), where a step's role differs from its lane.
    roles: dict[str, str] = field(default_factory=dict)
    # Called with the start data; returns data to add (deadlines, routing).
    on_start: Callable[[dict[str, Any], HookContext], dict[str, Any]] | None = None
    # Called when a user task completes, before the engine runs on; returns data to add.
    on_complete: DataHook | None = None
    # step id -> task-data key of the task's due datetime (ISO); else its boundary timer.
    due_keys: dict[str, str] = field(default_factory=dict)
    # Steps whose clock is someone's option window (a 复查 request, an objection, an evaluation):
    # step id -> the neutral label the case page shows when the window closed unused (e.g.
    # 期满未申请) instead of a red 超期; a lapse there is nobody's failure.
    lapse_labels: dict[str, str] = field(default_factory=dict)
    # Chinese labels of data keys no form titles (set by hooks), for 数据变更 and the audit view;
    # a key with neither a title nor a label here is shown nowhere (engine.readable).
    field_labels: dict[str, str] = field(default_factory=dict)
    # Title and searchable subject of a case from its data: (title, name, id number).
    summarize: Callable[[dict[str, Any]], tuple[str, str | None, str | None]] | None = None
    # Smoke run for `workflows check`: start data and an answer per step (or a list of answers).
    smoke_start: dict[str, Any] = field(default_factory=dict)
    smoke_answers: dict[str, Any] = field(default_factory=dict)
    # A label telling apart the tasks of one multi-instance step (e.g. the candidate's name),
    # appended to the task's step name: (step id, task data) -> label or None.
    task_label: Callable[[str, dict[str, Any]], str | None] | None = None
    # Steps whose completer must differ from whoever completed the named earlier step (four eyes).
    four_eyes: dict[str, str] = field(default_factory=dict)
    # BPMN messages a user registers from outside (e.g. the army unit's reply): message name ->
    # the role that may register it, held at the case's unit. Its form, if any, is
    # forms/message_<name>.json.
    message_roles: dict[str, str] = field(default_factory=dict)
    # Options of a form field computed from the task's data, named in the form by
    # "x-options-from": "<source>": source -> (task data -> [(value, label)]). A source that is
    # not named here is read from the task data itself (a list of values or {value, label}).
    option_sources: dict[str, Callable[[dict[str, Any]], list[tuple[str, str]]]] = field(
        default_factory=dict)
    settings: dict[str, Any] = field(default_factory=dict)
    # Documents from templates (engine.documents): types, templates' folder (by convention the
    # package's documents/ beside forms/) and which step issues which. None: no documents.
    documents: DocumentSet | None = None
    # Named read-only queries (engine.named_queries) its BPMN expressions, scripts and DMN tables
    # may call, e.g. "petitions_terminated_for"; a call to any other is refused at deploy.
    callable_queries: frozenset[str] = frozenset()
    # 统计指标 (engine.indicators): declared indicators or a function of the report's scope.
    # None: the process has no section on the indicators page.
    indicators: IndicatorSet | None = None
    # 督办 (engine.verbs.supervision): the unit a supervision order goes to, from the case's data
    # (None: the unit of the case's oldest open task); and steps whose completion opens an order:
    # step id -> (task data, ctx) -> {"requirement", optional "kind", "unit_id", "due_on" (ISO
    # date)} or None (e.g. a missed deadline's 超期督办 turned into a 督办单).
    supervision_unit: Callable[[dict[str, Any], HookContext], int] | None = None
    supervision_steps: dict[str, Callable[[dict[str, Any], HookContext], dict[str, Any] | None]] = field(
        default_factory=dict)
