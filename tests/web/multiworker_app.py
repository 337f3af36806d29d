"""The web app of tests/web/test_multiworker.py, built in each gunicorn worker process from
environment variables: `gunicorn 'tests.web.multiworker_app:create()'`.

RONGFLOW_MW_DATABASE_URL is the test's database, RONGFLOW_MW_NOW the engine clock's fixed instant
(the test's own clock, so both sides agree on every due time), RONGFLOW_MW_UPLOADS a directory.
"""
from __future__ import annotations

import os
from datetime import datetime
from pathlib import Path

from flask import Flask

from engine.clock import ManualClock
from engine.env import make_env
from engine.process_api import ProcessConfig
from engine.sandbox.limits import ScriptLimits
from webapp import create_app

ROOT = Path(__file__).resolve().parents[2]
MI_KEY = "mi_countersign"


def mi_config() -> ProcessConfig:
    """The small parallel multi-instance fixture (tests/data/mi_countersign): no forms."""
    return ProcessConfig(key=MI_KEY, name="三方会签", case_prefix="HQ",
                         forms_dir=ROOT / "tests" / "data" / MI_KEY / "forms")


def create() -> Flask:
    env = make_env(os.environ["RONGFLOW_MW_DATABASE_URL"], bpmn_dir=ROOT / "bpmn",
                   clock=ManualClock(datetime.fromisoformat(os.environ["RONGFLOW_MW_NOW"])))
    env.script_limits = ScriptLimits(time_ms=30_000)  # as tests/conftest.py: a backstop on a loaded machine
    env.extra_processes[MI_KEY] = mi_config()
    return create_app({"ENV_NAME": "test", "TESTING": False, "WTF_CSRF_ENABLED": True,
                       "SECRET_KEY": "multiworker-test-only-secret",
                       "UPLOAD_DIR": Path(os.environ["RONGFLOW_MW_UPLOADS"])}, env=env)
