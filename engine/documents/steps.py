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
    """Issue each document the step's rules name, numbered by the organ the rule names."""
    docs = case.config.documents
    if docs is None or env.upload_dir is None:
        return []
    issued = []
    for rule, doc in docs.for_step(row.step_id, data):
        unit = case.instance.org_unit_id if rule.issuer == "case" else row.org_unit_id
        issuer = Issuer(actor.id, actor.name, case.orgs.organ_of(unit), row.step_id, row.step_name, row.id)
        issued.append(issue_document(case.session, case.instance, docs, doc, data, issuer, env.upload_dir, now))
    return issued
