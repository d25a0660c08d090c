"""Runs for the web app: simulations in a pool of worker threads, never in a request, and
kept in the run store so that they outlive the server.

A :class:`RunManager` lives on the app (``app.state.runs``): it holds the network, the
uploaded scenarios and the runs in progress, each behind a lock. A finished run is written
to the store (its files in the store's folder, a record in its database); the manager
keeps the last ``keep`` finished runs in memory and reads older ones, and the runs of
earlier servers or of ``chokepoint run --out``, back from the store. At most
``max_pending`` runs wait or run at once.
"""

from __future__ import annotations

import json
import logging
import secrets
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from chokepoint.errors import ChokepointError

if TYPE_CHECKING:
    from chokepoint.network.container import SupplyNetwork
    from chokepoint.reporting.data import RunData
    from chokepoint.scenario import Scenario
    from chokepoint.store import RunRecord, RunStore

logger = logging.getLogger(__name__)


class Busy(ChokepointError):
    """Too many runs are waiting; the client should try again later."""


class FilesGone(ChokepointError):
    """A recorded run whose files were moved or deleted."""


@dataclass
class Run:
    """One simulation; fields change under ``lock`` only. ``record`` is set once the run is
    in the store; ``scenario`` only while it runs in this server."""

    id: str
    label: str
    scenario_name: str
    settings: str
    source: str = "dashboard"
    scenario: Scenario | None = None
    created: float = field(default_factory=time.time)
    status: str = "queued"
    done: int = 0
    total: int = 0
    error: str | None = None
    finished: float | None = None
    record: RunRecord | None = None
    payload: dict[str, Any] | None = None
    lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    @classmethod
    def of_record(cls, record: RunRecord) -> Run:
        """A finished run read back from the store."""
        draws = record.draws or 0
        return cls(
            id=record.id,
            label=record.label,
            scenario_name=record.scenario,
            settings=record.settings,
            source=record.source,
            created=record.created,
            status="done",
            done=draws,
            total=draws,
            finished=record.created,
            record=record,
        )

    def snapshot(self) -> dict[str, Any]:
        """The run's state for the API (no results)."""
        with self.lock:
            return {
                "id": self.id,
                "label": self.label,
                "scenario": self.scenario_name,
                "settings": self.settings,
                "source": self.source,
                "status": self.status,
                "progress": {"done": self.done, "total": self.total},
                "error": self.error,
                "created": self.created,
                "finished": self.finished,
            }


def listing(record: RunRecord) -> dict[str, Any]:
    """What the dashboard's list of past runs shows of a recorded run (no local paths)."""
    return {
        "id": record.id,
        "created": record.created,
        "source": record.source,
        "label": record.label,
        "scenario": record.scenario,
        "settings": record.settings,
        "draws": record.draws,
        "seed": record.seed,
        "data_version": record.data_version,
        "package_version": record.package_version,
        "key_numbers": record.summary,
        "available": (Path(record.folder) / "result.json").is_file(),
    }


class RunManager:
    """Queue runs on worker threads, store them, hand them out by id."""

    def __init__(
        self,
        *,
        store: RunStore,
        workers: int = 2,
        keep: int = 50,
        max_pending: int = 8,
        network_loader: Callable[[], SupplyNetwork] | None = None,
    ) -> None:
        self.store = store
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
        from chokepoint.store import new_run_id

        run = Run(new_run_id(), label, scenario.name, settings, scenario=scenario)
        run.total = scenario.draws
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
        """A run of this server, or one recorded in the store (KeyError if neither)."""
        with self._lock:
            if run_id in self._runs:
                self._runs.move_to_end(run_id)
                return self._runs[run_id]
        record = self.store.get(run_id)  # KeyError if not recorded
        with self._lock:
            run = self._runs.setdefault(record.id, Run.of_record(record))
            self._forget_old()
        return run

    def past(self, limit: int = 50, offset: int = 0) -> dict[str, Any]:
        """Recorded runs, newest first, and how many there are."""
        records = self.store.runs(limit=limit, offset=offset)
        return {"runs": [listing(r) for r in records], "total": self.store.count()}

    def _forget_old(self) -> None:
        finished = [r for r in self._runs.values() if r.status in ("done", "failed")]
        for run in finished[: max(len(finished) - self.keep, 0)]:
            del self._runs[run.id]

    # ------------------------------------------------------------------ what runs gave

    def folder(self, run: Run) -> Path:
        """The folder of a finished run's files (FilesGone if they are not there)."""
        if run.record is None:
            raise FilesGone(f"run {run.id} has no files")
        folder = Path(run.record.folder)
        if not (folder / "result.json").is_file():
            raise FilesGone(
                f"run {run.id}: its files are no longer where they were written (moved or deleted)"
            )
        return folder

    def run_data(self, run: Run) -> RunData:
        """A finished run's tables, read from its files (its scenario too when known)."""
        from chokepoint.reporting.data import RunData
        from chokepoint.scenario import Scenario

        folder = self.folder(run)
        data = RunData.from_folder(folder, run.label)
        written = folder / "scenario.yaml"
        if data.scenario is None and written.is_file():
            label = str(data.metadata.get("scenario_file") or "scenario.yaml")
            data.scenario = Scenario.from_text(written.read_text(encoding="utf-8"), label=label)
        return data

    def network_for(self, data: RunData) -> SupplyNetwork | None:
        """The network a run used, if it can be found again with the same data version."""
        from chokepoint.reporting.data import network_of

        network = self.network()
        meta = data.metadata
        if meta.get("network") == "default" and meta.get("data_version") == network.data_version:
            return network
        try:
            return network_of(data)
        except (ChokepointError, OSError):
            return None

    def payload(self, run: Run) -> dict[str, Any]:
        """What the dashboard shows of a finished run (built once, then kept)."""
        with run.lock:
            if run.payload is not None:
                return run.payload
        data = self.run_data(run)
        summary = json.loads((self.folder(run) / "result.json").read_text(encoding="utf-8"))
        payload = build_payload(data, self.network_for(data), summary)
        with run.lock:
            run.payload = payload
        return payload

    # ---------------------------------------------------------------------- execution

    def _execute(self, run: Run) -> None:
        from chokepoint.simulation.run import simulate

        with run.lock:
            run.status = "running"

        def progress(done: int, total: int) -> None:
            with run.lock:
                run.done, run.total = done, total

        try:
            network = self.network()
            scenario = run.scenario
            assert scenario is not None
            results = simulate(
                scenario, network, progress=progress, chunk_size=max(16, -(-scenario.draws // 8))
            )
            record, payload = self._keep(run, results, network)
        except ChokepointError as exc:
            self._fail(run, " ".join(str(exc).split()))
        except OSError as exc:
            logger.exception("run %s (%s) could not be stored", run.id, run.label)
            self._fail(run, f"the run could not be saved in the run store ({exc.strerror})")
        except Exception:  # a bug, not the user's input: log it, tell the user little
            logger.exception("run %s (%s) failed", run.id, run.label)
            self._fail(run, "the simulation failed with an internal error; see the server log")
        else:
            with run.lock:
                run.record, run.payload, run.scenario = record, payload, None
                run.status, run.finished = "done", time.time()

    def _keep(self, run: Run, results, network: SupplyNetwork) -> tuple[RunRecord, dict]:
        """Write a finished run's files and record into the store."""
        from chokepoint.reporting.charts import Catalog
        from chokepoint.reporting.data import RunData
        from chokepoint.store.record import record_of
        from chokepoint.web.knobs import scenario_yaml

        folder = self.store.run_folder(run.id)
        results.write(folder)
        (folder / "scenario.yaml").write_text(scenario_yaml(results.scenario), encoding="utf-8")
        data = RunData.from_results(results, run.label)
        names = Catalog.of(network).names
        record = record_of(
            data,
            run_id=run.id,
            source="dashboard",
            folder=folder,
            owned=True,
            settings=run.settings,
            names=names,
        )
        payload = build_payload(data, network, results.to_dict())
        self.store.add(record)
        return record, payload

    @staticmethod
    def _fail(run: Run, message: str) -> None:
        with run.lock:
            run.status, run.error, run.finished = "failed", message, time.time()

    def shutdown(self) -> None:
        with self._lock:
            executor, self._executor = self._executor, None
        if executor is not None:
            executor.shutdown(wait=True, cancel_futures=True)


def build_payload(
    run: RunData, network: SupplyNetwork | None, summary: dict[str, Any]
) -> dict[str, Any]:
    """What the dashboard shows for a finished run: key numbers, charts and the summary."""
    from chokepoint.reporting.charts import Catalog
    from chokepoint.reporting.data import key_numbers
    from chokepoint.reporting.figures import dashboard_figures

    return {
        "key_numbers": key_numbers(run, Catalog.of(network).names),
        "figures": dashboard_figures(run, network),
        "summary": summary,
    }
