"""Multi-instance countersigns completed through gunicorn with several workers on PostgreSQL.

Each worker serves one request and is replaced (--max-requests 1), so every completion lands in
a process whose spec cache is empty: the case must still merge its instances and move on (issue
7 point 1). The forms are driven as a browser would: sign in, read each form's CSRF token, post.
"""
from __future__ import annotations

import http.client
import os
import re
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import urlencode

import pytest

from engine.env import Env, make_env
from engine.models import InstanceStatus
from engine.runtime import case_data, start_case
from engine.sandbox.limits import ScriptLimits
from tests.conftest import _truncate_pg
from tests.factories import build_org, build_org_with_sections, case_row, deploy_dir, deploy_files, open_tasks
from tests.integration import test_home_renovation as home
from tests.web.multiworker_app import MI_KEY, mi_config

ROOT = Path(__file__).resolve().parents[2]
WORKERS = 3
pytestmark = pytest.mark.skipif(not os.environ.get("TEST_DATABASE_URL"),
                                reason="the multi-worker test runs gunicorn on PostgreSQL: set TEST_DATABASE_URL")


@pytest.fixture
def pg_env(pg_ready: str, clock) -> Iterator[Env]:
    _truncate_pg(pg_ready)
    env = make_env(pg_ready, clock=clock, bpmn_dir=ROOT / "bpmn")
    env.script_limits = ScriptLimits(time_ms=30_000)  # as tests/conftest.py: a backstop on a loaded machine
    yield env
    env.db.dispose()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def gunicorn(env: Env, url: str, tmp_path: Path) -> Iterator[tuple[int, Path]]:
    """gunicorn serving the app on the test's database and clock; yields (port, access log)."""
    port, log = _free_port(), tmp_path / "access.log"
    environ = {**os.environ, "RONGFLOW_MW_DATABASE_URL": url, "RONGFLOW_MW_NOW": env.clock.now().isoformat(),
               "RONGFLOW_MW_UPLOADS": str(tmp_path / "uploads"), "RONGFLOW_ENV": "test",
               "PYTHONPATH": str(ROOT)}
    proc = subprocess.Popen(
        # no control socket (gunicorn >= 25, one path per user: $HOME/.gunicorn/gunicorn.ctl): with it,
        # the master sometimes did not exit within 30 s of SIGTERM (2 runs in 5 here)
        [sys.executable, "-m", "gunicorn", "--no-control-socket", "--workers", str(WORKERS), "--max-requests", "1",
         "--preload",
         "--bind", f"127.0.0.1:{port}", "--chdir", str(ROOT), "--access-logfile", str(log),
         "--access-logformat", "%(p)s %(m)s %(U)s %(s)s", "--error-logfile", str(tmp_path / "error.log"),
         "tests.web.multiworker_app:create()"], env=environ, cwd=ROOT)
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError("gunicorn did not start: " + (tmp_path / "error.log").read_text())
                time.sleep(0.2)
        yield port, log
    finally:
        proc.terminate()
        proc.wait(timeout=30)


class Browser:
    """One signed-in user: cookies kept, forms posted with their CSRF token."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.cookies: dict[str, str] = {}

    def request(self, method: str, path: str, form: dict[str, str] | None = None) -> tuple[int, str]:
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=60)
        headers = {"Cookie": "; ".join(f"{k}={v}" for k, v in self.cookies.items())}
        body = None
        if form is not None:
            body = urlencode(form)
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        conn.request(method, path, body, headers)
        response = conn.getresponse()
        text = response.read().decode("utf-8", "replace")
        for cookie in response.headers.get_all("Set-Cookie") or []:
            name, value = cookie.split(";", 1)[0].split("=", 1)
            self.cookies[name] = value
        conn.close()
        return response.status, text

    def submit(self, path: str, form: dict[str, str]) -> int:
        status, page = self.request("GET", path)
        assert status == 200, (path, status)
        token = re.search(r'name="csrf_token" value="([^"]+)"', page)
        assert token is not None, path
        status, _text = self.request("POST", path, {**form, "csrf_token": token.group(1)})
        return status

    @classmethod
    def signed_in(cls, port: int, username: str) -> Browser:
        browser = cls(port)
        assert browser.submit("/login", {"username": username, "password": "secret-pass"}) == 302
        return browser


def _served(log: Path) -> list[tuple[str, str, str, str]]:
    """(pid, method, path, status) of every request in gunicorn's access log."""
    return [tuple(line.split()) for line in log.read_text().splitlines() if line.strip()]  # type: ignore[misc]


def _check_log(log: Path) -> None:
    served = _served(log)
    assert not [r for r in served if r[3].startswith("5")], served
    completions = [r for r in served if r[1] == "POST" and r[2].startswith("/tasks/")]
    assert len({r[0] for r in completions}) == len(completions)  # each in a fresh worker


def test_home_renovation_countersign_completes_across_gunicorn_workers(pg_env, pg_ready, clock, tmp_path):
    env = pg_env
    org = build_org_with_sections(env)
    deploy_dir(env, home.KEY, home.BPMN_DIR)
    case_id = home.to_acceptance(env, org, clock)
    rows = home.open_rows(env, case_id, "acceptance")
    parties = {home.task_data(env, r)["signer"]["party"]: r.id for r in rows}
    users = {"household": "t1_cw", "town": "t1_cw", "district": "d1_cw"}
    with gunicorn(env, pg_ready, tmp_path) as (port, log):
        browsers = {u: Browser.signed_in(port, u) for u in set(users.values())}
        for party in ("district", "household", "town"):
            form = {"acceptance_result": "合格", "signer_name": f"{party}签字人", "sign_date": "2026-05-20"}
            assert browsers[users[party]].submit(f"/tasks/{parties[party]}", form) == 302, party
        _check_log(log)
    assert [r.step_id for r in home.open_rows(env, case_id)] == ["payment"]
    signatures = case_data(env, case_id)["signatures"]
    assert {s["party"] for s in signatures} == {"household", "town", "district"}


def test_parallel_multi_instance_completes_across_gunicorn_workers(pg_env, pg_ready, tmp_path):
    env = pg_env
    org = build_org(env)
    env.extra_processes[MI_KEY] = mi_config()
    deploy_files(env, MI_KEY, {f"{MI_KEY}.bpmn": (ROOT / "tests" / "data" / MI_KEY / f"{MI_KEY}.bpmn").read_bytes()})
    case_id = start_case(env, MI_KEY, org.actor("t1_cw"), org.units["t1"], {}).instance_id
    signs = open_tasks(env, case_id, "sign")
    assert len(signs) == 3
    with gunicorn(env, pg_ready, tmp_path) as (port, log):
        browser = Browser.signed_in(port, "t1_cw")
        for n, task in enumerate(signs):
            assert browser.submit(f"/tasks/{task.id}", {"signature": f"第{n + 1}人同意"}) == 302
        [archive] = open_tasks(env, case_id, "archive")
        assert browser.submit(f"/tasks/{archive.id}", {}) == 302
        _check_log(log)
    assert case_row(env, case_id).status == InstanceStatus.completed
    assert sorted(case_data(env, case_id)["signatures"]) == ["第1人同意", "第2人同意", "第3人同意"]
