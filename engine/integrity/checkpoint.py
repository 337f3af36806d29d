"""Signed checkpoints: every chain head, anchored outside the database.

A checkpoint lists, for every case, its event count and the hash of its newest event, and the
same for the admin log, signed with the history key (HMAC-SHA256). It is written as a file to a
directory the database cannot reach (settings: CHECKPOINT_DIR) and can be exported for an
auditor to keep. Whoever later deletes the newest events and moves a head back, truncates a
table, or re-hashes a chain (even the unkeyed events from before keyed chains) no longer matches
the newest checkpoint (engine.integrity.verify). Events after the newest checkpoint are covered
by the keyed chain only, so checkpoints should be frequent (the worker writes one daily).
"""
from __future__ import annotations

import hmac
import json
import os
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from engine.integrity.adminlog import HEAD_ID
from engine.integrity.keys import SHA256, Keyring, mac
from engine.models import AdminEvent, AdminLogHead, HistoryEvent, ProcessInstance

FORMAT = "rongflow-checkpoint/1"
PREFIX = "checkpoint-"
# What verification says when the database no longer holds what a checkpoint recorded.
FEWER_EVENTS = "event missing: the checkpoint holds more events"
REWRITTEN = "hash differs from the checkpoint (chain rewritten)"
UNKEYED_LATE = "unkeyed event newer than the checkpoint's last unkeyed one (chain re-hashed without the key)"


class CheckpointInvalid(Exception):
    """A checkpoint file that cannot be read or whose signature does not verify."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


@dataclass(frozen=True)
class CaseHead:
    case_no: str
    event_count: int
    head: str


@dataclass(frozen=True)
class Checkpoint:
    created_at: datetime
    cases: dict[int, CaseHead]        # by process_instance.id
    admin_count: int
    admin_head: str
    # The newest unkeyed (plain SHA-256, pre-0005) history event id and admin log seq: any
    # unkeyed event beyond them was re-hashed by someone without the key. Carried forward from
    # the first checkpoint, so a later re-hash cannot move them.
    unkeyed_event_id: int = 0
    unkeyed_admin_seq: int = 0


def take_checkpoint(session: Session, now: datetime, previous: Checkpoint | None = None) -> Checkpoint:
    """The heads of every chain as the database holds them now."""
    rows = session.execute(select(ProcessInstance.id, ProcessInstance.case_no, ProcessInstance.event_count,
                                  ProcessInstance.last_event_hash).order_by(ProcessInstance.id)).all()
    head = session.get(AdminLogHead, HEAD_ID)
    if previous is not None:
        unkeyed = (previous.unkeyed_event_id, previous.unkeyed_admin_seq)
    else:
        unkeyed = (session.scalar(select(func.max(HistoryEvent.id)).where(HistoryEvent.hash_alg == SHA256)) or 0,
                   session.scalar(select(func.max(AdminEvent.seq)).where(AdminEvent.hash_alg == SHA256)) or 0)
    return Checkpoint(now, {r[0]: CaseHead(r[1], r[2], r[3]) for r in rows},
                      head.event_count if head else 0, head.last_hash if head else "", *unkeyed)


def _payload(cp: Checkpoint, key_id: str) -> dict[str, Any]:
    return {"format": FORMAT, "key_id": key_id,
            "created_at": cp.created_at.astimezone(timezone.utc).isoformat(timespec="microseconds"),
            "cases": [[i, c.case_no, c.event_count, c.head] for i, c in sorted(cp.cases.items())],
            "admin": [cp.admin_count, cp.admin_head],
            "unkeyed_until": [cp.unkeyed_event_id, cp.unkeyed_admin_seq]}


def _body(payload: dict[str, Any]) -> bytes:
    return json.dumps(payload, sort_keys=True, ensure_ascii=False, separators=(",", ":")).encode()


def dumps(cp: Checkpoint, keyring: Keyring) -> str:
    """The checkpoint as signed JSON text, under the keyring's current key."""
    payload = _payload(cp, keyring.current_id)
    signature = mac(keyring.keys[keyring.current_id], _body(payload))
    return json.dumps({"payload": payload, "signature": signature}, ensure_ascii=False, indent=1)


def loads(text: str, keyring: Keyring) -> Checkpoint:
    """Parse a checkpoint and check its signature; CheckpointInvalid otherwise."""
    try:
        doc = json.loads(text)
        payload, signature = doc["payload"], str(doc["signature"])
        key = keyring.keys.get(str(payload["key_id"]))
    except (ValueError, KeyError, TypeError) as exc:
        raise CheckpointInvalid(f"not a checkpoint file ({exc.__class__.__name__})") from exc
    if payload.get("format") != FORMAT:
        raise CheckpointInvalid(f"unknown checkpoint format {payload.get('format')!r}")
    if key is None:
        raise CheckpointInvalid(f"checkpoint signed with unknown key {payload['key_id']}")
    if not hmac.compare_digest(mac(key, _body(payload)), signature):
        raise CheckpointInvalid("checkpoint signature does not verify (file altered or forged)")
    try:
        return _checkpoint(payload)
    except (ValueError, KeyError, TypeError, IndexError) as exc:
        raise CheckpointInvalid(f"checkpoint fields unreadable ({exc.__class__.__name__})") from exc


def _checkpoint(payload: dict[str, Any]) -> Checkpoint:
    cases = {int(i): CaseHead(str(no), int(n), str(h)) for i, no, n, h in payload["cases"]}
    return Checkpoint(datetime.fromisoformat(payload["created_at"]), cases, int(payload["admin"][0]),
                      str(payload["admin"][1]), int(payload["unkeyed_until"][0]), int(payload["unkeyed_until"][1]))


def file_name(created_at: datetime) -> str:
    return f"{PREFIX}{created_at.astimezone(timezone.utc).strftime('%Y%m%dT%H%M%S%fZ')}.json"


def write_file(path: Path, text: str) -> Path:
    """Write atomically (temp file, then rename) and leave the file read-only."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(text, encoding="utf-8")
    os.chmod(tmp, 0o444)
    os.replace(tmp, path)
    return path


def save(directory: Path, cp: Checkpoint, keyring: Keyring) -> Path:
    """Store the signed checkpoint in the checkpoint directory; returns its path."""
    return write_file(Path(directory) / file_name(cp.created_at), dumps(cp, keyring))


def latest_path(directory: Path) -> Path | None:
    """The newest checkpoint file in the directory (names sort by time), or None."""
    files = sorted(Path(directory).glob(f"{PREFIX}*.json")) if Path(directory).is_dir() else []
    return files[-1] if files else None


def load(path: Path, keyring: Keyring) -> Checkpoint:
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        raise CheckpointInvalid(f"cannot read checkpoint {path}: {exc.strerror}") from exc
    return loads(text, keyring)


def case_faults(cp: Checkpoint, instance_id: int, events: list[HistoryEvent]) -> list[tuple[int, str]]:
    """(seq, reason) for each way the case's events (in seq order) no longer hold what the
    checkpoint recorded; none for a case newer than the checkpoint."""
    faults = [(e.seq, UNKEYED_LATE) for e in events if e.hash_alg == SHA256 and e.id > cp.unkeyed_event_id][:1]
    anchored = cp.cases.get(instance_id)
    if anchored is None or anchored.event_count == 0:
        return faults
    stored = next((e.hash for e in events if e.seq == anchored.event_count), None)
    if stored is None:
        faults.append((anchored.event_count, FEWER_EVENTS))
    elif stored != anchored.head:
        faults.append((anchored.event_count, REWRITTEN))
    return faults


_newest: dict[tuple[str, float, str], Checkpoint] = {}


def newest(directory: Path | None, keyring: Keyring) -> Checkpoint | None:
    """The newest checkpoint in `directory` (parsed once per file), or None when there is none.
    CheckpointInvalid when it is forged or altered."""
    path = latest_path(directory) if directory else None
    if path is None:
        return None
    key = (str(path), path.stat().st_mtime, keyring.current_id)
    if key not in _newest:
        _newest.clear()
        _newest[key] = load(path, keyring)
    return _newest[key]
