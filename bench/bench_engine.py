"""Engine benchmark: case starts/s, task completions/s, SQL statements and commits per completion,
and inbox query time with 10,000 open cases — on SQLite and PostgreSQL, for the plain model
(start → 5 sequential user tasks → end) and the petition process.

    .venv/bin/python bench/bench_engine.py                      # SQLite only
    .venv/bin/python bench/bench_engine.py --pg postgresql+psycopg://postgres@127.0.0.1:5432/test
    options: --cases 300 --open-cases 10000 --process plain --process petition

Engine calls are made directly (no HTTP), one transaction each, as the web app makes them.
"""
from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sqlalchemy import create_engine, func, make_url, select, text  # noqa: E402

from engine.env import Env, make_env  # noqa: E402
from engine.inbox import inbox  # noqa: E402
from engine.models import HumanTask, RoleGrant, TaskStatus, User  # noqa: E402
from engine.orgs import Actor, set_hash_cost  # noqa: E402
from engine.runtime import complete_task, start_case  # noqa: E402
from engine.schema import upgrade  # noqa: E402
from tests.factories import DATA, build_org, deploy_dir, plain_config  # noqa: E402

PROCESS_SETUP: dict[str, Callable[[Env], tuple[str, dict[str, Any]]]] = {}


def _plain(env: Env) -> tuple[str, dict[str, Any]]:
    env.extra_processes["plain"] = plain_config()
    deploy_dir(env, "plain", DATA / "plain")
    return "t1", {"subject": "基准"}


def _petition(env: Env) -> tuple[str, dict[str, Any]]:
    config = env.process("petition")
    deploy_dir(env, "petition", ROOT / "bpmn" / "petition")
    return "t1", dict(config.smoke_start)


PROCESS_SETUP.update(plain=_plain, petition=_petition)


def fresh_env(kind: str, pg_url: str | None, workdir: Path) -> Env:
    if kind == "sqlite":
        url = f"sqlite:///{workdir / 'bench.db'}"
        Path(workdir / "bench.db").unlink(missing_ok=True)
    else:
        assert pg_url
        admin = create_engine(pg_url, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(text("DROP DATABASE IF EXISTS rongflow_bench WITH (FORCE)"))
            conn.execute(text("CREATE DATABASE rongflow_bench"))
        admin.dispose()
        url = make_url(pg_url).set(database="rongflow_bench").render_as_string(hide_password=False)
    env = make_env(url, bpmn_dir=ROOT / "bpmn")
    upgrade(env.db.engine)
    return env


class Driver:
    """Completes whatever task a case has open, as a user who holds its role at its unit."""

    def __init__(self, env: Env, process: str) -> None:
        self.env = env
        self.config = env.process(process)
        with env.db.read() as s:
            rows = s.execute(select(RoleGrant.role, RoleGrant.org_unit_id, User.id, User.full_name)
                             .join(User, User.id == RoleGrant.user_id)).all()
        self.holders = {(r.role, r.org_unit_id): Actor(r.id, r.full_name) for r in rows}
        self.answers = {k: (v if isinstance(v, list) else [v])
                        for k, v in self.config.smoke_answers.items()}
        self.seen: dict[tuple[int, str], int] = {}

    def open_tasks(self, instance_id: int) -> list[HumanTask]:
        with self.env.db.read() as s:
            return list(s.scalars(select(HumanTask).where(
                HumanTask.instance_id == instance_id,
                HumanTask.status.in_((TaskStatus.open, TaskStatus.claimed))).order_by(HumanTask.id)))

    def answer(self, instance_id: int, step: str) -> dict[str, Any] | None:
        """The smoke answer for this step; None where the process leaves the step to a timer."""
        n = self.seen.get((instance_id, step), 0)
        self.seen[(instance_id, step)] = n + 1
        options = self.answers.get(step) or [{}]
        chosen = options[min(n, len(options) - 1)]
        return None if chosen is None else dict(chosen)

    def step(self, task: HumanTask) -> Callable[[], Any] | None:
        actor = self.holders[(task.role, task.org_unit_id)]
        data = self.answer(task.instance_id, task.step_id)
        if data is None:
            return None
        return lambda: complete_task(self.env, task.id, actor, data, opinion="同意")


def measure(kind: str, process: str, cases: int, open_cases: int, pg_url: str | None,
            workdir: Path) -> dict[str, float]:
    env = fresh_env(kind, pg_url, workdir)
    org = build_org(env)
    unit_key, start_data = PROCESS_SETUP[process](env)
    starter = org.actor(f"{unit_key}_cw")
    unit_id = org.units[unit_key]
    counter = env.db.counter

    t0 = time.perf_counter()
    ids = [start_case(env, process, starter, unit_id, dict(start_data)).instance_id
           for _ in range(cases)]
    start_rate = cases / (time.perf_counter() - t0)

    driver = Driver(env, process)
    completions, elapsed, statements, commits = 0, 0.0, 0, 0
    for instance_id in ids:
        for _ in range(60):  # a bound: no process of ours has this many steps
            tasks = driver.open_tasks(instance_id)
            if not tasks:
                break
            action = driver.step(tasks[0])
            if action is None:  # the case now waits on a timer (e.g. the 复查 request window)
                break
            counter.reset()
            t = time.perf_counter()
            action()
            elapsed += time.perf_counter() - t
            statements += counter.statements
            commits += counter.commits
            completions += 1

    fill_open_cases(env, process, starter, unit_id, start_data, open_cases)
    inbox_ms = time_inbox(env, busiest_holder(env, driver).id)
    other_ms = time_inbox(env, org.actor("d2_cw").id)
    env.db.dispose()
    return {"starts_per_s": start_rate, "completions_per_s": completions / elapsed,
            "completions": completions, "ms_per_completion": 1000 * elapsed / completions,
            "statements_per_completion": statements / completions,
            "commits_per_completion": commits / completions,
            "inbox_ms_p50": inbox_ms, "inbox_other_unit_ms_p50": other_ms}


def fill_open_cases(env: Env, process: str, actor: Actor, unit_id: int,
                    data: dict[str, Any], n: int) -> None:
    for _ in range(n):
        start_case(env, process, actor, unit_id, dict(data))


def busiest_holder(env: Env, driver: Driver) -> Actor:
    """A user holding the role and unit with the most open tasks (the 10,000 new cases' first step)."""
    with env.db.read() as s:
        role, unit, _n = s.execute(select(HumanTask.role, HumanTask.org_unit_id, func.count())
                                   .where(HumanTask.status == TaskStatus.open)
                                   .group_by(HumanTask.role, HumanTask.org_unit_id)
                                   .order_by(func.count().desc()).limit(1)).one()
    return driver.holders[(role, unit)]


def time_inbox(env: Env, user_id: int, runs: int = 50) -> float:
    samples = []
    for _ in range(runs):
        t = time.perf_counter()
        page = inbox(env, user_id, page=1, per_page=20)
        samples.append(1000 * (time.perf_counter() - t))
    assert page.total >= 0
    return statistics.median(samples)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--pg", help="PostgreSQL admin URL; a rongflow_bench database is made beside it")
    parser.add_argument("--cases", type=int, default=300)
    parser.add_argument("--open-cases", type=int, default=10000)
    parser.add_argument("--process", action="append", choices=sorted(PROCESS_SETUP))
    args = parser.parse_args()
    set_hash_cost(1, 64)  # org setup only; not part of any figure
    kinds = ["sqlite"] + (["postgresql"] if args.pg else [])
    with tempfile.TemporaryDirectory() as tmp:
        for process in args.process or ["plain", "petition"]:
            for kind in kinds:
                r = measure(kind, process, args.cases, args.open_cases, args.pg, Path(tmp))
                print(f"{process:9s} {kind:10s} starts/s {r['starts_per_s']:7.1f} | "
                      f"completions/s {r['completions_per_s']:7.1f} ({r['ms_per_completion']:.2f} ms, "
                      f"n={r['completions']:.0f}) | SQL/completion {r['statements_per_completion']:.1f} | "
                      f"commits/completion {r['commits_per_completion']:.2f} | inbox p50 with "
                      f"{args.open_cases} open cases {r['inbox_ms_p50']:.2f} ms "
                      f"(other unit {r['inbox_other_unit_ms_p50']:.2f} ms)", flush=True)


if __name__ == "__main__":
    main()
