"""Process definitions: validate and deploy BPMN/DMN files as versions, parse and cache specs.

A deploy of changed content makes a new version (content hash); the same content makes none.
A file that does not parse or validate raises DefinitionError naming file, element and line,
and nothing is deployed. Running cases stay on the version they started with.
"""
from __future__ import annotations

import hashlib
import threading
from collections.abc import Collection
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from lxml import etree
from SpiffWorkflow.bpmn.parser.ValidationException import ValidationException
from SpiffWorkflow.spiff.parser.process import VALIDATOR, SpiffBpmnParser
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from engine.errors import DefinitionError, NotFound
from engine.interrupts import RongFlowParser, mark_interrupting
from engine.lanes import LANE_ROLES, lane_problems
from engine.models import ProcessDefinition
from engine.policy import check_policy
from engine.sandbox.deploy_check import check_definition
from engine.timers import use_engine_clock
from engine.wiring import prewire

BPMN_NS = "http://www.omg.org/spec/BPMN/20100524/MODEL"
TOO_LONG = ("the process is too long for the BPMN parser (too many elements in one sequence, "
            "about 490 or more); split it into call activities")
TOO_LONG_ZH = "流程过长，超出解析能力（一条顺序流上的环节过多），请拆分为调用子流程"


@dataclass(frozen=True)
class StepInfo:
    step_id: str
    name: str
    lane: str | None
    process_id: str


@dataclass
class ParsedDefinition:
    """A parsed, read-only definition version, shared by every case on it."""
    id: int
    key: str
    version: int
    name: str
    spec: Any
    subprocess_specs: dict[str, Any]
    files: dict[str, str]
    steps: dict[str, StepInfo] = field(default_factory=dict)

    @property
    def process_id(self) -> str:
        """The main process's id: the key, or the one executable process of a modeler's file."""
        return str(self.spec.name)

    def main_bpmn(self) -> bytes:
        """The XML of the file that holds the main process (for the diagram)."""
        for name, text in self.files.items():
            if name.endswith(".bpmn") and f'id="{self.process_id}"' in text:
                return text.encode("utf-8")
        return next(iter(self.files.values())).encode("utf-8")


def content_hash(files: dict[str, bytes]) -> str:
    digest = hashlib.sha256()
    for name in sorted(files):
        digest.update(name.encode() + b"\0" + files[name] + b"\0")
    return digest.hexdigest()


def parse_files(key: str, files: dict[str, bytes]) -> tuple[Any, dict[str, Any]]:
    """Validate and parse BPMN/DMN files. The main process is the one whose id is the key (the
    folder name), or else the one executable process no call activity calls (a modeler's
    generated id such as Process_1l85e0n, deployed under a key the admin chose).

    Whatever goes wrong (XML, schema, SpiffWorkflow's checks, its parser's own failures such as
    the recursion limit of a very long model) is a DefinitionError naming file, element and line."""
    if not any(n.endswith(".bpmn") for n in files):
        raise DefinitionError(f"process {key!r} has no .bpmn file", file=None)
    parser = RongFlowParser(validator=VALIDATOR)  # SpiffBpmnParser + error/escalation event subprocess starts
    for name in sorted(files):
        _add_file(parser, name, files[name])
    check_definition(files)  # every script and expression compiles under the sandbox rules
    process_id = main_process_id(key, files)
    try:
        spec = parser.get_spec(process_id)
        subs = parser.get_subprocess_specs(process_id)
        for s in [spec, *subs.values()]:
            use_engine_clock(s)
        prewire(spec, subs)
        mark_interrupting(parser, spec, subs)
    except ValidationException as exc:
        raise _definition_error(exc, files) from exc
    except RecursionError as exc:
        raise _process_error(files, process_id, TOO_LONG, TOO_LONG_ZH) from exc
    except Exception as exc:  # noqa: BLE001 - any parser failure is a refusal, never a crash
        raise _process_error(files, process_id, f"{type(exc).__name__}: {exc}",
                             "流程文件无法解析，请检查该流程中的元素") from exc
    return spec, subs


def _executable_ids(files: dict[str, bytes]) -> tuple[list[tuple[str, str, int]], set[str]]:
    """(id, file, line) of every executable process, and the ids call activities call."""
    found, called = [], set()
    for name, data in sorted(files.items()):
        if not name.endswith(".bpmn"):
            continue
        tree = etree.fromstring(data, parser=etree.XMLParser(resolve_entities=False, no_network=True))
        for node in tree.iter(f"{{{BPMN_NS}}}process"):
            if node.get("isExecutable") == "true" and node.get("id"):
                found.append((node.get("id"), name, int(node.sourceline or 0)))
        called.update(n.get("calledElement") for n in tree.iter(f"{{{BPMN_NS}}}callActivity")
                      if n.get("calledElement"))
    return found, called


def main_process_id(key: str, files: dict[str, bytes]) -> str:
    """The key when a process has that id; else the single executable process not called by
    another (DefinitionError when there is none or more than one)."""
    found, called = _executable_ids(files)
    if any(pid == key for pid, _f, _l in found) or not found:
        return key  # (no executable process: SpiffWorkflow's own message names the problem)
    top = [p for p in found if p[0] not in called]
    if len(top) == 1:
        return top[0][0]
    ids = ", ".join(p[0] for p in top or found)
    raise DefinitionError(f"no process has the id {key!r} and the files hold several executable "
                          f"processes ({ids}); deploy under one of their ids",
                          file=(top or found)[0][1], element=f"bpmn:process id={(top or found)[0][0]}",
                          line=(top or found)[0][2] or None)


def _process_error(files: dict[str, bytes], process_id: str, message: str,
                   user_message: str) -> DefinitionError:
    found, _called = _executable_ids(files)
    where = next(((f, line) for pid, f, line in found if pid == process_id), (None, 0))
    return DefinitionError(message[:500], file=where[0], element=f"bpmn:process id={process_id}",
                           line=where[1] or None, user_message=user_message)


def _add_file(parser: SpiffBpmnParser, name: str, data: bytes) -> None:
    try:
        tree = etree.fromstring(data, parser=etree.XMLParser(resolve_entities=False, no_network=True))
    except etree.XMLSyntaxError as exc:
        raise DefinitionError(f"not well-formed XML: {exc.msg}", file=name, line=exc.lineno,
                              user_message="不是格式正确的 XML 文件（标签不配对、缺少结束标签或含非法字符）") from exc
    if name.endswith(".bpmn"):
        _check_references(tree, name)
        check_policy(tree, name)
    try:
        if name.endswith(".dmn"):
            parser.add_dmn_xml(tree, filename=name)
        elif name.endswith(".bpmn"):
            parser.add_bpmn_xml(tree, filename=name)
        else:
            raise DefinitionError("only .bpmn and .dmn files can be deployed", file=name,
                                  user_message="只能部署 .bpmn 和 .dmn 文件")
    except ValidationException as exc:
        raise _definition_error(exc, {name: data}) from exc
    except DefinitionError:
        raise
    except Exception as exc:  # noqa: BLE001 - any parser failure is a refusal, never a crash
        raise DefinitionError(f"{type(exc).__name__}: {exc}"[:500], file=name) from exc


def _check_references(tree: Any, name: str) -> None:
    """Sequence flows and boundary events must point at elements that exist (SpiffWorkflow's own
    message for this is misleading)."""
    ids = set(tree.xpath("//@id"))
    checks = (("sequenceFlow", "sourceRef"), ("sequenceFlow", "targetRef"),
              ("boundaryEvent", "attachedToRef"))
    for tag, attr in checks:
        for node in tree.iter(f"{{{BPMN_NS}}}{tag}"):
            ref = node.get(attr)
            if ref is not None and ref not in ids:
                raise DefinitionError(f"{tag} {node.get('id')!r} has {attr}={ref!r}, which does not exist",
                                      file=name, element=f"bpmn:{tag} id={node.get('id')}",
                                      line=node.sourceline)


def _definition_error(exc: ValidationException, files: dict[str, bytes]) -> DefinitionError:
    file_name = exc.file_name or None
    element = " ".join(p for p in (exc.tag, f"id={exc.id}" if exc.id else "",
                                   f"name={exc.name}" if exc.name else "") if p) or None
    line = exc.line_number or _find_line(files, file_name, exc.id)
    message = str(exc).split("\n")[0]
    if str(exc).startswith("RecursionError"):  # SpiffWorkflow's parser wraps its recursion limit
        return DefinitionError(TOO_LONG, file=file_name, element=element, line=line or None,
                               user_message=TOO_LONG_ZH)
    return DefinitionError(message, file=file_name, element=element, line=line or None)


def _find_line(files: dict[str, bytes], file_name: str | None, element_id: str) -> int | None:
    if not element_id:
        return None
    for name, data in files.items():
        if file_name and name != file_name:
            continue
        try:
            tree = etree.fromstring(data)
        except etree.XMLSyntaxError:
            continue
        found = tree.xpath("//*[@id=$i]", i=element_id)
        if found:
            return int(found[0].sourceline)
    return None


def read_process_dir(path: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(path.iterdir())
            if p.suffix in (".bpmn", ".dmn") and p.is_file()}


def process_name(spec: Any, key: str) -> str:
    """The process's name as drawn (cut to the 128 characters the definition row holds)."""
    return str(getattr(spec, "bpmn_name", None) or getattr(spec, "description", None) or key)[:128]


def deploy(session: Session, key: str, files: dict[str, bytes], now: Any,
           actor_id: int | None = None, role_steps: Collection[str] = ()) -> tuple[ProcessDefinition, bool]:
    """Validate, then store a new version unless this content is deployed already.

    Every user task's lane must name a role (engine.lanes), except the steps in `role_steps`
    whose role the process config sets. Returns (definition, created). Raises DefinitionError
    and writes nothing on bad input.
    """
    spec, subs = parse_files(key, files)
    check_lanes(spec, subs, files, role_steps)
    digest = content_hash(files)
    existing = session.scalar(select(ProcessDefinition).where(
        ProcessDefinition.key == key, ProcessDefinition.content_hash == digest))
    if existing is not None:
        return existing, False
    last = session.scalar(select(func.max(ProcessDefinition.version))
                          .where(ProcessDefinition.key == key)) or 0
    definition = ProcessDefinition(
        key=key, version=last + 1, name=process_name(spec, key), content_hash=digest,
        files={n: d.decode("utf-8") for n, d in files.items()}, deployed_at=now,
        deployed_by_id=actor_id)
    session.add(definition)
    session.flush()
    return definition, True


def check_lanes(spec: Any, subs: dict[str, Any], files: dict[str, bytes],
                role_steps: Collection[str] = ()) -> None:
    """Refuse a user task whose lane maps to no role, naming its element and line."""
    problems = lane_problems([spec, *subs.values()], role_steps)
    if not problems:
        return
    _pid, step_id, lane = problems[0]
    known = "、".join(k for k in LANE_ROLES if not k.isascii())
    raise DefinitionError(f"user task {step_id!r} is in lane {lane!r}, which maps to no role "
                          f"(lanes name roles: {', '.join(LANE_ROLES)})",
                          file=_file_of(files, step_id), element=f"bpmn:userTask id={step_id}",
                          line=_find_line(files, None, step_id),
                          user_message=f"任务“{step_id}”所在泳道“{lane}”不对应任何角色（泳道名称应为：{known}）")


def _file_of(files: dict[str, bytes], element_id: str) -> str | None:
    return next((n for n, d in files.items() if f'id="{element_id}"'.encode() in d), None)


def latest_definition(session: Session, key: str) -> ProcessDefinition:
    definition = session.scalar(select(ProcessDefinition).where(ProcessDefinition.key == key)
                                .order_by(ProcessDefinition.version.desc()).limit(1))
    if definition is None:
        raise NotFound(f"process {key!r} is not deployed", "该流程尚未部署")
    return definition


def collect_steps(spec: Any, subs: dict[str, Any]) -> dict[str, StepInfo]:
    """Every user task of the process and its called/embedded subprocesses."""
    steps: dict[str, StepInfo] = {}
    for s in [spec, *subs.values()]:
        for ts in s.task_specs.values():
            if getattr(ts, "manual", False) and ts.bpmn_id:
                steps.setdefault(ts.bpmn_id, StepInfo(ts.bpmn_id, ts.bpmn_name or ts.bpmn_id,
                                                      ts.lane, s.name))
    return steps


class SpecCache:
    """Parsed specs per definition id. Parsing happens once per version per process."""

    def __init__(self) -> None:
        self._by_id: dict[int, ParsedDefinition] = {}
        self._lock = threading.Lock()

    def get(self, session: Session, definition_id: int) -> ParsedDefinition:
        parsed = self._by_id.get(definition_id)
        if parsed is not None:
            return parsed
        definition = session.get(ProcessDefinition, definition_id)
        if definition is None:
            raise NotFound(f"process definition {definition_id} does not exist", "流程定义不存在")
        with self._lock:
            parsed = self._by_id.get(definition_id)
            if parsed is None:
                parsed = self._parse(definition)
                self._by_id[definition_id] = parsed
        return parsed

    @staticmethod
    def _parse(definition: ProcessDefinition) -> ParsedDefinition:
        files = {n: t.encode("utf-8") for n, t in definition.files.items()}
        spec, subs = parse_files(definition.key, files)
        return ParsedDefinition(definition.id, definition.key, definition.version, definition.name,
                                spec, subs, dict(definition.files), collect_steps(spec, subs))
