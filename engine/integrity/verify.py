"""Verify everything: every case's chain, the admin log's chain, and both against a checkpoint.

`verify_database` is what `flask audit verify` runs. Each problem names the log (a case number
or the admin log), the first event concerned and the reason in plain English.
"""
from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field

from sqlalchemy import func, select
from sqlalchemy.orm import Session, defer

from engine.history import check_events
from engine.integrity.adminlog import verify_admin_log
from engine.integrity.checkpoint import FEWER_EVENTS, REWRITTEN, UNKEYED_LATE, Checkpoint, case_faults
from engine.integrity.keys import SHA256, keyring_of
from engine.models import AdminEvent, HistoryEvent, ProcessInstance

BATCH = 200


@dataclass(frozen=True)
class Problem:
    where: str          # "case P-2026-0001" or "admin log"
    seq: int | None
    reason: str

    def line(self) -> str:
        return f"{self.where}" + (f" seq {self.seq}" if self.seq is not None else "") + f": {self.reason}"


@dataclass
class Report:
    cases: int = 0
    events: int = 0
    admin_events: int = 0
    problems: list[Problem] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


def _case_batches(session: Session) -> Iterator[list[ProcessInstance]]:
    cases = list(session.scalars(select(ProcessInstance).options(defer(ProcessInstance.state))
                                 .order_by(ProcessInstance.id)))
    for start in range(0, len(cases), BATCH):
        yield cases[start:start + BATCH]


def _events_of(session: Session, ids: list[int]) -> dict[int, list[HistoryEvent]]:
    events: dict[int, list[HistoryEvent]] = {i: [] for i in ids}
    for e in session.scalars(select(HistoryEvent).where(HistoryEvent.instance_id.in_(ids))
                             .order_by(HistoryEvent.instance_id, HistoryEvent.seq)):
        events[e.instance_id].append(e)
    return events


def verify_cases(session: Session, checkpoint: Checkpoint | None, report: Report) -> None:
    keyring = keyring_of(session)
    seen: set[int] = set()
    for batch in _case_batches(session):
        events = _events_of(session, [c.id for c in batch])
        for case in batch:
            seen.add(case.id)
            report.cases += 1
            report.events += len(events[case.id])
            check = check_events(events[case.id], case, keyring)
            if not check.ok:
                report.problems.append(Problem(f"case {case.case_no}", check.first_bad_seq, check.reason))
            for seq, reason in case_faults(checkpoint, case.id, events[case.id]) if checkpoint else []:
                report.problems.append(Problem(f"case {case.case_no}", seq, reason))
    orphans = session.execute(select(HistoryEvent.instance_id, func.min(HistoryEvent.seq))
                              .where(HistoryEvent.instance_id.not_in(select(ProcessInstance.id)))
                              .group_by(HistoryEvent.instance_id).order_by(HistoryEvent.instance_id))
    for instance_id, seq in orphans:
        report.problems.append(Problem(f"case id {instance_id}", seq, "events of a case missing from the database"))
    for case_id, anchored in (checkpoint.cases.items() if checkpoint else []):
        if case_id not in seen:
            report.problems.append(Problem(f"case {anchored.case_no}", None, "in the checkpoint with "
                                           f"{anchored.event_count} events, missing from the database"))


def verify_admin(session: Session, checkpoint: Checkpoint | None, report: Report) -> None:
    check = verify_admin_log(session)
    report.admin_events = check.events
    if not check.ok:
        report.problems.append(Problem("admin log", check.first_bad_seq, check.reason))
    if checkpoint is None:
        return
    late = session.scalar(select(func.min(AdminEvent.seq)).where(AdminEvent.hash_alg == SHA256,
                                                                  AdminEvent.seq > checkpoint.unkeyed_admin_seq))
    if late is not None:
        report.problems.append(Problem("admin log", late, UNKEYED_LATE))
    if checkpoint.admin_count == 0:
        return
    at = session.scalar(select(AdminEvent).where(AdminEvent.seq == checkpoint.admin_count))
    if at is None:
        report.problems.append(Problem("admin log", checkpoint.admin_count, FEWER_EVENTS))
    elif at.hash != checkpoint.admin_head:
        report.problems.append(Problem("admin log", checkpoint.admin_count, REWRITTEN))


def verify_database(session: Session, checkpoint: Checkpoint | None) -> Report:
    """Every chain in the database, and each head against the checkpoint when one is given."""
    report = Report()
    verify_cases(session, checkpoint, report)
    verify_admin(session, checkpoint, report)
    return report
