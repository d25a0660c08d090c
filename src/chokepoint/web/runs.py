"""Runs for the web app: simulations in a pool of worker threads, never in a request.

A :class:`RunManager` lives on the app (``app.state.runs``): it holds the network, the
uploaded scenarios and the runs, each behind a lock. A run is known by a random id (a
capability: whoever has it can read the run; nothing lists other users' runs). Finished
runs beyond ``keep`` are forgotten, oldest first; at most ``max_pending`` wait at once.
"""

from __future__ import annotations

import logging
import secrets
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from chokepoint.errors import ChokepointError

if TYPE_CHECKING:
    from chokepoint.network.container import SupplyNetwork
    from chokepoint.scenario import Scenario
    from chokepoint.simulation.run import Results

logger = logging.getLogger(__name__)


class Busy(ChokepointError):
    """Too many runs are waiting; the client should try again later."""


@dataclass
class Run:
    """One simulation and what it produced; fields change under ``lock`` only."""

    id: str
    label: str
    scenario: Scenario
    settings: str
    created: float = field(default_factory=time.time)
    status: str = "queued"
    done: int = 0
    total: int = 0
    error: str | None = None
    finished: float | None = None
    results: Results | None = None
    payload: dict[str, Any] | None = None
    lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def snapshot(self) -> dict[str, Any]:
        """The run's state for the API (no results)."""
        with self.lock:
            return {
                "id": self.id,
                "label": self.label,
                "scenario": self.scenario.name,
                "settings": self.settings,
                "status": self.status,
                "progress": {"done": self.done, "total": self.total},
                "error": self.error,
                "created": self.created,
                "finished": self.finished,
            }


class RunManager:
    """Queue runs on worker threads, keep their results, hand them out by id."""

    def __init__(
        self,
        *,
        workers: int = 2,
        keep: int = 50,
        max_pending: int = 8,
        network_loader: Callable[[], SupplyNetwork] | None = None,
    ) -> None:
        self.workers = max(1, workers)
        self.keep = keep
        self.max_pending = max_pending
        self._network_loader = network_loader
        self._network: SupplyNetwork | None = None
        self._lock = threading.Lock()
        self._network_lock = threading.Lock()
        self._runs: OrderedDict[str, Run] = OrderedDict()
        self._uploads: OrderedDict[str, Scenario] = OrderedDict()
        self._executor: ThreadPoolExecutor | None = None

    # ------------------------------------------------------------------------ network

    def network(self) -> SupplyNetwork:
        """The default network, loaded once on first use (not under the runs' lock, so a
        slow first load does not hold up other requests)."""
        with self._network_lock:
            if self._network is None:
                if self._network_loader is None:
                    from chokepoint.network.container import load_default

                    self._network = load_default()
                else:
                    self._network = self._network_loader()
            return self._network

    # ------------------------------------------------------------------------ uploads

    def add_upload(self, scenario: Scenario, limit: int = 100) -> str:
        token = secrets.token_urlsafe(12)
        with self._lock:
            self._uploads[token] = scenario
            while len(self._uploads) > limit:
                self._uploads.popitem(last=False)
        return token

    def upload(self, token: str) -> Scenario:
        with self._lock:
            if token not in self._uploads:
                raise KeyError(token)
            return self._uploads[token]

    # --------------------------------------------------------------------------- runs

    def submit(self, scenario: Scenario, *, label: str, settings: str = "") -> Run:
        """Queue a run of ``scenario`` (draws and seed already set); raise Busy if full."""
        run = Run(secrets.token_urlsafe(12), label, scenario, settings, total=scenario.draws)
        with self._lock:
            pending = sum(r.status in ("queued", "running") for r in self._runs.values())
            if pending >= self.max_pending:
                raise Busy(
                    f"{pending} runs are waiting or running; try again when one has finished"
                )
            self._runs[run.id] = run
            self._forget_old()
            if self._executor is None:
                self._executor = ThreadPoolExecutor(
                    max_workers=self.workers, thread_name_prefix="chokepoint-run"
                )
            executor = self._executor
        executor.submit(self._execute, run)
        return run

    def get(self, run_id: str) -> Run:
        with self._lock:
            if run_id not in self._runs:
                raise KeyError(run_id)
            return self._runs[run_id]

    def _forget_old(self) -> None:
        finished = [r for r in self._runs.values() if r.status in ("done", "failed")]
        for run in finished[: max(len(finished) - self.keep, 0)]:
            del self._runs[run.id]

    def _execute(self, run: Run) -> None:
        from chokepoint.simulation.run import simulate

        with run.lock:
            run.status = "running"

        def progress(done: int, total: int) -> None:
            with run.lock:
                run.done, run.total = done, total

        try:
            network = self.network()
            draws = run.scenario.draws
            results = simulate(
                run.scenario,
                network,
                progress=progress,
                chunk_size=max(16, -(-draws // 8)),
            )
            payload = build_payload(results, network, run.label)
        except ChokepointError as exc:
            self._fail(run, " ".join(str(exc).split()))
        except Exception:  # a bug, not the user's input: log it, tell the user little
            logger.exception("run %s (%s) failed", run.id, run.label)
            self._fail(run, "the simulation failed with an internal error; see the server log")
        else:
            with run.lock:
                run.results, run.payload = results, payload
                run.status, run.finished = "done", time.time()

    @staticmethod
    def _fail(run: Run, message: str) -> None:
        with run.lock:
            run.status, run.error, run.finished = "failed", message, time.time()

    def shutdown(self) -> None:
        with self._lock:
            executor, self._executor = self._executor, None
        if executor is not None:
            executor.shutdown(wait=True, cancel_futures=True)


def build_payload(results: Results, network: SupplyNetwork, label: str) -> dict[str, Any]:
    """What the dashboard shows for a finished run: key numbers, charts and the summary."""
    from chokepoint.reporting.charts import Catalog
    from chokepoint.reporting.data import RunData, key_numbers
    from chokepoint.reporting.figures import dashboard_figures

    run = RunData.from_results(results, label)
    catalog = Catalog.of(network)
    return {
        "key_numbers": key_numbers(run, catalog.names, catalog.aggregates),
        "figures": dashboard_figures(run, network),
        "summary": results.to_dict(),
    }
