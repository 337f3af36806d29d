"""Operations commands: the production server, the long-running worker, backup and restore.

    rongflow serve                 gunicorn with WEB_BIND / WEB_WORKERS / WEB_THREADS (config.py)
    rongflow worker [--once]       fire due timers until SIGTERM (finishes its case, then stops)
    rongflow backup [--to DIR]     database + uploads + holiday data, with a manifest and checksums
    rongflow restore FOLDER        into an empty database and upload folder, then check everything
"""
from __future__ import annotations

import os
import shutil
import signal
import sys
import threading
from pathlib import Path
from typing import Any

import click
from flask import current_app
from flask.cli import with_appcontext

from engine.env import Env
from engine.ops.logs import LOG_CONTEXT, configure_logging


def _env() -> Env:
    env: Env = current_app.extensions["rongflow_env"]
    return env


def configure_logging_from(cfg: Any) -> None:
    """The process's logging from the settings (LOG_LEVEL, LOG_FILE, LOG_FORMAT), as `serve` and
    `worker` set it (and bench/bench_http.py's server)."""
    get = cfg.get if isinstance(cfg, dict) else lambda k: getattr(cfg, k)
    configure_logging(get("LOG_LEVEL"), get("LOG_FILE"), get("LOG_FORMAT"))


# ----------------------------------------------------------------------------- worker

@click.command("worker")
@click.option("--once", is_flag=True, help="fire what is due now, then exit")
@with_appcontext
def worker_command(once: bool) -> None:
    """Fire due timers and run the engine on, one transaction per case, until SIGTERM."""
    from engine.worker import run_due_timers
    env = _env()
    if once:
        click.echo(f"handled {run_due_timers(env)} case(s)")
        return
    cfg = current_app.config
    configure_logging_from(cfg)
    run_worker(env, cfg["WORKER_POLL_SECONDS"], cfg["WORKER_BATCH"])


def run_worker(env: Env, poll_seconds: float, batch: int) -> int:
    """The worker process's main loop: SIGTERM or SIGINT stop it between two cases (the case in
    hand commits, no new one is taken). Returns how many cases it handled."""
    from engine.ops.heartbeat import worker_name
    from engine.worker import run_forever
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    LOG_CONTEXT.set({"request_id": f"worker-{os.getpid()}"})
    return run_forever(env, poll_seconds, batch, stop, worker_name())


# ----------------------------------------------------------------------------- backup / restore

@click.command("backup")
@click.option("--to", "target", type=click.Path(path_type=Path), default=None,
              help="folder for the backup sets (default: BACKUP_DIR)")
@with_appcontext
def backup_command(target: Path | None) -> None:
    """Back up the database, the uploaded files and the holiday data as one checked set."""
    from engine.ops.backup import BackupError, backup
    cfg = current_app.config
    holidays = cfg.get("HOLIDAYS_FILE")
    env = _env()
    try:
        folder = backup(env, target or Path(cfg["BACKUP_DIR"]), Path(cfg["UPLOAD_DIR"]),
                        Path(holidays) if holidays else None, env.clock.now())
    except BackupError as exc:
        raise click.ClickException(exc.message) from exc
    click.echo(f"backup written: {folder}")


@click.command("restore")
@click.argument("folder", type=click.Path(path_type=Path, exists=True, file_okay=False))
@with_appcontext
def restore_command(folder: Path) -> None:
    """Restore a backup set into an empty database and upload folder, then verify it."""
    from engine.ops.backup import BackupError, restore
    cfg = current_app.config
    holidays = cfg.get("HOLIDAYS_FILE")
    try:
        report = restore(_env(), folder, Path(cfg["UPLOAD_DIR"]), Path(holidays) if holidays else None)
    except BackupError as exc:
        raise click.ClickException(exc.message) from exc
    click.echo(f"restored {report.cases} case(s) from {folder}")
    for problem in report.problems:
        click.echo(f"  - {problem}")
    if not report.ok:
        sys.exit(1)
    click.echo("checks passed: revision, row counts, history chains, attachment files")


# ----------------------------------------------------------------------------- serve

def server_options(cfg: Any, bind: str | None, workers: int | None, threads: int | None) -> dict[str, Any]:
    from webapp.gunicorn_worker import worker_class
    return {"bind": bind or cfg.WEB_BIND, "workers": workers or cfg.WEB_WORKERS,
            "threads": threads or cfg.WEB_THREADS, "worker_class": worker_class(cfg.WEB_LINGER_MS),
            "timeout": cfg.WEB_TIMEOUT_SECONDS, "graceful_timeout": 30, "accesslog": None,
            "errorlog": "-", "loglevel": str(cfg.LOG_LEVEL).lower(), "child_exit": _child_exit,
            "proc_name": "rongflow-web",
            # no gunicornc control socket: reloads go by HUP (deploy/systemd), and its default path
            # under $HOME is one per user (ProtectHome keeps the service out of it anyway)
            "control_socket_disable": True}


def _child_exit(_server: Any, worker: Any) -> None:
    from prometheus_client import multiprocess
    multiprocess.mark_process_dead(worker.pid)  # its gauges go; its counters stay summed


def _reset_metrics_dir(path: Path) -> None:
    """Prometheus' multiprocess files of an earlier run would be summed in: start empty."""
    if path.exists():
        shutil.rmtree(path)
    path.mkdir(parents=True)
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = str(path)


@click.command("serve")
@click.option("--bind", default=None, help="address:port (default: WEB_BIND)")
@click.option("--workers", default=None, type=int, help="processes (default: WEB_WORKERS)")
@click.option("--threads", default=None, type=int, help="threads per process (default: WEB_THREADS)")
def serve_command(bind: str | None, workers: int | None, threads: int | None) -> None:
    """Serve the web app with gunicorn (production; put nginx in front, see deploy/)."""
    from config import load_config
    from gunicorn.app.base import BaseApplication
    cfg = load_config()
    _reset_metrics_dir(Path(cfg.METRICS_DIR))
    configure_logging_from(cfg)
    options = server_options(cfg, bind, workers, threads)

    class Server(BaseApplication):  # type: ignore[misc]
        def load_config(self) -> None:
            for key, value in options.items():
                self.cfg.set(key, value)

        def load(self) -> Any:
            from webapp import create_app
            return create_app()

    Server().run()
