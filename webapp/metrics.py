"""Prometheus metrics: requests by route and status, engine commands and their time (counted as
they happen), and the engine's gauges (open and overdue tasks, due timers, cases in error, worker
lag), read from the database at each scrape.

Under gunicorn, `rongflow serve` sets PROMETHEUS_MULTIPROC_DIR before any process imports this
module, so every process writes its counters there and a scrape sums them.
"""
from __future__ import annotations

import os
from collections.abc import Iterator

from prometheus_client import (CONTENT_TYPE_LATEST, REGISTRY, CollectorRegistry, Counter, Histogram,
                               generate_latest, multiprocess)
from prometheus_client.core import GaugeMetricFamily, Metric

from engine.env import Env
from engine.ops.logs import CommandRecord
from engine.ops.status import gauges

REQUESTS = Counter("rongflow_http_requests", "HTTP requests by route and status",
                   ["route", "method", "status"])
REQUEST_SECONDS = Histogram("rongflow_http_request_duration_seconds", "Time to answer a request", ["route"])
COMMANDS = Counter("rongflow_engine_commands", "Engine commands by outcome", ["command", "outcome"])
COMMAND_SECONDS = Histogram("rongflow_engine_command_duration_seconds", "Time of an engine command",
                            ["command"])


METHODS = frozenset({"GET", "POST", "HEAD", "PUT", "PATCH", "DELETE", "OPTIONS"})


def observe_request(route: str, method: str, status: int, seconds: float) -> None:
    """Labels stay few: the URL rule (not the path), known methods, the status."""
    REQUESTS.labels(route, method if method in METHODS else "OTHER", str(status)).inc()
    REQUEST_SECONDS.labels(route).observe(seconds)


def observe_command(record: CommandRecord) -> None:
    COMMANDS.labels(record.command, record.outcome).inc()
    COMMAND_SECONDS.labels(record.command).observe(record.duration)


class EngineGauges:
    """A collector that reads the engine's gauges from the database when scraped."""

    def __init__(self, env: Env) -> None:
        self.env = env

    def collect(self) -> Iterator[Metric]:
        g = gauges(self.env)
        yield GaugeMetricFamily("rongflow_open_tasks", "Open and claimed tasks", value=g.open_tasks)
        yield GaugeMetricFamily("rongflow_overdue_tasks", "Open tasks past their deadline",
                                value=g.overdue_tasks)
        yield GaugeMetricFamily("rongflow_due_timers", "Running cases whose next timer is due and not fired",
                                value=g.due_timers)
        yield GaugeMetricFamily("rongflow_cases_in_error", "Cases stopped in error", value=g.cases_in_error)
        yield GaugeMetricFamily("rongflow_worker_lag_seconds", "How long the oldest due timer has waited",
                                value=g.worker_lag_seconds)
        if g.heartbeat_age_seconds is not None:
            yield GaugeMetricFamily("rongflow_worker_heartbeat_age_seconds",
                                    "Seconds since the newest heartbeat of a running worker",
                                    value=g.heartbeat_age_seconds)


class _ThisProcess:
    def collect(self) -> Iterator[Metric]:
        return REGISTRY.collect()


def render(env: Env) -> tuple[bytes, str]:
    """The exposition text of every process's counters plus the engine's gauges."""
    registry = CollectorRegistry()
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        multiprocess.MultiProcessCollector(registry)
    else:
        registry.register(_ThisProcess())  # type: ignore[arg-type]
    registry.register(EngineGauges(env))  # type: ignore[arg-type]
    return generate_latest(registry), CONTENT_TYPE_LATEST
