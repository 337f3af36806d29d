"""Command line: `flask --app webapp <command>` and the `rongflow` entry point.

    flask --app webapp init-db            create or upgrade the schema (Alembic)
    flask --app webapp deploy             deploy every bpmn/<process>/ (new version if changed)
    flask --app webapp workflows check    parse, check lanes/forms, smoke-run every process
    flask --app webapp worker [--once]    fire due timers (long-running; stops on SIGTERM)
    flask --app webapp backup / restore   one checked set: database, uploads, holiday data
    flask --app webapp audit verify       check every history chain and the admin log (webapp/integrity_cli.py)
    rongflow serve                        the production server (gunicorn), see deploy/
    rongflow <any command above>          the same as `flask --app webapp <command>`
    flask --app webapp demo               build the demo city with its cases
    rongflow demo                         all of the above on the SQLite default, then serve
"""
from __future__ import annotations

import os
import sys
from typing import Any

import click
from flask import Flask, current_app
from flask.cli import FlaskGroup, with_appcontext

from engine.env import Env
from webapp.opscli import serve_command


def _env() -> Env:
    env: Env = current_app.extensions["rongflow_env"]
    return env


def init_db(env: Env) -> None:
    from engine.schema import upgrade
    upgrade(env.db.engine)


def deploy_all(env: Env, key: str | None = None) -> list[tuple[str, int, bool]]:
    """Deploy bpmn/<key>/ for one or every process; returns (key, version, created)."""
    from engine.definitions import deploy, read_process_dir
    from engine.packages.package import from_folder
    from engine.packages.store import deploy_package
    from workflows import package_keys, process_keys
    assert env.bpmn_dir is not None
    packages = package_keys(env.bpmn_dir)
    if key:
        keys, packages = ([], [key]) if key in packages else ([key], [])
    else:
        keys = [k for k in process_keys() if (env.bpmn_dir / k).is_dir()]
    out = []
    for k in keys:
        with env.db.write() as session:
            definition, created = deploy(session, k, read_process_dir(env.bpmn_dir / k),
                                         env.clock.now())
            out.append((k, definition.version, created))
    for k in packages:  # declarative packages (process.toml, no Python)
        with env.db.write() as session:
            definition, created = deploy_package(session, from_folder(env.bpmn_dir / k), env.calendar,
                                                 env.clock.now())
            out.append((k, definition.version, created))
    return out


@click.command("init-db")
@with_appcontext
def init_db_command() -> None:
    """Create or upgrade the database schema (as MIGRATION_DATABASE_URL's role, if set)."""
    url = current_app.config.get("MIGRATION_DATABASE_URL")
    if url:
        from sqlalchemy import create_engine
        from engine.schema import upgrade
        owner = create_engine(url)
        upgrade(owner)
        owner.dispose()
    else:
        init_db(_env())
    click.echo("数据库已就绪 (schema at head)")


@click.command("deploy")
@click.option("--key", default=None, help="only this process (folder name under bpmn/)")
@with_appcontext
def deploy_command(key: str | None) -> None:
    """Deploy BPMN/DMN files; a changed process gets a new version."""
    from engine.errors import DefinitionError
    try:
        for k, version, created in deploy_all(_env(), key):
            click.echo(f"{k}: version {version} ({'new' if created else 'unchanged'})")
    except DefinitionError as exc:
        raise click.ClickException(exc.message) from exc


@click.group("workflows")
def workflows_group() -> None:
    """Process definitions."""


@workflows_group.command("check")
@with_appcontext
def check_command() -> None:
    """Parse every process, check lanes and forms, smoke-run it. Exit 1 on any problem."""
    failed = run_checks(_env())
    if failed:
        sys.exit(1)


def run_checks(env: Env) -> int:
    from engine.checks import check_process
    from workflows import process_keys
    assert env.bpmn_dir is not None
    failed = 0
    for key in process_keys():
        report = check_process(key, env.bpmn_dir, env.process(key), env.calendar)
        status = "ok" if report.ok else "FAILED"
        click.echo(f"{key}: {status} ({report.steps_run} steps smoke-run)")
        for problem in report.problems:
            click.echo(f"  - {problem}")
        failed += 0 if report.ok else 1
    return failed + _check_packages(env)


def _check_packages(env: Env) -> int:
    """Check every bpmn/<key>/ package in full (manifest, models, forms, smoke run)."""
    from engine.errors import DefinitionError
    from engine.packages.loader import check_package
    from engine.packages.package import from_folder
    from workflows import package_keys
    assert env.bpmn_dir is not None
    failed = 0
    for key in package_keys(env.bpmn_dir):
        try:
            check_package(from_folder(env.bpmn_dir / key), env.calendar)
            click.echo(f"{key}: ok (package smoke-run)")
        except DefinitionError as exc:
            click.echo(f"{key}: FAILED\n  - {exc.message}")
            failed += 1
    return failed


@click.command("demo")
@with_appcontext
def demo_command() -> None:
    """Build the demo city and its cases (on an empty database)."""
    build_demo(_env())


def build_demo(env: Env) -> Any:
    """Schema, processes and the demo city; prints what was built and every demo login."""
    from dataclasses import replace
    from workflows.demo_city import build, demo_clock, demo_logins
    init_db(env)
    deploy_all(replace(env, clock=demo_clock(env)))  # deployed on the demo's first morning, before its cases
    built = build(env)
    click.echo(built.summary())
    click.echo(demo_logins())
    return built


def register_cli(app: Flask) -> None:
    from webapp.opscli import backup_command, restore_command, worker_command
    for command in (init_db_command, deploy_command, workflows_group, worker_command, demo_command,
                    backup_command, restore_command):
        app.cli.add_command(command)
    from webapp.integrity_cli import audit_group
    app.cli.add_command(audit_group)


def _create_app() -> Flask:
    from webapp import create_app
    return create_app()


@click.group(cls=FlaskGroup, create_app=_create_app, add_default_commands=False, load_dotenv=False,
             set_debug_flag=False)
def main() -> None:
    """RongFlow 戎务流程: every `flask --app webapp` command, plus serve and demo."""


main.add_command(serve_command)


@main.command("demo")
@click.option("--host", default="127.0.0.1")
@click.option("--port", default=5000, type=int)
@click.option("--fresh", is_flag=True, help="delete the demo database first")
def demo_main(host: str, port: int, fresh: bool) -> None:
    """Install the demo city on the embedded SQLite database and serve it."""
    from webapp import create_app
    os.environ.setdefault("RONGFLOW_ENV", "development")
    app = create_app()
    env: Env = app.extensions["rongflow_env"]
    if fresh and env.db.is_sqlite:
        _delete_sqlite(env)
        app = create_app()
        env = app.extensions["rongflow_env"]
    with app.app_context():
        if _has_cases(env):
            click.echo("演示数据已存在（使用 --fresh 重建）")
            from workflows.demo_city import demo_logins
            click.echo(demo_logins())
        else:
            build_demo(env)
        _start_worker_thread(app)
    click.echo(f"\n戎务流程已启动: http://{host}:{port}/\n")
    # Werkzeug's server itself: under the `rongflow` command (a FlaskGroup, which sets
    # FLASK_RUN_FROM_CLI) Flask's app.run() returns at once without serving anything
    from werkzeug.serving import run_simple
    run_simple(host, port, app, threaded=True, use_reloader=False, use_debugger=False)


def _has_cases(env: Env) -> bool:
    from sqlalchemy import func, inspect, select
    from engine.models import ProcessInstance
    if not inspect(env.db.engine).has_table("process_instance"):
        return False
    with env.db.read() as s:
        return bool(s.scalar(select(func.count()).select_from(ProcessInstance)))


def _delete_sqlite(env: Env) -> None:
    from pathlib import Path
    path = env.db.url.split("///", 1)[1]
    env.db.dispose()
    for suffix in ("", "-wal", "-shm"):
        Path(path + suffix).unlink(missing_ok=True)


def _start_worker_thread(app: Flask) -> None:
    """In the single-process demo, a background thread plays the timer worker."""
    import threading
    from engine.worker import run_forever
    env: Any = app.extensions["rongflow_env"]
    thread = threading.Thread(target=run_forever, args=(env, 30, 50), daemon=True, name="worker")
    thread.start()
