"""gunicorn's threaded worker, serving a request that follows on the same connection at once.

In gunicorn's `gthread` worker a kept-alive connection goes back to the process's main thread
after every response: the pool thread hands it over through a pipe, the main thread registers it
with its poller, and when the next request arrives it hands the connection to a pool thread
again. For a client that sends its requests one after another on one connection (another
system's script, the mobile app's server, nginx's upstream connection under a steady stream)
those hand-overs cost about 0.3 ms a request on the reference machine (README, "Performance").

Here the pool thread that answered waits up to `linger_seconds` for the connection's next
request and serves it itself. It waits only while another pool thread of the process is free, so
a waiting thread never keeps a thread from a request on another connection; and never on a
stopping worker, an HTTP/2 or a TLS connection (gunicorn's own path serves those). If nothing
comes within the wait, the connection goes back to the poller, kept alive, as in `gthread`.

`rongflow serve` uses it unless WEB_LINGER_MS is 0 (config.py).
"""
from __future__ import annotations

import select
import threading
from typing import Any

from gunicorn.workers.gthread import ThreadWorker

LINGER_SECONDS = 0.002


class LingeringThreadWorker(ThreadWorker):  # type: ignore[misc]
    """`gthread`, with the next request on a kept-alive connection served by the same thread."""

    linger_seconds = LINGER_SECONDS

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.busy = 0  # pool threads inside handle(), waiting ones included
        self._busy_lock = threading.Lock()

    def handle(self, conn: Any) -> Any:
        with self._busy_lock:
            self.busy += 1
        try:
            keep = super().handle(conn)
            while keep is True and self.may_linger(conn) and self.next_request_comes(conn):
                keep = super().handle(conn)
            return keep
        finally:
            with self._busy_lock:
                self.busy -= 1

    def may_linger(self, conn: Any) -> bool:
        """Whether this thread may wait for the connection's next request: another pool thread is
        free, the worker is not stopping, and the connection is plain HTTP/1.x."""
        return (self.linger_seconds > 0 and self.alive and self.busy < self.cfg.threads
                and not conn.is_http2 and not self.cfg.is_ssl)

    def next_request_comes(self, conn: Any) -> bool:
        """The next request is read ahead already, or the socket becomes readable (a request, or
        the client closing) within the wait."""
        if conn.parser.unreader.buf.getvalue():
            return True
        poller = select.poll()  # not select(): no limit on the descriptor's number
        poller.register(conn.sock, select.POLLIN)
        return bool(poller.poll(self.linger_seconds * 1000))


def worker_class(linger_ms: int) -> Any:
    """What `rongflow serve` gives gunicorn: `gthread` itself when lingering is off, else a
    LingeringThreadWorker waiting `linger_ms` milliseconds."""
    if linger_ms < 0:
        raise ValueError(f"WEB_LINGER_MS must be 0 (off) or more, not {linger_ms}")
    return lingering(linger_ms) if linger_ms else "gthread"


def lingering(linger_ms: int) -> type[LingeringThreadWorker]:
    """A LingeringThreadWorker waiting `linger_ms` milliseconds."""
    return type("RongFlowWorker", (LingeringThreadWorker,), {"linger_seconds": linger_ms / 1000})
