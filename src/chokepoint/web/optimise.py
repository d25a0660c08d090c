"""The dashboard's "find the cheapest mix": ``chokepoint.optimise`` in a worker process.

``POST /api/optimise`` queues a search (a preset or an uploaded scenario, a target such as
``pstop:car_bev@EU27<=0.05``, the draws to fit on and the fresh draws to check on);
``GET /api/optimise/{id}`` gives its status, the solver's progress lines and, when done,
the portfolio, its cost and the in-sample and out-of-sample risk side by side. Solves run
in their own worker process (one at a time, at a lower CPU priority), never on the event
loop nor in the server's process, like runs.
"""

from __future__ import annotations

import math
import secrets
import threading
import time
import traceback
from collections import OrderedDict
from dataclasses import dataclass, field
from multiprocessing.connection import Connection
from typing import TYPE_CHECKING, Any

from fastapi import FastAPI, Request
from pydantic import BaseModel, ConfigDict, Field
from starlette.exceptions import HTTPException

from chokepoint.errors import ChokepointError
from chokepoint.web.limits import clean_json
from chokepoint.web.workers import (
    JobThreads,
    ProcessWorker,
    WorkerPool,
    messages,
    one_line,
    run_on_worker,
    serve_requests,
)

if TYPE_CHECKING:
    from chokepoint.scenario import Scenario

MAX_FIT_DRAWS = 200
"""Most draws a dashboard search fits on (the bench solves 200 in well under a minute)."""

MAX_LINES = 40
"""Progress lines kept per search."""


class OptimiseRequest(BaseModel):
    """A search: a preset or an uploaded scenario, a target, draws to fit and to check."""

    model_config = ConfigDict(extra="forbid")

    preset: str | None = Field(None, max_length=100, description="name of a shipped preset")
    upload: str | None = Field(None, max_length=64, description="token from POST /api/scenarios")
    target: str = Field(
        "pstop:car_bev@EU27<=0.05",
        max_length=200,
        description="KIND[:PRODUCT@REGION]<=BOUND, e.g. pstop:car_bev@EU27<=0.05",
    )
    draws: int = Field(50, ge=1, le=MAX_FIT_DRAWS, description="draws the portfolio is fitted on")
    check_draws: int = Field(200, ge=0, description="fresh draws of the engine check (0: none)")
    budget: float | None = Field(None, ge=0, description="EUR; the targets become soft")


@dataclass
class Search:
    """One search; fields change under ``lock`` only."""

    id: str
    label: str
    order: dict[str, Any]
    scenario: Scenario | None = None
    created: float = field(default_factory=time.time)
    status: str = "queued"
    lines: list[str] = field(default_factory=list)
    error: str | None = None
    result: dict[str, Any] | None = None
    finished: float | None = None
    lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def snapshot(self) -> dict[str, Any]:
        with self.lock:
            return clean_json(
                {
                    "id": self.id,
                    "label": self.label,
                    "target": self.order["target"],
                    "draws": self.order["draws"],
                    "check_draws": self.order["check_draws"],
                    "status": self.status,
                    "progress": list(self.lines),
                    "error": self.error,
                    "result": self.result,
                    "created": self.created,
                    "finished": self.finished,
                }
            )


def search_result(solution: Any, check: Any) -> dict[str, Any]:
    """What the dashboard shows of a solved search (plain JSON)."""
    portfolio = solution.portfolio()
    chosen = portfolio[portfolio["amount"] > 0]
    risk = solution.risk()
    return {
        "cost": float(solution.cost),
        "solver_status": solution.status,
        "seconds": float(solution.seconds),
        "method": solution.method,
        "portfolio": chosen.to_dict(orient="records"),
        "candidates": int(len(portfolio)),
        "in_sample": risk.to_dict(orient="records"),
        "check": [] if check is None else check.to_dict(orient="records"),
    }


def optimise_job(connection: Connection, job: dict[str, Any]) -> tuple:
    """Solve one search, sending its progress lines; the final answer."""
    from chokepoint.optimise.run import optimise

    def progress(message: str) -> None:
        connection.send(("progress", one_line(message)))

    try:
        solution, check = optimise(
            job["scenario"],
            job["target"],
            draws=job["draws"],
            budget=job["budget"],
            check_draws=job["check_draws"],
            time_limit=job.get("time_limit", 120.0),
            progress=progress,
        )
        return "done", search_result(solution, check)
    except ChokepointError as exc:
        return "failed", one_line(str(exc))
    except Exception:
        return "bug", traceback.format_exc()


def serve_searches(connection: Connection) -> None:
    """A search worker process: import the optimiser, then solve jobs until told to stop."""
    import chokepoint.optimise.run  # noqa: F401  (imported once, before the first job)

    serve_requests(connection, lambda request: optimise_job(connection, request))


class SearchManager:
    """Queue searches on a worker process (one at a time); hand them out by id."""

    def __init__(self, *, keep: int = 20, max_pending: int = 4) -> None:
        self.keep = keep
        self.max_pending = max_pending
        self._lock = threading.Lock()
        self._searches: OrderedDict[str, Search] = OrderedDict()
        self.pool = WorkerPool(serve_searches, size=1, name="chokepoint-optimise")
        self._threads = JobThreads(self.pool, 1, "chokepoint-optimise")

    def submit(self, scenario: Scenario, order: dict[str, Any], label: str) -> Search:
        from chokepoint.optimise.targets import parse_targets

        parse_targets(order["target"])  # a bad target is a 422 now, not a failed search
        search = Search(secrets.token_hex(8), label, order, scenario=scenario)
        with self._lock:
            pending = sum(s.status in ("queued", "running") for s in self._searches.values())
            if pending >= self.max_pending:
                from chokepoint.web.runs import Busy

                raise Busy(f"{pending} searches are waiting or running; try again later")
            self._searches[search.id] = search
            done = [s for s in self._searches.values() if s.status in ("done", "failed")]
            for old in done[: max(len(done) - self.keep, 0)]:
                del self._searches[old.id]
        self._threads.submit(self._execute, search)
        return search

    def get(self, search_id: str) -> Search:
        with self._lock:
            return self._searches[search_id]

    def _execute(self, search: Search) -> None:
        run_on_worker(
            self.pool,
            lambda worker: self._follow(search, worker),
            lambda message: self._end(search, "failed", error=message),
        )

    def _follow(self, search: Search, worker: ProcessWorker) -> bool:
        job = {**search.order, "scenario": search.scenario}
        with search.lock:
            search.status = "running"
        for message in messages(worker, job, self._threads.stopping):
            kind = message[0]
            if kind == "stopped":
                self._end(search, "failed", error="the server stopped before the search ended")
                return False
            if kind == "lost":
                self._end(search, "failed", error="the search stopped unexpectedly (memory?)")
                return False
            if kind == "progress":
                with search.lock:
                    search.lines = [*search.lines, message[1]][-MAX_LINES:]
                continue
            if kind == "done":
                self._end(search, "done", result=message[1])
            elif kind == "failed":
                self._end(search, "failed", error=message[1])
            else:
                import logging

                logging.getLogger(__name__).error("search %s failed:\n%s", search.id, message[1])
                self._end(search, "failed", error="the search failed with an internal error")
            return True
        return False  # not reached: the messages end with "stopped" or "lost"

    @staticmethod
    def _end(search: Search, status: str, *, error: str | None = None, result=None) -> None:
        with search.lock:
            search.status, search.error, search.result = status, error, result
            search.finished, search.scenario = time.time(), None

    def shutdown(self) -> None:
        self._threads.shutdown()


def _searches(request: Request) -> SearchManager:
    return request.app.state.searches


def add_optimise_routes(app: FastAPI) -> None:
    """``POST /api/optimise`` and ``GET /api/optimise/{id}``."""

    @app.post("/api/optimise", tags=["optimise"], status_code=202)
    def start_search(request: Request, order: OptimiseRequest) -> dict[str, Any]:
        """Find the cheapest mix of the shipped measure catalogue that meets the target,
        fitted on ``draws`` draws and checked by the engine on ``check_draws`` fresh ones;
        poll ``GET /api/optimise/{id}`` for progress and the answer."""
        if (order.preset is None) == (order.upload is None):
            raise HTTPException(422, "give either 'preset' or 'upload'")
        if order.check_draws > request.app.state.max_draws:
            raise HTTPException(
                422, f"check_draws: at most {request.app.state.max_draws} on this server"
            )
        if order.budget is not None and not math.isfinite(order.budget):
            raise HTTPException(422, "budget: a finite amount in EUR")
        if order.preset is not None:
            from chokepoint.scenario import load_scenario, preset_names

            if order.preset not in preset_names():
                raise HTTPException(404, f"no preset '{order.preset[:60]}'")
            scenario = load_scenario(order.preset)
        else:
            try:
                scenario = request.app.state.runs.upload(str(order.upload))
            except KeyError:
                raise HTTPException(404, "no such upload (it may have expired)") from None
        job = order.model_dump(include={"target", "draws", "check_draws", "budget"})
        label = f"{scenario.name}: {order.target}"
        return _searches(request).submit(scenario, job, label).snapshot()

    @app.get("/api/optimise/{search_id}", tags=["optimise"])
    async def search_state(request: Request, search_id: str) -> dict[str, Any]:
        """A search's status, progress lines and, when done, its answer."""
        try:
            return _searches(request).get(search_id[:64]).snapshot()
        except KeyError:
            raise HTTPException(404, f"no search '{search_id[:40]}'") from None
