"""What a petitioner sees with the case number and query code (no sign-in), and their evaluation.

The view holds only what was told to the petitioner anyway: the case's plain-Chinese status, the
written answers and notices served (text and date) and whether they may still evaluate. No staff
names, units or internal opinions. Everything is read from the case history and task rows; the
query code is checked (and rate-limited) by engine.public.verify_query_code.

The evaluation (受理 and 办理 stages, once) is open while the case waits for the follow-up after
the reply; it is delivered as the BPMN message `petitioner_evaluation`, which replaces the
caseworker's follow-up task (boundary event on 满意度评价).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select

from engine.calendar import to_local_date
from engine.casefile import fold_facts
from engine.env import Env
from engine.errors import InvalidState, NotFound
from engine.forms import load_form, validate_form
from engine.models import HistoryEvent, HumanTask, InstanceStatus, ProcessInstance, TaskStatus
from engine.public import verify_query_code
from engine.ratelimit import Limit
from engine.runtime import deliver_message

KEY = "petition"
MESSAGE = "petitioner_evaluation"
RATINGS = ("满意", "基本满意", "不满意")


@dataclass(frozen=True)
class Notice:
    title: str
    text: str
    served_on: str | None


@dataclass(frozen=True)
class PublicCase:
    case_no: str
    status: str
    registered_on: str
    notices: list[Notice] = field(default_factory=list)
    can_evaluate: bool = False
    evaluated: bool = False


def lookup(env: Env, case_no: str, code: str, client: str, limit: Limit = Limit()) -> PublicCase:
    """The petitioner's view of their case (QueryLocked / NotFound on a bad or blocked query)."""
    return public_case(env, verify_query_code(env, KEY, case_no, code, client, limit))


def evaluate(env: Env, case_no: str, code: str, client: str, form: dict[str, Any],
             limit: Limit = Limit()) -> PublicCase:
    """Record the petitioner's evaluation of both stages, once, while it is open."""
    instance_id = verify_query_code(env, KEY, case_no, code, client, limit)
    schema = load_form(env.process(KEY).forms_dir, "public_evaluation")
    if schema is not None:
        validate_form(schema, form)
    view = public_case(env, instance_id)
    if view.evaluated:
        raise InvalidState("the petitioner evaluated this case already", "您已评价过本事项，感谢您的参与")
    if not view.can_evaluate:
        raise InvalidState("the case is not waiting for an evaluation",
                           "收到处理意见书后方可评价；本事项当前不能评价")
    payload = {"evaluated": True, "intake_satisfaction": form["intake_satisfaction"],
               "handling_satisfaction": form["handling_satisfaction"],
               "followup_on": to_local_date(env.clock.now()).isoformat(),
               "followup_method": "信访人网上评价"}
    deliver_message(env, instance_id, MESSAGE, payload, source="信访人（查询码）",
                    step_name="信访人网上评价")
    return public_case(env, instance_id)


def public_case(env: Env, instance_id: int) -> PublicCase:
    with env.db.read() as session:
        instance = session.get(ProcessInstance, instance_id)
        if instance is None or instance.process_key != KEY:
            raise NotFound(f"petition {instance_id} does not exist", "案件不存在")
        events = list(session.scalars(select(HistoryEvent).where(
            HistoryEvent.instance_id == instance_id).order_by(HistoryEvent.seq)))
        open_steps = set(session.scalars(select(HumanTask.step_id).where(
            HumanTask.instance_id == instance_id,
            HumanTask.status.in_((TaskStatus.open, TaskStatus.claimed)))))
    facts = fold_facts(events)
    evaluated = any((e.action == "complete" and e.step_id == "evaluate")
                    or (e.action == "message" and e.step_id == MESSAGE) for e in events)
    return PublicCase(
        case_no=instance.case_no, status=status_label(instance.status, facts),
        registered_on=to_local_date(instance.created_at).isoformat(), notices=notices(facts),
        can_evaluate=not evaluated and "evaluate" in open_steps
        and instance.status == InstanceStatus.running, evaluated=evaluated)


def status_label(status: InstanceStatus, f: dict[str, Any]) -> str:
    """The case's state as the petitioner should read it."""
    if status == InstanceStatus.cancelled:
        return "已撤销"
    if status == InstanceStatus.terminated:
        return "已终止"
    if status == InstanceStatus.completed:
        if f.get("review_final"):
            return "已终结（复核意见已送达）"
        if f.get("intake_outcome") == "转送":
            return "已转送其他机关办理"
        if f.get("intake_outcome") == "不予受理":
            return "不予受理（已书面告知）"
        return "已办结"
    return _running_label(f)


def _running_label(f: dict[str, Any]) -> str:
    if f.get("second_review_requested_on"):
        return "复核中"
    if f.get("first_review_served_on"):
        return "已复查（可自收到复查意见之日起30日内申请复核）"
    if f.get("first_review_requested_on"):
        return "复查中"
    if f.get("served_on"):
        return "已答复（可自收到处理意见书之日起30日内申请复查）"
    if f.get("intake_outcome") == "不予受理" and f.get("refusal_decision") == "同意":
        return "不予受理（告知书送达中）"
    if f.get("intake_outcome") in ("受理", "交办") and not f.get("assignment_objected"):
        return "办理中" if f.get("handling_action") else "已受理"
    return "已登记（受理审查中）"


def notices(f: dict[str, Any]) -> list[Notice]:
    """The written answers and notices served on the petitioner, in the order they came."""
    out = []
    if f.get("intake_outcome") == "转送" and f.get("intake_notice_on"):
        out.append(Notice("转送告知书", f"您反映的事项已转送{f.get('transfer_organ')}办理。",
                          f.get("intake_notice_on")))
    if f.get("notice_served_on") and f.get("refusal_reason"):
        out.append(Notice("不予受理告知书", f"不予受理理由：{f['refusal_reason']}。", f["notice_served_on"]))
    if f.get("served_on") and f.get("handling_opinion"):
        out.append(Notice("信访事项处理意见书", str(f["handling_opinion"]), f["served_on"]))
    if f.get("first_review_served_on"):
        out.append(Notice("复查意见书", str(f.get("first_review_opinion") or ""), f["first_review_served_on"]))
    if f.get("second_review_served_on"):
        out.append(Notice("复核意见书", str(f.get("second_review_opinion") or ""), f["second_review_served_on"]))
    return out
