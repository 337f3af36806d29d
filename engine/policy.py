"""BPMN that RongFlow refuses on purpose, at deploy, with the element and its line.

SpiffWorkflow 3.2 cannot run compensation: its parser stops on a compensation boundary event
with a NotImplementedError text, and a compensation throw event or handler would never run.
Such a model is refused here with a clear reason rather than deployed half-working.
"""
from __future__ import annotations

from typing import Any

from engine.errors import DefinitionError

BPMN_NS = "http://www.omg.org/spec/BPMN/20100524/MODEL"
COMPENSATE = f"{{{BPMN_NS}}}compensateEventDefinition"
COMPENSATION_REFUSED = "compensation is not supported (SpiffWorkflow 3.2 cannot run compensation events or handlers)"
COMPENSATION_REFUSED_ZH = "本系统不支持补偿事件和补偿处理任务，请改用其他建模方式"


def check_policy(tree: Any, file_name: str) -> None:
    """Raise DefinitionError naming the first refused element of a parsed BPMN file."""
    for node in tree.iter():
        if not isinstance(node.tag, str):  # comments, processing instructions
            continue
        if node.get("isForCompensation") == "true" or any(c.tag == COMPENSATE for c in node):
            tag = node.tag.split("}")[-1]
            raise DefinitionError(COMPENSATION_REFUSED, file=file_name,
                                  element=f"bpmn:{tag} id={node.get('id')}", line=node.sourceline,
                                  user_message=COMPENSATION_REFUSED_ZH)
