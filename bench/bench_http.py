"""HTTP benchmark: task submits through the JSON API and the HTML form over real HTTP (gunicorn).

Models: start → 5 user tasks → end and start → 50 → end (one caseworker lane), and a back-flow
loop driven to 1,000 completions. Prints submits/s, median and p95 ms for a sequential client
and for 8 concurrent clients on 4 gunicorn workers of 4 threads each (the deployment's
WEB_WORKERS / WEB_THREADS, deploy/rongflow.env.example, and `rongflow serve`'s worker class with
its WEB_LINGER_MS, webapp.gunicorn_worker; keep-alive, as nginx's upstream keeps its
connections), the SQL statements and commits of one submit
(counted in-process with the engine's statement counter), and the submit time at tasks 6-25
and at the last 20 of a 1,000-completion looping case (medians of 20 submits). Each sequential
run starts with three unmeasured cases (the worker's first requests parse the process). Each
database's heading gives the load average and a fixed CPU loop's time: this shared machine's
speed moves by up to half within an hour, and every figure with it.

    .venv/bin/python bench/bench_http.py                      # SQLite
    .venv/bin/python bench/bench_http.py --pg postgresql+psycopg://postgres@127.0.0.1:5432/test
"""
from __future__ import annotations

import argparse
import http.client
import json
import os
import re
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.bench_engine import fresh_env  # noqa: E402
from config import Config  # noqa: E402
from engine.orgs import set_hash_cost  # noqa: E402
from engine.process_api import ProcessConfig  # noqa: E402
from engine.tokens import create_token  # noqa: E402
from tests.factories import build_org, deploy_files  # noqa: E402
from webapp.gunicorn_worker import lingering  # noqa: E402
from tests.integration.fidelity_runner import fixture_config, fixture_files  # noqa: E402

PASSWORD = "secret-pass"
FORMS = Path(tempfile.gettempdir()) / "rongflow_bench_forms"  # no forms: every step takes {}
LOOP = "loop_backflow"


def linear_bpmn(key: str, n: int) -> bytes:
    """start → n user tasks in a caseworker lane → end."""
    ids = [f"t{i}" for i in range(1, n + 1)]
    nodes = ["start", *ids, "end"]
    tasks = "".join(f'<bpmn:userTask id="{t}" name="步骤{t[1:]}"/>' for t in ids)
    flows = "".join(f'<bpmn:sequenceFlow id="f{i}" sourceRef="{a}" targetRef="{b}"/>'
                    for i, (a, b) in enumerate(zip(nodes, nodes[1:])))
    refs = "".join(f"<bpmn:flowNodeRef>{x}</bpmn:flowNodeRef>" for x in nodes)
    return (f'<?xml version="1.0" encoding="UTF-8"?><bpmn:definitions '
            f'xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" id="d_{key}" '
            f'targetNamespace="http://rongflow/bench"><bpmn:collaboration id="c_{key}">'
            f'<bpmn:participant id="p_{key}" processRef="{key}"/></bpmn:collaboration>'
            f'<bpmn:process id="{key}" isExecutable="true"><bpmn:laneSet id="ls"><bpmn:lane id="l" '
            f'name="caseworker">{refs}</bpmn:lane></bpmn:laneSet><bpmn:startEvent id="start"/>{tasks}'
            f'<bpmn:endEvent id="end"/>{flows}</bpmn:process></bpmn:definitions>').encode()


def processes() -> dict[str, ProcessConfig]:
    FORMS.mkdir(exist_ok=True)
    out = {f"linear{n}": ProcessConfig(key=f"linear{n}", name=f"{n} 步", case_prefix=f"L{n}", forms_dir=FORMS)
           for n in (5, 50)}
    out[LOOP] = fixture_config(LOOP)
    return out


def server_app() -> Any:
    """The app gunicorn serves (`bench.bench_http:server_app()`), with the bench's processes, its
    logging set up by `rongflow serve`'s own function from the settings (`run` passes LOG_LEVEL
    INFO, as deploy/rongflow.env.example: one JSON line per request and per command, here to
    gunicorn.log) and its metrics in a multiprocess directory (PROMETHEUS_MULTIPROC_DIR, set by
    `run`), as deployed."""
    from config import load_config
    from webapp import create_app
    from webapp.opscli import configure_logging_from
    configure_logging_from(load_config("development"))  # the settings create_app uses below
    app = create_app({"ENV_NAME": "development", "DATABASE_URL": os.environ["BENCH_DB_URL"],
                      "UPLOAD_DIR": os.environ["BENCH_UPLOADS"], "API_RATE_PER_MINUTE": 10**9,
                      "SQLITE_SYNCHRONOUS": os.environ.get("BENCH_SQLITE_SYNCHRONOUS", "FULL")})
    app.extensions["rongflow_env"].extra_processes.update(processes())
    return app


# `rongflow serve`'s worker class waiting BENCH_LINGER_MS (gunicorn -k bench.bench_http.BenchWorker)
BenchWorker = lingering(int(os.environ.get("BENCH_LINGER_MS", Config.WEB_LINGER_MS)))


# ----------------------------------------------------------------------------- client

class Client:
    """One keep-alive HTTP/1.1 connection with a token or a browser session, on a plain socket:
    the request written in one send, the response framed by its Content-Length (what the server
    sends for every route here), as a load generator such as wrk does. Its own cost should not be
    counted as the server's: Python's http.client, used here before, parses each response's
    headers with the email package and added about 0.4 ms to each submit measured (one server,
    six alternating runs of 75 submits each on 2026-12-07: medians 5.46 and 5.08 ms)."""

    def __init__(self, port: int, token: str | None = None) -> None:
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=60)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.buffer = b""
        self.headers = {"Authorization": f"Bearer {token}"} if token else {}
        self.cookie = ""

    def _read(self, size: int | None = None, until: bytes = b"") -> bytes:
        while True:
            end = self.buffer.find(until) if until else -1
            if until and end >= 0:
                out, self.buffer = self.buffer[:end], self.buffer[end + len(until):]
                return out
            if not until and size is not None and len(self.buffer) >= size:
                out, self.buffer = self.buffer[:size], self.buffer[size:]
                return out
            chunk = self.sock.recv(65536)
            if not chunk:
                raise ConnectionError("the server closed the connection")
            self.buffer += chunk

    def call(self, method: str, path: str, body: Any = None, form: dict[str, str] | None = None,
             extra: dict[str, str] | None = None) -> tuple[int, bytes, dict[str, str]]:
        headers = {**self.headers, **(extra or {})}
        if self.cookie:
            headers["Cookie"] = self.cookie
        data = b""
        if body is not None:
            data, headers["Content-Type"] = json.dumps(body).encode(), "application/json"
        elif form is not None:
            data, headers["Content-Type"] = urlencode(form).encode(), "application/x-www-form-urlencoded"
        head = (f"{method} {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: {len(data)}\r\n"
                + "".join(f"{k}: {v}\r\n" for k, v in headers.items()) + "\r\n")
        self.sock.sendall(head.encode("latin-1") + data)
        status_line, *lines = self._read(until=b"\r\n\r\n").decode("latin-1").split("\r\n")
        got: dict[str, str] = {}
        for line in lines:
            name, _, value = line.partition(":")
            got.setdefault(name.strip().lower(), value.strip())
        assert "chunked" not in got.get("transfer-encoding", ""), "a chunked response: not framed here"
        payload = self._read(size=int(got.get("content-length", 0)))
        if got.get("set-cookie"):
            self.cookie = got["set-cookie"].split(";", 1)[0]
        return int(status_line.split()[1]), payload, got

    def json(self, method: str, path: str, body: Any = None) -> Any:
        status, payload, _ = self.call(method, path, body)
        assert status in (200, 201), (method, path, status, payload[:300])
        return json.loads(payload)

    def login(self, username: str) -> str:
        _, page, _ = self.call("GET", "/login")
        token = re.search(rb'name="csrf_token" value="([^"]+)"', page).group(1).decode()
        status, _, _ = self.call("POST", "/login", form={"username": username, "password": PASSWORD,
                                                         "csrf_token": token})
        assert status == 302, status
        _, home, _ = self.call("GET", "/")
        csrf = re.search(rb'name="csrf_token" value="([^"]+)"', home).group(1).decode()
        self.headers["X-CSRFToken"] = csrf  # the API with a browser session keeps CSRF
        return csrf


def start(client: Client, key: str, unit: int) -> tuple[int, int]:
    case = client.json("POST", f"/api/v1/processes/{key}/cases", {"org_unit_id": unit, "data": {}})
    detail = client.json("GET", f"/api/v1/cases/{case['instance_id']}")
    return case["instance_id"], detail["open_tasks"][0]["id"]


def api_case(client: Client, key: str, unit: int, times: list[float], loop: int = 0) -> None:
    _iid, task = start(client, key, unit)
    n = 0
    while True:
        n += 1
        data = {"decision": "again" if n < loop else "done", "round": n} if loop else {}
        t0 = time.perf_counter()
        result = client.json("POST", f"/api/v1/tasks/{task}/complete", {"data": data})
        times.append((time.perf_counter() - t0) * 1000)
        if not result["new_task_ids"]:
            return
        task = result["new_task_ids"][0]


def html_case(client: Client, csrf: str, key: str, unit: int, times: list[float]) -> None:
    iid, task = start(client, key, unit)
    while task:
        t0 = time.perf_counter()
        status, _, _ = client.call("POST", f"/tasks/{task}", form={"csrf_token": csrf, "_opinion": "同意"})
        times.append((time.perf_counter() - t0) * 1000)
        assert status == 302, status
        open_tasks = client.json("GET", f"/api/v1/cases/{iid}")["open_tasks"]
        task = open_tasks[0]["id"] if open_tasks else 0


# ----------------------------------------------------------------------------- runs

def summary(label: str, times: list[float], wall: float | None = None) -> str:
    """Sequential: submits/s is 1000 / the mean submit time. Concurrent (`wall` given): submits
    over the wall time, which also holds each case's start and the reads between submits."""
    rate = len(times) / wall if wall else 1000 / statistics.mean(times)
    times = sorted(times)
    p95 = times[int(len(times) * 0.95) - 1]
    return (f"  {label:<34} {rate:8.0f}/s  median {statistics.median(times):6.2f} ms  "
            f"p95 {p95:6.2f} ms  ({len(times)} submits)")


WARM_UP = 3  # unmeasured cases first: the worker behind the connection parses the process and
#             builds its statements once, as a long-running server has long done


def sequential(port: int, secret: str, key: str, unit: int, cases: int) -> str:
    client, times = Client(port, secret), []
    for _ in range(WARM_UP):
        api_case(client, key, unit, [])
    for _ in range(cases):
        api_case(client, key, unit, times)
    return summary(f"API {key}, sequential", times)


def concurrent(port: int, secrets: list[str], key: str, unit: int, cases: int) -> str:
    times: list[float] = []
    lock = threading.Lock()

    def work(secret: str) -> None:
        client, mine = Client(port, secret), []
        for _ in range(cases):
            api_case(client, key, unit, mine)
        with lock:
            times.extend(mine)

    threads = [threading.Thread(target=work, args=(s,)) for s in secrets]
    t0 = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return summary(f"API {key}, {len(secrets)} concurrent clients", times, time.perf_counter() - t0)


def html_sequential(port: int, key: str, unit: int, cases: int) -> str:
    client, times = Client(port), []
    csrf = client.login("t1_cw")
    for _ in range(WARM_UP):
        html_case(client, csrf, key, unit, [])
    for _ in range(cases):
        html_case(client, csrf, key, unit, times)
    return summary(f"HTML form {key}, sequential", times)


def loop_case(port: int, secret: str, unit: int, completions: int) -> str:
    times: list[float] = []
    api_case(Client(port, secret), LOOP, unit, times, loop=completions)
    # medians of 20 submits each (10 let one slow moment of a shared machine move the ratio)
    at_10, at_end = statistics.median(times[5:25]), statistics.median(times[-20:])
    return (f"  API loop, submit at tasks 6-25: {at_10:.2f} ms; at the last 20 of {completions}: {at_end:.2f} ms "
            f"({at_end / at_10:.2f}x)")


def statement_counts(env: Any, org: Any, secret: str, workdir: Path) -> str:
    """Statements and commits of one submit, counted in-process on the same database."""
    os.environ.setdefault("BENCH_DB_URL", env.db.url)
    from webapp import create_app
    app = create_app({"ENV_NAME": "development", "DATABASE_URL": env.db.url, "UPLOAD_DIR": workdir,
                      "WTF_CSRF_ENABLED": False}, env=env)
    env.extra_processes.update(processes())
    unit = org.units["t1"]
    out = []
    with app.test_client() as c:
        h = {"Authorization": f"Bearer {secret}"}
        case = c.post("/api/v1/processes/linear5/cases", json={"org_unit_id": unit, "data": {}}, headers=h).json
        task = c.get(f"/api/v1/cases/{case['instance_id']}", headers=h).json["open_tasks"][0]["id"]
        env.db.counter.reset()
        task = c.post(f"/api/v1/tasks/{task}/complete", json={"data": {}}, headers=h).json["new_task_ids"][0]
        out.append(f"API submit {env.db.counter.statements} statements, {env.db.counter.commits} commit(s)")
        c.post("/login", data={"username": "t1_cw", "password": PASSWORD})
        env.db.counter.reset()
        c.post(f"/tasks/{task}", data={"_opinion": "同意"})
        out.append(f"HTML POST {env.db.counter.statements} statements, {env.db.counter.commits} commit(s)")
        task = c.get(f"/api/v1/cases/{case['instance_id']}").json["open_tasks"][0]["id"]
        env.db.counter.reset()
        c.get(f"/tasks/{task}")
        c.post(f"/tasks/{task}", data={"_opinion": "同意"})
        c.get("/")
        out.append(f"browser step (GET task, POST, GET /) {env.db.counter.statements} statements")
    return "  " + "; ".join(out)


COMPLETE_ROUTE = "/api/v1/tasks/<int:task_id>/complete"


def inside_app(log: Path, since: int) -> str:
    """The submits' own time inside the app, from the server's request log lines written after
    byte `since` (`duration_ms`: from the first request hook to the last, webapp.requestlog): the
    rest of the client's time is gunicorn, the socket, Flask's request context and the client."""
    with log.open("rb") as fh:
        fh.seek(since)
        lines = fh.read().decode("utf-8", "replace").splitlines()
    durations = []
    for line in lines:
        try:
            entry = json.loads(line)
        except ValueError:
            continue  # gunicorn's own lines
        if isinstance(entry, dict) and entry.get("event") == "request" and entry.get("route") == COMPLETE_ROUTE:
            durations.append(float(entry["duration_ms"]))
    if not durations:
        return "  (no request log lines: LOG_LEVEL above INFO?)"
    return (f"    of which inside the app (request log, warm-up included): median "
            f"{statistics.median(durations):.2f} ms ({len(durations)} submits)")


def cpu_loop() -> str:
    """How fast the machine is right now: a fixed loop of Python, best of three (about 127 ms on
    this machine when quiet; a shared machine's slow hours take up to twice that, and every
    figure of the run with it)."""
    best = min(_timed_loop() for _ in range(3))
    return f"CPU loop {best:.0f} ms"


def _timed_loop() -> float:
    t0 = time.perf_counter()
    sum(range(10**7))
    return (time.perf_counter() - t0) * 1000


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_up(port: int) -> None:
    for _ in range(300):
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            conn.request("GET", "/healthz")
            if conn.getresponse().status == 200:
                return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError("gunicorn did not come up")


def run(kind: str, pg_url: str | None, args: argparse.Namespace) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        env = fresh_env(kind, pg_url, workdir)
        if args.relaxed_commits and kind == "postgresql":  # as an admin would set it on the server
            with env.db.engine.connect() as conn:
                conn.exec_driver_sql("ALTER DATABASE rongflow_bench SET synchronous_commit = off")
                conn.commit()
            env.db.engine.dispose()
        org = build_org(env)
        env.extra_processes.update(processes())
        for n in (5, 50):
            deploy_files(env, f"linear{n}", {f"linear{n}.bpmn": linear_bpmn(f"linear{n}", n)})
        deploy_files(env, LOOP, fixture_files(LOOP))
        uid = org.actor("t1_cw").id
        secrets = [create_token(env, uid, uid, f"bench {i}", "act", 30).secret for i in range(9)]
        port = free_port()
        server_env = {**os.environ, "BENCH_DB_URL": env.db.url, "BENCH_UPLOADS": str(workdir / "uploads"),
                      "SECRET_KEY": "bench-secret-key-not-for-production", "LOG_LEVEL": "INFO",
                      "PROMETHEUS_MULTIPROC_DIR": str(workdir / "metrics"),
                      "BENCH_SQLITE_SYNCHRONOUS": "NORMAL" if args.relaxed_commits else "FULL"}
        (workdir / "metrics").mkdir()
        # the worker class `rongflow serve` runs (webapp.gunicorn_worker; --linger-ms 0: gthread)
        worker = "gthread" if args.linger_ms == 0 else "bench.bench_http.BenchWorker"
        server_env["BENCH_LINGER_MS"] = str(args.linger_ms)
        server = subprocess.Popen([sys.executable, "-m", "gunicorn", "--no-control-socket", "-w", str(args.workers),
                                   "--threads", str(args.threads), "-k", worker, "-b",
                                   f"127.0.0.1:{port}", "--log-level", "warning", "bench.bench_http:server_app()"],
                                  cwd=ROOT, env=server_env, stdout=subprocess.DEVNULL,
                                  stderr=(workdir / "gunicorn.log").open("w"))
        try:
            wait_up(port)
            unit = org.units["t1"]
            commits = (("SQLite synchronous=NORMAL" if kind == "sqlite" else "synchronous_commit=off")
                       if args.relaxed_commits else "durable commits")
            worker_text = f"linger {args.linger_ms} ms" if args.linger_ms else "gthread"
            print(f"{kind} (gunicorn, {args.workers} workers x {args.threads} threads, {worker_text}; {commits}; "
                  f"load average {os.getloadavg()[0]:.1f}; {cpu_loop()}):")
            log = workdir / "gunicorn.log"
            mark = log.stat().st_size
            print(sequential(port, secrets[0], "linear5", unit, args.cases))
            print(inside_app(log, mark))
            print(sequential(port, secrets[0], "linear50", unit, max(1, args.cases // 10)))
            print(html_sequential(port, "linear5", unit, max(1, args.cases // 2)))
            print(concurrent(port, secrets[1:9], "linear5", unit, max(1, args.cases // 8)))
            print(loop_case(port, secrets[0], unit, args.loop))
        except Exception:
            print((workdir / "gunicorn.log").read_text()[-3000:], file=sys.stderr)  # why the server failed
            raise
        finally:
            server.terminate()
            server.wait(timeout=30)
        print(statement_counts(env, org, secrets[0], workdir))
        env.db.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--pg", help="PostgreSQL URL (a database named rongflow_bench is created beside it)")
    parser.add_argument("--cases", type=int, default=60, help="5-task cases of the sequential API run")
    parser.add_argument("--loop", type=int, default=1000, help="completions of the looping case")
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--threads", type=int, default=4,
                        help="threads per worker (1: gunicorn's sync worker, which closes every connection)")
    parser.add_argument("--no-sqlite", action="store_true", help="only PostgreSQL")
    parser.add_argument("--linger-ms", type=int, default=Config.WEB_LINGER_MS,
                        help="WEB_LINGER_MS of the server (webapp.gunicorn_worker; 0: gunicorn's gthread)")
    parser.add_argument("--relaxed-commits", action="store_true",
                        help="commits that do not wait for the disk: SQLITE_SYNCHRONOUS=NORMAL, and "
                             "synchronous_commit=off on the bench's PostgreSQL database (default: durable, "
                             "as deployed by default)")
    args = parser.parse_args()
    set_hash_cost(time_cost=1, memory_cost_kib=64)
    if not args.no_sqlite:
        run("sqlite", None, args)
    if args.pg:
        run("postgresql", args.pg, args)


if __name__ == "__main__":
    main()
