"""The deploy-time check: every kind of script and expression in BPMN and DMN is compiled under
the sandbox rules, and the first refused one names its file, element and line."""
import pytest

from engine.errors import DefinitionError
from engine.sandbox.deploy_check import check_definition

BAD = "__import__('os')"
BPMN_HEAD = ('<?xml version="1.0" encoding="UTF-8"?>\n'
             '<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" '
             'xmlns:spiffworkflow="http://spiffworkflow.org/bpmn/schema/1.0/core" id="d">\n'
             '<bpmn:process id="p" isExecutable="true">\n')
BPMN_TAIL = "</bpmn:process>\n</bpmn:definitions>\n"
DMN_HEAD = ('<?xml version="1.0" encoding="UTF-8"?>\n'
            '<definitions xmlns="https://www.omg.org/spec/DMN/20191111/MODEL/" id="dd">\n'
            '<decision id="dec"><decisionTable id="tbl">\n')
DMN_TAIL = "</decisionTable></decision>\n</definitions>\n"

# (kind, element id, XML of the element with {code} where the script or expression goes)
BPMN_KINDS = [
    ("script", "task", '<bpmn:scriptTask id="task"><bpmn:script>{code}</bpmn:script></bpmn:scriptTask>'),
    ("condition", "flow", '<bpmn:sequenceFlow id="flow" sourceRef="a" targetRef="b">'
                          '<bpmn:conditionExpression>{code}</bpmn:conditionExpression></bpmn:sequenceFlow>'),
    ("timeDate", "timer", '<bpmn:boundaryEvent id="timer"><bpmn:timerEventDefinition>'
                          '<bpmn:timeDate>{code}</bpmn:timeDate></bpmn:timerEventDefinition></bpmn:boundaryEvent>'),
    ("timeDuration", "timer", '<bpmn:boundaryEvent id="timer"><bpmn:timerEventDefinition>'
                              '<bpmn:timeDuration>{code}</bpmn:timeDuration></bpmn:timerEventDefinition>'
                              '</bpmn:boundaryEvent>'),
    ("timeCycle", "timer", '<bpmn:boundaryEvent id="timer"><bpmn:timerEventDefinition>'
                           '<bpmn:timeCycle>{code}</bpmn:timeCycle></bpmn:timerEventDefinition></bpmn:boundaryEvent>'),
    ("loopCardinality", "mi", '<bpmn:userTask id="mi"><bpmn:multiInstanceLoopCharacteristics>'
                              '<bpmn:loopCardinality>{code}</bpmn:loopCardinality>'
                              '</bpmn:multiInstanceLoopCharacteristics></bpmn:userTask>'),
    ("completionCondition", "mi", '<bpmn:userTask id="mi"><bpmn:multiInstanceLoopCharacteristics>'
                                  '<bpmn:completionCondition>{code}</bpmn:completionCondition>'
                                  '</bpmn:multiInstanceLoopCharacteristics></bpmn:userTask>'),
    ("loopCondition", "loop", '<bpmn:userTask id="loop"><bpmn:standardLoopCharacteristics>'
                              '<bpmn:loopCondition>{code}</bpmn:loopCondition>'
                              '</bpmn:standardLoopCharacteristics></bpmn:userTask>'),
    ("conditional event", "cond", '<bpmn:intermediateCatchEvent id="cond"><bpmn:conditionalEventDefinition>'
                                  '<bpmn:condition>{code}</bpmn:condition></bpmn:conditionalEventDefinition>'
                                  '</bpmn:intermediateCatchEvent>'),
    ("preScript", "ut", '<bpmn:userTask id="ut"><bpmn:extensionElements>'
                        '<spiffworkflow:preScript>{code}</spiffworkflow:preScript></bpmn:extensionElements>'
                        '</bpmn:userTask>'),
    ("postScript", "ut", '<bpmn:userTask id="ut"><bpmn:extensionElements>'
                         '<spiffworkflow:postScript>{code}</spiffworkflow:postScript></bpmn:extensionElements>'
                         '</bpmn:userTask>'),
    ("messagePayload", "send", '<bpmn:intermediateThrowEvent id="send"><bpmn:messageEventDefinition>'
                               '<bpmn:extensionElements><spiffworkflow:messagePayload>{code}'
                               '</spiffworkflow:messagePayload></bpmn:extensionElements>'
                               '</bpmn:messageEventDefinition></bpmn:intermediateThrowEvent>'),
    ("payloadExpression", "sig", '<bpmn:intermediateThrowEvent id="sig"><bpmn:signalEventDefinition>'
                                 '<bpmn:extensionElements><spiffworkflow:payloadExpression>{code}'
                                 '</spiffworkflow:payloadExpression></bpmn:extensionElements>'
                                 '</bpmn:signalEventDefinition></bpmn:intermediateThrowEvent>'),
    ("correlation expression", "corr", '<bpmn:correlationProperty id="corr"><spiffworkflow:expression>{code}'
                                       '</spiffworkflow:expression></bpmn:correlationProperty>'),
    ("retrieval expression", "corr", '<bpmn:correlationProperty id="corr">'
                                     '<bpmn:correlationPropertyRetrievalExpression><bpmn:formalExpression>{code}'
                                     '</bpmn:formalExpression></bpmn:correlationPropertyRetrievalExpression>'
                                     '</bpmn:correlationProperty>'),
    ("service parameter", "svc", '<bpmn:serviceTask id="svc"><bpmn:extensionElements>'
                                 '<spiffworkflow:serviceTaskOperator id="op"><spiffworkflow:parameters>'
                                 '<spiffworkflow:parameter id="prm" value="{code}"/></spiffworkflow:parameters>'
                                 '</spiffworkflow:serviceTaskOperator></bpmn:extensionElements></bpmn:serviceTask>'),
]


def bpmn(element: str, code: str) -> bytes:
    return (BPMN_HEAD + element.replace("{code}", code) + "\n" + BPMN_TAIL).encode()


@pytest.mark.parametrize("kind,element_id,element", BPMN_KINDS, ids=[k for k, _i, _e in BPMN_KINDS])
def test_every_kind_of_bpmn_code_is_checked(kind, element_id, element):
    check_definition({"p.bpmn": bpmn(element, "amount &gt; 1")})
    with pytest.raises(DefinitionError) as caught:
        check_definition({"p.bpmn": bpmn(element, BAD)})
    err = caught.value
    assert err.file == "p.bpmn"
    assert err.line == 4
    expected = "spiffworkflow:parameter id=prm" if kind == "service parameter" else f"id={element_id}"
    assert err.element.endswith(expected) and err.element.startswith(("bpmn:", "spiffworkflow:"))
    assert "refused by the script sandbox" in err.message
    assert err.user_message.startswith("流程定义有误：脚本或表达式使用了不允许的名称（文件 p.bpmn")
    assert "第 4 行" in err.user_message


def test_script_line_is_the_file_line_of_the_statement():
    element = '<bpmn:scriptTask id="calc" name="计算"><bpmn:script>a = 1\nb = 2\nc = now.__globals__</bpmn:script>' \
              '</bpmn:scriptTask>'
    with pytest.raises(DefinitionError) as caught:
        check_definition({"p.bpmn": bpmn(element, "")})
    err = caught.value
    assert (err.file, err.element, err.line) == ("p.bpmn", "bpmn:scriptTask id=calc", 6)
    assert err.message == ('script refused by the script sandbox: attribute "__globals__" is not allowed in '
                           'BPMN scripts (file p.bpmn, element bpmn:scriptTask id=calc, line 6)')
    assert err.user_message == ("流程定义有误：脚本或表达式访问了不允许的属性（文件 p.bpmn，"
                                "元素 bpmn:scriptTask id=calc，第 6 行）。脚本和表达式只能使用流程数据和允许的函数。")


def test_script_starting_on_a_new_line_counts_from_the_tag():
    element = '<bpmn:scriptTask id="calc"><bpmn:script>\nimport os</bpmn:script></bpmn:scriptTask>'
    with pytest.raises(DefinitionError) as caught:
        check_definition({"p.bpmn": bpmn(element, "")})
    assert caught.value.line == 5
    assert "使用了不允许的写法" in caught.value.user_message


def test_syntax_errors_are_refused_too():
    with pytest.raises(DefinitionError) as caught:
        check_definition({"p.bpmn": bpmn(BPMN_KINDS[1][2], "amount ==== 1")})
    assert "syntax error" in caught.value.message
    assert "脚本或表达式有语法错误" in caught.value.user_message


def test_empty_code_and_text_annotations_are_not_code():
    element = ('<bpmn:scriptTask id="t"><bpmn:script></bpmn:script></bpmn:scriptTask>'
               '<bpmn:textAnnotation id="note"><bpmn:text>__import__ 不是代码</bpmn:text></bpmn:textAnnotation>'
               '<bpmn:formalExpression>__import__</bpmn:formalExpression>'
               '<bpmn:documentation>__import__</bpmn:documentation><!-- __import__ -->')
    check_definition({"p.bpmn": bpmn(element, "")})


def test_files_are_checked_in_name_order_and_unparsable_files_are_left_to_the_parser():
    files = {"b.bpmn": bpmn(BPMN_KINDS[0][2], "x = _y"), "a.bpmn": bpmn(BPMN_KINDS[0][2], BAD),
             "c.bpmn": b"<not xml"}
    with pytest.raises(DefinitionError) as caught:
        check_definition(files)
    assert caught.value.file == "a.bpmn"
    check_definition({"c.bpmn": b"<not xml"})


def test_element_without_id_is_named_by_its_tag():
    xml = BPMN_HEAD.replace(' id="p"', "") + "<bpmn:scriptTask><bpmn:script>import os</bpmn:script>" \
        "</bpmn:scriptTask>\n" + BPMN_TAIL
    xml = xml.replace('<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" '
                      'xmlns:spiffworkflow="http://spiffworkflow.org/bpmn/schema/1.0/core" id="d">',
                      '<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL">')
    with pytest.raises(DefinitionError) as caught:
        check_definition({"p.bpmn": xml.encode()})
    assert caught.value.element == "bpmn:script"


def dmn(rule: str) -> bytes:
    return (DMN_HEAD + rule + "\n" + DMN_TAIL).encode()


DMN_GOOD = [
    '<input id="in"><inputExpression id="ie"><text>amount</text></inputExpression></input>',
    '<rule id="r"><inputEntry id="e"><text>&lt; 5</text></inputEntry></rule>',
    '<rule id="r"><inputEntry id="e"><text>"甲", "乙"</text></inputEntry></rule>',
    '<rule id="r"><inputEntry id="e"><text>1 &lt; ? &lt; 5</text></inputEntry></rule>',
    '<rule id="r"><inputEntry id="e"><text>-</text></inputEntry></rule>',
    '<rule id="r"><inputEntry id="e"><text></text></inputEntry></rule>',
    '<rule id="r"><outputEntry id="o"><text>amount * Decimal("0.8")</text></outputEntry></rule>',
    '<rule id="r"><description>__import__ is prose</description></rule>',
]
DMN_BAD = [
    ('<input id="in"><inputExpression id="ie"><text>now.__globals__</text></inputExpression></input>', "ie"),
    ('<rule id="r"><inputEntry id="e"><text>== __import__("os")</text></inputEntry></rule>', "e"),
    ('<rule id="r"><inputEntry id="e"><text>? == now.gi_frame</text></inputEntry></rule>', "e"),
    ('<rule id="r"><inputEntry id="e"><text>getattr(now, "x")</text></inputEntry></rule>', "e"),
    ('<rule id="r"><inputEntry id="e"><text>== ==</text></inputEntry></rule>', "e"),
    ('<rule id="r"><outputEntry id="o"><text>"{0.x}".format(now)</text></outputEntry></rule>', "o"),
]


@pytest.mark.parametrize("rule", DMN_GOOD)
def test_dmn_cells_that_follow_the_rules_pass(rule):
    check_definition({"t.dmn": dmn(rule)})


@pytest.mark.parametrize("rule,element_id", DMN_BAD)
def test_dmn_cells_are_checked(rule, element_id):
    with pytest.raises(DefinitionError) as caught:
        check_definition({"t.dmn": dmn(rule)})
    assert caught.value.file == "t.dmn"
    assert caught.value.element == f"dmn:{rule.split('<text>')[0].split('<')[-1].split()[0]} id={element_id}"
    assert caught.value.line == 4


def test_bpmn_text_tags_are_not_dmn_cells_and_dmn_scripts_are_not_scripts():
    check_definition({"t.dmn": dmn("<script>import os</script>")})


def test_forbidden_builtins_are_named_as_names():
    with pytest.raises(DefinitionError) as caught:
        check_definition({"p.bpmn": bpmn(BPMN_KINDS[0][2], "x = open('f')")})
    assert "使用了不允许的名称" in caught.value.user_message
