"""The petition definition as a whole: `workflows check` passes (lanes, forms, smoke run to 办结),
every element has diagram interchange, the demo variants fit their forms."""
from __future__ import annotations

from datetime import date

from lxml import etree

from engine.calendar import default_calendar
from engine.checks import check_process
from engine.forms import load_form, today_defaults, validate_form
from tests.factories import ROOT
from workflows.petition import PROCESS

BPMN = ROOT / "bpmn" / "petition" / "petition.bpmn"
NS = {"bpmn": "http://www.omg.org/spec/BPMN/20100524/MODEL",
      "bpmndi": "http://www.omg.org/spec/BPMN/20100524/DI",
      "di": "http://www.omg.org/spec/DD/20100524/DI"}
NODES = ("userTask", "scriptTask", "startEvent", "endEvent", "boundaryEvent", "exclusiveGateway",
         "parallelGateway", "intermediateThrowEvent", "subProcess", "lane")


def test_workflows_check_passes_and_the_smoke_run_reaches_the_end():
    report = check_process("petition", ROOT / "bpmn", PROCESS, default_calendar())
    assert report.problems == [] and report.completed and report.steps_run >= 6


def test_every_node_has_a_shape_and_every_flow_an_edge():
    tree = etree.parse(str(BPMN))
    shapes = {s.get("bpmnElement") for s in tree.iterfind(".//bpmndi:BPMNShape", NS)}
    waypoints = {e.get("bpmnElement"): len(e.findall("di:waypoint", NS))
                 for e in tree.iterfind(".//bpmndi:BPMNEdge", NS)}
    nodes = [n.get("id") for kind in NODES for n in tree.iterfind(f".//bpmn:{kind}", NS)]
    flows = [f.get("id") for f in tree.iterfind(".//bpmn:sequenceFlow", NS)]
    assert len(nodes) > 60 and len(flows) > 60
    assert [n for n in nodes if n not in shapes] == []
    assert [f for f in flows if waypoints.get(f, 0) < 2] == []


def test_demo_variants_fit_their_forms():
    variants = PROCESS.settings["demo_variants"]
    assert {"intake", "review", "handle", "receive_assignment", "review_request"} <= set(variants)
    for step, answers in variants.items():
        schema = load_form(PROCESS.forms_dir, step)
        assert schema is not None, step
        for answer in answers:  # the demo fills the dates a form defaults to today, as the form does
            validate_form(schema, {**today_defaults(schema, date(2026, 3, 2)), **answer})
