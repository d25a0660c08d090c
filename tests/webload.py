"""Load for the web server, on 127.0.0.1 only, bounded in count and time: runs started at
once, slow connections (headers a byte at a time, reopened when the server drops them) and
a probe timing ``/api/health`` on a new connection every few hundredths of a second.

The server runs in a process of its own (:class:`ServerProcess`), as it would for real, so
that the load's own threads do not compete with it for the interpreter.
Used by tests/test_web_load.py and bench/web_load.py; :func:`load` returns the figures.
"""

from __future__ import annotations

import concurrent.futures
import json
import selectors
import socket
import statistics
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any

import httpx

SERVE = """
import json, sys
from chokepoint.web import create_app
from chokepoint.web.server import BackgroundServer, ServerLimits
options = json.loads(sys.argv[1])
with BackgroundServer(create_app(**options["app"]), limits=ServerLimits(**options["limits"])) as s:
    print(s.port, flush=True)
    sys.stdin.read()  # serve until the parent closes our stdin
"""


class ServerProcess:
    """``with ServerProcess(app_options, limit_options) as server:`` serves on
    ``server.url`` (127.0.0.1, a free port) in a child process until the block ends."""

    def __init__(self, app: dict[str, Any], limits: dict[str, Any] | None = None) -> None:
        self.options = json.dumps({"app": app, "limits": limits or {}})
        self.port = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def __enter__(self) -> ServerProcess:
        self.process = subprocess.Popen(
            [sys.executable, "-c", SERVE, self.options],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        line = self.process.stdout.readline() if self.process.stdout else ""
        if not line.strip().isdigit():
            self.process.kill()
            raise RuntimeError("the server process did not start")
        self.port = int(line)
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        if self.process.stdin:
            self.process.stdin.close()
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=10)
        if self.process.stdout:
            self.process.stdout.close()


SLOW_START = b"GET /api/health HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: "


@dataclass
class SlowClients:
    """``count`` connections that send a header byte every ``drip`` seconds and never end
    their headers; one the server closes is replaced by a new one, until stopped."""

    port: int
    count: int
    drip: float = 0.5
    opened: int = 0
    closed: list[tuple[float, bytes]] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._run, name="slow-clients", daemon=True)

    def _open(self, selector: selectors.BaseSelector) -> None:
        try:
            connection = socket.create_connection(("127.0.0.1", self.port), timeout=5)
            connection.sendall(SLOW_START)
        except OSError as exc:
            self.errors.append(f"connect: {exc}")
            return
        connection.setblocking(False)
        selector.register(connection, selectors.EVENT_READ, {"at": time.monotonic(), "got": b""})
        self.opened += 1

    def _run(self) -> None:
        selector = selectors.DefaultSelector()
        for _ in range(self.count):
            self._open(selector)
        dripped = time.monotonic()
        while not self.stop.is_set():
            for key, _ in selector.select(timeout=0.05):
                connection, state = key.fileobj, key.data
                try:
                    chunk = connection.recv(4096)  # type: ignore[union-attr]
                except BlockingIOError:
                    continue
                except OSError:
                    chunk = b""
                if chunk:
                    state["got"] += chunk
                    continue
                selector.unregister(connection)
                connection.close()  # type: ignore[union-attr]
                self.closed.append((time.monotonic() - state["at"], state["got"][:12]))
                if not self.stop.is_set():
                    self._open(selector)
            if time.monotonic() - dripped >= self.drip:
                dripped = time.monotonic()
                for key in list(selector.get_map().values()):
                    try:
                        key.fileobj.send(b"X")  # type: ignore[union-attr]
                    except OSError:
                        pass
        for key in list(selector.get_map().values()):
            key.fileobj.close()  # type: ignore[union-attr]
        selector.close()

    @property
    def open_now(self) -> int:
        return self.opened - len(self.closed)


@dataclass
class HealthProbe:
    """GET /api/health on a fresh connection every ``every`` seconds; the latencies."""

    url: str
    every: float = 0.05
    latencies: list[float] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._run, name="health-probe", daemon=True)

    def _run(self) -> None:
        limits = httpx.Limits(max_keepalive_connections=0)
        with httpx.Client(base_url=self.url, timeout=10, limits=limits) as http:
            while not self.stop.is_set():
                started = time.perf_counter()
                try:
                    response = http.get("/api/health")
                    response.raise_for_status()
                except httpx.HTTPError as exc:
                    self.failures.append(str(exc))
                    self.latencies.append(float("inf"))
                else:
                    self.latencies.append(time.perf_counter() - started)
                self.stop.wait(self.every)


def _finish(http: httpx.Client, run_id: str, deadline: float) -> dict[str, Any]:
    while time.monotonic() < deadline:
        state = http.get(f"/api/runs/{run_id}").json()
        if state["status"] in ("done", "failed"):
            if state["status"] == "failed":
                return state
            return http.get(f"/api/runs/{run_id}/result").json()
        time.sleep(0.2)
    raise TimeoutError(f"run {run_id} did not finish in time")


def load(
    url: str, port: int, orders: list[dict[str, Any]], slow: int = 200, timeout: float = 300
) -> dict[str, Any]:
    """Start ``orders`` at once (one thread each) while ``slow`` slow connections and the
    health probe run; stop everything when the runs are done (or ``timeout`` passed).
    Returns the results in the order of ``orders`` and the figures."""
    probe = HealthProbe(url)
    clients = SlowClients(port, slow)
    started = time.monotonic()
    probe.thread.start()
    clients.thread.start()
    try:
        while clients.opened < slow and not clients.errors and time.monotonic() - started < 30:
            time.sleep(0.05)
        deadline = time.monotonic() + timeout
        with (
            httpx.Client(base_url=url, timeout=60) as http,
            concurrent.futures.ThreadPoolExecutor(len(orders)) as pool,
        ):

            def one(order: dict[str, Any]) -> dict[str, Any]:
                response = http.post("/api/runs", json=order)
                response.raise_for_status()
                return _finish(http, response.json()["id"], deadline)

            results = list(pool.map(one, orders))
        slow_open_at_end = clients.open_now
    finally:
        probe.stop.set()
        clients.stop.set()
        probe.thread.join(timeout=15)
        clients.thread.join(timeout=15)
    latencies = probe.latencies
    finite = sorted(v for v in latencies if v != float("inf"))
    return {
        "results": results,
        "figures": {
            "runs": len(orders),
            "slow_connections": slow,
            "slow_opened": clients.opened,
            "slow_closed_by_server": len(clients.closed),
            "slow_open_at_end": slow_open_at_end,
            "slow_held_s_max": max((held for held, _ in clients.closed), default=0.0),
            "slow_answers": sorted({got[:12].decode("latin-1") for _, got in clients.closed}),
            "slow_errors": clients.errors[:5],
            "health_requests": len(latencies),
            "health_failures": probe.failures[:5],
            "health_max_s": max(latencies, default=float("nan")),
            "health_p50_s": statistics.median(finite) if finite else float("nan"),
            "health_p99_s": finite[int(0.99 * (len(finite) - 1))] if finite else float("nan"),
            "wall_s": time.monotonic() - started,
        },
    }
