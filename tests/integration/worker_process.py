"""A real timer worker process for the SIGTERM drill: the CLI's own loop (`run_worker`: signal
handlers, heartbeat, one transaction per case) on the test's database (argv[1]), with the test's
timer process registered. Each fired case is followed by a 50 ms pause, so the test's SIGTERM
lands while due timers remain."""
from __future__ import annotations

import sys
import time

from engine.env import make_env
from engine.ops.logs import CommandRecord, add_observer
from tests.factories import simple_config
from webapp.opscli import run_worker


def timer_config():  # type: ignore[no-untyped-def]
    def on_start(data, ctx):  # type: ignore[no-untyped-def]
        due = ctx.calendar.add_days(ctx.today, 15).due
        return {"decide_due_at": ctx.calendar.deadline_end(due).isoformat()}
    return simple_config("timer_case", "TM", on_start=on_start, due_keys={"decide": "decide_due_at"})


def _pause(record: CommandRecord) -> None:
    if record.command == "fire_due_timer":
        time.sleep(0.05)


if __name__ == "__main__":
    env = make_env(sys.argv[1])
    env.extra_processes["timer_case"] = timer_config()
    add_observer(_pause)
    print(f"handled {run_worker(env, 0.2, 1000)}", flush=True)
    env.db.dispose()
