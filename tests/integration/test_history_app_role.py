"""PostgreSQL: the app runs under a role that may only SELECT and INSERT on the logs, so even
with its own credentials nobody can change, delete, truncate or unguard history (migrations
run as the schema owner)."""
import os

import pytest
from sqlalchemy import create_engine, func, make_url, select, text
from sqlalchemy.exc import DBAPIError

from engine import admin
from engine.env import make_env
from engine.inbox import inbox
from engine.integrity import service
from engine.integrity.approle import grant_statements
from engine.models import AdminEvent, HistoryEvent
from engine.runtime import complete_task, start_case
from tests.conftest import ROOT
from tests.factories import build_org, setup_plain
from webapp import create_app

ROLE = f"rongflow_app_t{os.getpid()}"


@pytest.fixture
def app_env(env, clock):
    """The schema owner sets up org and process; the app then runs as the restricted role."""
    if env.db.is_sqlite:
        pytest.skip("database roles are PostgreSQL's; SQLite has none")
    runner = create_app({"ENV_NAME": "test", "DATABASE_URL": env.db.url}, env=env).test_cli_runner()
    result = runner.invoke(args=["audit", "create-app-role", "--role", ROLE])
    assert result.exit_code == 0, result.output
    url = make_url(env.db.url).set(username=ROLE, password=None).render_as_string(hide_password=False)
    app = make_env(url, clock=clock, bpmn_dir=ROOT / "bpmn")
    app.extra_processes = env.extra_processes  # the processes the tests register
    yield app
    app.db.dispose()
    with env.db.engine.begin() as conn:
        conn.execute(text(f'DROP OWNED BY "{ROLE}"'))
        conn.execute(text(f'DROP ROLE "{ROLE}"'))


def test_the_app_role_runs_cases_and_admin_work(env, app_env, tmp_path):
    org = build_org(env)
    setup_plain(env)
    cw = org.actor("t1_cw")
    started = start_case(app_env, "plain", cw, org.units["t1"], {"subject": "受限角色"})
    complete_task(app_env, inbox(app_env, cw.id).items[0].id, cw, {"amount": 1}, opinion="好")
    admin.create_user(app_env, org.actor("admin"), "by_app_role", "新人", "secret-pass-1")
    with app_env.db.read() as s:
        assert s.scalar(select(func.count()).select_from(HistoryEvent)) == 2
        assert s.scalar(select(func.count()).select_from(AdminEvent)) == 1
    assert service.write_checkpoint(app_env, tmp_path).exists()
    assert started.case_no and service.verify(app_env, tmp_path).report.ok


@pytest.mark.parametrize("table", ["history_event", "admin_event"])
@pytest.mark.parametrize("statement, refusal", [
    ("UPDATE {t} SET hash = 'x'", "permission denied for table"),
    ("DELETE FROM {t}", "permission denied for table"),
    ("TRUNCATE {t}", "permission denied for table"),
    ("ALTER TABLE {t} DISABLE TRIGGER USER", "must be owner of table"),
    ("ALTER TABLE {t} DISABLE TRIGGER ALL", "must be owner of table"),
    ("DROP TRIGGER {t}_no_update ON {t}", "must be owner of (table|relation)"),
    ("SET session_replication_role = replica", "permission denied to set parameter"),
])
def test_the_database_refuses_the_app_role_any_change_to_the_logs(env, app_env, table, statement, refusal):
    org = build_org(env)
    setup_plain(env)
    start_case(app_env, "plain", org.actor("t1_cw"), org.units["t1"], {"subject": "甲"})
    admin.create_user(app_env, org.actor("admin"), "someone", "某人", "secret-pass-1")
    with pytest.raises(DBAPIError, match=refusal):
        with app_env.db.engine.begin() as conn:
            conn.execute(text(statement.format(t=table)))
    with env.db.read() as s:
        assert s.scalar(select(func.count()).select_from(HistoryEvent)) == 1
        assert s.scalar(select(func.count()).select_from(AdminEvent)) == 1


def test_the_owner_keeps_its_rights_and_the_role_name_is_checked(env):
    with pytest.raises(ValueError, match="role name"):
        grant_statements('app"; DROP TABLE history_event; --')
    assert any("REVOKE UPDATE, DELETE, TRUNCATE" in s for s in grant_statements("rongflow_app"))


def test_the_documented_two_role_setup_from_an_empty_database(env, clock):
    """README "Database roles": init-db migrates as the owner, create-app-role, the app runs as the role."""
    if env.db.is_sqlite:
        pytest.skip("database roles are PostgreSQL's; SQLite has none")
    name, role = f"rongflow_roles_{os.getpid()}", f"{ROLE}_fresh"
    server = create_engine(env.db.url, isolation_level="AUTOCOMMIT")
    with server.connect() as conn:
        conn.execute(text(f"DROP DATABASE IF EXISTS {name}"))
        conn.execute(text(f"CREATE DATABASE {name}"))
    owner_url = make_url(env.db.url).set(database=name)
    app_url = owner_url.set(username=role, password=None).render_as_string(hide_password=False)
    owner_url = owner_url.render_as_string(hide_password=False)
    app = create_app({"ENV_NAME": "test", "DATABASE_URL": app_url, "MIGRATION_DATABASE_URL": owner_url})
    runner, app_env = app.test_cli_runner(), app.extensions["rongflow_env"]
    try:
        for args in (["init-db"], ["audit", "create-app-role", "--role", role]):
            result = runner.invoke(args=args)
            assert result.exit_code == 0, result.output
        org = build_org(app_env)  # the app's own writes work under the role
        admin.create_user(app_env, org.actor("admin"), "fresh_user", "新人", "secret-pass-1")
        with app_env.db.read() as s:
            owner = s.scalar(text("SELECT tableowner FROM pg_tables WHERE tablename = 'history_event'"))
            assert owner != role and s.scalar(select(func.count()).select_from(AdminEvent)) == 1
        with pytest.raises(DBAPIError, match="permission denied"):
            with app_env.db.engine.begin() as conn:
                conn.execute(text("DELETE FROM admin_event"))
    finally:
        app_env.db.dispose()
        with server.connect() as conn:
            conn.execute(text(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
            conn.execute(text(f'DROP ROLE IF EXISTS "{role}"'))
        server.dispose()
