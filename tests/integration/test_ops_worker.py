"""The timer worker as a real process: SIGTERM mid-batch loses no timer and fires none twice;
the heartbeat says it ran and that it stopped."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections import Counter
from datetime import timedelta
from pathlib import Path

import pytest

from sqlalchemy import func, select

from engine.history import verify_chain
from engine.models import HistoryEvent, InstanceStatus, ProcessInstance, WorkerHeartbeat
from engine.runtime import start_case
from engine.worker import run_due_timers
from tests.factories import DATA, build_org, deploy_dir
from tests.integration.worker_process import timer_config

ROOT = Path(__file__).resolve().parents[2]
CASES = 40


def _timer_events(env) -> Counter[int]:
    with env.db.read() as s:
        return Counter(s.scalars(select(HistoryEvent.instance_id).where(HistoryEvent.action == "timer")))


def _start_worker(url: str) -> subprocess.Popen[str]:
    environ = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.Popen([sys.executable, str(Path(__file__).with_name("worker_process.py")), url],
                            cwd=ROOT, env=environ, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _wait_for_timers(env, proc: subprocess.Popen[str], at_least: int, polls: int = 3000) -> None:
    """Poll until the worker process has fired `at_least` timers; a bounded number of polls only
    keeps a hung worker from hanging the suite (no duration is asserted)."""
    for _ in range(polls):
        if sum(_timer_events(env).values()) >= at_least:
            return
        assert proc.poll() is None, f"worker died: {proc.stderr.read() if proc.stderr else ''}"
        time.sleep(0.02)  # waiting on another process, not on the engine's clock
    pytest.fail("the worker fired no timer")


def test_sigterm_mid_batch_loses_no_timer_and_fires_none_twice(env, clock):
    org = build_org(env)
    env.extra_processes["timer_case"] = timer_config()
    deploy_dir(env, "timer_case", DATA / "timer_case")
    ids = [start_case(env, "timer_case", org.actor("t1_cw"), org.units["t1"], {}).instance_id
           for _ in range(CASES)]  # registered in March 2026: by the worker's real clock all are due
    proc = _start_worker(env.db.url)
    try:
        _wait_for_timers(env, proc, 3)
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0, err[-2000:]
    first = _timer_events(env)
    handled = int(out.split("handled ")[1].split()[0])
    assert 3 <= sum(first.values()) < CASES, "SIGTERM must land while due timers remain"
    assert sum(first.values()) == handled and set(first.values()) == {1}
    with env.db.read() as s:
        beat = s.scalars(select(WorkerHeartbeat)).one()
        assert beat.stopped_at is not None and beat.cases_handled == handled
        assert beat.pid == proc.pid

    clock.advance(timedelta(days=60))  # the second worker, on the engine's clock
    assert run_due_timers(env) == CASES - handled
    assert _timer_events(env) == Counter({i: 1 for i in ids})
    with env.db.read() as s:
        still_due = s.scalar(select(func.count()).select_from(ProcessInstance).where(
            ProcessInstance.status == InstanceStatus.running, ProcessInstance.next_timer_at <= clock.now()))
        assert still_due == 0
        assert all(verify_chain(s, i).ok for i in ids)
