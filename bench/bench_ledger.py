"""How fast the case ledger (engine.ledger, 台账) answers with many cases: rows bulk-inserted into
process_instance and human_task (no workflow runs), then one ledger page read as a district leader
(scope by subtree), a town caseworker (scope by unit) and the city leader, with a search, a sort
by unit, the overdue filter and a late page. Not part of the test suite.

    .venv/bin/python bench/bench_ledger.py [--pg postgresql+psycopg://postgres@127.0.0.1:5432/test] [--cases 100000]
"""
from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import tempfile
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from sqlalchemy import create_engine, insert, make_url, select, text  # noqa: E402

from engine.env import make_env  # noqa: E402
from engine.ledger import LedgerQuery, ledger  # noqa: E402
from engine.models import (HumanTask, InstanceStatus, ProcessDefinition, ProcessInstance, Role,  # noqa: E402
                           TaskStatus)
from engine.schema import upgrade  # noqa: E402
from tests.factories import build_org, deploy_dir  # noqa: E402


def _pg_database(url: str) -> str:
    name = f"rongflow_bench_ledger_{os.getpid()}"
    admin = create_engine(url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
        conn.execute(text(f"CREATE DATABASE {name}"))
    admin.dispose()
    return make_url(url).set(database=name).render_as_string(hide_password=False)


def _fill(env, org, n: int) -> None:  # type: ignore[no-untyped-def]
    rng = random.Random(7)
    with env.db.read() as s:
        definition = s.scalar(select(ProcessDefinition.id).where(ProcessDefinition.key == "petition"))
    units = [("t1", "d1"), ("t2", "d2"), ("v1", "d1"), ("city_xf", "city_xf")]
    start = datetime(2024, 1, 1, tzinfo=timezone.utc)
    batch = 5000
    for first in range(0, n, batch):
        cases, tasks = [], []
        for i in range(first, min(n, first + batch)):
            unit, routed = units[i % len(units)]
            at = start + timedelta(minutes=17 * i)
            closed = i % 3 == 0
            cases.append(dict(
                id=i + 1, case_no=f"XF{at.year}-{i + 1:06d}", query_code="000000", definition_id=definition,
                process_key="petition", status=InstanceStatus.completed if closed else InstanceStatus.running,
                lock_version=0, state="", org_unit_id=org.units[unit], initiator_id=org.actor("t1_cw").id,
                title=f"信访人{i}反映安置问题", subject_name=f"信访人{i}", subject_id_no=f"3206021968{i:08d}",
                subject_phone=f"139{i:08d}", unit_ids=f"/{org.units[unit]}/{org.units[routed]}/", summary={},
                last_event_hash="", event_count=0, created_at=at, updated_at=at,
                closed_at=at + timedelta(days=20) if closed else None))
            if not closed:
                tasks.append(dict(
                    spiff_task_id=f"{i:036d}", instance_id=i + 1, process_key="petition",
                    case_no=f"XF{at.year}-{i + 1:06d}", title="", step_id="handle", step_name="调查办理",
                    role=Role.caseworker, org_unit_id=org.units[routed], status=TaskStatus.open,
                    due_at=at + timedelta(days=rng.choice((10, 60, 900))), due_provisional=False,
                    created_at=at))
        with env.db.write() as s:
            s.execute(insert(ProcessInstance), cases)
            if tasks:
                s.execute(insert(HumanTask), tasks)
    if env.db.engine.dialect.name == "postgresql":
        with env.db.engine.connect() as conn:
            conn.execute(text("ANALYZE"))
            conn.commit()


def _time(env, user_id: int, q: LedgerQuery, page: int, runs: int) -> tuple[float, int]:  # type: ignore[no-untyped-def]
    times, total = [], 0
    for _ in range(runs):
        started = time.perf_counter()
        total = ledger(env, user_id, "petition", q, page, 20).total
        times.append(time.perf_counter() - started)
    return statistics.median(times) * 1000, total


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--pg", help="PostgreSQL URL (a scratch database is created next to it)")
    parser.add_argument("--cases", type=int, default=100000)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--keep", action="store_true", help="keep the scratch database (prints its URL)")
    args = parser.parse_args()
    url = _pg_database(args.pg) if args.pg else f"sqlite:///{tempfile.mkdtemp()}/bench.db"
    env = make_env(url, bpmn_dir=ROOT / "bpmn")
    upgrade(env.db.engine)
    org = build_org(env)
    deploy_dir(env, "petition", ROOT / "bpmn" / "petition")
    started = time.perf_counter()
    _fill(env, org, args.cases)
    print(f"{env.db.engine.dialect.name}: {args.cases} cases inserted in {time.perf_counter() - started:.1f} s")
    now = datetime(2026, 12, 1, tzinfo=timezone.utc)
    rows = [
        ("d1_lead", "first page, newest first", LedgerQuery(), 1),
        ("d1_lead", "page 500", LedgerQuery(), 500),
        ("d1_lead", "search by name", LedgerQuery(text="信访人4242"), 1),
        ("d1_lead", "search by 身份证号", LedgerQuery(text="320602196800004242"), 1),
        ("d1_lead", "sorted by unit", LedgerQuery(sort="unit", descending=False), 1),
        ("d1_lead", "overdue only", LedgerQuery(overdue_at=now), 1),
        ("t2_cw", "first page (by unit)", LedgerQuery(), 1),
        ("city_lead", "first page (everything)", LedgerQuery(), 1),
        ("city_lead", "registered in one month", LedgerQuery(date_from=datetime(2025, 3, 1).date(),
                                                             date_to=datetime(2025, 3, 31).date()), 1),
    ]
    print(f"{'user':<10} {'query':<26} {'cases':>7} {'median ms':>10}")
    for user, label, q, page in rows:
        ms, total = _time(env, org.actor(user).id, q, page, args.runs)
        print(f"{user:<10} {label:<26} {total:>7} {ms:>10.1f}")
    env.db.dispose()
    if args.keep:
        print(url)
    elif args.pg:
        admin = create_engine(args.pg, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(text(f"DROP DATABASE IF EXISTS {make_url(url).database} WITH (FORCE)"))
        admin.dispose()


if __name__ == "__main__":
    main()
