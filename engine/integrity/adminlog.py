"""The admin log's chain: one keyed hash chain over every `admin_event`, like a case's history.

`seal_admin_event` is called by the log's only writer (engine.admin.log_admin). It locks the
single head row, so two writers never chain onto the same event. `check_admin_log` recomputes
the chain; events from before migration 0005 were chained there with plain SHA-256.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import timezone

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from engine.integrity.keys import SHA256, Keyring, keyring_of
from engine.models import AdminEvent, AdminLogHead

HEAD_ID = 1


def admin_canonical(event: AdminEvent) -> bytes:
    """The bytes an admin event's hash covers."""
    body = {
        "seq": event.seq, "at": event.at.astimezone(timezone.utc).isoformat(timespec="microseconds"),
        "actor": event.actor_id, "actor_name": event.actor_name, "action": event.action,
        "target_type": event.target_type, "target_id": event.target_id, "target": event.target,
        "details": event.details, "prev": event.prev_hash,
    }
    return json.dumps(body, sort_keys=True, ensure_ascii=False, separators=(",", ":")).encode()


def lock_head(session: Session) -> AdminLogHead:
    """The head row, locked until the transaction ends. Migration 0005 creates it; should it be
    missing, concurrent first writers create it once (ON CONFLICT DO NOTHING) and then queue."""
    stmt = select(AdminLogHead).where(AdminLogHead.id == HEAD_ID).with_for_update()
    head = session.scalar(stmt)
    if head is None:
        insert = pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
        session.execute(insert(AdminLogHead).values(id=HEAD_ID, event_count=0, last_hash="")
                        .on_conflict_do_nothing())
        head = session.scalars(stmt.execution_options(populate_existing=True)).one()
    return head


def seal_admin_event(session: Session, event: AdminEvent) -> AdminEvent:
    """Give the (not yet added) event its place and keyed hash in the log's chain, and add it."""
    head = lock_head(session)
    event.seq = head.event_count + 1
    event.prev_hash = head.last_hash
    event.hash_alg, event.key_id, event.hash = keyring_of(session).seal(admin_canonical(event))
    head.event_count, head.last_hash = event.seq, event.hash
    session.add(event)
    return event


@dataclass(frozen=True)
class AdminLogCheck:
    ok: bool
    events: int
    first_bad_seq: int | None = None
    reason: str = ""


def check_admin_log(events: list[AdminEvent], head: AdminLogHead | None, keyring: Keyring) -> AdminLogCheck:
    """Check the whole admin log (events in seq order) against each other and the head row."""
    prev, keyed = "", False
    for expected_seq, event in enumerate(events, start=1):
        if event.seq != expected_seq:
            return AdminLogCheck(False, len(events), expected_seq, "missing event")
        if event.prev_hash != prev:
            return AdminLogCheck(False, len(events), event.seq, "broken link")
        if keyed and event.hash_alg == SHA256:
            return AdminLogCheck(False, len(events), event.seq, "unkeyed event after keyed ones")
        fault = keyring.check(event.hash_alg, event.key_id, admin_canonical(event), event.hash)
        if fault:
            return AdminLogCheck(False, len(events), event.seq, fault)
        prev, keyed = event.hash, keyed or event.hash_alg != SHA256
    count, last = (head.event_count, head.last_hash) if head else (0, "")
    if count > len(events):
        return AdminLogCheck(False, len(events), len(events) + 1, "events missing at the end")
    if (count, last) != (len(events), prev):
        return AdminLogCheck(False, len(events), len(events), "chain head does not match")
    return AdminLogCheck(True, len(events))


def verify_admin_log(session: Session) -> AdminLogCheck:
    """Recompute the admin log's chain from the stored events."""
    events = list(session.scalars(select(AdminEvent).order_by(AdminEvent.seq)))
    return check_admin_log(events, session.get(AdminLogHead, HEAD_ID), keyring_of(session))
