"""The documents a completed step issues (ProcessConfig.documents rules), in the step's transaction."""
from __future__ import annotations

from datetime import datetime
from typing import Any

from engine.documents.issue import Issuer, issue_document
from engine.env import Env
from engine.models import CaseDocument, HumanTask
from engine.orgs import Actor
from engine.stepper import Case


def issue_step_documents(env: Env, case: Case, row: HumanTask, actor: Actor, data: dict[str, Any],
                         now: datetime) -> list[CaseDocument]:
    """Issue, numbered by the organ of the step's unit, each document the step's rules name."""
    docs = case.config.documents
    if docs is None or env.upload_dir is None:
        return []
    issuer = Issuer(actor.id, actor.name, case.orgs.organ_of(row.org_unit_id), row.step_id,
                    row.step_name, row.id)
    return [issue_document(case.session, case.instance, docs, doc, data, issuer, env.upload_dir, now)
            for doc in docs.for_step(row.step_id, data)]
