"""The engine's context: database, clock, calendar, spec cache and process registry.

Built once by the caller (the web app factory, a CLI command, a test) and passed to every
engine function. Nothing here is global.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

from engine.calendar import BusinessCalendar, default_calendar
from engine.clock import Clock, SystemClock
from engine.db import Database
from engine.definitions import SpecCache
from engine.documents.catalogue import with_folder_documents
from engine.integrity.keys import Keyring
from engine.notify.senders import Sender
from engine.packages.store import PackageRegistry
from engine.process_api import ProcessConfig
from engine.scripting import RongScriptEngine, ScriptLimits


def _workflows_registry(key: str) -> ProcessConfig:
    from workflows import get_process  # the process packages, looked up by key
    return get_process(key)


@dataclass
class Env:
    db: Database
    clock: Clock = field(default_factory=SystemClock)
    calendar: BusinessCalendar = field(default_factory=default_calendar)
    bpmn_dir: Path | None = None
    settings: dict[str, Any] = field(default_factory=dict)
    specs: SpecCache = field(default_factory=SpecCache)
    # Process configs by key; tests register their own here, the rest come from workflows/.
    extra_processes: dict[str, ProcessConfig] = field(default_factory=dict)
    lookup: Callable[[str], ProcessConfig] = _workflows_registry
    # Signed checkpoints of the chain heads (engine.integrity.checkpoint); None: none are read.
    checkpoint_dir: Path | None = None
    # How often the worker writes one there (engine.integrity.service); None: never.
    checkpoint_every: timedelta | None = None
    # Step, time and size budget of each BPMN script and expression (config SCRIPT_*).
    script_limits: ScriptLimits = field(default_factory=ScriptLimits)
    _script_engine: RongScriptEngine | None = None
    # Declarative packages deployed in the database (engine.packages), for keys `lookup` lacks.
    packages: PackageRegistry = field(default_factory=PackageRegistry)
    # Where attachments are stored (config UPLOAD_DIR): generated documents (engine.documents) are
    # written there too. None: steps issue no documents.
    upload_dir: Path | None = None
    # Extra channels for the message centre (config NOTIFY_SENDERS: SMS, e-mail gateways); the
    # worker hands each new message to them (engine.notify.senders.deliver_pending).
    senders: list[Sender] = field(default_factory=list)

    def process(self, key: str) -> ProcessConfig:
        if key in self.extra_processes:
            return self.extra_processes[key]
        try:
            return self.lookup(key)
        except KeyError:
            return with_folder_documents(self.packages.lookup(self.db, key), self.bpmn_dir)

    @property
    def script_engine(self) -> RongScriptEngine:
        if self._script_engine is None:
            self._script_engine = RongScriptEngine(self.clock, self.calendar, self.script_limits)
        return self._script_engine


def make_env(database_url: str, *, clock: Clock | None = None, bpmn_dir: Path | None = None,
             holidays_file: Path | None = None, busy_timeout_ms: int = 30000,
             settings: dict[str, Any] | None = None, keyring: Keyring | None = None,
             checkpoint_dir: Path | None = None, checkpoint_every: timedelta | None = None,
             sqlite_synchronous: str = "FULL") -> Env:
    calendar = BusinessCalendar(holidays_file) if holidays_file else default_calendar()
    db = Database(database_url, busy_timeout_ms, keyring=keyring, sqlite_synchronous=sqlite_synchronous)
    return Env(db=db, clock=clock or SystemClock(),
               calendar=calendar, bpmn_dir=bpmn_dir, settings=settings or {}, checkpoint_dir=checkpoint_dir,
               checkpoint_every=checkpoint_every)
