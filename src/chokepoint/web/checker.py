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
import time
import traceback
from multiprocessing.connection import Connection
from typing import TYPE_CHECKING, Any

from chokepoint.errors import ChokepointError, ScenarioError
from chokepoint.web.workers import WorkerPool, one_line, serve_requests

if TYPE_CHECKING:
    from chokepoint.network.container import SupplyNetwork
    from chokepoint.scenario import Scenario

logger = logging.getLogger(__name__)

CHECK_TIMEOUT = 10.0
"""Seconds one check may take."""

MEMORY_HEADROOM = 1024**3
"""Address space a check may add to what a ready checker process holds, in bytes (where
the system tells the process's size and ``setrlimit`` works)."""


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


def _answer(text: str, label: str, max_draws: int) -> tuple[str, Any]:
    try:
        return "ok", check_upload(text, label, max_draws)
    except ChokepointError as exc:
        return "invalid", one_line(str(exc))
    except RecursionError:
        return "invalid", f"{label}: the file is nested too deeply to read"
    except MemoryError:
        return "invalid", f"{label}: the file needs too much memory to read"
    except Exception:
        return "bug", traceback.format_exc()


def _limit_memory(headroom: int) -> None:
    """Let the process grow by at most ``headroom`` bytes of address space from now on."""
    try:
        import resource

        status = open("/proc/self/status", encoding="ascii").read()  # Linux
        size_kib = int(status.split("VmSize:")[1].split()[0])
        _, hard = resource.getrlimit(resource.RLIMIT_AS)
        soft = size_kib * 1024 + headroom
        if hard == resource.RLIM_INFINITY or soft < hard:
            resource.setrlimit(resource.RLIMIT_AS, (soft, hard))
    except (ImportError, OSError, ValueError, IndexError):
        pass  # no limit where the system cannot tell or set it; the time limit still holds


def _serve(connection: Connection, memory_headroom: int | None) -> None:
    """A checker process: load what a check needs, limit its memory from there, then answer
    checks until told to stop."""
    from chokepoint.network.container import load_default
    from chokepoint.scenario import Scenario  # noqa: F401  (imported before the limit)

    _network_cache.append(load_default())
    if memory_headroom:
        _limit_memory(memory_headroom)
    serve_requests(connection, lambda request: _answer(*request))


class ScenarioChecker:
    """Check uploads on up to ``workers`` processes; each check at most ``timeout`` s."""

    def __init__(
        self,
        *,
        timeout: float = CHECK_TIMEOUT,
        workers: int = 1,
        memory_headroom: int | None = MEMORY_HEADROOM,
        startup_timeout: float = 120.0,
    ) -> None:
        self.timeout = timeout
        self.pool = WorkerPool(
            _serve,
            (memory_headroom,),
            size=workers,
            name="chokepoint-checker",
            startup_timeout=startup_timeout,
        )

    def warm(self) -> None:
        """Start a checker process now (on a thread), so that the first upload is quick."""
        self.pool.warm()

    def check(self, text: str, label: str, max_draws: int) -> Scenario:
        """The checked scenario, or ScenarioError (one line) saying what is wrong. Blocks:
        call it from a worker thread, not from the event loop."""
        worker = self.pool.acquire(self.timeout)
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
            self.pool.release(worker, healthy)
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
        """Stop the checker processes."""
        self.pool.close()
