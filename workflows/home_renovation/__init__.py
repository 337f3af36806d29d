"""重点优抚对象“一户一案”宜居关爱 — home renovation, one household one plan: a process package.

The process is bpmn/home_renovation/ (BPMN, forms/, process.toml): routing, clocks, checks, the
leader threshold, the countersign and what each step records are all in its manifest, with no
Python hook. This module only loads that package under the key Python processes use (the engine
runs the same `ProcessConfig` a deployed package gets) and adds the demo city's data makers.
"""
from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from engine.packages.loader import build_config
from engine.packages.package import from_folder
from workflows.home_renovation.demo import DEMO_SETTINGS

PACKAGE_DIR = Path(__file__).resolve().parents[2] / "bpmn" / "home_renovation"

_PACKAGE = build_config(from_folder(PACKAGE_DIR))
PROCESS = replace(_PACKAGE, forms_dir=PACKAGE_DIR / "forms", settings={**_PACKAGE.settings, **DEMO_SETTINGS})
