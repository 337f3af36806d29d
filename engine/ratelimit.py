"""A failed-attempt limiter shared by every app process: failures are rows in `rate_limit_hit`.

A bucket ("ip:10.0.0.7", "case:XF2026-00001") is locked while it has `max_failures` failures in
the last `window`; the lock lifts when the oldest of them leaves the window. Runs inside the
caller's transaction (one owner), so several web workers count the same failures.
"""
from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from engine.models import RateLimitHit


@dataclass(frozen=True)
class Limit:
    max_failures: int = 5
    window: timedelta = timedelta(minutes=15)


def locked_until(session: Session, buckets: Iterable[str], now: datetime,
                 limit: Limit) -> datetime | None:
    """When the latest-locked of `buckets` unlocks, or None if none is locked now."""
    until: datetime | None = None
    for bucket in buckets:
        times = session.scalars(select(RateLimitHit.at).where(
            RateLimitHit.bucket == bucket, RateLimitHit.at > now - limit.window)
            .order_by(RateLimitHit.at.desc()).limit(limit.max_failures)).all()
        if len(times) >= limit.max_failures:
            unlock = min(times) + limit.window
            until = unlock if until is None else max(until, unlock)
    return until


def record_failure(session: Session, buckets: Iterable[str], now: datetime, limit: Limit) -> None:
    """Count one failure in each bucket, dropping that bucket's failures older than the window."""
    for bucket in buckets:
        session.execute(delete(RateLimitHit).where(RateLimitHit.bucket == bucket,
                                                   RateLimitHit.at <= now - limit.window))
        session.add(RateLimitHit(bucket=bucket, at=now))
    session.flush()


def clear(session: Session, bucket: str) -> None:
    """Forget a bucket's failures (e.g. after the right code was given for that case)."""
    session.execute(delete(RateLimitHit).where(RateLimitHit.bucket == bucket))


def failures(session: Session, bucket: str, now: datetime, limit: Limit) -> int:
    """Failures of a bucket inside the window (for messages and tests)."""
    return session.scalar(select(func.count()).select_from(RateLimitHit).where(
        RateLimitHit.bucket == bucket, RateLimitHit.at > now - limit.window)) or 0
