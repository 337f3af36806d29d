"""Loop benchmark: what one task completion costs as a case loops (state size and time).

A back-flow loop (tests/data/fidelity/loop_backflow: one user task, an exclusive gateway back
to it) is completed N times through engine.runtime.complete_task, one transaction each, as the
web app does. Prints the state size (bytes) and the median time of the completions around
completion 10 and around completion N.

    .venv/bin/python bench/bench_loop.py                       # SQLite, 2,000 completions
    .venv/bin/python bench/bench_loop.py --pg postgresql+psycopg://postgres@127.0.0.1:5432/test
    options: --completions 2000 --window 10
"""
from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sqlalchemy import select  # noqa: E402

from bench.bench_engine import fresh_env  # noqa: E402
from engine.models import HumanTask, ProcessInstance, TaskStatus  # noqa: E402
from engine.orgs import set_hash_cost  # noqa: E402
from engine.runtime import complete_task, start_case  # noqa: E402
from tests.factories import build_org  # noqa: E402
from tests.integration.fidelity_runner import deploy_fixture  # noqa: E402

KEY = "loop_backflow"


def run(kind: str, pg_url: str | None, completions: int, window: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        env = fresh_env(kind, pg_url, Path(tmp))
        org = build_org(env)
        deploy_fixture(env, KEY)
        actor = org.actor("t1_cw")
        iid = start_case(env, KEY, actor, org.units["t1"], {}).instance_id
        times: list[float] = []
        sizes: list[int] = []
        for n in range(1, completions + 1):
            with env.db.read() as s:
                row_id = s.scalar(select(HumanTask.id).where(HumanTask.instance_id == iid,
                                                             HumanTask.status == TaskStatus.open))
            t0 = time.perf_counter()
            complete_task(env, row_id, actor, {"decision": "again", "round": n})
            times.append((time.perf_counter() - t0) * 1000)
            with env.db.read() as s:
                sizes.append(len(s.get(ProcessInstance, iid).state))
        early = slice(max(0, 10 - window // 2), 10 + window // 2)
        late = slice(completions - window, completions)
        print(f"{kind}: completion ~10: {statistics.median(times[early]):.2f} ms, state {sizes[9]:,} B; "
              f"completion ~{completions}: {statistics.median(times[late]):.2f} ms, "
              f"state {sizes[-1]:,} B")
        env.db.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--pg", help="PostgreSQL URL (a database named rongflow_bench is created beside it)")
    parser.add_argument("--completions", type=int, default=2000)
    parser.add_argument("--window", type=int, default=10)
    args = parser.parse_args()
    set_hash_cost(time_cost=1, memory_cost_kib=64)
    run("sqlite", None, args.completions, args.window)
    if args.pg:
        run("postgresql", args.pg, args.completions, args.window)


if __name__ == "__main__":
    main()
