"""Logs an operator can read: one JSON line per request and per engine command, carrying the
request id (also shown on the error page) and no personal data; the proxy's client address."""
from __future__ import annotations

import json
import logging

import pytest
from sqlalchemy import select

from engine.errors import PermissionDenied
from engine.models import RateLimitHit
from engine.ops.logs import JsonFormatter
from engine.runtime import complete_task
from tests.factories import open_tasks
from tests.web.conftest import GOOD_ID, login, make_app, start_plain

PHONE = "13912345678"
NAME = "王建国"


def _lines(caplog: pytest.LogCaptureFixture) -> list[dict]:
    formatter = JsonFormatter()
    return [json.loads(formatter.format(r)) for r in caplog.records]


def _requests(lines: list[dict]) -> list[dict]:
    return [line for line in lines if line.get("event") == "request"]


def test_a_failing_request_logs_its_request_id_and_no_personal_data(env, tmp_path, plain, caplog):
    app = make_app(env, tmp_path)

    @app.post("/boom")
    def boom() -> str:
        raise RuntimeError("the view broke")

    client = app.test_client()
    login(client, "t1_cw")
    with caplog.at_level(logging.INFO):
        response = client.post(f"/boom?name={NAME}", data={"petitioner_name": NAME, "id_number": GOOD_ID,
                                                           "phone": PHONE})
    request_id = response.headers["X-Request-ID"]
    assert response.status_code == 500 and request_id in response.text  # the page shows the id
    lines = _lines(caplog)
    line = _requests(lines)[-1]
    assert line["request_id"] == request_id and line["status"] == 500 and line["route"] == "/boom"
    assert line["user_id"] == plain.actor("t1_cw").id and line["duration_ms"] >= 0
    assert any(request_id in rec["message"] and "error" in rec for rec in lines)  # the stack, with the id
    text = "\n".join(json.dumps(rec, ensure_ascii=False) for rec in lines)
    for secret in (NAME, GOOD_ID, PHONE):
        assert secret not in text


def test_an_engine_command_logs_one_line_with_the_request_id(env, client, plain, caplog):
    login(client, "t1_cw")
    with caplog.at_level(logging.INFO):
        response = client.post("/start/plain", data={
            "subject": "伤残抚恤金调整", "petitioner_name": NAME, "id_number": GOOD_ID,
            "category": "优抚", "channel": "来访", "received_on": "2026-03-02", "headcount": "2",
            "requests": ["求决"], "facts": f"电话 {PHONE}"})
    assert response.status_code == 302
    lines = _lines(caplog)
    [command] = [line for line in lines if line.get("event") == "command"]
    assert command["command"] == "start_case" and command["outcome"] == "ok"
    assert command["case_id"] == 1 and command["user_id"] == plain.actor("t1_cw").id
    assert command["request_id"] == response.headers["X-Request-ID"] == _requests(lines)[-1]["request_id"]
    text = "\n".join(json.dumps(rec, ensure_ascii=False) for rec in lines)
    assert NAME not in text and GOOD_ID not in text and PHONE not in text


def test_a_refused_command_logs_its_outcome_at_info(env, plain, caplog):
    started = start_plain(env, plain)
    task = open_tasks(env, started.instance_id, "step1")[0]
    with caplog.at_level(logging.INFO), pytest.raises(PermissionDenied):
        complete_task(env, task.id, plain.actor("t2_cw"), {"decision": "同意"})
    [record] = [r for r in caplog.records if r.name == "rongflow.command"]
    line = _lines(caplog)[caplog.records.index(record)]
    assert record.levelno == logging.INFO and line["outcome"] == "permission_denied"
    assert line["task_id"] == task.id and line["user_id"] == plain.actor("t2_cw").id


def test_a_sane_request_id_from_the_proxy_is_kept_and_a_bad_one_replaced(client, plain):
    given = "0123456789abcdef0123456789abcdef"
    assert client.get("/healthz", headers={"X-Request-ID": given}).headers["X-Request-ID"] == given
    replaced = client.get("/healthz", headers={"X-Request-ID": "<script>"}).headers["X-Request-ID"]
    assert replaced != "<script>" and len(replaced) == 12


def test_behind_the_proxy_logs_and_the_query_limit_see_the_real_client(env, tmp_path, plain, caplog):
    app = make_app(env, tmp_path, PROXY_FIX_X_FOR=1, PROXY_FIX_X_PROTO=1)
    client = app.test_client()
    headers = {"X-Forwarded-For": "203.0.113.7", "X-Forwarded-Proto": "https"}
    with caplog.at_level(logging.INFO):
        response = client.post("/query", data={"case_no": "XF2026-99999", "query_code": "000000"},
                               headers=headers)
    assert response.status_code == 404
    assert _requests(_lines(caplog))[-1]["client"] == "203.0.113.7"
    assert response.headers["Strict-Transport-Security"].startswith("max-age=")
    with env.db.read() as s:
        assert "ip:203.0.113.7" in set(s.scalars(select(RateLimitHit.bucket)))


def test_without_proxy_settings_forwarded_headers_are_not_trusted(env, tmp_path, plain, caplog):
    client = make_app(env, tmp_path).test_client()
    headers = {"X-Forwarded-For": "203.0.113.7", "X-Forwarded-Proto": "https"}
    with caplog.at_level(logging.INFO):
        response = client.post("/query", data={"case_no": "XF2026-99999", "query_code": "000000"},
                               headers=headers)
    assert _requests(_lines(caplog))[-1]["client"] == "127.0.0.1"
    assert "Strict-Transport-Security" not in response.headers
    with env.db.read() as s:
        assert "ip:203.0.113.7" not in set(s.scalars(select(RateLimitHit.bucket)))


def test_level_destination_and_format_come_from_the_settings(tmp_path):
    from engine.ops.logs import configure_logging
    root, spiff = logging.getLogger(), logging.getLogger("spiff")
    saved = (root.level, spiff.level)
    try:
        configure_logging("WARNING", str(tmp_path / "app.log"), "json")
        logging.getLogger("rongflow.request").info("below the level")
        logging.getLogger("rongflow.request").warning("kept", extra={"fields": {"status": 500}})
        configure_logging("INFO", str(tmp_path / "app.log"), "json")  # replaces its own handler
        logging.getLogger("spiff.task").info("State changed to READY")
        logging.getLogger("rongflow.command").info("command")
    finally:
        for handler in [h for h in root.handlers if getattr(h, "rongflow", False)]:
            root.removeHandler(handler)
            handler.close()
        root.setLevel(saved[0])
        spiff.setLevel(saved[1])
    lines = [json.loads(line) for line in (tmp_path / "app.log").read_text(encoding="utf-8").splitlines()]
    assert [(r["level"], r["message"]) for r in lines] == [("warning", "kept"), ("info", "command")]
    assert lines[0]["status"] == 500 and lines[0]["time"].endswith("+00:00")
