"""/healthz, /readyz and /metrics: open without sign-in, free of case data, and each readiness
fault reported as such; /metrics only for the token holder or a loopback client."""
from __future__ import annotations

import re
from datetime import timedelta

from sqlalchemy import text

from engine.db import Database
from engine.env import Env
from engine.ops.heartbeat import beat
from engine.runtime import complete_task
from tests.web.conftest import GOOD_ID, login, make_app, start_plain

CASE_DATA = ("王建国", GOOD_ID, "优抚金申请", "PL2026")


def _no_case_data(body: str) -> None:
    assert not [c for c in CASE_DATA if c in body], body[:500]


def test_healthz_answers_without_sign_in(client, plain, env):
    start_plain(env, plain)
    response = client.get("/healthz")
    assert response.status_code == 200 and response.json == {"status": "ok"}
    _no_case_data(response.text)


def test_readyz_is_ready_with_database_schema_and_a_recent_worker(client, plain, env, clock, app):
    start_plain(env, plain)
    beat(env, "host-a:1")
    response = client.get("/readyz")
    assert response.status_code == 200, response.json
    assert response.json == {"status": "ready",
                             "checks": {"database": "ok", "migrations": "ok", "worker": "ok"}}
    _no_case_data(response.text)


def test_readyz_without_any_worker_heartbeat_is_not_ready(client, plain):
    response = client.get("/readyz")
    assert response.status_code == 503
    assert response.json["checks"]["worker"] == "no worker heartbeat"


def test_readyz_with_a_stale_heartbeat_is_not_ready(client, plain, env, clock, app):
    beat(env, "host-a:1")
    clock.advance(timedelta(seconds=app.config["READY_WORKER_MAX_AGE_SECONDS"] + 1))
    response = client.get("/readyz")
    assert response.status_code == 503
    assert response.json["checks"]["worker"].startswith("last heartbeat")


def test_readyz_after_the_only_worker_stopped_is_not_ready(client, plain, env):
    beat(env, "host-a:1")
    beat(env, "host-a:1", stopped=True)
    assert client.get("/readyz").json["checks"]["worker"] == "no worker heartbeat"


def test_readyz_with_the_schema_behind_the_code_is_not_ready(client, plain, env):
    beat(env, "host-a:1")
    with env.db.write() as s:
        head = s.scalar(text("SELECT version_num FROM alembic_version"))
        s.execute(text("UPDATE alembic_version SET version_num = '0006'"))
    try:
        response = client.get("/readyz")
        assert response.status_code == 503
        assert response.json["checks"]["migrations"].startswith("at 0006, head is")
    finally:  # the PostgreSQL test database is shared by the tests that follow
        with env.db.write() as s:
            s.execute(text("UPDATE alembic_version SET version_num = :v"), {"v": head})


def test_readyz_with_the_database_away_is_not_ready(tmp_path):
    away = Env(db=Database("postgresql+psycopg://postgres@127.0.0.1:9/nowhere?connect_timeout=2"))
    app = make_app(away, tmp_path)
    response = app.test_client().get("/readyz")
    assert response.status_code == 503
    assert response.json["checks"]["database"].startswith("unreachable")


def _metric(body: str, name: str, **labels: str) -> float:
    for line in body.splitlines():
        if line.startswith(name + "{") or line.startswith(name + " "):
            found = dict(re.findall(r'(\w+)="([^"]*)"', line.split(" ")[0]))
            if all(found.get(k) == v for k, v in labels.items()):
                return float(line.rsplit(" ", 1)[1])
    raise AssertionError(f"{name} {labels} not in metrics")


def test_metrics_count_requests_commands_and_read_the_gauges(client, plain, env, clock):
    first = start_plain(env, plain)
    start_plain(env, plain)
    from tests.factories import open_tasks
    task = open_tasks(env, first.instance_id, "step1")[0]
    complete_task(env, task.id, plain.actor("t1_cw"), {"decision": "同意"})
    with env.db.write() as s:  # one case in error
        s.execute(text("UPDATE process_instance SET status = 'error' WHERE id = :i"), {"i": first.instance_id})
    clock.advance(timedelta(days=40))  # past the 15-day deadline of the open task
    beat(env, "host-a:1")
    client.get("/healthz")
    before = _metric(client.get("/metrics").text, "rongflow_http_requests_total",
                     route="/healthz", method="GET", status="200")
    client.get("/healthz")
    body = client.get("/metrics").text
    assert _metric(body, "rongflow_http_requests_total", route="/healthz", method="GET", status="200") == before + 1
    assert _metric(body, "rongflow_engine_commands_total", command="start_case", outcome="ok") >= 2
    assert _metric(body, "rongflow_engine_command_duration_seconds_count", command="complete_task") >= 1
    assert _metric(body, "rongflow_open_tasks") == 2
    assert _metric(body, "rongflow_overdue_tasks") == 2
    assert _metric(body, "rongflow_cases_in_error") == 1
    assert _metric(body, "rongflow_due_timers") == 0 and _metric(body, "rongflow_worker_lag_seconds") == 0
    assert _metric(body, "rongflow_worker_heartbeat_age_seconds") == 0
    _no_case_data(body)


def test_metrics_show_how_long_a_due_timer_has_waited(client, env, clock):
    from tests.integration.worker_process import timer_config
    from tests.factories import DATA, build_org, deploy_dir
    from engine.runtime import start_case
    org = build_org(env)
    env.extra_processes["timer_case"] = timer_config()
    deploy_dir(env, "timer_case", DATA / "timer_case")
    start_case(env, "timer_case", org.actor("t1_cw"), org.units["t1"], {})
    clock.advance(timedelta(days=30))
    body = client.get("/metrics").text
    assert _metric(body, "rongflow_due_timers") == 1
    assert _metric(body, "rongflow_worker_lag_seconds") > 0


def test_metrics_refuse_a_client_off_the_loopback(client, plain):
    assert client.get("/metrics", environ_base={"REMOTE_ADDR": "10.1.2.3"}).status_code == 404
    assert client.get("/metrics").status_code == 200


def test_metrics_with_a_token_need_it_even_on_the_loopback(env, tmp_path, plain):
    client = make_app(env, tmp_path, METRICS_TOKEN="s3cret-token").test_client()
    assert client.get("/metrics").status_code == 404
    assert client.get("/metrics", headers={"Authorization": "Bearer wrong"}).status_code == 404
    response = client.get("/metrics", headers={"Authorization": "Bearer s3cret-token"},
                          environ_base={"REMOTE_ADDR": "10.1.2.3"})
    assert response.status_code == 200 and "rongflow_open_tasks" in response.text


def test_signed_in_users_get_no_more_from_the_ops_routes(client, plain, env):
    start_plain(env, plain)
    login(client, "t1_cw")
    for path in ("/healthz", "/readyz", "/metrics"):
        _no_case_data(client.get(path).text)
