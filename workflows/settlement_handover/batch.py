"""Register a batch of soldier files that arrived together by confidential post (one case each).

Every file is checked first (its start form, duplicate ID numbers within the batch, and files
already registered), so one bad file registers none. Then each file starts its own case in its
own transaction, in the order given: a case is the unit of work and of locking, and a batch of
200 files must not hold one long write transaction. If the database fails half way, the cases
already started stay started; `BatchInterrupted.started` lists them, and registering the batch
again refuses exactly those files as duplicates.
"""
from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy import select

from engine.calendar import to_local_date
from engine.env import Env
from engine.errors import EngineError, FormInvalid
from engine.forms import load_form, validate_form
from engine.models import InstanceStatus, ProcessInstance
from engine.orgs import Actor
from engine.runtime import StartResult, start_case

KEY = "settlement_handover"


class BatchInterrupted(EngineError):
    """Some files of the batch were registered before an error stopped the rest."""
    code = "batch_interrupted"

    def __init__(self, started: list[StartResult], failed_index: int, cause: Exception) -> None:
        super().__init__(f"batch stopped at file {failed_index}: {cause}",
                         f"批次登记在第 {failed_index + 1} 份档案处中断，已登记 {len(started)} 份",
                         failed_index=failed_index)
        self.started = started
        self.failed_index = failed_index


def register_batch(env: Env, actor: Actor, unit_id: int, batch_no: str,
                   files: list[dict[str, Any]]) -> list[StartResult]:
    """Start one settlement_handover case per file, all under `batch_no`."""
    rows = [{**f, "batch_no": batch_no} for f in files]
    _check_batch(env, rows)
    started: list[StartResult] = []
    for index, row in enumerate(rows):
        try:
            started.append(start_case(env, KEY, actor, unit_id, row))
        except Exception as exc:
            if not started:
                raise
            raise BatchInterrupted(started, index, exc) from exc
    return started


def _check_batch(env: Env, rows: list[dict[str, Any]]) -> None:
    if not rows:
        raise FormInvalid({"files": "请至少登记一份档案"})
    schema = load_form(env.process(KEY).forms_dir, "start")
    errors: dict[str, str] = {}
    seen: dict[str, int] = {}
    today = to_local_date(env.clock.now())
    for i, row in enumerate(rows):
        try:
            if schema is not None:
                validate_form(schema, row)
            if date.fromisoformat(str(row["discharge_approved_on"])) > today:
                errors[f"files[{i}].discharge_approved_on"] = "日期不能晚于今天"
        except FormInvalid as exc:
            errors.update({f"files[{i}].{k}": v for k, v in exc.errors.items()})
        id_no = str(row.get("id_number", "")).upper()
        if id_no in seen:
            errors[f"files[{i}].id_number"] = f"与第 {seen[id_no] + 1} 份档案身份证号重复"
        seen.setdefault(id_no, i)
    for id_no, case_no in _registered(env, list(seen)).items():
        errors[f"files[{seen[id_no]}].id_number"] = f"该身份证号已有档案案件 {case_no}"
    if errors:
        raise FormInvalid(errors)


def _registered(env: Env, id_numbers: list[str]) -> dict[str, str]:
    """ID number -> case number of files already registered (withdrawn cases do not count)."""
    with env.db.read() as session:
        rows = session.execute(select(ProcessInstance.subject_id_no, ProcessInstance.case_no).where(
            ProcessInstance.process_key == KEY, ProcessInstance.subject_id_no.in_(id_numbers),
            ProcessInstance.status.not_in([InstanceStatus.cancelled, InstanceStatus.terminated])))
        return {str(r.subject_id_no): r.case_no for r in rows}
