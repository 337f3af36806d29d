"""The production setup on PostgreSQL: `rongflow serve` (gunicorn, two processes) and two
`rongflow worker` processes on the last release's demo city, upgraded by `rongflow init-db`:
ready, metrics summed across processes, a demo user signs in behind the proxy, timers fired,
JSON logs without personal data, and everything stops cleanly on SIGTERM."""
from __future__ import annotations

import http.client
import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
from sqlalchemy import create_engine, func, select
from sqlalchemy.orm import Session

from engine.models import HumanTask, InstanceStatus, ProcessInstance, TaskStatus, User, WorkerHeartbeat
from tests.integration.ops_support import copy_database, drop_database

RONGFLOW = Path(sys.executable).with_name("rongflow")
FORWARDED = {"X-Forwarded-For": "198.51.100.20", "X-Forwarded-Proto": "https"}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Site:
    def __init__(self, port: int) -> None:
        self.port, self.cookies = port, {}

    def request(self, method: str, path: str, body: str | None = None,
                headers: dict[str, str] | None = None) -> tuple[int, dict[str, str], str, list[str]]:
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
        sent = {**FORWARDED, **(headers or {})}
        if self.cookies:
            sent["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        if body is not None:
            sent["Content-Type"] = "application/x-www-form-urlencoded"
        try:
            conn.request(method, path, body=body, headers=sent)
            response = conn.getresponse()
            text = response.read().decode("utf-8", "replace")
            set_cookies = response.headers.get_all("Set-Cookie") or []
        finally:
            conn.close()
        for cookie in set_cookies:
            name, _, rest = cookie.partition("=")
            self.cookies[name] = rest.split(";", 1)[0]
        return response.status, dict(response.headers), text, set_cookies


def _wait(check, what: str, procs: list[subprocess.Popen], polls: int = 360) -> None:
    """Poll until `check()` holds; a bounded number of polls only keeps a hung server from hanging
    the suite (no duration is asserted)."""
    for _ in range(polls):
        for p in procs:
            assert p.poll() is None, f"a process died while waiting for {what}"
        try:
            if check():
                return
        except OSError:
            pass
        time.sleep(0.25)  # waiting on other processes
    pytest.fail(f"never saw {what}")


def _claimable_task(engine, username: str) -> int:
    """An open task of the user's role at the user's unit."""
    with Session(engine) as s:
        user = s.scalars(select(User).where(User.username == username)).one()
        grants = [(g.role, g.org_unit_id) for g in user.grants]
        tasks = s.scalars(select(HumanTask).where(HumanTask.status == TaskStatus.open)).all()
    return next(t.id for t in tasks if (t.role, t.org_unit_id) in grants)


def _metric(body: str, name: str) -> float:
    found = re.search(rf"^{name} ([0-9.e+-]+)$", body, re.M)
    assert found, f"{name} missing"
    return float(found.group(1))


@pytest.mark.parametrize("release_db", ["postgresql"], indirect=True)
def test_production_server_and_two_workers_run_the_demo(release_db, tmp_path):
    url = copy_database(release_db, f"rongflow_serve_{os.getpid()}", tmp_path)
    try:
        _serve_and_check(url, tmp_path)
    finally:
        drop_database(url)


def _serve_and_check(url: str, tmp_path: Path) -> None:
    port = _free_port()
    environ = {**os.environ, "RONGFLOW_ENV": "production", "DATABASE_URL": url,
               "SECRET_KEY": "serve-test-" + "s" * 40, "HISTORY_KEY": "history-key-" + "h" * 40,
               "RONGFLOW_INSTANCE_DIR": str(tmp_path), "UPLOAD_DIR": str(tmp_path / "uploads"),
               "METRICS_DIR": str(tmp_path / "metrics"), "WEB_BIND": f"127.0.0.1:{port}",
               "WEB_WORKERS": "2", "WEB_THREADS": "2", "WORKER_POLL_SECONDS": "1",
               "PROXY_FIX_X_FOR": "1", "PROXY_FIX_X_PROTO": "1", "LOG_FORMAT": "json"}
    environ.pop("PROMETHEUS_MULTIPROC_DIR", None)
    init = subprocess.run([str(RONGFLOW), "init-db"], env=environ, capture_output=True, text=True, timeout=300)
    assert init.returncode == 0, init.stderr[-2000:]
    logs = {name: open(tmp_path / f"{name}.log", "w") for name in ("web", "worker1", "worker2")}
    procs = [subprocess.Popen([str(RONGFLOW), "serve"], env=environ, stdout=logs["web"], stderr=subprocess.STDOUT)]
    procs += [subprocess.Popen([str(RONGFLOW), "worker"], env=environ, stdout=logs[n], stderr=subprocess.STDOUT)
              for n in ("worker1", "worker2")]
    engine = create_engine(url)
    try:
        site = Site(port)
        _wait(lambda: site.request("GET", "/healthz")[0] == 200, "/healthz", procs)
        _wait(lambda: site.request("GET", "/readyz")[0] == 200, "/readyz (worker heartbeats)", procs)

        # a demo user signs in through the proxy: Secure cookie, HSTS, the inbox
        status, _, page, _ = site.request("GET", "/login")
        token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
        status, headers, _, cookies = site.request(  # over HTTPS, CSRF also checks the Referer
            "POST", "/login", f"csrf_token={token}&username=d1_cw1&password=demo1234",
            headers={"Referer": f"https://127.0.0.1:{port}/login"})
        assert status == 302 and all("Secure" in c for c in cookies) and cookies
        assert headers["Strict-Transport-Security"].startswith("max-age=")
        status, _, inbox, _ = site.request("GET", "/")
        assert status == 200 and "待办" in inbox
        task_id = _claimable_task(engine, "d1_cw1")  # an engine command through the web
        token = re.search(r'name="csrf_token" value="([^"]+)"', inbox).group(1)
        status = site.request("POST", f"/tasks/{task_id}/claim", f"csrf_token={token}",
                              headers={"Referer": f"https://127.0.0.1:{port}/"})[0]
        assert status == 302

        # the workers fire what is due; /metrics (loopback, no token set) sums both web processes
        def no_due_timers() -> bool:
            return _metric(site.request("GET", "/metrics", headers={"X-Forwarded-For": "127.0.0.1"})[2],
                           "rongflow_due_timers") == 0
        _wait(no_due_timers, "the workers to fire the due timers", procs)
        body = site.request("GET", "/metrics", headers={"X-Forwarded-For": "127.0.0.1"})[2]
        with Session(engine) as s:
            open_tasks = s.scalar(select(func.count()).select_from(HumanTask).where(
                HumanTask.status.in_((TaskStatus.open, TaskStatus.claimed))))
            errors = s.scalar(select(func.count()).select_from(ProcessInstance).where(
                ProcessInstance.status == InstanceStatus.error))
            workers = s.scalars(select(WorkerHeartbeat)).all()
        assert _metric(body, "rongflow_open_tasks") == open_tasks > 0
        assert _metric(body, "rongflow_cases_in_error") == errors
        assert 'rongflow_http_requests_total{method="POST",route="/login",status="302"} 1.0' in body
        assert 'rongflow_engine_commands_total{command="claim_task",outcome="ok"} 1.0' in body
        assert 'rongflow_engine_command_duration_seconds_count{command="claim_task"} 1.0' in body
        assert site.request("GET", "/metrics")[0] == 404  # from the forwarded client address: not for it
        assert len({w.pid for w in workers}) == 2 and all(w.stopped_at is None for w in workers)
    finally:
        for p in procs:
            if p.poll() is None:
                p.send_signal(signal.SIGTERM)
        codes = [p.wait(timeout=60) for p in procs]
        for f in logs.values():
            f.close()
        engine.dispose()
    assert codes == [0, 0, 0]
    _check_stopped_and_logged(url, tmp_path)


def _check_stopped_and_logged(url: str, tmp_path: Path) -> None:
    engine = create_engine(url)
    with Session(engine) as s:
        assert all(w.stopped_at is not None for w in s.scalars(select(WorkerHeartbeat)))
    requests = [json.loads(line) for line in (tmp_path / "web.log").read_text().splitlines()
                if line.startswith("{") and '"event": "request"' in line]
    assert any(r["route"] == "/login" and r["status"] == 302 and r["client"] == "198.51.100.20" for r in requests)
    assert all(r["request_id"] for r in requests)
    text = "".join((tmp_path / f"{n}.log").read_text() for n in ("web", "worker1", "worker2"))
    assert not re.search(r"\d{17}[\dX]|(?<!\d)1[3-9]\d{9}(?!\d)|demo1234", text)  # no ID numbers, phones, passwords
    engine.dispose()
