"""Message senders: the in-app message is the row itself; other channels (SMS, e-mail) are senders
a deployment plugs in (config NOTIFY_SENDERS -> `Env.senders`). The ones shipped here write to a
log, in place of a gateway; a deployment names its own class as `package.module:Class`.

Delivery is an outbox: every message row is written in its command's transaction, and the worker
(`deliver_pending`, each poll) claims the undelivered rows in one UPDATE and hands them to the
senders after that commit. A rolled-back command therefore sends nothing; a row is claimed by one
worker only, so two workers never send it twice (at most once: a gateway failure is logged, not
retried, so nobody gets the same SMS twice)."""
from __future__ import annotations

import importlib
import logging
from collections.abc import Sequence
from typing import TYPE_CHECKING, Protocol

from sqlalchemy import select, update

from engine.models import AppMessage, User

if TYPE_CHECKING:
    from engine.env import Env

log = logging.getLogger("rongflow.notify")

BATCH = 200  # messages claimed per poll


class Sender(Protocol):
    """Carries one message to its user by some channel; failures must not break the command."""
    def send(self, user: User, message: AppMessage) -> None: ...


class InAppSender:
    """The default: the message row is the delivery (the header's unread count reads it)."""
    def send(self, user: User, message: AppMessage) -> None:
        return None


class LogSender:
    """Writes what an SMS or e-mail gateway would send to the log (`rongflow.notify`)."""
    def __init__(self, channel: str = "sms") -> None:
        self.channel = channel
        self.sent: list[tuple[str, str]] = []

    def send(self, user: User, message: AppMessage) -> None:
        target = (user.phone or user.username) if self.channel == "sms" else user.username
        self.sent.append((target, message.title))
        log.info("%s to %s: %s", self.channel, target, message.title)


CHANNELS = {"sms": lambda: LogSender("sms"), "email": lambda: LogSender("email"),
            "inapp": InAppSender}


def senders_from(spec: str | None) -> list[Sender]:
    """The senders a deployment configured (NOTIFY_SENDERS): a comma-separated list of `sms`,
    `email` (the log senders) or `package.module:Class` (a gateway of its own, built with no
    arguments). An unknown name is a ValueError naming it, so a typo stops the start."""
    out: list[Sender] = []
    for item in (part.strip() for part in (spec or "").split(",")):
        if not item:
            continue
        if item in CHANNELS:
            out.append(CHANNELS[item]())
            continue
        module, sep, name = item.partition(":")
        if not sep or not module or not name:
            raise ValueError(f"NOTIFY_SENDERS: unknown sender {item!r} "
                             f"(use {', '.join(sorted(CHANNELS))} or package.module:Class)")
        try:
            cls = getattr(importlib.import_module(module), name)
        except (ImportError, AttributeError) as exc:
            raise ValueError(f"NOTIFY_SENDERS: cannot load {item!r}: {exc}") from exc
        out.append(cls())
    return out


def deliver_pending(env: "Env", senders: Sequence[Sender] | None = None, limit: int = BATCH) -> int:
    """Claim up to `limit` undelivered messages (oldest first) and hand each to the senders
    (`env.senders` by default); returns how many were claimed. With no sender configured the
    rows are only marked, so turning a gateway on later does not send the backlog."""
    chosen = list(env.senders if senders is None else senders)
    now = env.clock.now()
    with env.db.write() as s:
        ids = list(s.scalars(select(AppMessage.id).where(AppMessage.delivered_at.is_(None))
                             .order_by(AppMessage.id).limit(limit)))
        if not ids:
            return 0
        claimed = list(s.scalars(update(AppMessage).where(AppMessage.id.in_(ids),
                                                          AppMessage.delivered_at.is_(None))
                                 .values(delivered_at=now).returning(AppMessage.id)))
        if not chosen or not claimed:
            return len(claimed)
        rows = list(s.execute(select(AppMessage, User).join(User, User.id == AppMessage.user_id)
                              .where(AppMessage.id.in_(claimed)).order_by(AppMessage.id)))
        for message, user in rows:
            s.expunge(message)
            s.expunge(user)
    for message, user in rows:  # after the commit: a slow gateway holds no lock
        for sender in chosen:
            try:
                sender.send(user, message)
            except Exception:  # noqa: BLE001 - one channel's failure must not stop the others
                log.exception("sender %s failed for message %s", type(sender).__name__, message.id)
    return len(claimed)
