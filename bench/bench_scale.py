"""Scale benchmark: the inbox of a user with 100,000 open tasks, and the worker firing 10,000 due
timers (issue 12: inbox page under 50 ms on PostgreSQL, 10,000 timers in under 60 s).

Inbox: 100,000 open task rows of one role at one unit (bulk inserted beside one real case), then
the median of 20 reads of the inbox's first page: the engine call (`engine.inbox.inbox`), the
JSON API (`GET /api/v1/tasks/inbox`) and the home page that lists it (`GET /`), in-process.
Timers: one real case waiting on a boundary timer (tests/data/fidelity/boundary_timer), its case
row copied to 10,000 cases (a setup shortcut: the copies carry no history of their own, the worker
appends to each), the clock moved past the due time, then `engine.worker.run_due_timers` until
no case is due, timed.

    .venv/bin/python bench/bench_scale.py --pg postgresql+psycopg://postgres@127.0.0.1:5432/test
    .venv/bin/python bench/bench_scale.py            # SQLite only
    .venv/bin/python bench/bench_scale.py --no-inbox # the worker's timers only
"""
from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, insert, make_url, select, text

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.bench_http import PASSWORD, linear_bpmn, processes  # noqa: E402
from engine.clock import ManualClock  # noqa: E402
from engine.env import Env, make_env  # noqa: E402
from engine.inbox import inbox  # noqa: E402
from engine.models import HumanTask, ProcessInstance, Role, TaskStatus  # noqa: E402
from engine.orgs import set_hash_cost  # noqa: E402
from engine.runtime import start_case  # noqa: E402
from engine.schema import upgrade  # noqa: E402
from engine.worker import BATCH, run_due_timers  # noqa: E402
from tests.conftest import DEFAULT_START  # noqa: E402
from tests.factories import build_org, deploy_files  # noqa: E402
from tests.integration.fidelity_runner import fixture_config, fixture_files  # noqa: E402

DB_NAME = "rongflow_bench_scale"
TIMER = "boundary_timer"


def fresh(kind: str, pg_url: str | None, workdir: Path) -> Env:
    if kind == "sqlite":
        url = f"sqlite:///{workdir / 'scale.db'}"
    else:
        assert pg_url
        admin = create_engine(pg_url, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(text(f"DROP DATABASE IF EXISTS {DB_NAME} WITH (FORCE)"))
            conn.execute(text(f"CREATE DATABASE {DB_NAME}"))
        admin.dispose()
        url = make_url(pg_url).set(database=DB_NAME).render_as_string(hide_password=False)
    env = make_env(url, clock=ManualClock(DEFAULT_START), bpmn_dir=ROOT / "bpmn")
    upgrade(env.db.engine)
    return env


def median_ms(fn: Any, runs: int = 20) -> float:
    fn()  # warm
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        fn()
        times.append((time.perf_counter() - t0) * 1000)
    return statistics.median(times)


def bench_inbox(env: Env, org: Any, workdir: Path, tasks: int) -> str:
    env.extra_processes.update(processes())
    deploy_files(env, "linear5", {"linear5.bpmn": linear_bpmn("linear5", 5)})
    actor, unit = org.actor("t1_cw"), org.units["t1"]
    iid = start_case(env, "linear5", actor, unit, {}).instance_id
    now = env.clock.now()
    rows = [{"spiff_task_id": f"bench-{n}", "instance_id": iid, "process_key": "linear5",
             "case_no": f"BENCH-{n:06d}", "title": "批量待办", "step_id": "t1", "step_name": "步骤",
             "role": Role.caseworker, "org_unit_id": unit, "status": TaskStatus.open,
             "due_at": now + timedelta(minutes=n % 5000), "due_provisional": False, "created_at": now}
            for n in range(tasks)]
    with env.db.write() as s:
        for i in range(0, len(rows), 10_000):
            s.execute(insert(HumanTask), rows[i:i + 10_000])
    if not env.db.is_sqlite:
        with env.db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(text("ANALYZE"))
    engine_ms = median_ms(lambda: inbox(env, actor.id))
    from webapp import create_app
    app = create_app({"ENV_NAME": "development", "DATABASE_URL": env.db.url, "UPLOAD_DIR": workdir,
                      "WTF_CSRF_ENABLED": False}, env=env)
    with app.test_client() as c:
        assert c.post("/login", data={"username": "t1_cw", "password": PASSWORD}).status_code == 302
        body = c.get("/api/v1/tasks/inbox").json
        assert body["total_capped"] or body["total"] >= tasks  # counted up to engine.inbox.COUNT_CAP
        api_ms = median_ms(lambda: c.get("/api/v1/tasks/inbox"))
        page_ms = median_ms(lambda: c.get("/"))
    return (f"  inbox of a user with {tasks:,} open tasks, first page (median of 20): engine {engine_ms:.1f} ms, "
            f"API {api_ms:.1f} ms, home page {page_ms:.1f} ms")


def bench_timers(env: Env, org: Any, cases: int) -> str:
    env.extra_processes[TIMER] = fixture_config(TIMER)
    deploy_files(env, TIMER, fixture_files(TIMER))
    iid = start_case(env, TIMER, org.actor("t1_cw"), org.units["t1"], {}).instance_id
    with env.db.read() as s:
        row = s.execute(select(ProcessInstance.__table__).where(ProcessInstance.id == iid)).mappings().one()
    assert row["next_timer_at"] is not None, "the fixture case should wait on a timer"
    copy = {k: v for k, v in row.items() if k != "id"}
    clones = [{**copy, "case_no": f"TMR-{n:06d}"} for n in range(1, cases)]
    with env.db.write() as s:
        for i in range(0, len(clones), 2_000):
            s.execute(insert(ProcessInstance.__table__), clones[i:i + 2_000])
    if not env.db.is_sqlite:  # the statistics a live database has (autovacuum), not a bulk load's
        with env.db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(text("ANALYZE process_instance"))
    env.clock.advance(timedelta(days=3))  # type: ignore[attr-defined]
    env.db.counter.reset()
    t0 = time.perf_counter()
    fired = 0
    while True:
        n = run_due_timers(env, limit=1000)
        fired += n
        if n == 0:
            break
    wall = time.perf_counter() - t0
    statements, commits = env.db.counter.statements, env.db.counter.commits
    return (f"  worker: {fired:,} due timers fired in {wall:.1f} s ({fired / wall:.0f}/s; "
            f"{statements / fired:.2f} statements per case, {commits:,} commits, "
            f"transactions of up to {BATCH} cases)")


def run(kind: str, pg_url: str | None, args: argparse.Namespace) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        print(f"{kind} (load average {os.getloadavg()[0]:.1f}):")
        env = fresh(kind, pg_url, workdir)
        org = build_org(env)
        if not args.no_inbox:
            print(bench_inbox(env, org, workdir, args.tasks), flush=True)
        if not args.no_timers:
            print(bench_timers(env, org, args.timers), flush=True)
        env.db.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--pg", help="PostgreSQL URL (a database named rongflow_bench_scale is created beside it)")
    parser.add_argument("--tasks", type=int, default=100_000, help="open tasks in the user's inbox")
    parser.add_argument("--timers", type=int, default=10_000, help="due timers for the worker")
    parser.add_argument("--no-sqlite", action="store_true", help="only PostgreSQL")
    parser.add_argument("--no-timers", action="store_true", help="only the inbox (skip the worker's timers)")
    parser.add_argument("--no-inbox", action="store_true", help="only the worker's timers (skip the inbox)")
    args = parser.parse_args()
    set_hash_cost(time_cost=1, memory_cost_kib=64)
    if not args.no_sqlite:
        run("sqlite", None, args)
    if args.pg:
        run("postgresql", args.pg, args)


if __name__ == "__main__":
    main()
