"""Every setting of RongFlow, read from the environment, with its default.

One class per environment; `load_config()` picks one from RONGFLOW_ENV. Production refuses to
start with no SECRET_KEY.
"""
from __future__ import annotations

import os
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent
INSTANCE_DIR = Path(os.environ.get("RONGFLOW_INSTANCE_DIR", BASE_DIR / "instance"))


def _env(name: str, default: str) -> str:
    return os.environ.get(name, default)


def _int(name: str, default: int) -> int:
    return int(os.environ.get(name, default))


class Config:
    ENV_NAME = "production"
    # SQLAlchemy URL. The default is an embedded SQLite file (WAL, synchronous=FULL, busy timeout).
    DATABASE_URL = _env("DATABASE_URL", f"sqlite:///{INSTANCE_DIR / 'rongflow.db'}")
    # SQLite only: milliseconds a writer waits for the lock before giving up.
    SQLITE_BUSY_TIMEOUT_MS = _int("SQLITE_BUSY_TIMEOUT_MS", 30000)
    # SQLite only: FULL (default) waits for the disk at every commit, so a step the user was told
    # is done survives a power cut. NORMAL skips that wait (README, "Performance"): the database
    # is never corrupted and survives the process crashing, but the last commits may be lost if
    # the machine loses power or the OS crashes. EXTRA: FULL and more. OFF is refused.
    # PostgreSQL's counterpart is the server's synchronous_commit.
    SQLITE_SYNCHRONOUS = _env("SQLITE_SYNCHRONOUS", "FULL")
    # Flask session signing key; required outside development and tests.
    SECRET_KEY = os.environ.get("SECRET_KEY")
    # Keys sealing the case history and the admin log (HMAC-SHA256), kept outside the database:
    # HISTORY_KEY_FILE (a file, one key per line, newest first) or HISTORY_KEY (keys separated by
    # commas, newest first). The newest seals new events; keep older keys listed after a rotation
    # so events sealed with them still verify. Required outside development and tests: at least
    # 32 characters, never the SECRET_KEY.
    HISTORY_KEY = os.environ.get("HISTORY_KEY")
    HISTORY_KEY_FILE = os.environ.get("HISTORY_KEY_FILE")
    # Signed checkpoints of every chain head (`flask audit checkpoint`, the worker) go here: a
    # directory the database cannot write, ideally on another machine or write-once storage.
    CHECKPOINT_DIR = Path(_env("CHECKPOINT_DIR", str(INSTANCE_DIR / "checkpoints")))
    # The worker writes a checkpoint when the newest one is this many hours old (0: never).
    CHECKPOINT_EVERY_HOURS = _int("CHECKPOINT_EVERY_HOURS", 24)
    # `init-db` runs migrations with this URL (the schema owner); the app's DATABASE_URL may then
    # be a role that can only SELECT and INSERT on the logs (README, "Database roles").
    # Empty: DATABASE_URL.
    MIGRATION_DATABASE_URL = os.environ.get("MIGRATION_DATABASE_URL")
    # Where the BPMN/DMN of each process lives: <BPMN_DIR>/<process>/*.bpmn
    BPMN_DIR = Path(_env("BPMN_DIR", str(BASE_DIR / "bpmn")))
    # Optional file adding or overriding holiday years of the business calendar.
    HOLIDAYS_FILE = os.environ.get("HOLIDAYS_FILE")
    # Time zone of the bureau: deadlines end at local midnight.
    TIMEZONE = _env("TIMEZONE", "Asia/Shanghai")
    # Attachments are stored here, outside the web root, under their content hash.
    UPLOAD_DIR = Path(_env("UPLOAD_DIR", str(INSTANCE_DIR / "uploads")))
    MAX_UPLOAD_MB = _int("MAX_UPLOAD_MB", 20)
    # Sign-in: idle timeout, and the lock after repeated failures.
    IDLE_TIMEOUT_MINUTES = _int("IDLE_TIMEOUT_MINUTES", 30)
    # The page warns this long before the idle timeout, with a 继续工作 button (static/js/keep.js).
    IDLE_WARNING_SECONDS = _int("IDLE_WARNING_SECONDS", 120)
    LOGIN_MAX_FAILURES = _int("LOGIN_MAX_FAILURES", 5)
    LOGIN_LOCK_MINUTES = _int("LOGIN_LOCK_MINUTES", 15)
    # 信访事项查询 (public page): wrong codes per client address / per case number before both
    # are locked, and for how long (counted in the database, so across all app processes).
    PUBLIC_QUERY_MAX_FAILURES = _int("PUBLIC_QUERY_MAX_FAILURES", 5)
    PUBLIC_QUERY_LOCK_MINUTES = _int("PUBLIC_QUERY_LOCK_MINUTES", 15)
    # Message centre: extra channels the worker hands every new message to, comma-separated:
    # `sms` and `email` write what a gateway would send to the `rongflow.notify` log; a deployment
    # plugs its own gateway in as `package.module:Class` (a class with send(user, message)).
    # Empty: messages are shown in the app only.
    NOTIFY_SENDERS = _env("NOTIFY_SENDERS", "")
    # Due badges turn yellow this many days before the deadline.
    DUE_SOON_DAYS = _int("DUE_SOON_DAYS", 3)
    # Rows per page of the case and task lists.
    PAGE_SIZE = _int("PAGE_SIZE", 20)
    # Bootstrap's CSS/JS are served from the app itself (no CDN; the bureau's network may be closed).
    BOOTSTRAP_SERVE_LOCAL = True
    # BPMN scripts and expressions: each run may take this many milliseconds and trace steps, make
    # no single value (string, list, number in bytes) larger than SCRIPT_MAX_SIZE, and no more than
    # SCRIPT_MAX_ALLOC items in all; over budget, the case goes to its error state.
    SCRIPT_TIME_LIMIT_MS = _int("SCRIPT_TIME_LIMIT_MS", 500)
    SCRIPT_MAX_STEPS = _int("SCRIPT_MAX_STEPS", 1_000_000)
    SCRIPT_MAX_SIZE = _int("SCRIPT_MAX_SIZE", 100_000)
    SCRIPT_MAX_ALLOC = _int("SCRIPT_MAX_ALLOC", 10_000_000)
    # Worker: seconds between polls, and cases handled per poll.
    WORKER_POLL_SECONDS = _int("WORKER_POLL_SECONDS", 30)
    WORKER_BATCH = _int("WORKER_BATCH", 50)
    # /readyz reports "not ready" when no worker has written its heartbeat for this long.
    READY_WORKER_MAX_AGE_SECONDS = _int("READY_WORKER_MAX_AGE_SECONDS", 180)
    # Production server (`rongflow serve`, gunicorn): listen address, processes, threads each,
    # and seconds a request may take before its process is restarted.
    WEB_BIND = _env("WEB_BIND", "127.0.0.1:8000")
    WEB_WORKERS = _int("WEB_WORKERS", 4)
    WEB_THREADS = _int("WEB_THREADS", 4)
    WEB_TIMEOUT_SECONDS = _int("WEB_TIMEOUT_SECONDS", 60)
    # Milliseconds a thread that answered waits for the same connection's next request and serves
    # it itself, while another thread is free (webapp.gunicorn_worker); 0: gunicorn's gthread.
    WEB_LINGER_MS = _int("WEB_LINGER_MS", 2)
    # Reverse proxy (werkzeug ProxyFix): how many proxies in front set each X-Forwarded-* header.
    # 0 trusts none. Behind one nginx: X_FOR=1 and X_PROTO=1, so the /query rate limit and the
    # logs see the real client and HTTPS is recognised (HSTS below).
    PROXY_FIX_X_FOR = _int("PROXY_FIX_X_FOR", 0)
    PROXY_FIX_X_PROTO = _int("PROXY_FIX_X_PROTO", 0)
    PROXY_FIX_X_HOST = _int("PROXY_FIX_X_HOST", 0)
    PROXY_FIX_X_PORT = _int("PROXY_FIX_X_PORT", 0)
    PROXY_FIX_X_PREFIX = _int("PROXY_FIX_X_PREFIX", 0)
    # Strict-Transport-Security max-age sent on HTTPS responses (0: no header).
    HSTS_SECONDS = _int("HSTS_SECONDS", 31536000)
    # Logs of `rongflow serve` / `rongflow worker`: level, file ("" = standard error), json|text.
    LOG_LEVEL = _env("LOG_LEVEL", "INFO")
    LOG_FILE = _env("LOG_FILE", "")
    LOG_FORMAT = _env("LOG_FORMAT", "json")
    # /metrics (Prometheus): with a token, only "Authorization: Bearer <token>" may read it;
    # without one, only clients on the loopback address.
    METRICS_TOKEN = os.environ.get("METRICS_TOKEN") or None
    # Prometheus multiprocess directory shared by gunicorn's processes (emptied at `serve`).
    METRICS_DIR = Path(_env("METRICS_DIR", str(INSTANCE_DIR / "metrics")))
    # Where `rongflow backup` writes its sets (one folder per backup).
    BACKUP_DIR = Path(_env("BACKUP_DIR", str(INSTANCE_DIR / "backups")))
    SESSION_COOKIE_SECURE = True
    SESSION_COOKIE_HTTPONLY = True
    SESSION_COOKIE_SAMESITE = "Lax"
    WTF_CSRF_ENABLED = True
    TESTING = False

    @classmethod
    def check(cls) -> None:
        """Refuse to run with settings that are unsafe for this environment."""
        if not cls.SECRET_KEY:
            raise RuntimeError("SECRET_KEY must be set outside development and tests")
        _check_history_keys(cls)


def _check_history_keys(cls: type[Config]) -> None:
    from engine.integrity.keys import DEVELOPMENT_KEY, MIN_KEY_LENGTH, load_keyring
    if not (cls.HISTORY_KEY or cls.HISTORY_KEY_FILE):
        raise RuntimeError("HISTORY_KEY or HISTORY_KEY_FILE must be set outside development and tests")
    ring = load_keyring(cls.HISTORY_KEY, cls.HISTORY_KEY_FILE)
    for key in ring.keys.values():
        if len(key) < MIN_KEY_LENGTH or key.decode() == DEVELOPMENT_KEY:
            raise RuntimeError(f"every history key must be at least {MIN_KEY_LENGTH} characters "
                               "and not the development key")
        if cls.SECRET_KEY and key == cls.SECRET_KEY.encode():
            raise RuntimeError("the history key must not be the SECRET_KEY")


class DevelopmentConfig(Config):
    ENV_NAME = "development"
    SECRET_KEY = os.environ.get("SECRET_KEY", "dev-only-not-secret")
    SESSION_COOKIE_SECURE = False

    @classmethod
    def check(cls) -> None:
        pass


class TestConfig(DevelopmentConfig):
    ENV_NAME = "test"
    TESTING = True
    DATABASE_URL = _env("DATABASE_URL", "sqlite://")
    # Tests stop runaway scripts by the step budget, which is deterministic; the wall-clock limit is
    # only a backstop here, so a loaded machine cannot fail an ordinary script.
    SCRIPT_TIME_LIMIT_MS = _int("SCRIPT_TIME_LIMIT_MS", 30_000)


CONFIGS: dict[str, type[Config]] = {
    "production": Config,
    "development": DevelopmentConfig,
    "test": TestConfig,
}


def load_config(name: str | None = None) -> type[Config]:
    """The config class for RONGFLOW_ENV (default: development)."""
    key = name or os.environ.get("RONGFLOW_ENV", "development")
    if key not in CONFIGS:
        raise RuntimeError(f"unknown RONGFLOW_ENV {key!r}; expected one of {sorted(CONFIGS)}")
    cls = CONFIGS[key]
    cls.check()
    return cls
