"""RongFlow web application: `create_app()` builds a configured Flask app (no work at import time)."""
from __future__ import annotations

from collections.abc import Mapping
from datetime import timedelta
from pathlib import Path
from typing import Any

from flask import Flask

from engine.env import Env, make_env
from engine.notify.senders import senders_from
from engine.sandbox.limits import limits_from
from engine.integrity.keys import load_keyring



def create_app(config_class_or_overrides: type | Mapping[str, Any] | None = None,
               env: Env | None = None) -> Flask:
    """Build the app. Pass a config class, or a dict of overrides applied on top of the class
    chosen by RONGFLOW_ENV (or by the dict's "ENV_NAME"). Tests pass their own engine `env`."""
    app = Flask(__name__)
    _configure(app, config_class_or_overrides)
    app.extensions["rongflow_env"] = env or _make_env(app)
    if app.extensions["rongflow_env"].upload_dir is None:  # documents go where attachments go
        app.extensions["rongflow_env"].upload_dir = Path(app.config["UPLOAD_DIR"])
    _init_extensions(app)
    _register_blueprints(app)
    from webapp.cli import register_cli
    register_cli(app)
    return app


def _configure(app: Flask, given: type | Mapping[str, Any] | None) -> None:
    from config import load_config
    if isinstance(given, Mapping):
        app.config.from_object(load_config(given.get("ENV_NAME")))
        app.config.update(given)
    else:
        app.config.from_object(given or load_config())
    mb = int(app.config["MAX_UPLOAD_MB"])
    # Requests a little larger than one file may be, so an oversized file gets a clear message
    # from the upload check; anything far larger is cut off with 413.
    if app.config.get("MAX_CONTENT_LENGTH") is None:
        app.config["MAX_CONTENT_LENGTH"] = (mb + 1) * 1024 * 1024


def _make_env(app: Flask) -> Env:
    cfg = app.config
    holidays = cfg.get("HOLIDAYS_FILE")
    env = make_env(cfg["DATABASE_URL"], bpmn_dir=Path(cfg["BPMN_DIR"]),
                    holidays_file=Path(holidays) if holidays else None,
                    busy_timeout_ms=int(cfg["SQLITE_BUSY_TIMEOUT_MS"]),
                    sqlite_synchronous=str(cfg.get("SQLITE_SYNCHRONOUS", "FULL")),
                    keyring=load_keyring(cfg.get("HISTORY_KEY"), cfg.get("HISTORY_KEY_FILE")),
                    checkpoint_dir=Path(cfg["CHECKPOINT_DIR"]),
                    checkpoint_every=timedelta(hours=int(cfg["CHECKPOINT_EVERY_HOURS"])) or None)
    env.script_limits = limits_from(cfg)
    env.senders = senders_from(cfg.get("NOTIFY_SENDERS"))
    return env


def _init_extensions(app: Flask) -> None:
    from webapp import errors, inputs, ops, security, templating
    from webapp.extensions import bootstrap, csrf, login_manager
    inputs.init_app(app)  # first: the int converter before any route, the input check before CSRF
    ops.init_app(app)  # the request id and log line (its hook runs before all others), /healthz
    bootstrap.init_app(app)
    csrf.init_app(app)
    login_manager.init_app(app)
    security.init_app(app)
    errors.init_app(app)
    templating.init_app(app)


def _register_blueprints(app: Flask) -> None:
    from webapp import (admin, audit, auth, cases, documents, home, leader, ledger, messages_centre, petition,
                        public, stats, tasks, verbs)
    for module in (auth, home, cases, tasks, verbs, messages_centre, leader, petition, stats, ledger, admin,
                   audit, public, documents):
        app.register_blueprint(module.bp)
    from webapp import drafts, uploads  # 暂存 and the task page's in-place files (issue 13)
    app.register_blueprint(drafts.bp)
    app.register_blueprint(uploads.bp)
    from webapp import people  # the person picker (抄送, 转办)
    app.register_blueprint(people.bp)
    from webapp import api
    api.init_app(app)
