"""Small BPMN models whose second step fails in one particular way, for the step-error tests.

Each model: start → 填报 (user task `fill`, lane caseworker) → the failing construct → 复核
(user task `check`) → end. `model(kind)` returns the BPMN bytes; KINDS lists the kinds.
"""
from __future__ import annotations

HEAD = """<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
    xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"
    xmlns:spiffworkflow="http://spiffworkflow.org/bpmn/schema/1.0/core"
    id="step_errors_defs" targetNamespace="http://rongflow.local/bpmn">
  <bpmn:process id="step_errors" name="出错测试" isExecutable="true">
    <bpmn:laneSet id="ls">
      <bpmn:lane id="lane_cw" name="caseworker">
        <bpmn:flowNodeRef>start</bpmn:flowNodeRef>
        <bpmn:flowNodeRef>fill</bpmn:flowNodeRef>
        <bpmn:flowNodeRef>fail</bpmn:flowNodeRef>
        <bpmn:flowNodeRef>check</bpmn:flowNodeRef>
        <bpmn:flowNodeRef>end</bpmn:flowNodeRef>
      </bpmn:lane>
    </bpmn:laneSet>
    <bpmn:startEvent id="start" />
"""
TAIL = """    <bpmn:userTask id="check" name="复核" />
    <bpmn:endEvent id="end" />
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="fill" />
{flows}
    <bpmn:sequenceFlow id="f4" sourceRef="check" targetRef="end" />
  </bpmn:process>
</bpmn:definitions>
"""
PLAIN_FILL = '    <bpmn:userTask id="fill" name="填报" />\n'
CHAIN = ('    <bpmn:sequenceFlow id="f2" sourceRef="fill" targetRef="fail" />\n'
         '    <bpmn:sequenceFlow id="f3" sourceRef="fail" targetRef="check" />')

REGISTER = '    <bpmn:scriptTask id="fail" name="登记"><bpmn:script>registered = True</bpmn:script></bpmn:scriptTask>\n'
# The step `fail` of each kind (and, for data_output, a `fill` that declares an output).
BODIES: dict[str, tuple[str, str]] = {
    # 填报 declares a data output `approved_amount` that the form does not supply.
    "data_output": ("""    <bpmn:userTask id="fill" name="填报">
      <bpmn:ioSpecification id="io_fill">
        <bpmn:dataOutput id="approved_amount" name="核定金额" />
        <bpmn:inputSet id="in_fill" />
        <bpmn:outputSet id="out_fill"><bpmn:dataOutputRefs>approved_amount</bpmn:dataOutputRefs></bpmn:outputSet>
      </bpmn:ioSpecification>
    </bpmn:userTask>
""", REGISTER),
    # A script that adds a number and a string: TypeError on line 2.
    "script_type": (PLAIN_FILL, """    <bpmn:scriptTask id="fail" name="计算补贴">
      <bpmn:script>base = 100
subsidy = amount + "元"</bpmn:script>
    </bpmn:scriptTask>
"""),
    # A gateway condition that compares a number with a string.
    "condition": (PLAIN_FILL, """    <bpmn:exclusiveGateway id="fail" name="金额判断" default="f3" />
    <bpmn:sequenceFlow id="f3b" sourceRef="fail" targetRef="check">
      <bpmn:conditionExpression>amount &gt; "一千"</bpmn:conditionExpression>
    </bpmn:sequenceFlow>
"""),
    # A service task: no service is registered for it.
    "service": (PLAIN_FILL, """    <bpmn:serviceTask id="fail" name="查询档案">
      <bpmn:extensionElements>
        <spiffworkflow:serviceTaskOperator id="archive_lookup" resultVariable="archive">
          <spiffworkflow:parameters />
        </spiffworkflow:serviceTaskOperator>
      </bpmn:extensionElements>
    </bpmn:serviceTask>
"""),
    # A timer whose expression names a variable the case does not have.
    "timer_expr": (PLAIN_FILL, """    <bpmn:intermediateCatchEvent id="fail" name="等待期满">
      <bpmn:timerEventDefinition>
        <bpmn:timeDuration xsi:type="bpmn:tFormalExpression">wait_period</bpmn:timeDuration>
      </bpmn:timerEventDefinition>
    </bpmn:intermediateCatchEvent>
"""),
    # A timer whose expression gives a value that is not a duration.
    "timer_value": (PLAIN_FILL, """    <bpmn:intermediateCatchEvent id="fail" name="等待期满">
      <bpmn:timerEventDefinition>
        <bpmn:timeDuration xsi:type="bpmn:tFormalExpression">"十五天"</bpmn:timeDuration>
      </bpmn:timerEventDefinition>
    </bpmn:intermediateCatchEvent>
"""),
}
KINDS = sorted(BODIES)
# A model that does not fail, for hook tests: 填报 → a plain task → 复核.
BODIES["plain"] = (PLAIN_FILL, REGISTER)
# The step each kind's error names.
FAILING_STEP = {"data_output": "fill", "script_type": "fail", "condition": "fail",
                "service": "fail", "timer_expr": "fail", "timer_value": "fail"}


def model(kind: str) -> bytes:
    fill, fail = BODIES[kind]
    return (HEAD + fill + fail + TAIL.format(flows=CHAIN)).encode("utf-8")
