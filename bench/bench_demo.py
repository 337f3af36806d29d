"""How long `rongflow demo` takes to build the demo city (schema, deploy, about 280 cases of eleven
processes worked on in simulated time), on a fresh SQLite file or on PostgreSQL. Not part of the
test suite (its test asserts no time).

    .venv/bin/python bench/bench_demo.py [--pg postgresql+psycopg://postgres@127.0.0.1:5432/test] [--runs 3]
        [--against OLD_DEMO_CITY.py]

Each run prints the wall time and this process's CPU time (steadier on a shared machine: it
leaves out waiting for the CPU, the disk and, on PostgreSQL, the server's own work). `--against`
builds with an earlier demo_city.py too, alternating with today's run by run so both see the
same load, e.g. `git show 1f53923:workflows/demo_city.py > /tmp/old_demo_city.py`. Documents are
issued as `rongflow demo` issues them (into a scratch upload folder) unless `--no-documents`.
"""
from __future__ import annotations

import argparse
import importlib.util
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from sqlalchemy import create_engine, func, make_url, select, text  # noqa: E402

from engine.env import make_env  # noqa: E402
from engine.models import ProcessInstance  # noqa: E402
from webapp.cli import deploy_all, init_db  # noqa: E402
from workflows.demo_city import build  # noqa: E402


def _admin(url: str) -> Any:
    return create_engine(url, isolation_level="AUTOCOMMIT")


def _pg_database(url: str) -> str:
    name = f"rongflow_bench_demo_{os.getpid()}"
    admin = _admin(url)
    with admin.connect() as conn:
        conn.execute(text(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
        conn.execute(text(f"CREATE DATABASE {name}"))
    admin.dispose()
    return make_url(url).set(database=name).render_as_string(hide_password=False)


def _drop_pg_database(url: str, scratch: str) -> None:
    admin = _admin(url)
    with admin.connect() as conn:
        conn.execute(text(f"DROP DATABASE IF EXISTS {make_url(scratch).database} WITH (FORCE)"))
    admin.dispose()


def _load_build(path: str) -> Callable[..., Any]:
    """build() of another demo_city.py (e.g. an earlier revision's), run against today's engine."""
    spec = importlib.util.spec_from_file_location("demo_city_against", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up
    spec.loader.exec_module(module)
    return module.build  # type: ignore[no-any-return]


def one_run(url: str, builder: Callable[..., Any], documents: bool) -> tuple[float, float, int]:
    env = make_env(url, bpmn_dir=ROOT / "bpmn")
    if documents:  # as `rongflow demo`: the app's UPLOAD_DIR is set, so steps issue their documents
        env.upload_dir = Path(tempfile.mkdtemp(prefix="rongflow-bench-uploads-"))
    started, cpu = time.perf_counter(), time.process_time()
    init_db(env)
    deploy_all(env)
    builder(env)
    elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu
    with env.db.read() as s:
        cases = s.scalar(select(func.count()).select_from(ProcessInstance)) or 0
    env.db.dispose()
    return elapsed, cpu, cases


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--pg", help="a PostgreSQL URL; a scratch database is made beside it and dropped")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--against", help="an earlier demo_city.py to time alternately with today's")
    parser.add_argument("--no-documents", action="store_true",
                        help="issue no documents (as the test fixture, whose Env has no upload folder)")
    args = parser.parse_args()
    builders = [("today", build)] + ([("against", _load_build(args.against))] if args.against else [])
    times: dict[str, list[tuple[float, float]]] = {name: [] for name, _b in builders}
    for _ in range(args.runs):
        for name, builder in builders:
            url = _pg_database(args.pg) if args.pg else f"sqlite:///{tempfile.mkdtemp()}/demo.db"
            elapsed, cpu, cases = one_run(url, builder, not args.no_documents)
            if args.pg:
                _drop_pg_database(args.pg, url)
            times[name].append((elapsed, cpu))
            print(f"{'PostgreSQL' if args.pg else 'SQLite'} {name}: {cases} cases in {elapsed:.1f} s "
                  f"(CPU {cpu:.1f} s); load average {os.getloadavg()[0]:.1f}", flush=True)
    for name, runs in times.items():
        print(f"{name}: median {statistics.median(t for t, _c in runs):.1f} s, "
              f"CPU {statistics.median(c for _t, c in runs):.1f} s over {len(runs)} runs")


if __name__ == "__main__":
    main()
