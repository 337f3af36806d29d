"""Two people completing the same task at the same moment: exactly one wins."""
import threading

from sqlalchemy import func, select

from engine.errors import Conflict
from engine.inbox import inbox
from engine.models import HistoryEvent, HumanTask, TaskStatus
from engine.runtime import complete_task, start_case
from tests.factories import build_org, setup_plain

THREADS = 20


def test_twenty_caseworkers_complete_one_task_once(env):
    org = build_org(env)
    setup_plain(env)
    cw = org.actor("t1_cw")
    start_case(env, "plain", cw, org.units["t1"], {"subject": "并发"})
    task_id = inbox(env, cw.id).items[0].id
    barrier = threading.Barrier(THREADS)
    outcomes: list[str] = []
    lock = threading.Lock()

    def worker(i: int) -> None:
        barrier.wait()
        try:
            complete_task(env, task_id, cw, {"n": i}, opinion=f"第{i}次")
            result = "ok"
        except Conflict:
            result = "conflict"
        except Exception as exc:  # anything else is a bug: record it to fail the test
            result = f"error: {type(exc).__name__}: {exc}"
        with lock:
            outcomes.append(result)

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(THREADS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(outcomes) == ["conflict"] * (THREADS - 1) + ["ok"], outcomes
    with env.db.read() as s:
        completes = s.scalar(select(func.count()).select_from(HistoryEvent).where(
            HistoryEvent.action == "complete"))
        next_tasks = s.scalars(select(HumanTask).where(HumanTask.status == TaskStatus.open)).all()
    assert completes == 1
    assert [t.step_id for t in next_tasks] == ["step2"]
