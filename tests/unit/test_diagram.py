"""Server-side BPMN diagram rendering (webapp/diagram.py)."""
from __future__ import annotations

from pathlib import Path

import pytest
from lxml import etree

from webapp.diagram import render_svg, wrap_text

DATA = Path(__file__).resolve().parents[1] / "data" / "diagram"
SVG_NS = {"svg": "http://www.w3.org/2000/svg"}
DI_NS = {"bpmndi": "http://www.omg.org/spec/BPMN/20100524/DI"}


@pytest.fixture
def subsidy_xml() -> bytes:
    return (DATA / "veteran_subsidy.bpmn").read_bytes()


def parse(svg: str) -> etree._Element:
    return etree.fromstring(svg.encode("utf-8"))


def shape_groups(svg: etree._Element) -> list[etree._Element]:
    return svg.xpath("//svg:g[contains(concat(' ', @class, ' '), ' bpmn-shape ')]",
                     namespaces=SVG_NS)


def group_for(svg: etree._Element, element_id: str) -> etree._Element:
    (group,) = svg.xpath("//svg:g[@data-element-id=$id]", id=element_id, namespaces=SVG_NS)
    return group


def classes(group: etree._Element) -> set[str]:
    return set(group.get("class", "").split())


def minimal_bpmn(name: str = "Task", *, process_id: str = "p", shape_id: str = "t") -> bytes:
    """One task with DI, for edge cases."""
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
    xmlns:bpmndi="http://www.omg.org/spec/BPMN/20100524/DI"
    xmlns:dc="http://www.omg.org/spec/DD/20100524/DC" id="d" targetNamespace="x">
  <bpmn:process id="{process_id}"><bpmn:userTask id="{shape_id}" name="{name}"/></bpmn:process>
  <bpmndi:BPMNDiagram id="dia"><bpmndi:BPMNPlane id="pl" bpmnElement="{process_id}">
    <bpmndi:BPMNShape id="{shape_id}_di" bpmnElement="{shape_id}">
      <dc:Bounds x="10" y="20" width="100" height="80"/></bpmndi:BPMNShape>
  </bpmndi:BPMNPlane></bpmndi:BPMNDiagram>
</bpmn:definitions>""".encode("utf-8")


def test_every_bpmn_shape_of_the_plane_gets_one_group(subsidy_xml: bytes) -> None:
    doc = etree.fromstring(subsidy_xml)
    plane = doc.find(".//bpmndi:BPMNPlane", DI_NS)
    expected = [s.get("bpmnElement") for s in plane.iterfind("bpmndi:BPMNShape", DI_NS)]

    svg = parse(render_svg(subsidy_xml, "subsidy"))

    drawn = [g.get("data-element-id") for g in shape_groups(svg)]
    assert sorted(drawn) == sorted(expected)
    assert len(drawn) == 22


def test_completed_and_current_steps_are_marked(subsidy_xml: bytes) -> None:
    svg = parse(render_svg(subsidy_xml, "subsidy", completed={"submit", "check"},
                           current={"approve"}))

    assert "bpmn-completed" in classes(group_for(svg, "submit"))
    assert "bpmn-completed" in classes(group_for(svg, "check"))
    assert "bpmn-current" in classes(group_for(svg, "approve"))
    assert "bpmn-pending" in classes(group_for(svg, "escalate"))
    current_rect = group_for(svg, "approve").find("svg:rect", SVG_NS)
    assert float(current_rect.get("stroke-width")) >= 3


def test_a_step_running_again_is_current_not_completed(subsidy_xml: bytes) -> None:
    svg = parse(render_svg(subsidy_xml, completed={"check"}, current={"check"}))

    assert {"bpmn-current"} == classes(group_for(svg, "check")) & {
        "bpmn-current", "bpmn-completed", "bpmn-pending"}


def test_flow_between_two_completed_steps_is_green(subsidy_xml: bytes) -> None:
    svg = parse(render_svg(subsidy_xml, completed={"start", "submit"}, current={"check"}))

    done = group_for(svg, "f1")
    into_current = group_for(svg, "f2")
    assert "bpmn-flow-completed" in classes(done)
    assert "bpmn-flow-pending" in classes(into_current)
    assert done.find("svg:polyline", SVG_NS).get("marker-end") == "url(#bpmn-arrow-done)"
    assert into_current.find("svg:polyline", SVG_NS).get("marker-end") == "url(#bpmn-arrow)"


def test_shapes_follow_their_bpmn_type(subsidy_xml: bytes) -> None:
    svg = parse(render_svg(subsidy_xml))

    assert group_for(svg, "gw_ok").find("svg:polygon", SVG_NS) is not None
    assert len(group_for(svg, "timer_pub").findall("svg:circle", SVG_NS)) >= 3  # rings + clock
    end_ring = group_for(svg, "end_ok").find("svg:circle", SVG_NS)
    start_ring = group_for(svg, "start").find("svg:circle", SVG_NS)
    assert float(end_ring.get("stroke-width")) > float(start_ring.get("stroke-width"))
    call = group_for(svg, "call_town").find("svg:rect", SVG_NS)
    task = group_for(svg, "check").find("svg:rect", SVG_NS)
    assert float(call.get("stroke-width")) > float(task.get("stroke-width"))


def test_boundary_event_is_painted_after_its_task(subsidy_xml: bytes) -> None:
    svg = parse(render_svg(subsidy_xml))
    order = [g.get("data-element-id") for g in shape_groups(svg)]

    assert order.index("sla") > order.index("approve")
    assert order.index("Participant_bureau") < order.index("Lane_chief") < order.index("start")


def test_names_and_hover_titles(subsidy_xml: bytes) -> None:
    svg = parse(render_svg(subsidy_xml, completed={"submit"}))

    assert group_for(svg, "check").findtext("svg:title", namespaces=SVG_NS) == "经办人初审（材料核对）"
    assert group_for(svg, "submit").findtext("svg:title", namespaces=SVG_NS).endswith("（已完成）")
    gateway_text = "".join(group_for(svg, "gw_ok").find("svg:text", SVG_NS).itertext())
    assert gateway_text == "材料齐全？"


def test_labels_override_element_names(subsidy_xml: bytes) -> None:
    svg = parse(render_svg(subsidy_xml, labels={"approve": "分管领导审批"}))

    assert group_for(svg, "approve").findtext("svg:title", namespaces=SVG_NS) == "分管领导审批"


def test_special_characters_are_escaped() -> None:
    raw = render_svg(minimal_bpmn("A &amp; B &lt;script&gt;"))

    assert "<script" not in raw
    assert "A &amp; B &lt;script&gt;" in raw
    svg = parse(raw)
    assert group_for(svg, "t").findtext("svg:title", namespaces=SVG_NS) == "A & B <script>"


def test_svg_is_inline_ready(subsidy_xml: bytes) -> None:
    raw = render_svg(subsidy_xml)
    svg = parse(raw)

    assert raw.startswith("<svg")
    assert svg.get("width") == "100%"
    assert svg.get("preserveAspectRatio")
    assert "Noto Sans CJK SC" in svg.get("font-family")
    assert not svg.xpath("//svg:script | //svg:style | //@style | //@*[starts-with(name(), 'on')]",
                         namespaces=SVG_NS)


def test_viewbox_covers_every_shape(subsidy_xml: bytes) -> None:
    svg = parse(render_svg(subsidy_xml))
    x, y, width, height = map(float, svg.get("viewBox").split())

    # Pool is x=150..1500, y=80..700 in the fixture.
    assert x < 150 and y < 80
    assert x + width > 1500 and y + height > 700


def test_plane_is_chosen_by_process_or_its_collaboration(subsidy_xml: bytes) -> None:
    def ids(process_id: str | None) -> set[str]:
        svg = parse(render_svg(subsidy_xml, process_id))
        return {g.get("data-element-id") for g in shape_groups(svg)}

    assert ids("town_review") == {"t_start", "t_check", "t_end"}
    assert "approve" in ids("subsidy")  # via Collab_subsidy
    assert "approve" in ids(None)  # first plane
    assert "approve" in ids("no_such_process")


def test_lane_names_are_written_at_the_left(subsidy_xml: bytes) -> None:
    svg = parse(render_svg(subsidy_xml))
    lane = group_for(svg, "Lane_chief")
    tspans = lane.findall("svg:text/svg:tspan", SVG_NS)

    assert [t.text for t in tspans] == ["科", "长"]
    assert all(float(t.get("x")) < 180 + 30 for t in tspans)


def test_long_task_names_wrap_inside_the_box() -> None:
    svg = parse(render_svg(minimal_bpmn("退役军人优待证申领材料审核与公示")))
    lines = [t.text for t in group_for(svg, "t").findall("svg:text/svg:tspan", SVG_NS)]

    assert len(lines) >= 2
    assert "".join(lines) == "退役军人优待证申领材料审核与公示"
    assert all(len(line) <= 90 // 12 for line in lines)


def test_wrap_text_keeps_punctuation_and_latin_words() -> None:
    assert wrap_text("Submit petition form", 60) == ["Submit", "petition", "form"]
    assert all(not line.startswith("。") for line in wrap_text("请稍候正在处理中。", 90))
    assert wrap_text("", 90) == []


def test_bpmn_without_diagram_gives_placeholder() -> None:
    raw = render_svg((DATA / "no_di_gateway.bpmn").read_bytes())

    assert "无流程图" in raw
    assert shape_groups(parse(raw)) == []


@pytest.mark.parametrize("bad", [b"", b"<bpmn:definitions", b"not xml at all"])
def test_malformed_xml_raises_value_error(bad: bytes) -> None:
    with pytest.raises(ValueError, match="not well-formed"):
        render_svg(bad)


def test_xml_that_is_not_bpmn_raises_value_error() -> None:
    with pytest.raises(ValueError, match="not a BPMN document"):
        render_svg(b"<html><body/></html>")


def test_a_return_is_a_dashed_arc_from_the_returning_step_to_its_target(subsidy_xml: bytes) -> None:
    svg = parse(render_svg(subsidy_xml, "subsidy", completed={"submit", "check"}, current={"submit"},
                           returns=[("approve", "submit"), ("check", "submit"), ("approve", "submit")]))
    arcs = svg.xpath("//svg:g[@class='bpmn-return']", namespaces=SVG_NS)
    assert [(g.get("data-from"), g.get("data-to")) for g in arcs] == [("approve", "submit"), ("check", "submit")]
    path = arcs[0].find("svg:path", SVG_NS)
    assert path.get("stroke-dasharray") and path.get("marker-end") == "url(#bpmn-arrow-return)"
    assert arcs[0].findtext("svg:title", namespaces=SVG_NS).startswith("退回（2次）：")
    assert "".join(arcs[1].itertext()).startswith("退回：")
    # the arc starts at the top of the returning step and ends at the top of the target
    approve, submit = (group_for(svg, i).find("svg:rect", SVG_NS) for i in ("approve", "submit"))
    start, end = path.get("d").split(" ")[0][1:], path.get("d").split(" ")[-1]
    assert float(start.split(",")[1]) == float(approve.get("y"))
    assert float(end.split(",")[1]) == float(submit.get("y"))
    [legend] = svg.xpath("//svg:g[@class='bpmn-legend']", namespaces=SVG_NS)
    assert "退回" in "".join(legend.itertext())
    # the viewBox holds the arcs and the legend
    x0, y0, w, h = map(float, svg.get("viewBox").split())
    apex = float(path.get("d").split(" ")[1][1:].split(",")[1])
    assert y0 <= apex and float(legend.find("svg:line", SVG_NS).get("y1")) < y0 + h


def test_no_return_no_legend_and_unknown_steps_are_skipped(subsidy_xml: bytes) -> None:
    plain = render_svg(subsidy_xml, "subsidy")
    assert plain == render_svg(subsidy_xml, "subsidy", returns=[("approve", "not_on_this_plane")])
    assert "bpmn-legend" not in plain and "bpmn-return" not in plain
