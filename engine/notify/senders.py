"""Message senders: the in-app message is the row itself; other channels (SMS, e-mail) are senders
a deployment plugs in (`Env.senders`). The one shipped here writes to a log, in place of a gateway."""
from __future__ import annotations

import logging
from typing import Protocol

from engine.models import AppMessage, User

log = logging.getLogger("rongflow.notify")


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
        target = user.phone or user.username
        self.sent.append((target, message.title))
        log.info("%s to %s: %s", self.channel, target, message.title)
