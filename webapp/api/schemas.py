"""Request and response models of the JSON API (pydantic): the OpenAPI document and the request
validation both come from these, in one place."""
from __future__ import annotations

from datetime import date, datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field
from spectree import Response

Id = Field(ge=1, le=2_147_483_647)


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ErrorBody(BaseModel):
    """Every refusal: a stable `code`, an English `message`, the Chinese `user_message` the pages
    show, and field errors (field → Chinese message) for a refused form."""
    code: str
    message: str
    user_message: str
    errors: dict[str, str] = {}


class TaskOut(BaseModel):
    id: int
    instance_id: int
    case_no: str
    process_key: str
    title: str
    step_id: str
    step_name: str
    role: str
    org_unit_id: int
    status: str
    assignee_id: int | None
    due_at: datetime | None
    due_provisional: bool
    created_at: datetime
    completed_at: datetime | None
    mark: str | None = None


class TaskPageOut(BaseModel):
    """One page of a task list. The 待办 total is counted up to 1,000 (or to this page's end, if
    further): when more tasks match, `total` is that bound and `total_capped` is true (show
    "超过1000"); the 已办 total is always exact."""
    items: list[TaskOut]
    total: int = Field(description="matching tasks; a lower bound (more match) when total_capped")
    total_capped: bool = Field(default=False, description="the count stopped at total: more tasks match")
    page: int
    per_page: int


class CaseRowOut(BaseModel):
    id: int
    case_no: str
    process_key: str
    status: str
    title: str | None
    created_at: datetime
    current_steps: list[str]
    due_at: datetime | None
    copied_by: str | None = None


class CasePageOut(BaseModel):
    items: list[CaseRowOut]
    total: int
    page: int
    per_page: int


class ListQuery(Strict):
    process: str | None = Field(default=None, max_length=64)
    status: Literal["soon", "overdue", "running", "suspended", "error", "completed", "cancelled",
                    "terminated"] | None = None
    due: date | None = None
    q: str | None = Field(default=None, max_length=64)
    page: int = Field(default=1, ge=1, le=100_000)
    per_page: int = Field(default=20, ge=1, le=100)


class OptionOut(BaseModel):
    value: Any
    label: str


class TaskDetailOut(BaseModel):
    task: TaskOut
    case_no: str
    process_name: str
    unit_name: str
    assignee_name: str | None
    form_schema: dict[str, Any] | None
    values: dict[str, Any]
    options: dict[str, list[OptionOut]]
    opinions: list[dict[str, Any]]
    can_act: bool
    refusal: str | None


class CompleteIn(Strict):
    data: dict[str, Any] = {}
    opinion: str = Field(default="", max_length=4000)


class StepOut(BaseModel):
    instance_id: int
    status: str
    new_task_ids: list[int]
    error: str | None = None
    user_message: str | None = None


class OkOut(BaseModel):
    ok: bool = True


class StartIn(Strict):
    org_unit_id: int = Id
    data: dict[str, Any] = {}


class StartOut(BaseModel):
    instance_id: int
    case_no: str
    query_code: str


class CaseDetailOut(BaseModel):
    id: int
    case_no: str
    process_key: str
    process_name: str
    status: str
    status_label: str
    unit_name: str
    initiator_name: str | None
    created_at: datetime
    facts: list[dict[str, Any]]
    open_tasks: list[TaskOut]
    clocks: list[dict[str, Any]]
    history: list[dict[str, Any]]
    attachments: list[dict[str, Any]]
    messages: list[str]


class AttachmentOut(BaseModel):
    id: int
    filename: str
    content_type: str
    size: int
    sha256: str


class MessageIn(Strict):
    data: dict[str, Any] = {}


class ReturnIn(Strict):
    step_id: str = Field(min_length=1, max_length=128)
    opinion: str = Field(default="", max_length=4000)


class ReasonIn(Strict):
    reason: str = Field(default="", max_length=4000)


class TransferIn(Strict):
    to_user_id: int = Id
    reason: str = Field(default="", max_length=4000)
    mode: Literal["transfer", "delegate"] = "transfer"


class SignerIn(Strict):
    user_id: int = Id
    position: Literal["before", "after", "alongside"]  # engine.verbs.signers.POSITIONS
    reason: str = Field(default="", max_length=4000)


class SuperviseIn(Strict):
    requirement: str = Field(default="", max_length=4000)
    due_on: date | None = None
    kind: str | None = Field(default=None, max_length=32)  # 督办事由, where the process lists them


class FeedbackIn(Strict):
    feedback: str = Field(default="", max_length=4000)


class CopyIn(Strict):
    user_ids: list[int] = Field(default=[], max_length=50)
    note: str | None = Field(default=None, max_length=4000)


class CopyOut(BaseModel):
    copied_to: list[str]


class IdOut(BaseModel):
    id: int


class ProxyIn(Strict):
    proxy_id: int = Id
    starts_on: date
    ends_on: date


class ProxyOut(BaseModel):
    id: int
    proxy_id: int
    proxy_name: str
    starts_at: datetime
    ends_at: datetime


class ProxiesOut(BaseModel):
    items: list[ProxyOut]


class MovedOut(BaseModel):
    moved: int


class UrgeIn(Strict):
    note: str = Field(default="", max_length=4000)


class IndicatorQuery(Strict):
    unit_id: int | None = Field(default=None, ge=1, le=2_147_483_647)
    date_from: date | None = None
    date_to: date | None = None


class IndicatorOut(BaseModel):
    rows: list[dict[str, Any]]


class MeOut(BaseModel):
    id: int
    username: str
    full_name: str
    roles: list[dict[str, Any]]
    auth: Literal["token", "session"]
    scope: Literal["read", "act"]


ERROR_CODES = (400, 401, 403, 404, 409, 422, 429)


def responses(ok: type[BaseModel] | None, status: int = 200, *errors: int) -> Response:
    """The operation's success model and the error codes it may answer with (all as ErrorBody)."""
    codes = errors or ERROR_CODES
    kwargs: dict[str, Any] = {f"HTTP_{c}": ErrorBody for c in codes}
    if ok is not None:
        kwargs[f"HTTP_{status}"] = ok
    return Response(**kwargs)
