"""Runs for the web app: simulations in worker processes (:mod:`chokepoint.web.runjobs`),
never in a request nor in the server's process, kept in the run store so that they outlive
the server.

A :class:`RunManager` lives on the app (``app.state.runs``): it holds the network, the
uploaded scenarios and the runs in progress, each behind a lock; a thread per running run
follows its worker's progress. A worker writes a finished run's files into the store's
folder and sends back its record (added to the store's database here) and its dashboard
payload. The manager keeps the last ``keep`` finished runs in memory and reads older ones,
and the runs of earlier servers or of ``chokepoint run --out``, back from the store. At
most ``max_pending`` runs wait or run at once.
"""

from __future__ import annotations

import json
import logging
import secrets
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any

from chokepoint.errors import ChokepointError
from chokepoint.web.runjobs import build_payload, payload_json, serve_runs
from chokepoint.web.workers import JobThreads, ProcessWorker, WorkerPool, messages, run_on_worker

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


HEAVY_WAIT = 30.0
"""Seconds a request waits for its turn at heavy work (charts, reports, zips) before 503."""


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
    view: bytes | None = None
    lock: threading.Lock = field(default_factory=threading.Lock, repr=False)
    building: threading.Lock = field(default_factory=threading.Lock, repr=False)

    @classmethod
    def of_record(cls, record: RunRecord) -> Run:
        """A finished run read back from the store."""
        draws = record.draws or 0
        same = {name: getattr(record, name) for name in ("id", "label", "settings", "source")}
        return cls(
            **same,
            scenario_name=record.scenario,
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
        self._heavy = threading.BoundedSemaphore(self.workers)
        self.pool = WorkerPool(serve_runs, size=self.workers, name="chokepoint-run")
        self._threads = JobThreads(self.pool, self.workers, "chokepoint-run")

    @contextmanager
    def heavy(self) -> Iterator[None]:
        """A turn at heavy work for a request (at most ``workers`` at once, so that many
        clients asking for reports cannot starve the server); Busy after a wait."""
        if not self._heavy.acquire(timeout=HEAVY_WAIT):
            raise Busy("the server is busy making charts and reports; try again shortly")
        try:
            yield
        finally:
            self._heavy.release()

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
        self._threads.submit(self._execute, run)
        return run

    def live(self, run_id: str) -> Run | None:
        """A run this server holds in memory, or None (no store lookup)."""
        with self._lock:
            return self._runs.get(run_id)

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

    def _view(self, run: Run) -> bytes:
        """The dashboard's payload of a finished run as JSON bytes: made by the run's worker
        process, or (for a run read back from the store) here, once, at heavy-work pace."""
        with run.building:
            with run.lock:
                if run.view is not None:
                    return run.view
            with self.heavy():
                data = self.run_data(run)
                text = (self.folder(run) / "result.json").read_text(encoding="utf-8")
                view = payload_json(build_payload(data, self.network_for(data), json.loads(text)))
            with run.lock:
                run.view = view
            return view

    def payload(self, run: Run) -> dict[str, Any]:
        """What the dashboard shows of a finished run: key numbers, figures, summary."""
        with run.lock:
            if run.payload is not None:
                return run.payload
        payload = json.loads(self._view(run))
        with run.lock:
            run.payload = payload
        return payload

    def result_json(self, run: Run) -> bytes:
        """The run's state and payload as one JSON object, in bytes (no re-encoding per
        request: a client that asks again and again costs little)."""
        state = json.dumps(run.snapshot(), ensure_ascii=False).encode("utf-8")
        return state[:-1] + b", " + self._view(run)[1:]  # two objects, no key in common

    # ---------------------------------------------------------------------- execution

    def _execute(self, run: Run) -> None:
        """Run ``run`` in a worker process, following its progress (a thread per run)."""
        run_on_worker(self.pool, lambda worker: self._follow(run, worker), partial(self._fail, run))

    def _follow(self, run: Run, worker: ProcessWorker) -> bool:
        """Send the job and read the worker's messages; whether the worker is still sound."""
        assert run.scenario is not None
        job = {
            "id": run.id,
            "scenario": run.scenario,
            "folder": str(self.store.run_folder(run.id)),
            "label": run.label,
            "settings": run.settings,
            "created": run.created,
        }
        with run.lock:
            run.status = "running"
        for message in messages(worker, job, self._threads.stopping):
            kind = message[0]
            if kind == "stopped":
                self._fail(run, "the server stopped before the run ended")
                return False
            if kind == "lost":
                logger.error("the worker process of run %s (%s) stopped", run.id, run.label)
                self._fail(run, "the simulation stopped unexpectedly (out of memory?)")
                return False
            if kind == "progress":
                with run.lock:
                    run.done, run.total = message[1], message[2]
                continue
            if kind == "done":
                return self._finish(run, message[1], message[2])
            if kind == "failed":
                self._fail(run, message[1])
            else:  # a bug, not the user's input: log it, tell the user little
                logger.error("run %s (%s) failed:\n%s", run.id, run.label, message[1])
                self._fail(run, "the simulation failed with an internal error; see the server log")
            return True
        return False  # not reached: the messages end with "stopped" or "lost"

    def _finish(self, run: Run, record: RunRecord, view: bytes) -> bool:
        try:
            self.store.add(record)
        except ChokepointError as exc:
            self._fail(run, f"the run could not be recorded in the run store: {exc}")
            return True
        with run.lock:
            run.record, run.view, run.scenario = record, view, None
            run.status, run.finished = "done", time.time()
        return True

    @staticmethod
    def _fail(run: Run, message: str) -> None:
        with run.lock:
            run.status, run.error, run.finished = "failed", message, time.time()

    def warm(self) -> None:
        """Start the run worker processes now, so that the first run starts at once."""
        self.pool.warm(self.workers)

    def shutdown(self) -> None:
        """Stop: runs still going fail, worker processes end."""
        self._threads.shutdown()
