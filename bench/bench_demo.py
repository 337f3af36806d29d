"""How long `rongflow demo` takes to build the demo city (schema, deploy, about 200 cases worked on
in simulated time), on a fresh SQLite file or on PostgreSQL. Not part of the test suite.

    .venv/bin/python bench/bench_demo.py [--pg postgresql+psycopg://postgres@127.0.0.1:5432/test] [--runs 3]
"""
from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from sqlalchemy import create_engine, func, make_url, select, text  # noqa: E402

from engine.env import make_env  # noqa: E402
from engine.models import ProcessInstance  # noqa: E402
from webapp.cli import deploy_all, init_db  # noqa: E402
from workflows.demo_city import build  # noqa: E402


def _pg_database(url: str) -> str:
    name = f"rongflow_bench_demo_{os.getpid()}"
    admin = create_engine(url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
        conn.execute(text(f"CREATE DATABASE {name}"))
    admin.dispose()
    return make_url(url).set(database=name).render_as_string(hide_password=False)


def one_run(url: str) -> tuple[float, int]:
    env = make_env(url, bpmn_dir=ROOT / "bpmn")
    started = time.perf_counter()
    init_db(env)
    deploy_all(env)
    build(env)
    elapsed = time.perf_counter() - started
    with env.db.read() as s:
        cases = s.scalar(select(func.count()).select_from(ProcessInstance)) or 0
    env.db.dispose()
    return elapsed, cases


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--pg", help="a PostgreSQL URL; a scratch database is made beside it")
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    times = []
    for _ in range(args.runs):
        if args.pg:
            url = _pg_database(args.pg)
        else:
            url = f"sqlite:///{tempfile.mkdtemp()}/demo.db"
        elapsed, cases = one_run(url)
        times.append(elapsed)
        print(f"{'PostgreSQL' if args.pg else 'SQLite'}: {cases} cases in {elapsed:.1f} s", flush=True)
    print(f"median {statistics.median(times):.1f} s over {len(times)} runs; "
          f"load average {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
