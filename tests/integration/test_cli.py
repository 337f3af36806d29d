"""The command line: init-db, deploy, workflows check, worker --once, on a real database."""
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select

from engine.models import ProcessDefinition
from engine.runtime import start_case
from tests.factories import petition_start_data, setup_petition
from webapp import create_app
from workflows import package_keys, process_keys

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def runner(env):
    app = create_app({"ENV_NAME": "test", "DATABASE_URL": env.db.url}, env=env)
    return app.test_cli_runner()


def test_deploy_makes_versions_only_for_changed_content(runner, env):
    first = runner.invoke(args=["deploy"])
    assert first.exit_code == 0, first.output
    assert "petition: version 1 (new)" in first.output
    again = runner.invoke(args=["deploy", "--key", "petition"])
    assert again.exit_code == 0 and "petition: version 1 (unchanged)" in again.output
    with env.db.read() as s:
        assert s.scalar(select(func.count()).select_from(ProcessDefinition)) == len(
            [k for k in process_keys() if (ROOT / "bpmn" / k).is_dir()]) + len(package_keys(ROOT / "bpmn"))


def test_deploy_of_a_broken_process_says_where_and_deploys_nothing(runner, env, tmp_path):
    broken = tmp_path / "petition"
    broken.mkdir()
    (broken / "petition.bpmn").write_text("<bpmn:definitions", encoding="utf-8")
    env.bpmn_dir = tmp_path
    result = runner.invoke(args=["deploy", "--key", "petition"])
    assert result.exit_code != 0
    assert "petition.bpmn" in result.output and "line 1" in result.output
    with env.db.read() as s:
        assert s.scalar(select(func.count()).select_from(ProcessDefinition)) == 0


def test_workflows_check_passes_for_every_process(runner):
    result = runner.invoke(args=["workflows", "check"])
    assert result.exit_code == 0, result.output
    for key in process_keys():
        assert f"{key}: ok" in result.output


def test_workflows_check_fails_on_a_process_without_forms(runner, env, tmp_path, monkeypatch):
    from workflows import get_process
    config = get_process("petition")
    broken = config.__class__(**{**config.__dict__, "forms_dir": tmp_path})
    monkeypatch.setattr(env, "lookup", lambda key: broken if key == "petition" else get_process(key))
    result = runner.invoke(args=["workflows", "check"])
    assert result.exit_code == 1
    assert "petition: FAILED" in result.output and "no form" in result.output


def test_worker_once_fires_what_is_due(runner, env, clock):
    org = setup_petition(env)
    start_case(env, "petition", org.actor("t1_cw"), org.units["t1"], petition_start_data())
    assert "handled 0 case(s)" in runner.invoke(args=["worker", "--once"]).output
    clock.advance(timedelta(days=17))
    assert "handled 1 case(s)" in runner.invoke(args=["worker", "--once"]).output
