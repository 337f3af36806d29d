"""Structured logs: one JSON line per engine command, and the context the caller fills.

The engine never imports Flask: the web layer (or the worker) puts the request id into
`LOG_CONTEXT` (a contextvar), and `logged_command` reads it. Lines carry ids, never case data or
names, so a log file holds no personal data. Observers (the metrics) hear of every command.
"""
from __future__ import annotations

import functools
import inspect
import json
import logging
import time
from collections.abc import Callable
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any, TypeVar

command_log = logging.getLogger("rongflow.command")

# {"request_id": ..., "user_id": ...} of the request or worker run being served.
LOG_CONTEXT: ContextVar[dict[str, Any] | None] = ContextVar("rongflow_log_context", default=None)


@dataclass(frozen=True)
class CommandRecord:
    command: str
    outcome: str          # "ok" or the error's code / exception class name
    duration: float       # seconds
    case_id: int | None
    task_id: int | None
    user_id: int | None


_observers: list[Callable[[CommandRecord], None]] = []


def add_observer(observer: Callable[[CommandRecord], None]) -> None:
    """Call `observer` after every engine command (e.g. to count it in the metrics)."""
    if observer not in _observers:
        _observers.append(observer)


def context_value(key: str) -> Any:
    ctx = LOG_CONTEXT.get()
    return ctx.get(key) if ctx else None


F = TypeVar("F", bound=Callable[..., Any])


def logged_command(fn: F | None = None, *, returns_case: bool = False) -> Any:
    """Log one line per call of an engine verb: command, case, task, user, duration, outcome.
    `returns_case`: the verb returns the id of the case it handled, or None when it found nothing
    to do (the worker's poll), which is not logged."""
    if fn is None:
        return functools.partial(logged_command, returns_case=returns_case)
    signature = inspect.signature(fn)
    name = fn.__name__

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        bound = signature.bind_partial(*args, **kwargs).arguments
        started = time.perf_counter()
        outcome, result, level = "ok", None, logging.INFO
        try:
            result = fn(*args, **kwargs)
            return result
        except BaseException as exc:  # engine errors (refusals, bad input) carry a code
            outcome = str(getattr(exc, "code", "") or type(exc).__name__)
            level = logging.INFO if getattr(exc, "code", None) else logging.ERROR
            raise
        finally:
            if not (returns_case and outcome == "ok" and result is None):
                case_id = result if returns_case else bound.get("instance_id", getattr(result, "instance_id", None))
                _emit(name, outcome, level, time.perf_counter() - started, bound, case_id)
    return wrapper


def _emit(name: str, outcome: str, level: int, duration: float, bound: dict[str, Any], case_id: Any) -> None:
    actor = bound.get("actor")
    record = CommandRecord(name, outcome, duration, _int(case_id), _int(bound.get("task_id")),
                           _int(getattr(actor, "id", None)) or _int(context_value("user_id")))
    command_log.log(level, "command %s %s", name, outcome, extra={"fields": {
        "event": "command", "request_id": context_value("request_id"), "command": name,
        "case_id": record.case_id, "task_id": record.task_id,
        "user_id": record.user_id, "duration_ms": round(duration * 1000, 1), "outcome": outcome}})
    for observer in _observers:
        try:
            observer(record)
        except Exception:  # a metrics failure must never fail a command
            command_log.exception("command observer failed")


def _int(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time (UTC), level, logger, message, the request id of the context,
    and the record's `fields` (set with extra={"fields": {...}})."""

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, timezone.utc).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(), "logger": record.name}
        line.update(getattr(record, "fields", {}) or {})
        if not line.get("request_id"):  # other loggers' lines: the id of the request being served
            line["request_id"] = context_value("request_id")
        line["message"] = record.getMessage()
        if record.exc_info:
            line["error"] = self.formatException(record.exc_info)
        return json.dumps(line, ensure_ascii=False, default=str)


def configure_logging(level: str = "INFO", destination: str = "", fmt: str = "json") -> None:
    """Send every log line of the process to `destination` (a file path; "" = standard error),
    as JSON lines (fmt "json") or plain text, at `level`. Replaces earlier handlers we installed."""
    root = logging.getLogger()
    for handler in list(root.handlers):
        if getattr(handler, "rongflow", False):
            root.removeHandler(handler)
            handler.close()
    handler: logging.Handler = (logging.FileHandler(destination, encoding="utf-8") if destination
                                else logging.StreamHandler())
    handler.rongflow = True  # type: ignore[attr-defined]
    handler.setFormatter(JsonFormatter() if fmt == "json" else
                         logging.Formatter("%(asctime)s %(levelname)s %(name)s %(message)s"))
    root.addHandler(handler)
    root.setLevel(level.upper())
    # SpiffWorkflow logs every task state change at INFO: far too many lines for an operator.
    logging.getLogger("spiff").setLevel(max(logging.WARNING, root.level))
