"""BPMN that RongFlow refuses on purpose, at deploy, with the element and its line.

Each rule names a construct SpiffWorkflow 3.2 cannot run as drawn; a model using it is refused
with a clear reason rather than deployed half-working:
- compensation: the parser stops on a compensation boundary event with a NotImplementedError
  text, and a compensation throw event or handler would never run;
- an event-based gateway with more than one timer: the gateway keeps a single due time, so every
  timer behind it would fire at the first one's.
"""
from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from engine.errors import DefinitionError

BPMN_NS = "http://www.omg.org/spec/BPMN/20100524/MODEL"
COMPENSATE = f"{{{BPMN_NS}}}compensateEventDefinition"
TIMER = f"{{{BPMN_NS}}}timerEventDefinition"

Refusal = tuple[Any, str, str]  # (element, English reason, Chinese reason)


def check_policy(tree: Any, file_name: str) -> None:
    """Raise DefinitionError naming the first refused element of a parsed BPMN file."""
    for rule in (_compensation, _gateway_timers):
        for node, reason, reason_zh in rule(tree):
            tag = node.tag.split("}")[-1]
            raise DefinitionError(reason, file=file_name, element=f"bpmn:{tag} id={node.get('id')}",
                                  line=node.sourceline, user_message=reason_zh)


def _compensation(tree: Any) -> Iterator[Refusal]:
    for node in tree.iter():
        if not isinstance(node.tag, str):  # comments, processing instructions
            continue
        if node.get("isForCompensation") == "true" or any(c.tag == COMPENSATE for c in node):
            yield (node, "compensation is not supported (SpiffWorkflow 3.2 cannot run compensation "
                   "events or handlers)", "本系统不支持补偿事件和补偿处理任务，请改用其他建模方式")


def _gateway_timers(tree: Any) -> Iterator[Refusal]:
    by_id = {n.get("id"): n for n in tree.iter() if isinstance(n.tag, str) and n.get("id")}
    for gateway in tree.iter(f"{{{BPMN_NS}}}eventBasedGateway"):
        targets = [by_id.get(f.get("targetRef")) for f in tree.iter(f"{{{BPMN_NS}}}sequenceFlow")
                   if f.get("sourceRef") == gateway.get("id")]
        timers = [t for t in targets if t is not None and t.find(TIMER) is not None]
        if len(timers) > 1:
            yield (gateway, "an event-based gateway may wait for one timer only (SpiffWorkflow 3.2 keeps a "
                   "single due time per gateway)", "基于事件的网关后只能有一个定时事件，请合并定时条件")
