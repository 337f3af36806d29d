"""Process packages: workflows/<key>/ serves bpmn/<key>/ (forms, assignment, deadlines, indicators)."""
from __future__ import annotations

import importlib
from functools import lru_cache
from pathlib import Path

from engine.process_api import ProcessConfig

WORKFLOWS_DIR = Path(__file__).resolve().parent


@lru_cache(maxsize=None)
def get_process(key: str) -> ProcessConfig:
    """The ProcessConfig of workflows/<key>/, or a KeyError naming the missing package."""
    if not key.isidentifier():
        raise KeyError(f"invalid process key {key!r}")
    try:
        module = importlib.import_module(f"workflows.{key}")
    except ModuleNotFoundError as exc:
        raise KeyError(f"no process package workflows/{key}/") from exc
    config: ProcessConfig = module.PROCESS
    return config


def process_keys() -> list[str]:
    return sorted(p.name for p in WORKFLOWS_DIR.iterdir()
                  if p.is_dir() and (p / "__init__.py").exists())


def package_keys(bpmn_dir: Path) -> list[str]:
    """The declarative packages shipped in bpmn/<key>/ (a process.toml, no workflows/<key>/)."""
    python = set(process_keys())
    return sorted(p.name for p in bpmn_dir.iterdir()
                  if p.is_dir() and (p / "process.toml").is_file() and p.name not in python)
