"""暂存: a user's unsent input on a task form, kept server-side per user and task until the task ends.

A draft is the form as the page posts it (raw field values and the opinion box), never validated:
it is what the user typed, to be put back into the form. Only its owner reads it, only while the
task is open and the owner may still act on it. The step's end deletes the task's drafts in its
own transaction (engine.stepper.sync_tasks, guarded by human_task.has_draft).
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from engine.access import visible_task
from engine.env import Env
from engine.errors import FormInvalid, InvalidState, PermissionDenied
from engine.models import FormDraft, HumanTask
from engine.runtime import can_act
from engine.stepper import OPEN_STATUSES

MAX_DRAFT_BYTES = 256 * 1024  # far above any form of the app; keeps a stray client from filling the table
DraftValues = dict[str, str | list[str] | list[dict[str, str]]]  # text, list, or table rows


@dataclass(frozen=True)
class Draft:
    values: DraftValues
    opinion: str
    saved_at: datetime


def _texts(value: Any) -> bool:
    return isinstance(value, str) or (isinstance(value, dict) and all(
        isinstance(k, str) and isinstance(v, str) for k, v in value.items()))


def _clean(values: dict[str, Any]) -> DraftValues:
    """Field name -> text, list of texts or table rows (what a form posts); anything else is refused."""
    out: DraftValues = {}
    for name, value in values.items():
        if not isinstance(name, str) or name.startswith("_") or name == "csrf_token":
            continue  # the page's own fields are not part of the draft
        if isinstance(value, str):
            out[name] = value
        elif isinstance(value, list) and all(_texts(v) for v in value):
            out[name] = list(value)
        else:
            raise FormInvalid({"_draft": f"暂存内容格式有误（{name}）"})
    return out


def _own_open_task(session: Session, user_id: int, task_id: int) -> HumanTask:
    row = visible_task(session, user_id, task_id)  # NotFound for a task of a hidden case
    if row.status not in OPEN_STATUSES:
        raise InvalidState(f"task {task_id} is {row.status.value}", "该任务已办结或已取消，不能暂存")
    if not can_act(session, user_id, row):
        raise PermissionDenied(f"user {user_id} may not act on task {task_id}", "您不能办理该任务，不能暂存")
    return row


def save_draft(env: Env, user_id: int, task_id: int, values: dict[str, Any], opinion: str = "") -> datetime:
    """Keep the user's input on an open task they may act on (replacing their earlier draft);
    returns when it was saved. FormInvalid (field "_draft") when it is too large or malformed."""
    clean = _clean(values)
    if len(json.dumps(clean, ensure_ascii=False).encode()) + len(opinion.encode()) > MAX_DRAFT_BYTES:
        raise FormInvalid({"_draft": f"暂存内容过大（不能超过 {MAX_DRAFT_BYTES // 1024} KB）"})
    now = env.clock.now()
    with env.db.write() as session:
        row = _own_open_task(session, user_id, task_id)
        draft = session.get(FormDraft, (user_id, task_id))
        if draft is None:
            session.add(FormDraft(user_id=user_id, task_id=task_id, values=clean, opinion=opinion,
                                  saved_at=now))
        else:
            draft.values, draft.opinion, draft.saved_at = clean, opinion, now
        if not row.has_draft:
            row.has_draft = True
    return now


def load_draft(env: Env, user_id: int, task_id: int) -> Draft | None:
    """The user's own draft of an open task they may still act on, or None."""
    with env.db.read() as session:
        row = session.get(HumanTask, task_id)
        return None if row is None else draft_in(session, user_id, row)


def draft_in(session: Session, user_id: int, row: HumanTask) -> Draft | None:
    """load_draft in the caller's read session (the task page's); no statement for a task
    without drafts."""
    if not row.has_draft or not can_act(session, user_id, row):
        return None
    draft = session.get(FormDraft, (user_id, row.id))
    if draft is None:
        return None
    return Draft(dict(draft.values), draft.opinion, draft.saved_at)


def discard_draft(env: Env, user_id: int, task_id: int) -> bool:
    """Delete the user's draft of a task they can see (放弃暂存); whether there was one."""
    with env.db.write() as session:
        visible_task(session, user_id, task_id)
        gone = session.execute(delete(FormDraft).where(FormDraft.user_id == user_id,
                                                       FormDraft.task_id == task_id)).rowcount
        return bool(gone)


def drafts_of_task(env: Env, task_id: int) -> list[int]:
    """The users holding a draft of a task (for tests and the admin's integrity view)."""
    with env.db.read() as session:
        return list(session.scalars(select(FormDraft.user_id).where(FormDraft.task_id == task_id)
                                    .order_by(FormDraft.user_id)))
