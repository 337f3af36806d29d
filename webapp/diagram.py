"""Server-side SVG rendering of a BPMN diagram from its Diagram Interchange (DI).

`render_svg()` draws the shapes and edges of one bpmndi:BPMNPlane and colours every flow node by
its run state (completed / current / pending); each 退回 of the case is a dashed red arc from the
returning step to the step it went back to, explained by a legend under the diagram. Pure lxml:
no SpiffWorkflow, no Flask. Styling uses presentation attributes only (no <style>, no script, no
style="" attributes) so the SVG can be inlined under a strict Content-Security-Policy without
leaking CSS into the page.
"""
from __future__ import annotations

import unicodedata
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass

from lxml import etree

BPMN = "http://www.omg.org/spec/BPMN/20100524/MODEL"
BPMNDI = "http://www.omg.org/spec/BPMN/20100524/DI"
DC = "http://www.omg.org/spec/DD/20100524/DC"
DI = "http://www.omg.org/spec/DD/20100524/DI"
SVG = "http://www.w3.org/2000/svg"
NS = {"bpmn": BPMN, "bpmndi": BPMNDI, "dc": DC, "di": DI}

FONT_FAMILY = "'Noto Sans CJK SC', 'WenQuanYi Micro Hei', 'Microsoft YaHei', sans-serif"
FONT_SIZE = 12
LINE_HEIGHT = 14
MARGIN = 20
TEXT_COLOUR = "#222222"
FLOW_COLOUR = "#666666"
DONE_COLOUR = "#2e7d32"
RETURN_COLOUR = "#c62828"
RETURN_DASH = "7 4"
RETURN_LIFT = 36      # how far above the higher of the two steps a 退回 arc rises
LEGEND_HEIGHT = 24

TASKS = frozenset({"task", "userTask", "scriptTask", "serviceTask", "manualTask",
                   "businessRuleTask", "callActivity", "sendTask", "receiveTask"})
EVENTS = frozenset({"startEvent", "endEvent", "intermediateCatchEvent",
                    "intermediateThrowEvent", "boundaryEvent"})
GATEWAYS = frozenset({"exclusiveGateway", "parallelGateway", "inclusiveGateway",
                      "eventBasedGateway", "complexGateway"})
SUBPROCESSES = frozenset({"subProcess", "transaction", "adHocSubProcess"})
POOLS = frozenset({"participant", "lane"})
DATA = frozenset({"dataObjectReference", "dataObject", "dataStoreReference"})
# Kinds whose name is written below the shape rather than inside it.
OUTER_LABEL = EVENTS | GATEWAYS | DATA
# CJK punctuation that must not start a line (simple kinsoku rule).
NO_LINE_START = frozenset("，。、；：！？）》」』】’”…,.;:!?)")
NO_LINE_END = frozenset("（《「『【‘“(")


@dataclass(frozen=True)
class Style:
    fill: str
    stroke: str
    width: float


STYLES = {
    "completed": Style("#dcf5dc", DONE_COLOUR, 2.0),
    "current": Style("#fff3c4", "#ef6c00", 3.5),
    "pending": Style("#ffffff", "#8c8c8c", 1.5),
}
STATUS_NOTE = {"completed": "（已完成）", "current": "（进行中）", "pending": ""}


@dataclass(frozen=True)
class Box:
    x: float
    y: float
    w: float
    h: float

    @property
    def cx(self) -> float:
        return self.x + self.w / 2

    @property
    def cy(self) -> float:
        return self.y + self.h / 2

    @property
    def bottom(self) -> float:
        return self.y + self.h


@dataclass(frozen=True)
class Shape:
    id: str
    kind: str
    name: str
    box: Box
    status: str
    semantic: etree._Element | None
    label_box: Box | None
    expanded: bool

    @property
    def style(self) -> Style:
        return STYLES[self.status]


@dataclass(frozen=True)
class Edge:
    id: str
    kind: str
    name: str
    points: list[tuple[float, float]]
    completed: bool
    arrow: bool
    label_box: Box | None


@dataclass(frozen=True)
class _Context:
    elements: dict[str, etree._Element]
    completed: frozenset[str]
    current: frozenset[str]
    labels: dict[str, str]

    def status(self, element_id: str) -> str:
        # A step that is running again (loop) counts as current, not completed.
        if element_id in self.current:
            return "current"
        return "completed" if element_id in self.completed else "pending"

    def name(self, element_id: str) -> str:
        if element_id in self.labels:
            return self.labels[element_id]
        element = self.elements.get(element_id)
        if element is None:
            return ""
        text = element.get("name") or element.findtext("bpmn:text", "", NS)
        return " ".join(text.split()) if text else ""


# ---------------------------------------------------------------- public API

def render_svg(bpmn_xml: bytes, process_id: str | None = None,
               completed: Iterable[str] = frozenset(), current: Iterable[str] = frozenset(),
               labels: dict[str, str] | None = None,
               returns: Iterable[tuple[str, str]] = ()) -> str:
    """Return an inline-ready SVG document (no XML declaration) of the process diagram.

    `completed`/`current` are BPMN element ids; `labels` overrides element names by id;
    `returns` are the case's 退回 jumps as (returning step id, target step id), oldest first.
    Raises ValueError when the XML is malformed or is not a BPMN document.
    """
    root = _parse(bpmn_xml)
    plane = _pick_plane(root, process_id)
    if plane is None or plane.find("bpmndi:BPMNShape", NS) is None:
        return _placeholder()
    ctx = _Context(_index(root), frozenset(completed), frozenset(current), dict(labels or {}))
    shapes = [s for di in _children(plane, "BPMNShape") if (s := _read_shape(ctx, di))]
    edges = [e for di in _children(plane, "BPMNEdge") if (e := _read_edge(ctx, di))]
    title = ctx.name(process_id or "") or ctx.name(plane.get("bpmnElement", ""))
    jumps = _return_jumps(shapes, returns)
    viewbox = _viewbox(shapes, edges, [p for j in jumps for p in j.points])
    if jumps:  # room for the legend under the diagram
        viewbox = (*viewbox[:3], viewbox[3] + LEGEND_HEIGHT)
    svg = _svg_root(viewbox, title)
    _draw_defs(svg)
    _draw_all(svg, shapes, edges)
    for jump in jumps:
        _draw_return(svg, jump)
    if jumps:
        _draw_return_legend(svg, viewbox)
    return etree.tostring(svg, encoding="unicode")


def wrap_text(text: str, max_width: float, size: float = FONT_SIZE) -> list[str]:
    """Greedy line wrap: CJK characters break anywhere, Latin words break at spaces."""
    lines: list[str] = []
    for paragraph in text.splitlines() or [""]:
        line, width = "", 0.0
        for token in _tokens(paragraph, max_width, size):
            token_width = _text_width(token, size)
            if line.strip() and width + token_width > max_width and _can_break(token):
                carry = line[-1] if line[-1] in NO_LINE_END and len(line) > 1 else ""
                lines.append(line[:len(line) - len(carry)].rstrip())
                line, width = carry, _text_width(carry, size)
            if line or not token.isspace():
                line, width = line + token, width + token_width
        if line.strip():
            lines.append(line.rstrip())
    return lines


def _can_break(token: str) -> bool:
    return not token.isspace() and token[0] not in NO_LINE_START


# ---------------------------------------------------------------- reading the BPMN

def _parse(data: bytes | str) -> etree._Element:
    if isinstance(data, str):
        data = data.encode("utf-8")
    # A fresh parser per call: lxml parsers are not thread-safe; entities and network stay off.
    parser = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False)
    try:
        root = etree.fromstring(data, parser)
    except etree.XMLSyntaxError as exc:
        raise ValueError(f"BPMN XML is not well-formed: {exc}") from exc
    if root.tag != f"{{{BPMN}}}definitions":
        raise ValueError(f"not a BPMN document: root element is {root.tag!r}, "
                         f"expected bpmn:definitions")
    return root


def _pick_plane(root: etree._Element, process_id: str | None) -> etree._Element | None:
    planes = root.findall("bpmndi:BPMNDiagram/bpmndi:BPMNPlane", NS)
    if not planes:
        return None
    if process_id:
        wanted = [process_id] + [c.get("id") for c in root.iterfind("bpmn:collaboration", NS)
                                 if _has_participant(c, process_id)]
        for element_id in wanted:
            for plane in planes:
                if plane.get("bpmnElement") == element_id:
                    return plane
    return planes[0]


def _has_participant(collaboration: etree._Element, process_id: str) -> bool:
    return any(p.get("processRef") == process_id
               for p in collaboration.iterfind("bpmn:participant", NS))


def _index(root: etree._Element) -> dict[str, etree._Element]:
    return {el.get("id"): el for el in root.iter(f"{{{BPMN}}}*") if el.get("id")}


def _children(parent: etree._Element, local_name: str) -> Iterator[etree._Element]:
    return parent.iterfind(f"bpmndi:{local_name}", NS)


def _box(bounds: etree._Element | None) -> Box | None:
    if bounds is None:
        return None
    return Box(*(float(bounds.get(key, 0)) for key in ("x", "y", "width", "height")))


def _label_box(di: etree._Element) -> Box | None:
    return _box(di.find("bpmndi:BPMNLabel/dc:Bounds", NS))


def _read_shape(ctx: _Context, di: etree._Element) -> Shape | None:
    box = _box(di.find("dc:Bounds", NS))
    if box is None:
        return None
    element_id = di.get("bpmnElement", "")
    semantic = ctx.elements.get(element_id)
    kind = etree.QName(semantic).localname if semantic is not None else "unknown"
    expanded = di.get("isExpanded") == "true" or (
        di.get("isExpanded") is None and box.w >= 200 and box.h >= 120)
    return Shape(element_id, kind, ctx.name(element_id), box, ctx.status(element_id),
                 semantic, _label_box(di), expanded)


def _read_edge(ctx: _Context, di: etree._Element) -> Edge | None:
    points = [(float(p.get("x", 0)), float(p.get("y", 0)))
              for p in di.iterfind("di:waypoint", NS)]
    if len(points) < 2:
        return None
    element_id = di.get("bpmnElement", "")
    semantic = ctx.elements.get(element_id)
    kind = etree.QName(semantic).localname if semantic is not None else "unknown"
    ends = (semantic.get("sourceRef"), semantic.get("targetRef")) if semantic is not None else ()
    done = bool(ends) and all(ref in ctx.completed for ref in ends)
    arrow = kind != "association" or semantic.get("associationDirection") in ("One", "Both")
    return Edge(element_id, kind, ctx.name(element_id), points, done, arrow, _label_box(di))


# ---------------------------------------------------------------- SVG scaffolding

def _fmt(value: object) -> str:
    return format(round(value, 2), "g") if isinstance(value, float) else str(value)


def _el(parent: etree._Element, tag: str, text: str | None = None,
        **attrs: object) -> etree._Element:
    """Append an SVG element; `stroke_width` becomes `stroke-width`, `class_` becomes `class`."""
    node = etree.SubElement(parent, f"{{{SVG}}}{tag}")
    for key, value in attrs.items():
        if value is not None:
            node.set(key.rstrip("_").replace("_", "-"), _fmt(value))
    if text:
        node.text = text
    return node


def _svg_root(viewbox: tuple[float, float, float, float], title: str) -> etree._Element:
    svg = etree.Element(f"{{{SVG}}}svg", nsmap={None: SVG})
    attrs = {"viewBox": " ".join(_fmt(float(v)) for v in viewbox), "width": "100%",
             "preserveAspectRatio": "xMidYMin meet", "class": "bpmn-diagram", "role": "img",
             "aria-label": title or "流程图", "font-family": FONT_FAMILY,
             "font-size": str(FONT_SIZE), "fill": TEXT_COLOUR}
    for key, value in attrs.items():
        svg.set(key, value)
    return svg


def _placeholder() -> str:
    svg = _svg_root((0, 0, 240, 60), "无流程图")
    svg.set("class", "bpmn-diagram bpmn-empty")
    _el(svg, "rect", x=1, y=1, width=238, height=58, rx=6, fill="#fafafa",
        stroke="#cccccc", stroke_dasharray="4 3")
    _el(svg, "text", "无流程图", x=120, y=35, text_anchor="middle", fill="#888888", font_size=14)
    return etree.tostring(svg, encoding="unicode")


def _draw_defs(svg: etree._Element) -> None:
    defs = _el(svg, "defs")
    for marker_id, colour in (("bpmn-arrow", FLOW_COLOUR), ("bpmn-arrow-done", DONE_COLOUR),
                              ("bpmn-arrow-return", RETURN_COLOUR)):
        marker = _el(defs, "marker", id=marker_id, viewBox="0 0 10 10", refX=10, refY=5,
                     markerWidth=10, markerHeight=10, markerUnits="userSpaceOnUse",
                     orient="auto")
        _el(marker, "path", d="M0,0 L10,5 L0,10 z", fill=colour)


def _viewbox(shapes: list[Shape], edges: list[Edge],
             extra: Iterable[tuple[float, float]] = ()) -> tuple[float, float, float, float]:
    boxes = [s.box for s in shapes] + [s.label_box or _default_label_box(s) for s in shapes
                                       if s.name and s.kind in OUTER_LABEL]
    boxes += [e.label_box for e in edges if e.label_box]
    points = [p for e in edges for p in e.points] + list(extra)
    xs = [b.x for b in boxes] + [b.x + b.w for b in boxes] + [p[0] for p in points]
    ys = [b.y for b in boxes] + [b.bottom for b in boxes] + [p[1] for p in points]
    x0, y0 = min(xs) - MARGIN, min(ys) - MARGIN
    return x0, y0, max(xs) + MARGIN - x0, max(ys) + MARGIN - y0


def _draw_all(svg: etree._Element, shapes: list[Shape], edges: list[Edge]) -> None:
    # Containers biggest first (pool under lanes under sub-processes), then edges, then nodes.
    for shape in sorted((s for s in shapes if _layer(s) < 2),
                        key=lambda s: (_layer(s), -s.box.w * s.box.h)):
        _draw_shape(svg, shape)
    for edge in edges:
        _draw_edge(svg, edge)
    for shape in sorted((s for s in shapes if _layer(s) >= 2), key=_layer):
        _draw_shape(svg, shape)


def _layer(shape: Shape) -> int:
    """Paint order: pools, lanes, expanded sub-processes, (edges), nodes, boundary events."""
    if shape.kind in POOLS:
        return 0
    if shape.kind in SUBPROCESSES and shape.expanded:
        return 1
    return 3 if shape.kind == "boundaryEvent" else 2


# ---------------------------------------------------------------- text

def _is_wide(char: str) -> bool:
    return unicodedata.east_asian_width(char) in ("W", "F")


def _text_width(text: str, size: float = FONT_SIZE) -> float:
    # About 12.5px per CJK character and 7px per Latin character at 12px: a little wider than
    # the glyphs so that fonts with a wider advance still fit.
    return sum(size * (1.04 if _is_wide(c) else 0.58) for c in text)


def _tokens(text: str, max_width: float, size: float) -> Iterator[str]:
    word = ""
    for char in text:
        if _is_wide(char) or char.isspace():
            if word:
                yield from _split_long(word, max_width, size)
            word = ""
            yield char
        else:
            word += char
    if word:
        yield from _split_long(word, max_width, size)


def _split_long(word: str, max_width: float, size: float) -> Iterator[str]:
    # A Latin word wider than the box is broken into single characters.
    if _text_width(word, size) > max_width:
        yield from word
    else:
        yield word


def _fit(lines: list[str], max_lines: int) -> list[str]:
    if len(lines) <= max(max_lines, 1):
        return lines
    kept = lines[:max(max_lines, 1)]
    kept[-1] = kept[-1][:-1] + "…" if len(kept[-1]) > 1 else "…"
    return kept


def _text_lines(parent: etree._Element, lines: list[str], x: float, cy: float,
                anchor: str = "middle") -> None:
    """Write lines vertically centred on `cy`."""
    if not lines:
        return
    text = _el(parent, "text", text_anchor=anchor, fill=TEXT_COLOUR)
    first = cy - (len(lines) - 1) * LINE_HEIGHT / 2 + FONT_SIZE * 0.35
    for i, line in enumerate(lines):
        _el(text, "tspan", line, x=x, y=first + i * LINE_HEIGHT)


def _outer_label(parent: etree._Element, shape: Shape) -> None:
    if not shape.name:
        return
    box = shape.label_box or _default_label_box(shape)
    lines = wrap_text(shape.name, max(box.w, 40))
    _text_lines(parent, lines, box.cx, box.y + len(lines) * LINE_HEIGHT / 2)


def _default_label_box(shape: Shape) -> Box:
    lines = wrap_text(shape.name, 90)
    return Box(shape.box.cx - 45, shape.box.bottom + 4, 90, len(lines) * LINE_HEIGHT)


def _vertical_label(parent: etree._Element, name: str, cx: float, box: Box) -> None:
    """Pool/lane name at the left: CJK stacked upright, Latin rotated."""
    if any(_is_wide(c) for c in name):
        chars = [c for c in name if not c.isspace()]
        _text_lines(parent, _fit(chars, int((box.h - 10) // LINE_HEIGHT)), cx, box.cy)
        return
    rotated = _el(parent, "g", transform=f"rotate(-90 {_fmt(cx)} {_fmt(box.cy)})")
    _text_lines(rotated, _fit(wrap_text(name, box.h - 10), 2), cx, box.cy)


# ---------------------------------------------------------------- shapes

def _draw_shape(svg: etree._Element, shape: Shape) -> None:
    group = _el(svg, "g", class_=f"bpmn-shape bpmn-{shape.kind} bpmn-{shape.status}",
                data_element_id=shape.id)
    _el(group, "title", (shape.name or shape.id) + STATUS_NOTE[shape.status])
    _painter(shape)(group, shape)


def _painter(shape: Shape) -> Callable[[etree._Element, Shape], None]:
    if shape.kind in TASKS or (shape.kind in SUBPROCESSES and not shape.expanded):
        return _draw_task
    if shape.kind in SUBPROCESSES:
        return _draw_subprocess
    if shape.kind in EVENTS:
        return _draw_event
    if shape.kind in GATEWAYS:
        return _draw_gateway
    if shape.kind in POOLS:
        return _draw_pool
    if shape.kind in DATA:
        return _draw_data
    return _draw_annotation if shape.kind == "textAnnotation" else _draw_generic


def _draw_task(g: etree._Element, shape: Shape) -> None:
    b, st = shape.box, shape.style
    width = st.width + (2 if shape.kind == "callActivity" else 0)
    _el(g, "rect", x=b.x, y=b.y, width=b.w, height=b.h, rx=10, fill=st.fill,
        stroke=st.stroke, stroke_width=width)
    has_marker = _draw_activity_markers(g, shape)
    room = b.h - 8 - (14 if has_marker else 0)
    lines = _fit(wrap_text(shape.name, b.w - 10), int(room // LINE_HEIGHT))
    _text_lines(g, lines, b.cx, b.y + 4 + room / 2)


def _draw_activity_markers(g: etree._Element, shape: Shape) -> bool:
    """Collapsed sub-process [+] and multi-instance bars at the bottom centre."""
    b, colour, drawn = shape.box, shape.style.stroke, False
    y = b.bottom - 16
    if shape.kind in SUBPROCESSES:
        _el(g, "rect", x=b.cx - 6, y=y, width=12, height=12, fill="none", stroke=colour)
        _el(g, "path", d=f"M{_fmt(b.cx)},{_fmt(y + 2)} v8 M{_fmt(b.cx - 4)},{_fmt(y + 6)} h8",
            stroke=colour)
        drawn = True
    mi = shape.semantic.find("bpmn:multiInstanceLoopCharacteristics", NS) \
        if shape.semantic is not None else None
    if mi is not None:
        x = b.cx + (12 if drawn else -5)
        bars = ("M{x},{y} h10 M{x},{y2} h10 M{x},{y3} h10" if mi.get("isSequential") == "true"
                else "M{x},{y} v10 M{x2},{y} v10 M{x3},{y} v10")
        d = bars.format(x=_fmt(x), x2=_fmt(x + 5), x3=_fmt(x + 10), y=_fmt(y + 1),
                        y2=_fmt(y + 6), y3=_fmt(y + 11))
        _el(g, "path", d=d, stroke=colour, stroke_width=2)
        drawn = True
    return drawn


def _draw_subprocess(g: etree._Element, shape: Shape) -> None:
    b, st = shape.box, shape.style
    _el(g, "rect", x=b.x, y=b.y, width=b.w, height=b.h, rx=10, fill=st.fill,
        stroke=st.stroke, stroke_width=st.width)
    if shape.kind == "transaction":
        _el(g, "rect", x=b.x + 3, y=b.y + 3, width=b.w - 6, height=b.h - 6, rx=8,
            fill="none", stroke=st.stroke)
    lines = _fit(wrap_text(shape.name, b.w - 16), 2)
    _text_lines(g, lines, b.x + 8, b.y + 10 + len(lines) * LINE_HEIGHT / 2, anchor="start")


def _draw_event(g: etree._Element, shape: Shape) -> None:
    b, st, sem = shape.box, shape.style, shape.semantic
    r = min(b.w, b.h) / 2
    width = max(4.0 if shape.kind == "endEvent" else 1.5, st.width)
    interrupting = sem is None or (sem.get("cancelActivity") != "false"
                                   and sem.get("isInterrupting") != "false")
    dash = None if interrupting else "4 2"
    _el(g, "circle", cx=b.cx, cy=b.cy, r=r, fill=st.fill, stroke=st.stroke,
        stroke_width=width, stroke_dasharray=dash)
    if shape.kind.startswith("intermediate") or shape.kind == "boundaryEvent":
        _el(g, "circle", cx=b.cx, cy=b.cy, r=r - 3, fill="none", stroke=st.stroke,
            stroke_width=1.2, stroke_dasharray=dash)
    _draw_event_glyph(g, shape, r)
    _outer_label(g, shape)


def _draw_event_glyph(g: etree._Element, shape: Shape, r: float) -> None:
    if shape.semantic is None:
        return
    for child in shape.semantic:
        glyph = _GLYPHS.get(etree.QName(child).localname) if isinstance(child.tag, str) else None
        if glyph:
            throw = shape.kind in ("endEvent", "intermediateThrowEvent")
            glyph(g, shape.box, r, shape.style.stroke, throw)
            return


def _glyph_timer(g: etree._Element, b: Box, r: float, colour: str, _throw: bool) -> None:
    face, cx, cy = r * 0.62, b.cx, b.cy
    _el(g, "circle", cx=cx, cy=cy, r=face, fill="#ffffff", stroke=colour, stroke_width=1.5)
    ticks = " ".join(f"M{_fmt(cx + dx * face)},{_fmt(cy + dy * face)} "
                     f"l{_fmt(-dx * 2.5)},{_fmt(-dy * 2.5)}"
                     for dx, dy in ((0, -1), (1, 0), (0, 1), (-1, 0)))
    hands = (f"M{_fmt(cx)},{_fmt(cy)} V{_fmt(cy - face * 0.7)} "
             f"M{_fmt(cx)},{_fmt(cy)} L{_fmt(cx + face * 0.5)},{_fmt(cy + face * 0.15)}")
    _el(g, "path", d=f"{ticks} {hands}", stroke=colour, stroke_width=1.2, fill="none")


def _glyph_message(g: etree._Element, b: Box, r: float, colour: str, throw: bool) -> None:
    w, h = r * 0.9, r * 0.6
    x, y = b.cx - w / 2, b.cy - h / 2
    _el(g, "rect", x=x, y=y, width=w, height=h, fill=colour if throw else "#ffffff",
        stroke=colour)
    _el(g, "path", d=f"M{_fmt(x)},{_fmt(y)} L{_fmt(b.cx)},{_fmt(b.cy + 1)} "
                     f"L{_fmt(x + w)},{_fmt(y)}", fill="none",
        stroke="#ffffff" if throw else colour)


def _glyph_signal(g: etree._Element, b: Box, r: float, colour: str, throw: bool) -> None:
    s = r * 0.55
    points = f"{_fmt(b.cx)},{_fmt(b.cy - s)} {_fmt(b.cx + s)},{_fmt(b.cy + s * 0.7)} " \
             f"{_fmt(b.cx - s)},{_fmt(b.cy + s * 0.7)}"
    _el(g, "polygon", points=points, fill=colour if throw else "none", stroke=colour)


def _glyph_terminate(g: etree._Element, b: Box, r: float, colour: str, _throw: bool) -> None:
    _el(g, "circle", cx=b.cx, cy=b.cy, r=r * 0.55, fill=colour)


def _glyph_error(g: etree._Element, b: Box, r: float, colour: str, throw: bool) -> None:
    s = r * 0.5
    points = [(-s, s), (-s * 0.3, -s), (s * 0.2, s * 0.2), (s, -s), (s * 0.3, s),
              (-s * 0.2, -s * 0.2)]
    _el(g, "polygon", points=" ".join(f"{_fmt(b.cx + dx)},{_fmt(b.cy + dy)}" for dx, dy in points),
        fill=colour if throw else "none", stroke=colour)


_GLYPHS: dict[str, Callable[[etree._Element, Box, float, str, bool], None]] = {
    "timerEventDefinition": _glyph_timer,
    "messageEventDefinition": _glyph_message,
    "signalEventDefinition": _glyph_signal,
    "terminateEventDefinition": _glyph_terminate,
    "errorEventDefinition": _glyph_error,
}


def _draw_gateway(g: etree._Element, shape: Shape) -> None:
    b, st = shape.box, shape.style
    diamond = [(b.cx, b.y), (b.x + b.w, b.cy), (b.cx, b.bottom), (b.x, b.cy)]
    _el(g, "polygon", points=" ".join(f"{_fmt(x)},{_fmt(y)}" for x, y in diamond),
        fill=st.fill, stroke=st.stroke, stroke_width=st.width)
    _gateway_marker(g, shape.kind, b, min(b.w, b.h) / 2, st.stroke)
    _outer_label(g, shape)


def _gateway_marker(g: etree._Element, kind: str, b: Box, r: float, colour: str) -> None:
    s, cx, cy = r * 0.4, _fmt(b.cx), _fmt(b.cy)
    cross = f"M{_fmt(b.cx - s)},{cy} h{_fmt(2 * s)} M{cx},{_fmt(b.cy - s)} v{_fmt(2 * s)}"
    diag = (f"M{_fmt(b.cx - s * 0.8)},{_fmt(b.cy - s * 0.8)} l{_fmt(1.6 * s)},{_fmt(1.6 * s)} "
            f"M{_fmt(b.cx + s * 0.8)},{_fmt(b.cy - s * 0.8)} l{_fmt(-1.6 * s)},{_fmt(1.6 * s)}")
    paths = {"exclusiveGateway": diag, "parallelGateway": cross,
             "complexGateway": f"{cross} {diag}"}
    if kind in paths:
        _el(g, "path", d=paths[kind], stroke=colour, stroke_width=3.5, fill="none")
    elif kind == "inclusiveGateway":
        _el(g, "circle", cx=b.cx, cy=b.cy, r=s * 1.1, fill="none", stroke=colour, stroke_width=2.5)
    elif kind == "eventBasedGateway":
        _el(g, "circle", cx=b.cx, cy=b.cy, r=s * 1.3, fill="none", stroke=colour)
        _el(g, "circle", cx=b.cx, cy=b.cy, r=s * 1.05, fill="none", stroke=colour)
        pentagon = [(0, -0.7), (0.67, -0.2), (0.41, 0.57), (-0.41, 0.57), (-0.67, -0.2)]
        _el(g, "polygon", fill="none", stroke=colour, points=" ".join(
            f"{_fmt(b.cx + dx * s)},{_fmt(b.cy + dy * s)}" for dx, dy in pentagon))


def _draw_pool(g: etree._Element, shape: Shape) -> None:
    b, st = shape.box, shape.style
    colour = "#666666" if shape.status == "pending" else st.stroke
    fill = "#ffffff" if shape.kind == "participant" else "none"
    _el(g, "rect", x=b.x, y=b.y, width=b.w, height=b.h, fill=fill, stroke=colour,
        stroke_width=1.5 if shape.kind == "participant" else 1)
    if shape.kind == "participant":
        _el(g, "path", d=f"M{_fmt(b.x + 30)},{_fmt(b.y)} v{_fmt(b.h)}", stroke=colour)
    _vertical_label(g, shape.name, b.x + 15, b)


def _draw_data(g: etree._Element, shape: Shape) -> None:
    b, st = shape.box, shape.style
    if shape.kind == "dataStoreReference":
        ry = min(8.0, b.h / 6)
        d = (f"M{_fmt(b.x)},{_fmt(b.y + ry)} v{_fmt(b.h - 2 * ry)} "
             f"a{_fmt(b.w / 2)},{_fmt(ry)} 0 0 0 {_fmt(b.w)},0 v{_fmt(2 * ry - b.h)} "
             f"a{_fmt(b.w / 2)},{_fmt(ry)} 0 0 0 {_fmt(-b.w)},0 "
             f"a{_fmt(b.w / 2)},{_fmt(ry)} 0 0 0 {_fmt(b.w)},0")
    else:
        fold = min(10.0, b.w / 3)
        d = (f"M{_fmt(b.x)},{_fmt(b.y)} h{_fmt(b.w - fold)} l{_fmt(fold)},{_fmt(fold)} "
             f"V{_fmt(b.bottom)} H{_fmt(b.x)} z M{_fmt(b.x + b.w - fold)},{_fmt(b.y)} "
             f"v{_fmt(fold)} h{_fmt(fold)}")
    _el(g, "path", d=d, fill=st.fill, stroke=st.stroke, stroke_width=st.width)
    _outer_label(g, shape)


def _draw_annotation(g: etree._Element, shape: Shape) -> None:
    b = shape.box
    _el(g, "path", d=f"M{_fmt(b.x + 10)},{_fmt(b.y)} H{_fmt(b.x)} V{_fmt(b.bottom)} "
                     f"H{_fmt(b.x + 10)}", fill="none", stroke="#8c8c8c")
    lines = _fit(wrap_text(shape.name, b.w - 10), int((b.h - 4) // LINE_HEIGHT))
    _text_lines(g, lines, b.x + 5, b.cy, anchor="start")


def _draw_generic(g: etree._Element, shape: Shape) -> None:
    """Anything else (groups, unknown elements): a dashed box with the name on top."""
    b = shape.box
    _el(g, "rect", x=b.x, y=b.y, width=b.w, height=b.h, rx=6, fill="none",
        stroke="#8c8c8c", stroke_dasharray="6 3")
    if shape.name:
        _text_lines(g, _fit(wrap_text(shape.name, b.w - 10), 1), b.cx, b.y + 12)


# ---------------------------------------------------------------- edges

def _draw_edge(svg: etree._Element, edge: Edge) -> None:
    state = "completed" if edge.completed else "pending"
    g = _el(svg, "g", class_=f"bpmn-flow bpmn-{edge.kind} bpmn-flow-{state}",
            data_element_id=edge.id)
    if edge.name:
        _el(g, "title", edge.name)
    dash = {"messageFlow": "6 4", "association": "2 3", "dataInputAssociation": "2 3",
            "dataOutputAssociation": "2 3"}.get(edge.kind)
    marker = "url(#bpmn-arrow-done)" if edge.completed else "url(#bpmn-arrow)"
    _el(g, "polyline", points=" ".join(f"{_fmt(x)},{_fmt(y)}" for x, y in edge.points),
        fill="none", stroke=DONE_COLOUR if edge.completed else FLOW_COLOUR,
        stroke_width=2 if edge.completed else 1.5, stroke_dasharray=dash,
        stroke_linejoin="round", marker_end=marker if edge.arrow else None)
    _edge_label(g, edge)


def _edge_label(g: etree._Element, edge: Edge) -> None:
    if not edge.name:
        return
    if edge.label_box:
        box = edge.label_box
        _text_lines(g, wrap_text(edge.name, max(box.w, 40)), box.cx, box.cy)
        return
    # No label bounds: next to the middle of the middle segment.
    i = (len(edge.points) - 2) // 2
    (x1, y1), (x2, y2) = edge.points[i], edge.points[i + 1]
    _text_lines(g, wrap_text(edge.name, 90), (x1 + x2) / 2 + 4, (y1 + y2) / 2 - 8,
                anchor="start")


# ---------------------------------------------------------------- 退回 jumps

@dataclass(frozen=True)
class ReturnJump:
    source: Shape
    target: Shape
    times: int

    @property
    def points(self) -> list[tuple[float, float]]:
        """Start, control point and end of the arc over both steps (top centre to top centre)."""
        s, t = self.source.box, self.target.box
        top = min(s.y, t.y) - RETURN_LIFT - 0.08 * abs(s.cx - t.cx)
        return [(s.cx, s.y), ((s.cx + t.cx) / 2, top), (t.cx, t.y)]


def _return_jumps(shapes: list[Shape], returns: Iterable[tuple[str, str]]) -> list[ReturnJump]:
    """One arc per (returning step, target step) pair drawn on this plane, counting repeats."""
    by_id = {s.id: s for s in shapes}
    counts: dict[tuple[str, str], int] = {}
    for source, target in returns:
        if source in by_id and target in by_id and source != target:
            counts[(source, target)] = counts.get((source, target), 0) + 1
    return [ReturnJump(by_id[s], by_id[t], n) for (s, t), n in counts.items()]


def _draw_return(svg: etree._Element, jump: ReturnJump) -> None:
    (x0, y0), (cx, cy), (x1, y1) = jump.points
    g = _el(svg, "g", class_="bpmn-return", data_from=jump.source.id, data_to=jump.target.id)
    times = f"（{jump.times}次）" if jump.times > 1 else ""
    _el(g, "title", f"退回{times}：{jump.source.name or jump.source.id} → {jump.target.name or jump.target.id}")
    _el(g, "path", d=f"M{_fmt(x0)},{_fmt(y0)} Q{_fmt(cx)},{_fmt(cy)} {_fmt(x1)},{_fmt(y1)}",
        fill="none", stroke=RETURN_COLOUR, stroke_width=2, stroke_dasharray=RETURN_DASH,
        marker_end="url(#bpmn-arrow-return)")
    # the label at the arc's apex (a quadratic curve peaks half way between chord and control point)
    _el(g, "text", f"退回{times}", x=(x0 + 2 * cx + x1) / 4, y=(y0 + 2 * cy + y1) / 4 - 4,
        text_anchor="middle", fill=RETURN_COLOUR, font_size=FONT_SIZE - 1)


def _draw_return_legend(svg: etree._Element, viewbox: tuple[float, float, float, float]) -> None:
    x, y = viewbox[0] + MARGIN, viewbox[1] + viewbox[3] - LEGEND_HEIGHT / 2
    g = _el(svg, "g", class_="bpmn-legend")
    _el(g, "line", x1=x, y1=y, x2=x + 40, y2=y, stroke=RETURN_COLOUR, stroke_width=2,
        stroke_dasharray=RETURN_DASH, marker_end="url(#bpmn-arrow-return)")
    _el(g, "text", "红色虚线箭头：退回，由退回的步骤指向被退回到的步骤", x=x + 48, y=y + 4,
        fill=TEXT_COLOUR, font_size=FONT_SIZE - 1)
