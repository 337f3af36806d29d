"""API: start a case, 我发起的 / 抄送我的 lists, a case with its history and clocks, attachments
up and down, messages from outside (e.g. the army unit's reply), indicators, and who I am."""
from __future__ import annotations

import dataclasses
import enum
from datetime import date, datetime
from pathlib import Path
from typing import Any

from flask import abort, current_app, request, send_file
from flask_login import current_user

from engine.attachments import add_attachment, attachment_download
from engine.calendar import BusinessCalendar
from engine.casefile import case_file
from engine.messages import message_schema
from engine.models import InstanceStatus
from engine.queries import CaseFilter, copied_cases, started_cases
from engine.runtime import deliver_message, start_case
from webapp.api import bp, spec
from webapp.api.schemas import (AttachmentOut, CaseDetailOut, CasePageOut, IndicatorOut, IndicatorQuery,
                                ListQuery, MeOut, MessageIn, StartIn, StartOut, StepOut, responses)
from webapp.api.tasks import iso, task_out
from webapp.security import actor, current_env
from webapp.uploads import upload_policy
from workflows.indicators import report


def plain(value: Any) -> Any:
    """A JSON-safe copy of an engine value (dataclasses, enums, datetimes; ORM rows by id)."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: plain(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    if isinstance(value, dict):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, set)):
        return [plain(v) for v in value]
    if value is None or isinstance(value, (str, int, float, bool)):
        return value
    return str(value)


def case_filter(query: ListQuery) -> CaseFilter:
    status = InstanceStatus(query.status) if query.status in InstanceStatus._value2member_map_ else None
    return CaseFilter(process_key=query.process or None, status=status,
                      due_before=BusinessCalendar.deadline_end(query.due) if query.due else None,
                      search=query.q or None)


def _case_page(page: Any) -> dict[str, Any]:
    items = [{"id": r.instance.id, "case_no": r.instance.case_no, "process_key": r.instance.process_key,
              "status": r.instance.status.value, "title": r.instance.title, "created_at": iso(r.instance.created_at),
              "current_steps": list(r.current_steps), "due_at": iso(r.due_at), "copied_by": r.copied_by}
             for r in page.items]
    return {"items": items, "total": page.total, "page": page.page, "per_page": page.per_page}


@bp.get("/me")
@spec.validate(resp=responses(MeOut), tags=["account"], operation_id="me")
def me() -> Any:
    """Who the caller is, with roles, and how they signed in."""
    info = current_user.info
    token = getattr(current_user, "scope", None)
    return {"id": info.id, "username": info.username, "full_name": info.full_name,
            "roles": [{"role": g.role.value, "unit_id": g.unit_id, "unit_name": g.unit_name} for g in info.grants],
            "auth": "token" if token else "session", "scope": token or "act"}


@bp.get("/cases/started")
@spec.validate(query=ListQuery, resp=responses(CasePageOut), tags=["cases"], operation_id="started")
def started(query: ListQuery) -> Any:
    """我发起的: cases I started, newest first."""
    return _case_page(started_cases(current_env(), current_user.id, case_filter(query), query.page, query.per_page))


@bp.get("/cases/copied")
@spec.validate(query=ListQuery, resp=responses(CasePageOut), tags=["cases"], operation_id="copied")
def copied(query: ListQuery) -> Any:
    """抄送我的: cases copied to me."""
    return _case_page(copied_cases(current_env(), current_user.id, case_filter(query), query.page, query.per_page))


@bp.post("/processes/<key>/cases")
@spec.validate(json=StartIn, resp=responses(StartOut, 201), tags=["cases"], operation_id="start_case")
def start(key: str, json: StartIn) -> Any:
    """发起: start a case of process `key` at a unit where I may, with its start form's data."""
    if len(key) > 64:
        abort(404)
    result = start_case(current_env(), key, actor(), json.org_unit_id, json.data)
    return {"instance_id": result.instance_id, "case_no": result.case_no, "query_code": result.query_code}, 201


@bp.get("/cases/<int:case_id>")
@spec.validate(resp=responses(CaseDetailOut), tags=["cases"], operation_id="case_detail")
def case_detail(case_id: int) -> Any:
    """A case: facts, open tasks, legal clocks, the whole history and attachments."""
    case = case_file(current_env(), current_user.id, case_id, int(current_app.config["DUE_SOON_DAYS"]))
    i = case.instance
    history = [{"at": t.event.at.isoformat(), "action": t.event.action, "label": t.label,
                "actor_name": t.event.actor_name, "step_id": t.event.step_id, "step_name": t.event.step_name,
                "unit_name": t.unit_name, "opinion": t.event.opinion, "changes": plain(t.changes)}
               for t in case.timeline]
    return {"id": i.id, "case_no": i.case_no, "process_key": i.process_key, "process_name": case.process_name,
            "status": i.status.value, "status_label": case.status_label, "unit_name": case.unit_name,
            "initiator_name": case.initiator_name, "created_at": iso(i.created_at), "facts": plain(case.facts),
            "open_tasks": [task_out(t) for t in case.open_tasks], "clocks": plain(case.clocks),
            "history": history, "messages": [m.name for m in case.messages],
            "attachments": [_attachment(a) for a in case.attachments]}


def _attachment(a: Any) -> dict[str, Any]:
    return {"id": a.id, "filename": a.filename, "content_type": a.content_type, "size": a.size,
            "sha256": a.sha256, "task_id": a.task_id, "uploaded_at": a.uploaded_at.isoformat()}


@bp.post("/cases/<int:case_id>/attachments")
@spec.validate(resp=responses(AttachmentOut, 201), tags=["attachments"], operation_id="upload")
def upload(case_id: int) -> Any:
    """上传附件: multipart field `file`, optional form field `task_id`."""
    file = request.files.get("file")
    task = request.form.get("task_id", "")
    task_id = int(task) if task.isascii() and task.isdigit() and len(task) < 10 else None
    new_id = add_attachment(current_env(), case_id, actor(), (file.filename or "") if file else "",
                            file.read() if file else b"", upload_policy(), task_id)
    found = attachment_download(current_env(), current_user.id, new_id, Path(current_app.config["UPLOAD_DIR"]))
    return {"id": new_id, "filename": found.filename, "content_type": found.content_type,
            "size": found.path.stat().st_size, "sha256": found.path.name}, 201


@bp.get("/attachments/<int:attachment_id>")
@spec.validate(resp=responses(None), tags=["attachments"], operation_id="download")
def download(attachment_id: int) -> Any:
    """下载附件: the stored file."""
    found = attachment_download(current_env(), current_user.id, attachment_id,
                                Path(current_app.config["UPLOAD_DIR"]))
    if not found.path.is_file():
        abort(404)
    response = send_file(found.path, mimetype=found.content_type, as_attachment=True,
                         download_name=found.filename, max_age=0)
    response.direct_passthrough = False  # the route wrapper reads the body (files are small: MAX_UPLOAD_MB)
    return response


@bp.post("/cases/<int:case_id>/messages/<name>")
@spec.validate(json=MessageIn, resp=responses(StepOut), tags=["cases"], operation_id="deliver_message")
def message(case_id: int, name: str, json: MessageIn) -> Any:
    """登记: a message from outside the case waits for (e.g. army_reply), with its form's data."""
    message_schema(current_env(), current_user.id, case_id, name[:64])  # visible, and registrable by people
    result = deliver_message(current_env(), case_id, name[:64], json.data, actor())
    return {"instance_id": result.instance_id, "status": result.status.value,
            "new_task_ids": result.new_task_ids, "error": result.error, "user_message": result.user_message}


@bp.get("/indicators")
@spec.validate(query=IndicatorQuery, resp=responses(IndicatorOut), tags=["indicators"], operation_id="indicators")
def indicators(query: IndicatorQuery) -> Any:
    """统计指标 of every deployed process for a unit's subtree and period."""
    rep = report(current_env(), current_user.id, query.unit_id, query.date_from, query.date_to)
    rows = [{"section": s.title, "period": s.period, "label": r.label, "value": r.value, "basis": r.basis,
             "note": r.note} for s in rep.sections for r in s.rows]
    return {"rows": rows}
