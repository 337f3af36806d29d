"""`rongflow demo` (the README's first command) builds the demo city and then serves it: the
server answers over HTTP. The city's build is cut to schema and processes here (its cases are
tested by tests/integration/test_demo_city.py); what this checks is that the command serves
(under the `rongflow` FlaskGroup, Flask's own app.run() returns without serving)."""
from __future__ import annotations

import http.client
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

SCRIPT = """
import sys
import webapp.cli as cli
from webapp.cli import deploy_all, init_db

def schema_and_processes(env):
    init_db(env)
    deploy_all(env)

cli.build_demo = schema_and_processes
cli.main(["demo", "--port", sys.argv[1]])
"""


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _get(port: int, path: str) -> tuple[int, str]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    conn.request("GET", path)
    response = conn.getresponse()
    return response.status, response.read().decode("utf-8", "replace")


def test_the_demo_command_serves_the_app(tmp_path):
    port = _free_port()
    environ = {**os.environ, "RONGFLOW_INSTANCE_DIR": str(tmp_path), "PYTHONPATH": str(ROOT),
               "DATABASE_URL": f"sqlite:///{tmp_path / 'demo.db'}", "RONGFLOW_ENV": "development"}
    log = (tmp_path / "demo.log").open("w")
    proc = subprocess.Popen([sys.executable, "-c", SCRIPT, str(port)], cwd=ROOT, env=environ,
                            stdout=log, stderr=subprocess.STDOUT)
    status = None
    try:
        for _ in range(600):  # a bounded number of polls (the build and start take a few seconds)
            if proc.poll() is not None:
                break  # the command ended: it did not serve
            try:
                status, _ = _get(port, "/healthz")
                break
            except OSError:
                time.sleep(0.1)
        assert proc.poll() is None, "rongflow demo ended without serving:\n" + (tmp_path / "demo.log").read_text()
        assert status == 200, "rongflow demo did not answer /healthz:\n" + (tmp_path / "demo.log").read_text()
        status, page = _get(port, "/login")
        assert status == 200 and "登录" in page
        assert "戎务流程已启动" in (tmp_path / "demo.log").read_text()
    finally:
        proc.terminate()
        proc.wait(timeout=30)
