"""Uploaded scenario files are read and checked in separate processes, with a time limit.

A hostile file (deeply nested, huge, slow to validate) must not stall the server: a
:class:`ScenarioChecker` keeps a few worker processes (started with ``spawn``, each with
the default network loaded and, where the system allows, a memory limit) and hands each
upload to one of them. A check that passes its time limit has its process killed and
replaced; the upload gets a 422 saying why. A check runs everything a run does before its
first simulated day (:func:`dry_run`), so an accepted upload is one that can run.
"""

from __future__ import annotations

import logging
import multiprocessing
import queue
import threading
import time
import traceback
from multiprocessing.connection import Connection
from typing import TYPE_CHECKING, Any

from chokepoint.errors import ChokepointError, ScenarioError

if TYPE_CHECKING:
    from chokepoint.network.container import SupplyNetwork
    from chokepoint.scenario import Scenario

logger = logging.getLogger(__name__)

CHECK_TIMEOUT = 10.0
"""Seconds one check may take."""

MEMORY_LIMIT = 2 * 1024**3
"""Address space of a checker process, in bytes (where ``setrlimit`` works)."""


class CheckerBusy(ChokepointError):
    """Every checker process is busy; the client should try again."""


def dry_run(scenario: Scenario, network: SupplyNetwork) -> None:
    """What a run does before its first simulated day: the scenario's ids and codes against
    the network, the model with its new plants and switches, and the exogenous inputs of
    the first draw. Raises ScenarioError naming the scenario file and field."""
    import numpy as np

    from chokepoint.compile.exogenous import compile_exogenous
    from chokepoint.compile.model import build_model
    from chokepoint.simulation.run import check_scenario

    check_scenario(scenario, network)
    try:
        model = build_model(network, scenario)
        compile_exogenous(network, model, scenario, np.arange(1))
    except ScenarioError as exc:
        raise ScenarioError(exc.reason, file=scenario.path, field=exc.field) from None


_network_cache: list[Any] = []


def check_upload(text: str, label: str, max_draws: int) -> Scenario:
    """Read and check an uploaded scenario (in a checker process): valid YAML and fields,
    the default network, at most ``max_draws`` draws, and a :func:`dry_run`."""
    from chokepoint.network.container import load_default
    from chokepoint.scenario import Scenario

    scenario = Scenario.from_text(text, label=label)
    if scenario.network != "default":
        raise ScenarioError(
            f"uploaded scenarios run on the default network only (got '{scenario.network[:80]}')",
            file=label,
            field="network",
        )
    if scenario.draws > max_draws:
        raise ScenarioError(
            f"the scenario asks for {scenario.draws} draws; this server runs at most "
            f"{max_draws} (lower 'draws' in the file)",
            file=label,
            field="draws",
        )
    if not _network_cache:
        _network_cache.append(load_default())
    dry_run(scenario, _network_cache[0])
    return scenario


def _one_line(text: str) -> str:
    return " ".join(str(text).split())


def _answer(text: str, label: str, max_draws: int) -> tuple[str, Any]:
    try:
        return "ok", check_upload(text, label, max_draws)
    except ChokepointError as exc:
        return "invalid", _one_line(str(exc))
    except RecursionError:
        return "invalid", f"{label}: the file is nested too deeply to read"
    except MemoryError:
        return "invalid", f"{label}: the file needs too much memory to read"
    except Exception:
        return "bug", traceback.format_exc()


def _serve(connection: Connection, memory_limit: int | None) -> None:
    """A checker process: load what a check needs, then answer checks until told to stop."""
    if memory_limit:
        try:
            import resource

            resource.setrlimit(resource.RLIMIT_AS, (memory_limit, memory_limit))
        except (ImportError, ValueError, OSError):
            pass
    from chokepoint.network.container import load_default

    _network_cache.append(load_default())
    connection.send(("ready", None))
    while True:
        try:
            request = connection.recv()
        except (EOFError, OSError):
            return
        if request is None:
            return
        reply = _answer(*request)
        try:
            connection.send(reply)
        except Exception:  # an answer that cannot be sent back is a bug, reported as one
            connection.send(("bug", traceback.format_exc()))


class _Worker:
    """One checker process and the pipe to it."""

    def __init__(self, memory_limit: int | None, startup_timeout: float) -> None:
        context = multiprocessing.get_context("spawn")
        self.connection, child = context.Pipe()
        self.process = context.Process(
            target=_serve, args=(child, memory_limit), name="chokepoint-checker", daemon=True
        )
        self.process.start()
        child.close()
        if not self.connection.poll(startup_timeout) or self.connection.recv()[0] != "ready":
            self.kill()
            raise CheckerBusy("the scenario checker did not start; try again")

    def kill(self) -> None:
        if self.process.is_alive():
            self.process.kill()
        self.process.join(timeout=5)
        self.connection.close()

    def stop(self) -> None:
        try:
            self.connection.send(None)
        except OSError:
            pass
        self.process.join(timeout=2)
        self.kill()


class ScenarioChecker:
    """Check uploads on up to ``workers`` processes; each check at most ``timeout`` s."""

    def __init__(
        self,
        *,
        timeout: float = CHECK_TIMEOUT,
        workers: int = 1,
        memory_limit: int | None = MEMORY_LIMIT,
        startup_timeout: float = 120.0,
    ) -> None:
        self.timeout = timeout
        self.workers = max(1, workers)
        self.memory_limit = memory_limit
        self.startup_timeout = startup_timeout
        self._idle: queue.LifoQueue[_Worker] = queue.LifoQueue()
        self._lock = threading.Lock()
        self._alive = 0
        self._closed = False

    def _acquire(self) -> _Worker:
        try:
            return self._idle.get_nowait()
        except queue.Empty:
            pass
        with self._lock:
            start = self._alive < self.workers and not self._closed
            if start:
                self._alive += 1
        if not start:
            try:
                return self._idle.get(timeout=self.timeout)
            except queue.Empty:
                raise CheckerBusy("the scenario checker is busy; try again shortly") from None
        try:
            return _Worker(self.memory_limit, self.startup_timeout)
        except BaseException:
            with self._lock:
                self._alive -= 1
            raise

    def _release(self, worker: _Worker, healthy: bool) -> None:
        if healthy and not self._closed:
            self._idle.put(worker)
            return
        worker.kill()
        with self._lock:
            self._alive -= 1

    def warm(self) -> None:
        """Start a checker process now (on a thread), so that the first upload is quick."""

        def start() -> None:
            try:
                self._release(self._acquire(), healthy=True)
            except ChokepointError:
                logger.warning("the scenario checker did not start")

        threading.Thread(target=start, name="chokepoint-checker-start", daemon=True).start()

    def check(self, text: str, label: str, max_draws: int) -> Scenario:
        """The checked scenario, or ScenarioError (one line) saying what is wrong. Blocks:
        call it from a worker thread, not from the event loop."""
        worker = self._acquire()
        healthy = False
        try:
            worker.connection.send((text, label, max_draws))
            started = time.monotonic()
            if not worker.connection.poll(self.timeout):
                raise ScenarioError(
                    f"checking the file took more than {self.timeout:g} s, so it was stopped "
                    "(is it very large or deeply nested?)",
                    file=label,
                )
            try:
                kind, value = worker.connection.recv()
            except (EOFError, OSError):
                raise ScenarioError(
                    "checking the file stopped the checker (it may need too much memory)",
                    file=label,
                ) from None
            healthy = True
            logger.debug("checked %s in %.2f s", label, time.monotonic() - started)
        finally:
            self._release(worker, healthy)
        if kind == "ok":
            return value
        if kind == "invalid":
            raise ScenarioError(value)
        logger.error("checking %s failed:\n%s", label, value)
        raise ScenarioError(
            "the file could not be checked (an internal error; the server log has the details)",
            file=label,
        )

    def close(self) -> None:
        """Stop every idle checker process (busy ones are killed when their check ends)."""
        self._closed = True
        while True:
            try:
                worker = self._idle.get_nowait()
            except queue.Empty:
                return
            worker.stop()
            with self._lock:
                self._alive -= 1
