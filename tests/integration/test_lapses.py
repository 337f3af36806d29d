"""engine.lapses: which steps are option windows, and the 超期 rule in SQL at its boundary."""
from __future__ import annotations

from datetime import timedelta

from engine.inbox import TaskFilter, inbox
from engine.lapses import deployed_window_steps, window_steps
from tests.factories import open_tasks, register_petition, setup_petition
from tests.factories import beijing as at


def test_window_steps_skip_unknown_processes_and_keep_the_rest(env):
    setup_petition(env)
    windows = env.process("petition").lapse_labels
    assert windows and window_steps(env, ["no_such_process", "petition"]) == {"petition": sorted(windows)}
    assert window_steps(env, ["no_such_process"]) == {}
    with env.db.read() as session:
        assert deployed_window_steps(env, session) == {"petition": sorted(windows)}


def test_a_task_is_overdue_from_its_due_instant_on(env, clock):
    """engine.calendar.is_overdue: 00:00 after the last day is already late, one microsecond
    before it is not; the 超期 filter says the same."""
    org = setup_petition(env)
    clock.set(at("2026-09-01"))
    case = register_petition(env, org)
    [task] = open_tasks(env, case, "intake")
    city = org.actor("city_cw").id
    due = task.due_at
    assert task.id in [t.id for t in inbox(env, city, TaskFilter(overdue_at=due)).items]
    assert task.id not in [t.id for t in inbox(env, city, TaskFilter(overdue_at=due - timedelta(microseconds=1))).items]

