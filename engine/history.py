"""The append-only case history, hash-chained per case.

`append_event` is the only writer. There is no update or delete path in the code, and the
database refuses both with triggers (see the migrations). `verify_chain` recomputes the chain
so an auditor can prove that no event was changed or removed afterwards.
"""
from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.models import HistoryEvent, ProcessInstance
from engine.persistence import to_json_safe

ACTION_LABELS = {
    "start": "发起", "complete": "办理", "claim": "认领", "unclaim": "释放", "cancel": "撤销",
    "terminate": "终止", "timer": "时限到期", "error": "运行出错", "retry": "重试",
    "suspend": "挂起", "resume": "恢复", "reassign": "转派", "migrate": "迁移版本",
    "message": "收到消息", "cc": "抄送", "attach": "上传附件",
}


def _canonical(event: HistoryEvent) -> bytes:
    at = event.at.astimezone(timezone.utc)
    body = {
        "instance": event.instance_id, "seq": event.seq, "at": at.isoformat(timespec="microseconds"),
        "actor": event.actor_id, "actor_name": event.actor_name, "action": event.action,
        "step": event.step_id, "step_name": event.step_name, "task": event.task_id,
        "unit": event.org_unit_id, "opinion": event.opinion, "data": event.data,
        "prev": event.prev_hash,
    }
    return json.dumps(body, sort_keys=True, ensure_ascii=False, separators=(",", ":")).encode()


def append_event(session: Session, instance: ProcessInstance, *, at: datetime, action: str,
                 actor_id: int | None = None, actor_name: str = "系统", step_id: str | None = None,
                 step_name: str | None = None, task_id: int | None = None,
                 org_unit_id: int | None = None, opinion: str | None = None,
                 data: dict[str, Any] | None = None) -> HistoryEvent:
    """Append one event to the case's chain (the caller holds the case's lock)."""
    event = HistoryEvent(
        instance_id=instance.id, seq=instance.event_count + 1, at=at,
        actor_id=actor_id, actor_name=actor_name, action=action, step_id=step_id,
        step_name=step_name, task_id=task_id, org_unit_id=org_unit_id, opinion=opinion or None,
        data=to_json_safe(data or {}), prev_hash=instance.last_event_hash)
    event.hash = hashlib.sha256(_canonical(event)).hexdigest()
    instance.event_count = event.seq
    instance.last_event_hash = event.hash
    session.add(event)
    return event


@dataclass(frozen=True)
class ChainCheck:
    ok: bool
    events: int
    first_bad_seq: int | None = None
    reason: str = ""


def verify_chain(session: Session, instance_id: int) -> ChainCheck:
    """Recompute the case's hash chain from the stored events."""
    events = session.scalars(select(HistoryEvent).where(HistoryEvent.instance_id == instance_id)
                             .order_by(HistoryEvent.seq)).all()
    return check_events(list(events), session.get(ProcessInstance, instance_id))


def check_events(events: list[HistoryEvent], instance: ProcessInstance | None) -> ChainCheck:
    """Check one case's events (in seq order) against each other and the case's chain head."""
    prev = ""
    for expected_seq, event in enumerate(events, start=1):
        if event.seq != expected_seq:
            return ChainCheck(False, len(events), expected_seq, "missing event")
        if event.prev_hash != prev:
            return ChainCheck(False, len(events), event.seq, "broken link")
        if hashlib.sha256(_canonical(event)).hexdigest() != event.hash:
            return ChainCheck(False, len(events), event.seq, "content changed")
        prev = event.hash
    if instance is not None and (instance.last_event_hash != prev or instance.event_count != len(events)):
        return ChainCheck(False, len(events), len(events) + 1, "events missing at the end")
    return ChainCheck(True, len(events))


def changed_fields(before: dict[str, Any], after: dict[str, Any]) -> dict[str, list[Any]]:
    """{field: [before, after]} for the keys of `after` whose value differs from `before`."""
    return {k: [before.get(k), v] for k, v in after.items() if before.get(k) != v}
