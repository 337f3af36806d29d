"""Build the ProcessConfig of a declarative package, and check a package in full before deploy.

The config is what a workflows/<key>/ package declares in Python, read from the manifest instead,
so the rest of the engine runs it unchanged. `check_package` refuses, with file, element and line
(in Chinese for the admin), anything that would fail later: the manifest, the BPMN/DMN (XSD,
sandbox, lanes), a user task without a form, a form that is not JSON Schema, a manifest entry
naming a step, a role or a setting that does not exist, and a smoke run that does not finish.
"""
from __future__ import annotations

import tempfile
from collections.abc import Collection
from pathlib import Path
from typing import Any
from xml.etree import ElementTree

from jsonschema import Draft202012Validator
from jsonschema.exceptions import SchemaError

from engine.calendar import BusinessCalendar
from engine.checks import check_process
from engine.definitions import collect_steps, parse_files
from engine.documents.packaged import check as check_documents, document_set
from engine.errors import DefinitionError
from engine.indicators import BY_REGISTRATION, IndicatorSet
from engine.lanes import LANE_ROLES
from engine.models import Role, RoleKey
from engine.packages.hooks import ManifestHooks
from engine.named_queries import QUERIES
from engine.sandbox.deploy_check import check_query_calls
from engine.packages.manifest import MANIFEST, find_line as toml_line
from engine.packages.package import Package, forms_dir, templates_dir
from engine.process_api import ProcessConfig

BPMN_NS = "{http://www.omg.org/spec/BPMN/20100524/MODEL}"


def build_config(package: Package) -> ProcessConfig:
    """The ProcessConfig a declarative package declares (no Python of its own)."""
    m = package.manifest
    hooks = ManifestHooks(m)
    start = m.get("start", {})
    smoke = m.get("smoke", {})
    return ProcessConfig(
        key=package.key, name=m["name"], case_prefix=m["case_prefix"], forms_dir=forms_dir(package),
        start_roles=frozenset(_role(r) for r in start.get("roles", ["caseworker"])),
        start_levels=frozenset(start.get("levels", [])), start_units=frozenset(start.get("units", [])),
        assign=hooks.assign, roles=step_roles(package), on_start=hooks.on_start,
        on_complete=hooks.on_complete, due_keys=hooks.due_keys(), summarize=hooks.summarize,
        four_eyes=dict(m.get("rules", {}).get("four_eyes", {})), settings=with_timeouts(m),
        callable_queries=frozenset(m.get("callable_queries", [])),
        smoke_start=dict(smoke.get("start", {})), smoke_answers=smoke_answers(smoke.get("answers", {})),
        task_label=hooks.task_label if any("label" in s for s in hooks.steps.values()) else None,
        indicators=indicator_set(m),
        documents=document_set(m["documents"], templates_dir(package)) if m.get("documents") else None)


def smoke_answers(answers: dict[str, Any]) -> dict[str, Any]:
    """The trial run's answers; "timer" (TOML has no null) leaves a step to its boundary timer."""
    return {step: None if answer == "timer" else answer for step, answer in answers.items()}


def indicator_set(m: dict[str, Any]) -> IndicatorSet | None:
    """The manifest's [[indicators]] as the process's 统计指标 section ([stats]: order, period)."""
    if not m.get("indicators"):
        return None
    stats = m.get("stats", {})
    return IndicatorSet(title=str(m["name"]), declared=tuple(m["indicators"]),
                        order=int(stats.get("order", 100)), period=str(stats.get("period", BY_REGISTRATION)))


def step_roles(package: Package) -> dict[str, str]:
    """step id -> role: the manifest's lanes (lane name -> role), then a step's own role."""
    lanes: dict[str, str] = package.manifest.get("lanes", {})
    out: dict[str, str] = {}
    for step, lane in lane_of_steps(package.models).items():
        if lane in lanes:
            out[step] = _role(lanes[lane])
    for step, rule in package.manifest.get("steps", {}).items():
        if "role" in rule:
            out[step] = _role(rule["role"])
    return out


def lane_of_steps(models: dict[str, bytes]) -> dict[str, str]:
    """flow node id -> the name of its lane, over every BPMN file."""
    out: dict[str, str] = {}
    for name, data in models.items():
        if not name.endswith(".bpmn"):
            continue
        try:
            root = ElementTree.fromstring(data)
        except ElementTree.ParseError:
            continue  # parse_files reports it with its line
        for lane in root.iter(f"{BPMN_NS}lane"):
            for ref in lane.iter(f"{BPMN_NS}flowNodeRef"):
                out[(ref.text or "").strip()] = (lane.get("name") or "").strip()
    return out


def with_timeouts(m: dict[str, Any]) -> dict[str, Any]:
    """The manifest's settings, plus the timeout policy (engine.verbs.timeouts, fired by the
    worker once per task) of each step whose clock says `on_expiry = "remind"` or "escalate":
    a 即将到期 reminder `remind_before_days` working days (default 1) before the last day, and for
    "escalate" also 已超期 to the holders and the unit's leaders once the deadline has passed."""
    settings = dict(m.get("settings", {}))
    verbs: dict[str, Any] = {k: dict(v) for k, v in dict(settings.get("verbs") or {}).items()}
    for clock in m.get("clocks", {}).values():
        expiry = clock.get("on_expiry", "remind")
        if expiry not in ("remind", "escalate"):
            continue
        before = clock.get("remind_before_days", 1)
        days = settings.get(before, 1) if isinstance(before, str) else before
        policy: dict[str, Any] = {"remind_before_days": int(days)}
        if expiry == "escalate":
            policy["escalate"] = True
        verbs.setdefault(clock["step"], {}).setdefault("timeout", policy)
    if verbs:
        settings["verbs"] = verbs
    return settings


def _role(key: str) -> str:
    """A role key of the manifest: a built-in role's constant, or an added role's key (the
    deploy check has found it in the role catalogue, which task rows and grants reference)."""
    try:
        return Role(key)
    except ValueError:
        return RoleKey(key)


def check_package(package: Package, calendar: BusinessCalendar,
                  catalogue: Collection[str] = tuple(r.value for r in Role)) -> ProcessConfig:
    """Everything a deploy needs, checked before anything is written; the config on success."""
    m, text = package.manifest, package.manifest_text
    for lane, role in m.get("lanes", {}).items():
        _in_catalogue(role, catalogue, text, ["lanes", lane])
    for step, rule in m.get("steps", {}).items():
        if "role" in rule:
            _in_catalogue(rule["role"], catalogue, text, ["steps", step, "role"])
    for role in m.get("start", {}).get("roles", []):
        _in_catalogue(role, catalogue, text, ["start", "roles"])
    for name, schema in package.forms.items():
        _check_form(name, schema)
    spec, subs = parse_files(package.key, package.models)
    check_query_calls(package.models, frozenset(QUERIES), frozenset(m.get("callable_queries", [])))
    config = build_config(package)
    steps = collect_steps(spec, subs)
    _check_steps(package, steps, config)
    _check_references(package, set(steps))
    _check_documents(package, set(steps))
    _smoke(package, config, calendar)
    return config


def _check_documents(package: Package, steps: set[str]) -> None:
    """templates/<type>.docx declared in [[documents]], present, rendering with the smoke data."""
    if not package.templates and not package.manifest.get("documents"):
        return
    with tempfile.TemporaryDirectory(prefix="rongflow-templates-") as workdir:
        check_documents(list(package.manifest.get("documents", [])), package.templates, steps,
                        dict(package.manifest.get("smoke", {}).get("start", {})), Path(workdir))


def _in_catalogue(role: str, catalogue: Collection[str], text: str, path: list[str]) -> None:
    if role not in catalogue:
        raise DefinitionError(f"role {role!r} is not in the role catalogue", file=MANIFEST,
                              element=".".join(path), line=toml_line(text, path),
                              user_message=f"角色“{role}”不在角色目录中")


def _check_form(name: str, schema: dict[str, Any]) -> None:
    try:
        Draft202012Validator.check_schema(schema)
    except SchemaError as exc:
        where = "/".join(str(p) for p in exc.path) or "(top)"
        raise DefinitionError(f"forms/{name}.json is not a valid JSON Schema at {where}: {exc.message}",
                              file=f"forms/{name}.json", element=where,
                              user_message=f"表单 forms/{name}.json 不是有效的 JSON Schema（{where}）") from exc


def _check_steps(package: Package, steps: dict[str, Any], config: ProcessConfig) -> None:
    files = package.models
    for step in steps.values():
        where = {"file": _file_of(files, step.step_id), "element": f"bpmn:userTask id={step.step_id}",
                 "line": _line_of(files, step.step_id)}
        if step.step_id not in config.roles and (step.lane or "").strip() not in LANE_ROLES:
            raise DefinitionError(f"step {step.step_id}: lane {step.lane!r} maps to no role", **where,
                                  user_message=f"环节“{step.name}”的泳道“{step.lane or ''}”未对应角色，"
                                               f"请在 process.toml 的 [lanes] 中声明")
        if step.step_id not in package.forms:
            raise DefinitionError(f"step {step.step_id} has no form forms/{step.step_id}.json", **where,
                                  user_message=f"环节“{step.name}”缺少表单 forms/{step.step_id}.json")


def _check_references(package: Package, steps: set[str]) -> None:
    m, text = package.manifest, package.manifest_text
    named = [(["steps", s], s) for s in m.get("steps", {})]
    named += [(["clocks", c], v["step"]) for c, v in m.get("clocks", {}).items()]
    for later, earlier in m.get("rules", {}).get("four_eyes", {}).items():
        named += [(["four_eyes", later], later), (["four_eyes", later], earlier)]
    for path, step in named:
        if step not in steps:
            raise DefinitionError(f"process.toml names step {step!r}, which is no user task", file=MANIFEST,
                                  element=".".join(path), line=toml_line(text, path),
                                  user_message=f"process.toml 引用的环节“{step}”在流程图中不存在")
    settings = m.get("settings", {})
    _check_rules(m.get("rules", {}), steps, settings, text)
    for c, v in m.get("clocks", {}).items():
        before = v.get("remind_before_days")
        if isinstance(before, str) and before not in settings:
            raise DefinitionError(f"clock {c}: setting {before!r} is not declared", file=MANIFEST,
                                  element=f"clocks.{c}.remind_before_days",
                                  line=toml_line(text, ["clocks", c, "remind_before_days"]),
                                  user_message=f"时限“{c}”引用的设置项“{before}”未在 [settings] 中定义")
        if isinstance(v["days"], str) and v["days"] not in settings:
            raise DefinitionError(f"clock {c}: setting {v['days']!r} is not declared", file=MANIFEST,
                                  element=f"clocks.{c}.days", line=toml_line(text, ["clocks", c, "days"]),
                                  user_message=f"时限“{c}”引用的设置项“{v['days']}”未在 [settings] 中定义")


def _check_rules(rules: dict[str, Any], steps: set[str], settings: dict[str, Any], text: str) -> None:
    """Each limit, required field, threshold and record rule names a user task (or start) and
    only declared settings; the error points at the rule's own [[rules.<kind>]] table."""
    for kind in ("limits", "required", "thresholds", "record"):
        for n, rule in enumerate(rules.get(kind, [])):
            element, line = f"rules.{kind}[{n + 1}]", _table_line(text, f"rules.{kind}", n)
            step = rule.get("step", "start")
            if step != "start" and step not in steps:
                raise DefinitionError(f"{element}: step {step!r} is no user task", file=MANIFEST,
                                      element=f"{element}.step", line=line,
                                      user_message=f"process.toml 第 {n + 1} 条 rules.{kind} 引用的环节“{step}”"
                                                   f"在流程图中不存在")
            for bound in ("max", "min", "above"):
                name = rule.get(bound)
                if isinstance(name, str) and name not in settings:
                    raise DefinitionError(f"{element}: setting {name!r} is not declared", file=MANIFEST,
                                          element=f"{element}.{bound}", line=line,
                                          user_message=f"process.toml 第 {n + 1} 条 rules.{kind} 引用的设置项"
                                                       f"“{name}”未在 [settings] 中定义")


def _table_line(text: str, table: str, n: int) -> int | None:
    """The line of the n-th (0-based) [[table]] header of process.toml."""
    headers = [i for i, line in enumerate(text.splitlines(), 1) if line.strip().startswith(f"[[{table}]]")]
    return headers[n] if n < len(headers) else None


def _smoke(package: Package, config: ProcessConfig, calendar: BusinessCalendar) -> None:
    if not config.smoke_start:
        raise DefinitionError("process.toml has no [smoke] start data for the trial run", file=MANIFEST,
                              element="smoke", user_message="process.toml 缺少 [smoke] 试运行数据")
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / package.key
        folder.mkdir()
        for name, data in package.models.items():
            (folder / name).write_bytes(data)
        report = check_process(package.key, Path(tmp), config, calendar)
    if not report.ok:
        raise DefinitionError(f"smoke run: {'; '.join(report.problems)}", file=MANIFEST, element="smoke",
                              line=toml_line(package.manifest_text, ["smoke"]),
                              user_message="试运行未通过：" + "；".join(report.problems))


def _line_of(files: dict[str, bytes], element_id: str) -> int | None:
    for data in files.values():
        for number, line in enumerate(data.decode("utf-8", "replace").splitlines(), 1):
            if f'id="{element_id}"' in line:
                return number
    return None


def _file_of(files: dict[str, bytes], element_id: str) -> str | None:
    return next((n for n, d in files.items() if f'id="{element_id}"'.encode() in d), None)
