"""Messages users register from outside (ProcessConfig.message_roles), e.g. the army unit's reply
to a query: which ones a user may register on a case now, and their forms
(workflows/<key>/forms/message_<name>.json). Delivering one is engine.runtime.deliver_message,
which checks the role again inside its transaction.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm import Session

from engine.access import visible_case
from engine.casedata import waiting_message_names
from engine.env import Env
from engine.errors import NotFound
from engine.forms import load_form
from engine.models import InstanceStatus, ProcessInstance
from engine.process_api import ProcessConfig
from engine.runtime import MESSAGE_FORM_PREFIX, may_register_message


@dataclass(frozen=True)
class MessageForm:
    name: str
    title: str                       # the form's title, e.g. 登记部队答复
    schema: dict[str, Any] | None


def message_form(config: ProcessConfig, name: str) -> MessageForm:
    schema = load_form(config.forms_dir, f"{MESSAGE_FORM_PREFIX}{name}")
    return MessageForm(name, str((schema or {}).get("title") or name), schema)


def registrable_messages(env: Env, session: Session, user_id: int,
                         instance: ProcessInstance) -> list[MessageForm]:
    """The messages the case waits for now that the user may register. The case's workflow is
    loaded only when the user holds one of the process's message roles at the case's unit."""
    if instance.status != InstanceStatus.running:
        return []
    try:
        config = env.process(instance.process_key)
    except KeyError:
        return []
    mine = [n for n in config.message_roles
            if may_register_message(session, user_id, instance, config, n)]
    if not mine:
        return []
    waiting = set(waiting_message_names(env, session, instance))
    return [message_form(config, n) for n in mine if n in waiting]


def message_schema(env: Env, user_id: int, instance_id: int, name: str) -> dict[str, Any] | None:
    """The form of a registrable message of a case the user may see (NotFound otherwise)."""
    with env.db.read() as session:
        instance = visible_case(session, user_id, instance_id)
        config = env.process(instance.process_key)
        if name not in config.message_roles:
            raise NotFound(f"{instance.process_key} has no registrable message {name!r}", "该事项不存在")
        return message_form(config, name).schema
