"""The append-only case history, chained per case with a keyed hash.

`append_event` is the only writer. There is no update or delete path in the code, and the
database refuses UPDATE, DELETE and TRUNCATE with triggers (see the migrations). Each event's
hash is an HMAC-SHA256 of its content and the previous event's hash, under a key kept outside
the database (engine.integrity.keys), so whoever can write the database cannot re-seal an edited
chain. `verify_chain` recomputes the chain so an auditor can prove that no event was changed.

Events written before migration 0005 carry plain SHA-256 (`hash_alg` "sha256"); they still
verify, but anyone with write access could re-hash such a prefix. A chain never goes back from
keyed to plain events, and the signed checkpoints (engine.integrity.checkpoint) pin old heads.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.integrity.keys import SHA256, Keyring, keyring_of
from engine.models import HistoryEvent, ProcessInstance
from engine.persistence import to_json_safe

ACTION_LABELS = {
    "start": "发起", "complete": "办理", "claim": "认领", "unclaim": "释放", "cancel": "撤销",
    "terminate": "终止", "timer": "时限到期", "error": "运行出错", "retry": "重试",
    "suspend": "挂起", "resume": "恢复", "reassign": "转派", "migrate": "迁移版本",
    "message": "收到消息", "cc": "抄送", "attach": "上传附件", "detach": "删除附件",
    "return": "退回", "withdraw": "撤回", "transfer": "转办", "delegate": "委派", "delegate_done": "委派办回",
    "urge": "催办", "add_signer": "加签", "remove_signer": "减签",
    "remind": "到期提醒", "escalate": "超期上报", "auto_act": "超时自动处理", "proxy": "转代理人",
    "supervise": "督办", "supervise_feedback": "督办反馈",
    "interrupt": "中断办理",
    "document": "生成文书",
}


def canonical(event: HistoryEvent) -> bytes:
    """The bytes an event's hash covers: every recorded field and the previous hash."""
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
    event.hash_alg, event.key_id, event.hash = keyring_of(session).seal(canonical(event))
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
    return check_events(list(events), session.get(ProcessInstance, instance_id), keyring_of(session))


def event_fault(event: HistoryEvent, keyring: Keyring, prev: str, keyed_before: bool) -> str | None:
    """Why this one event does not fit the chain after `prev`, or None when it fits."""
    if event.prev_hash != prev:
        return "broken link"
    if keyed_before and event.hash_alg == SHA256:
        return "unkeyed event after keyed ones"
    return keyring.check(event.hash_alg, event.key_id, canonical(event), event.hash)


def check_events(events: list[HistoryEvent], instance: ProcessInstance | None,
                 keyring: Keyring) -> ChainCheck:
    """Check one case's events (in seq order) against each other and the case's chain head."""
    prev, keyed = "", False
    for expected_seq, event in enumerate(events, start=1):
        if event.seq != expected_seq:
            return ChainCheck(False, len(events), expected_seq, "missing event")
        fault = event_fault(event, keyring, prev, keyed)
        if fault:
            return ChainCheck(False, len(events), event.seq, fault)
        prev, keyed = event.hash, keyed or event.hash_alg != SHA256
    if instance is not None and instance.event_count > len(events):
        return ChainCheck(False, len(events), len(events) + 1, "events missing at the end")
    if instance is not None and (instance.last_event_hash != prev or instance.event_count != len(events)):
        return ChainCheck(False, len(events), len(events), "chain head does not match")
    return ChainCheck(True, len(events))


def changed_fields(before: dict[str, Any], after: dict[str, Any]) -> dict[str, list[Any]]:
    """{field: [before, after]} for the keys of `after` whose value differs from `before`."""
    return {k: [before.get(k), v] for k, v in after.items() if before.get(k) != v}
