"""`flask --app webapp audit ...`: verify the history and admin log chains, write checkpoints,
create the app's database role.

    flask --app webapp audit verify [--checkpoint FILE]   exit 1 on any break (one line each)
    flask --app webapp audit checkpoint [--out FILE] [--if-due]
    flask --app webapp audit create-app-role [--role rongflow_app] [--password ...]
"""
from __future__ import annotations

import sys
from datetime import timedelta
from pathlib import Path

import click
from flask import current_app
from flask.cli import with_appcontext
from sqlalchemy import create_engine

from engine.env import Env
from engine.integrity import checkpoint as cp
from engine.integrity import service


def _env() -> Env:
    env: Env = current_app.extensions["rongflow_env"]
    return env


def _dir() -> Path:
    return Path(current_app.config["CHECKPOINT_DIR"])


@click.group("audit")
def audit_group() -> None:
    """Integrity of the case history and the admin log."""


@audit_group.command("verify")
@click.option("--checkpoint", "checkpoint_file", type=click.Path(dir_okay=False, path_type=Path),
              help="compare against this checkpoint (default: the newest in CHECKPOINT_DIR)")
@with_appcontext
def verify_command(checkpoint_file: Path | None) -> None:
    """Check every case chain and the admin log chain against the newest checkpoint."""
    try:
        verified = service.verify(_env(), _dir(), checkpoint_file)
    except cp.CheckpointInvalid as exc:
        click.echo(f"checkpoint: {exc.message}")
        sys.exit(2)
    report = verified.report
    for problem in report.problems:
        click.echo(problem.line())
    anchor = (f"checkpoint {verified.checkpoint_path}" if verified.checkpoint_path
              else f"no checkpoint (none in {_dir()}): chain heads not anchored")
    click.echo(f"{'FAILED' if report.problems else 'ok'}: {report.cases} cases ({report.events} events), "
               f"{report.admin_events} admin log events, {len(report.problems)} problem(s); {anchor}")
    sys.exit(1 if report.problems else 0)


@audit_group.command("checkpoint")
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path),
              help="also write a copy here, for an auditor to keep")
@click.option("--if-due", is_flag=True, help="only when the newest is CHECKPOINT_EVERY_HOURS old")
@with_appcontext
def checkpoint_command(out: Path | None, if_due: bool) -> None:
    """Verify, then sign every chain head into CHECKPOINT_DIR."""
    env = _env()
    try:
        if if_due:
            path = service.checkpoint_if_due(env, _dir(), timedelta(hours=current_app.config["CHECKPOINT_EVERY_HOURS"]))
            if path is None:
                click.echo("checkpoint not due")
                return
        else:
            path = service.write_checkpoint(env, _dir(), out)
    except cp.CheckpointInvalid as exc:
        click.echo(f"newest checkpoint: {exc.message}")
        sys.exit(2)
    except service.IntegrityBroken as exc:
        for problem in exc.report.problems:
            click.echo(problem.line())
        click.echo(f"FAILED: {exc}")
        sys.exit(1)
    click.echo(f"checkpoint written: {path}" + (f" (copy: {out})" if out else ""))


@audit_group.command("create-app-role")
@click.option("--role", default="rongflow_app", show_default=True)
@click.option("--password", default=None, help="set the role's password (else: no password)")
@with_appcontext
def create_app_role_command(role: str, password: str | None) -> None:
    """PostgreSQL: create the app's role (SELECT/INSERT only on the logs). Runs as the owner
    (MIGRATION_DATABASE_URL, else DATABASE_URL); run again after migrations."""
    from engine.integrity.approle import create_app_role
    url = current_app.config.get("MIGRATION_DATABASE_URL") or current_app.config["DATABASE_URL"]
    if not url.startswith("postgresql"):
        raise click.ClickException("create-app-role needs PostgreSQL (SQLite has no roles)")
    engine = create_engine(url)
    try:
        with engine.begin() as conn:
            created = create_app_role(conn, role, password)
    except ValueError as exc:
        raise click.ClickException(str(exc)) from exc
    finally:
        engine.dispose()
    click.echo(f"role {role} {'created' if created else 'updated'}: SELECT/INSERT only on history_event, admin_event")
