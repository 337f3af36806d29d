"""webapp.gunicorn_worker: after answering, a pool thread serves the same connection's next
request itself when it comes within the wait, and only while another thread is free; otherwise
the connection goes back to gunicorn's poller as in gthread. A real gunicorn worker object serves
real TCP connections here; only the process around it (arbiter, poller loop) is left out."""
from __future__ import annotations

import os
import socket
import threading
from typing import Any

import pytest
from gunicorn.config import Config
from gunicorn.glogging import Logger
from gunicorn.workers.gthread import TConn

from webapp.gunicorn_worker import LINGER_SECONDS, LingeringThreadWorker, worker_class

NEVER = 30.0  # seconds: how long a test waits for a thread that should already be done


class Served:
    """A WSGI app that records the paths it answered."""

    def __init__(self) -> None:
        self.paths: list[str] = []

    def __call__(self, environ: dict[str, Any], start_response: Any) -> list[bytes]:
        self.paths.append(environ["PATH_INFO"])
        body = environ["PATH_INFO"].encode()
        start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", str(len(body)))])
        return [body]


class Client:
    def __init__(self, sock: socket.socket) -> None:
        self.sock, self.buffer = sock, b""

    def send(self, *paths: str) -> None:
        self.sock.sendall(b"".join(f"GET {p} HTTP/1.1\r\nHost: x\r\n\r\n".encode() for p in paths))

    def response(self) -> bytes:
        while b"\r\n\r\n" not in self.buffer:
            self._more()
        head, _, rest = self.buffer.partition(b"\r\n\r\n")
        length = next(int(line.split(b":")[1]) for line in head.split(b"\r\n")
                      if line.lower().startswith(b"content-length:"))
        while len(rest) < length:
            self._more()
            head, _, rest = self.buffer.partition(b"\r\n\r\n")
        self.buffer = rest[length:]
        return rest[:length]

    def _more(self) -> None:
        chunk = self.sock.recv(65536)
        assert chunk, "the server closed the connection"
        self.buffer += chunk


@pytest.fixture
def listener():
    sock = socket.create_server(("127.0.0.1", 0))
    yield sock
    sock.close()


def make_worker(threads: int, linger: float, app: Served) -> LingeringThreadWorker:
    cfg = Config()
    cfg.set("threads", threads)
    worker_cls = type("TestWorker", (LingeringThreadWorker,), {"linger_seconds": linger})
    worker = worker_cls(1, os.getpid(), [], None, 30, cfg, Logger(cfg))
    worker.wsgi = app
    return worker


def connect(listener: socket.socket, worker: LingeringThreadWorker) -> tuple[Client, TConn]:
    client = socket.create_connection(listener.getsockname(), timeout=NEVER)  # no answer: fails
    accepted, address = listener.accept()
    accepted.setblocking(True)
    return Client(client), TConn(worker.cfg, accepted, address, listener.getsockname())


def in_thread(worker: LingeringThreadWorker, conn: TConn) -> tuple[threading.Thread, list[Any]]:
    """worker.handle(conn) on a thread of its own, as the pool runs it; its result in the list."""
    out: list[Any] = []
    thread = threading.Thread(target=lambda: out.append(worker.handle(conn)), daemon=True)
    thread.start()
    return thread, out


def test_a_request_that_follows_is_served_by_the_same_call(listener):
    app = Served()
    worker = make_worker(threads=2, linger=NEVER, app=app)
    client, conn = connect(listener, worker)
    thread, out = in_thread(worker, conn)
    client.send("/one")
    assert client.response() == b"/one"
    client.send("/two")  # the thread that answered is still waiting on this connection
    assert client.response() == b"/two"
    assert thread.is_alive()  # it would have returned to gthread's poller after /one
    client.sock.close()  # the client goes: the thread ends the connection
    thread.join(NEVER)
    assert out == [False] and app.paths == ["/one", "/two"]
    assert worker.busy == 0


def test_requests_read_ahead_are_served_without_waiting(listener):
    app = Served()
    worker = make_worker(threads=2, linger=0.001, app=app)
    client, conn = connect(listener, worker)
    client.send("/one", "/two", "/three")  # pipelined in one packet
    thread, out = in_thread(worker, conn)
    assert [client.response() for _ in range(3)] == [b"/one", b"/two", b"/three"]
    thread.join(NEVER)
    assert out == [True] and app.paths == ["/one", "/two", "/three"]


def test_a_quiet_connection_goes_back_kept_alive_after_the_wait(listener):
    app = Served()
    worker = make_worker(threads=2, linger=0.001, app=app)
    client, conn = connect(listener, worker)
    client.send("/one")
    thread, out = in_thread(worker, conn)
    assert client.response() == b"/one"
    thread.join(NEVER)
    assert out == [True]  # kept alive: gthread's poller takes it from here
    client.send("/two")  # and the next call (the poller's hand-over) serves it
    thread, out = in_thread(worker, conn)
    assert client.response() == b"/two"
    thread.join(NEVER)
    assert out == [True] and app.paths == ["/one", "/two"]


def test_no_wait_when_no_other_thread_is_free(listener):
    app = Served()
    worker = make_worker(threads=1, linger=NEVER, app=app)
    client, conn = connect(listener, worker)
    client.send("/one")
    thread, out = in_thread(worker, conn)
    assert client.response() == b"/one"
    thread.join(NEVER)  # returned at once: its only thread must stay free for other connections
    assert not thread.is_alive() and out == [True]
    worker.cfg.set("threads", 2)
    worker.busy = 1  # another thread is serving someone: this one would be the last free one
    client.send("/two")
    thread, out = in_thread(worker, conn)
    assert client.response() == b"/two"
    thread.join(NEVER)
    assert not thread.is_alive() and out == [True] and worker.busy == 1


def test_no_wait_once_the_worker_is_stopping(listener):
    app = Served()
    worker = make_worker(threads=2, linger=NEVER, app=app)

    def stopped_meanwhile(environ: dict[str, Any], start_response: Any) -> list[bytes]:
        worker.alive = False  # SIGTERM while the request runs: its answer was already keep-alive
        return app(environ, start_response)
    worker.wsgi = stopped_meanwhile
    client, conn = connect(listener, worker)
    client.send("/one")
    thread, out = in_thread(worker, conn)
    assert client.response() == b"/one"
    thread.join(NEVER)
    assert not thread.is_alive() and out == [True]  # gthread's shutdown closes it from here


def test_no_wait_on_a_tls_or_http2_connection(listener):
    app = Served()
    worker = make_worker(threads=2, linger=NEVER, app=app)
    _client, conn = connect(listener, worker)
    assert worker.may_linger(conn)
    conn.is_http2 = True
    assert not worker.may_linger(conn)
    conn.is_http2 = False
    worker.cfg.set("certfile", __file__)  # is_ssl: gunicorn serves TLS itself
    worker.cfg.set("keyfile", __file__)
    assert worker.cfg.is_ssl and not worker.may_linger(conn)


def test_rongflow_serve_gives_gunicorn_the_lingering_worker_unless_turned_off():
    assert worker_class(0) == "gthread"
    chosen = worker_class(5)
    assert issubclass(chosen, LingeringThreadWorker) and chosen.linger_seconds == 0.005
    assert LingeringThreadWorker.linger_seconds == LINGER_SECONDS
    with pytest.raises(ValueError, match="WEB_LINGER_MS"):
        worker_class(-1)


def test_the_server_options_follow_the_setting():
    from config import load_config
    from webapp.opscli import server_options
    cfg = load_config("test")
    default = server_options(cfg, None, None, None)["worker_class"]
    assert issubclass(default, LingeringThreadWorker)
    assert default.linger_seconds == cfg.WEB_LINGER_MS / 1000 and cfg.WEB_LINGER_MS > 0

    class Off(cfg):  # type: ignore[misc, valid-type]
        WEB_LINGER_MS = 0
    assert server_options(Off, None, None, None)["worker_class"] == "gthread"
