"""Web fixtures: the app on the test env, a test client, sign-in, and the plain process set up
for the web (a reviewer step, a leader step at the district, a 15-day deadline)."""
from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from engine.env import Env
from engine.models import Role
from engine.process_api import HookContext, ProcessConfig
from engine.runtime import StartResult, start_case
from tests.factories import DATA, Org, build_org, deploy_dir, plain_config
from webapp import create_app

PASSWORD = "secret-pass"
# Synthetic ID numbers with valid check digits.
GOOD_ID = "110101199003074514"
BAD_ID = "110101199003074510"


def _on_start(data: dict[str, Any], ctx: HookContext) -> dict[str, Any]:
    deadline = ctx.calendar.add_days(ctx.today, 15)
    return {"case_due_at": ctx.calendar.deadline_end(deadline.due).isoformat(),
            "case_due_at_provisional": deadline.provisional}


def _assign(step_id: str, data: dict[str, Any], ctx: HookContext) -> int:
    if step_id in ("step3", "step4"):  # review and approval at the district above the station
        return ctx.orgs.parent_id(ctx.case_unit_id) or ctx.case_unit_id
    return ctx.case_unit_id


def web_plain_config() -> ProcessConfig:
    return replace(plain_config(), roles={"step3": Role.reviewer, "step4": Role.leader},
                   on_start=_on_start, assign=_assign,
                   due_keys={f"step{i}": "case_due_at" for i in range(1, 6)},
                   summarize=lambda d: (str(d.get("subject") or "五步审批"), d.get("petitioner_name"),
                                        d.get("id_number")))


@pytest.fixture
def org(env: Env) -> Org:
    return build_org(env)


@pytest.fixture
def plain(env: Env, org: Org) -> Org:
    """The org tree plus the plain process, as the web tests use it."""
    env.extra_processes["plain"] = web_plain_config()
    deploy_dir(env, "plain", DATA / "plain")
    return org


def make_app(env: Env, tmp_path: Path, **overrides: Any) -> Flask:
    settings = {"ENV_NAME": "test", "WTF_CSRF_ENABLED": False, "UPLOAD_DIR": tmp_path / "uploads",
                "MAX_UPLOAD_MB": 1, **overrides}
    return create_app(settings, env=env)


@pytest.fixture
def app(env: Env, tmp_path: Path) -> Flask:
    return make_app(env, tmp_path)


@pytest.fixture
def client(app: Flask) -> Iterator[FlaskClient]:
    with app.test_client() as c:
        yield c


def login(client: FlaskClient, username: str, password: str = PASSWORD) -> Any:
    return client.post("/login", data={"username": username, "password": password})


def csrf_token(html: str) -> str:
    found = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert found, "no CSRF token in the page"
    return found.group(1)


def start_plain(env: Env, org: Org, username: str = "t1_cw", unit: str = "t1",
                **data: Any) -> StartResult:
    data = {"subject": "优抚金申请", "petitioner_name": "王建国", "id_number": GOOD_ID, **data}
    return start_case(env, "plain", org.actor(username), org.units[unit], data)
