"""Database engines, sessions and the one transaction owner (`Database.write`)."""
from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, event
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import DisconnectionError
from sqlalchemy.orm import Session, sessionmaker

from engine import fastflush, optimistic
from engine.integrity.keys import Keyring, development_keyring


@dataclass
class StatementCounter:
    """Counts SQL statements and commits on an engine (for benchmarks and tests)."""
    statements: int = 0
    commits: int = 0
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def reset(self) -> None:
        with self._lock:
            self.statements = self.commits = 0


# A pooled PostgreSQL connection idle longer than this is tested with a ping before it is used
# (the server may have restarted or dropped it meanwhile); one used moments ago is not: a ping on
# every checkout cost a round trip per checkout, two per API submit. A connection that died in
# the window fails its statement, and SQLAlchemy then replaces the whole pool.
PING_AFTER_IDLE_S = 10.0
SQLITE_SYNCHRONOUS_MODES = ("FULL", "EXTRA", "NORMAL")  # engine.db.sqlite_synchronous_mode


class Database:
    """One SQLAlchemy engine with a read session factory and a write session factory.

    On SQLite a write transaction starts with BEGIN IMMEDIATE, so two writers never deadlock on
    a lock upgrade; readers stay concurrent under WAL. On PostgreSQL writers lock rows instead.
    """

    def __init__(self, url: str, busy_timeout_ms: int = 30000, echo: bool = False,
                 keyring: Keyring | None = None, ping_after_idle_s: float = PING_AFTER_IDLE_S,
                 monotonic: Callable[[], float] = time.monotonic,
                 sqlite_synchronous: str = "FULL") -> None:
        self.url = url
        self.sqlite_synchronous = sqlite_synchronous_mode(sqlite_synchronous)
        self.ping_after_idle_s = ping_after_idle_s
        self.monotonic = monotonic  # the pool's idle clock (injected by tests)
        # Seals history and admin events (engine.integrity.keys); sessions reach it via info.
        self.keyring = keyring or development_keyring()
        self.is_sqlite = url.startswith("sqlite")
        self.counter = StatementCounter()
        self.engine = self._create_engine(url, busy_timeout_ms, echo)
        self._write_engine = self.engine.execution_options(rongflow_write=True)
        # One read statement needs no transaction: it sees one consistent snapshot on both
        # databases, so no BEGIN / ROLLBACK round trips (SQLite: our begin hook skips BEGIN).
        self._single_engine = (self.engine.execution_options(rongflow_single=True) if self.is_sqlite
                               else self.engine.execution_options(isolation_level="AUTOCOMMIT"))
        self.read_session = sessionmaker(self.engine, expire_on_commit=False, info={"rongflow_db": self})
        self.write_session = sessionmaker(self._write_engine, expire_on_commit=False,
                                          info={"rongflow_db": self})

    def _create_engine(self, url: str, busy_timeout_ms: int, echo: bool) -> Engine:
        kwargs: dict[str, Any] = {"echo": echo, "future": True}
        if self.is_sqlite:
            _ensure_sqlite_dir(url)
            kwargs["connect_args"] = {"check_same_thread": False,
                                      "timeout": busy_timeout_ms / 1000}
        else:
            kwargs.update(pool_size=10, max_overflow=20)
        engine = create_engine(url, **kwargs)
        if self.is_sqlite:
            _install_sqlite_hooks(engine, busy_timeout_ms, self.sqlite_synchronous)
        else:
            self._install_idle_ping(engine)
            _install_commit_pipeline(engine)
        self._install_counter(engine)
        return engine

    def _install_idle_ping(self, engine: Engine) -> None:
        """Ping a pooled connection before use when it has been idle longer than
        `ping_after_idle_s` (SQLAlchemy's pool_pre_ping, only where a dead connection is likely);
        a failed ping makes the pool replace it and check out again."""
        idle_since = "rongflow_idle_since"

        @event.listens_for(engine, "checkin")
        def _checkin(_dbapi_conn: Any, record: Any) -> None:
            record.info[idle_since] = self.monotonic()

        @event.listens_for(engine, "checkout")
        def _checkout(dbapi_conn: Any, record: Any, _proxy: Any) -> None:
            since = record.info.get(idle_since)
            if since is None or self.monotonic() - since < self.ping_after_idle_s:
                return  # a new connection, or one used moments ago
            try:
                engine.dialect.do_ping(dbapi_conn)
            except Exception as exc:
                raise DisconnectionError(f"pooled connection idle {self.monotonic() - since:.0f} s "
                                         f"did not answer: {exc}") from exc

    def _install_counter(self, engine: Engine) -> None:
        counter = self.counter

        @event.listens_for(engine, "before_cursor_execute")
        def _count(*_args: Any) -> None:
            counter.statements += 1

        @event.listens_for(engine, "commit")
        def _commit(_conn: Connection) -> None:
            counter.commits += 1

    @contextmanager
    def write(self) -> Iterator[Session]:
        """A write transaction: commits once at the end, rolls everything back on any error."""
        with self.write_session() as session:
            with session.begin():
                yield session

    @contextmanager
    def read(self) -> Iterator[Session]:
        with self.read_session() as session:
            with session.begin():
                yield session

    @contextmanager
    def single_read(self) -> Iterator[Connection]:
        """A connection for ONE read statement outside a transaction (the hot path's user, token
        and form lookups). Never for two statements that must agree with each other."""
        with self._single_engine.connect() as conn:
            yield conn

    def for_update(self) -> dict[str, Any]:
        """Options for a row-locking SELECT (ignored by SQLite, which locks the whole file)."""
        return {} if self.is_sqlite else {"with_for_update": True}

    @contextmanager
    def bulk_load(self) -> Iterator[None]:
        """Commits that do not wait for the disk, for a load that can be rebuilt (the demo city):
        SQLite `synchronous=NORMAL` (in WAL mode never corrupt; the last commits may be lost on a
        power failure), PostgreSQL `synchronous_commit=off` (the same on a server crash). Every
        transaction stays atomic. Connections opened inside use it; full durability afterwards."""
        setting = "PRAGMA synchronous=NORMAL" if self.is_sqlite else "SET synchronous_commit TO OFF"

        def relax(dbapi_conn: Any, _record: Any) -> None:
            cur = dbapi_conn.cursor()
            cur.execute(setting)
            cur.close()
            if not self.is_sqlite:
                dbapi_conn.commit()  # psycopg opened a transaction for the SET

        self.engine.dispose()  # pooled connections reconnect with the setting
        event.listen(self.engine, "connect", relax)
        try:
            yield
        finally:
            event.remove(self.engine, "connect", relax)
            self.engine.dispose()

    def dispose(self) -> None:
        self.engine.dispose()


def _ensure_sqlite_dir(url: str) -> None:
    path = url.split("///", 1)[1] if "///" in url else ""
    if path and path != ":memory:":
        Path(path).parent.mkdir(parents=True, exist_ok=True)


def _install_commit_pipeline(engine: Engine) -> None:
    """PostgreSQL: writes kept for the commit (engine.fastflush.at_commit) go with the COMMIT in
    one round trip; dropped if the transaction rolls back (a connection given back unfinished is
    rolled back by SQLAlchemy, with the same event)."""
    event.listen(engine, "commit", fastflush.commit_with_writes)
    event.listen(engine, "rollback", fastflush.drop_writes)
    # a submit's BEGIN deferred to its first writes (engine.optimistic.defer_begin)
    event.listen(engine, "before_cursor_execute", optimistic.refuse_unsafe_write)
    event.listen(engine, "checkin", optimistic.end_autocommit)
    event.listen(engine, "checkout", optimistic.end_autocommit)


def sqlite_synchronous_mode(value: str) -> str:
    """SQLite's `synchronous` for every connection (setting SQLITE_SYNCHRONOUS), checked: FULL
    (the default: a commit is on the disk before the user is told, so it survives a power cut),
    EXTRA (FULL, and the directory synced too) or NORMAL (in WAL mode never corrupt and safe when
    the process crashes, but the commits since the last checkpoint may be lost if the machine loses
    power or the OS crashes). OFF is refused: a power cut could corrupt the database."""
    mode = value.strip().upper()
    if mode not in SQLITE_SYNCHRONOUS_MODES:
        raise ValueError(f"SQLITE_SYNCHRONOUS must be one of {', '.join(SQLITE_SYNCHRONOUS_MODES)}, "
                         f"not {value!r}")
    return mode


def _install_sqlite_hooks(engine: Engine, busy_timeout_ms: int, synchronous: str = "FULL") -> None:
    @event.listens_for(engine, "connect")
    def _connect(dbapi_conn: Any, _record: Any) -> None:
        dbapi_conn.isolation_level = None  # we issue BEGIN ourselves
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute(f"PRAGMA synchronous={synchronous}")  # a checked mode (sqlite_synchronous_mode)
        cur.execute(f"PRAGMA busy_timeout={int(busy_timeout_ms)}")
        cur.execute("PRAGMA foreign_keys=ON")
        cur.close()

    @event.listens_for(engine, "begin")
    def _begin(conn: Connection) -> None:
        if conn.get_execution_options().get("rongflow_single", False):
            return  # Database.single_read: one statement, autocommit
        immediate = conn.get_execution_options().get("rongflow_write", False)
        conn.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")
