"""The demo city behind the README's run command, built through the engine (its build time is measured
in bench/bench_demo.py, not asserted here: a loaded machine would make such a test flaky)."""
from pathlib import Path

from sqlalchemy import func, select

from engine.env import make_env
from engine.models import HumanTask, InstanceStatus, ProcessInstance, TaskStatus, User
from engine.orgs import check_password
from webapp.cli import deploy_all, init_db
from workflows import process_keys
from workflows.demo_city import DEMO_PASSWORD, build, demo_logins

ROOT = Path(__file__).resolve().parents[2]


def test_demo_city_has_cases_in_every_state_and_working_logins(tmp_path):
    env = make_env(f"sqlite:///{tmp_path / 'demo.db'}", bpmn_dir=ROOT / "bpmn")
    init_db(env)
    deploy_all(env)
    city = build(env)
    assert len(city.units) == 1 + 7 + 4 + 12 + 36
    with env.db.read() as s:
        by_status = dict(s.execute(select(ProcessInstance.status, func.count())
                                   .group_by(ProcessInstance.status)).all())
        per_process = dict(s.execute(select(ProcessInstance.process_key, func.count())
                                     .group_by(ProcessInstance.process_key)).all())
        overdue = s.scalar(select(func.count()).select_from(HumanTask).where(
            HumanTask.status.in_((TaskStatus.open, TaskStatus.claimed)),
            HumanTask.due_at < env.clock.now()))
        # a case handled twice was returned (退回) by review or approval
        returned = s.scalar(select(func.count()).select_from(
            select(HumanTask.instance_id).where(HumanTask.step_id == "handle",
                                                HumanTask.status == TaskStatus.completed)
            .group_by(HumanTask.instance_id).having(func.count() > 1).subquery()))
        users = {u.username: u for u in s.scalars(select(User))}
    assert 180 <= sum(per_process.values()) <= 220
    assert set(per_process) == set(process_keys())
    assert by_status[InstanceStatus.running] >= 50 and by_status[InstanceStatus.completed] >= 30
    assert overdue > 0 and returned > 0
    for line in demo_logins().splitlines()[1:]:
        username = line.split()[0]
        assert username in users, username
        assert check_password(users[username].password_hash, DEMO_PASSWORD)
    env.db.dispose()
