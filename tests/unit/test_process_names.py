"""Every process has ONE Chinese name (issue 13 point 5): the BPMN's process name, the process
configuration (Python or process.toml), its 统计指标 section and the README's process table say
the same thing, for the Python processes and the shipped packages alike."""
from __future__ import annotations

import re
import tomllib
from pathlib import Path

import pytest
from lxml import etree

from workflows import get_process, package_keys, process_keys

ROOT = Path(__file__).resolve().parents[2]
BPMN_NS = "{http://www.omg.org/spec/BPMN/20100524/MODEL}"


def bpmn_name(key: str) -> str:
    names = set()
    for path in (ROOT / "bpmn" / key).glob("*.bpmn"):
        for proc in etree.parse(str(path)).getroot().iter(f"{BPMN_NS}process"):
            if proc.get("id") == key:
                names.add(proc.get("name"))
    assert len(names) == 1, f"bpmn/{key}: the process {key} is named {sorted(names)}"
    return names.pop()


def readme_names() -> dict[str, str]:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    return dict(re.findall(r"^\| `([a-z_]+)` ([^|`]+?) \| `bpmn/", text, re.M))


@pytest.mark.parametrize("key", process_keys())
def test_a_python_process_has_one_name(key):
    config = get_process(key)
    assert bpmn_name(key) == config.name
    if config.indicators is not None and getattr(config.indicators, "title", None):
        assert config.indicators.title == config.name
    assert readme_names().get(key, config.name) == config.name


@pytest.mark.parametrize("key", package_keys(ROOT / "bpmn"))
def test_a_package_has_one_name(key):
    manifest = tomllib.loads((ROOT / "bpmn" / key / "process.toml").read_text(encoding="utf-8"))
    assert bpmn_name(key) == manifest["name"]
    assert readme_names().get(key, manifest["name"]) == manifest["name"]


def test_the_readme_table_names_the_python_processes():
    assert set(process_keys()) <= set(readme_names())
