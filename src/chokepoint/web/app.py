"""The web app: a JSON API over presets, uploads and runs, and the dashboard page.

``create_app()`` builds a FastAPI app whose state (runs, uploads, network) lives on the app
object. Errors come back as ``{"error": "one clear message"}`` with a 4xx status, never a
traceback; an unexpected failure is logged on the server and reported as a 500 in a line.
OpenAPI docs are served at ``/docs``.
"""

from __future__ import annotations

import io
import logging
import re
import tempfile
import zipfile
from contextlib import asynccontextmanager
from importlib import resources
from pathlib import Path
from typing import Annotated, Any

from fastapi import FastAPI, File, Query, Request, UploadFile
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, JSONResponse, Response
from fastapi.staticfiles import StaticFiles
from pydantic import BaseModel, ConfigDict, Field
from starlette.exceptions import HTTPException

from chokepoint.errors import ChokepointError
from chokepoint.web.knobs import Knobs, apply_knobs, knob_defaults, resolve_knobs
from chokepoint.web.limits import BodyLimit, clean_json
from chokepoint.web.runs import Busy, RunManager

logger = logging.getLogger(__name__)

UPLOAD_LIMIT = 256 * 1024
"""Largest scenario file accepted, in bytes."""


class RunRequest(BaseModel):
    """A run: a preset or an uploaded scenario, the knobs, draws and seed."""

    model_config = ConfigDict(extra="forbid")

    preset: str | None = Field(None, max_length=100, description="name of a shipped preset")
    upload: str | None = Field(None, max_length=64, description="token from POST /api/scenarios")
    draws: int | None = Field(None, ge=1, description="Monte Carlo draws (default: scenario's)")
    seed: int | None = Field(None, ge=0, le=2**63 - 1)
    knobs: Knobs = Field(default_factory=Knobs)


def _error(status: int, message: str) -> JSONResponse:
    return JSONResponse({"error": message}, status_code=status)


def _static_folder() -> Path:
    return Path(str(resources.files("chokepoint.web") / "static"))


def create_app(
    *,
    workers: int = 2,
    max_draws: int = 2000,
    upload_limit: int = UPLOAD_LIMIT,
    max_pending: int = 8,
) -> FastAPI:
    """The dashboard and its API. ``workers`` runs execute at once; each may have at most
    ``max_draws`` draws; uploads are at most ``upload_limit`` bytes."""
    manager = RunManager(workers=workers, max_pending=max_pending)

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        yield
        manager.shutdown()

    app = FastAPI(
        title="chokepoint",
        summary="Stress-test EU supply chains against export controls.",
        description="Run scenario presets or uploaded scenarios, adjust licence validity, "
        "processing delay, approval rate, stockpiles and new capacity, and fetch the charts, "
        "the results and a self-contained HTML report.",
        lifespan=lifespan,
    )
    app.state.runs = manager
    app.state.max_draws = max_draws
    app.state.upload_limit = upload_limit
    app.state.plotly_js = None
    app.add_middleware(
        BodyLimit,
        limit=upload_limit + 16 * 1024,
        message=f"the request is too large: a scenario file may have at most "
        f"{upload_limit // 1024} KiB",
    )
    _handlers(app)
    _routes(app)
    app.mount("/static", StaticFiles(directory=_static_folder()), name="static")
    return app


def _handlers(app: FastAPI) -> None:
    @app.exception_handler(ChokepointError)
    async def input_error(request: Request, exc: ChokepointError) -> JSONResponse:
        status = 503 if isinstance(exc, Busy) else 422
        return _error(status, " ".join(str(exc).split()))

    @app.exception_handler(RequestValidationError)
    async def invalid_request(request: Request, exc: RequestValidationError) -> JSONResponse:
        problems = []
        for error in exc.errors()[:5]:
            where = ".".join(str(part) for part in error.get("loc", ()) if part != "body")
            problems.append(f"{where or 'request'}: {error.get('msg', 'invalid')}")
        return _error(422, "invalid request: " + "; ".join(problems))

    @app.exception_handler(HTTPException)
    async def http_error(request: Request, exc: HTTPException) -> JSONResponse:
        return _error(exc.status_code, str(exc.detail))

    @app.exception_handler(Exception)
    async def internal_error(request: Request, exc: Exception) -> JSONResponse:
        logger.exception("request %s %s failed", request.method, request.url.path)
        return _error(500, "internal error; the server log has the details")


def _run_or_404(request: Request, run_id: str):
    try:
        return request.app.state.runs.get(run_id)
    except KeyError:
        raise HTTPException(404, f"no run '{run_id[:40]}' (it may have expired)") from None


def _finished(request: Request, run_id: str):
    run = _run_or_404(request, run_id)
    state = run.snapshot()
    if state["status"] == "failed":
        raise HTTPException(409, f"the run failed: {state['error']}")
    if state["status"] != "done":
        raise HTTPException(409, f"the run is {state['status']}; try again when it is done")
    return run


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "-", text).strip("-")[:60] or "run"


def _routes(app: FastAPI) -> None:
    @app.get("/", response_class=HTMLResponse, include_in_schema=False)
    def dashboard() -> HTMLResponse:
        return HTMLResponse((_static_folder() / "index.html").read_text(encoding="utf-8"))

    @app.get("/vendor/plotly.min.js", include_in_schema=False)
    def plotly_js(request: Request) -> Response:
        state = request.app.state
        if state.plotly_js is None:
            from chokepoint.reporting.html import plotly_javascript

            state.plotly_js = plotly_javascript()
        return Response(
            state.plotly_js,
            media_type="text/javascript",
            headers={"Cache-Control": "public, max-age=86400"},
        )

    @app.get("/api/health", tags=["meta"])
    def health() -> dict[str, Any]:
        from chokepoint import __version__

        return {"status": "ok", "version": __version__}

    @app.get("/api/presets", tags=["scenarios"])
    def presets() -> list[dict[str, Any]]:
        """The scenario presets shipped with chokepoint."""
        from chokepoint.scenario import load_scenario, preset_names

        listed = []
        for name in preset_names():
            scenario = load_scenario(name)
            listed.append(
                {
                    "name": name,
                    "description": " ".join(scenario.description.split()),
                    "horizon_days": scenario.horizon_days,
                    "draws": scenario.draws,
                }
            )
        return listed

    @app.get("/api/presets/{name}", tags=["scenarios"])
    def preset(request: Request, name: str) -> dict[str, Any]:
        """A preset: its description, YAML text and the current values of the knobs."""
        scenario, path = _preset(name)
        return {
            **_describe(scenario, request),
            "name": name,
            "yaml": path.read_text(encoding="utf-8"),
        }

    @app.post("/api/scenarios", tags=["scenarios"], status_code=201)
    async def upload(request: Request, file: Annotated[UploadFile, File()]) -> dict[str, Any]:
        """Upload a scenario file (YAML, at most 256 KiB), validated like any scenario file
        and against the default network; returns a token to run it with."""
        limit = request.app.state.upload_limit
        content = await file.read(limit + 1)
        if len(content) > limit:
            raise HTTPException(
                413, f"the file is too large: a scenario file may have at most {limit // 1024} KiB"
            )
        if not content.strip():
            raise HTTPException(422, "the file is empty")
        try:
            text = content.decode("utf-8")
        except UnicodeDecodeError:
            raise HTTPException(422, "the file is not UTF-8 text (a scenario is YAML)") from None
        from chokepoint.scenario import Scenario
        from chokepoint.simulation.run import check_scenario

        label = f"upload:{_slug(Path(file.filename or 'scenario.yaml').name)}"
        scenario = Scenario.from_text(text, label=label)
        if scenario.network != "default":
            raise HTTPException(
                422,
                f"{label}, field 'network': uploaded scenarios run on the default network "
                f"only (got '{scenario.network[:80]}')",
            )
        manager: RunManager = request.app.state.runs
        check_scenario(scenario, manager.network())
        token = manager.add_upload(scenario)
        return {"token": token, **_describe(scenario, request)}

    @app.post("/api/runs", tags=["runs"], status_code=202)
    def start_run(request: Request, order: RunRequest) -> dict[str, Any]:
        """Start a run in a worker; poll ``GET /api/runs/{id}`` for progress."""
        manager: RunManager = request.app.state.runs
        if (order.preset is None) == (order.upload is None):
            raise HTTPException(422, "give either 'preset' or 'upload'")
        if order.preset is not None:
            scenario, _ = _preset(order.preset)
            source = order.preset
        else:
            try:
                scenario = manager.upload(str(order.upload))
            except KeyError:
                raise HTTPException(404, "no such upload (it may have expired)") from None
            source = f"upload {scenario.name}"
        draws = order.draws or scenario.draws
        if draws > request.app.state.max_draws:
            raise HTTPException(
                422, f"draws: at most {request.app.state.max_draws} on this server (got {draws})"
            )
        network = manager.network()
        knobs = resolve_knobs(scenario, order.knobs, network)
        settings = knobs.describe()
        adjusted = apply_knobs(
            scenario.with_overrides(draws=draws, seed=order.seed),
            knobs,
            network,
            label=f"dashboard:{_slug(source)}" + (" (adjusted)" if settings else ""),
        )
        from chokepoint.simulation.run import check_scenario

        check_scenario(adjusted, network)
        label = f"{scenario.name}" + (f" ({settings})" if settings else "")
        run = manager.submit(adjusted, label=label, settings=settings)
        return run.snapshot()

    @app.get("/api/runs/{run_id}", tags=["runs"])
    def run_state(request: Request, run_id: str) -> dict[str, Any]:
        """A run's status and progress (draws done of total)."""
        return _run_or_404(request, run_id).snapshot()

    @app.get("/api/runs/{run_id}/result", tags=["runs"])
    def run_result(request: Request, run_id: str) -> JSONResponse:
        """Key numbers, the dashboard's charts (Plotly JSON) and the result summary."""
        run = _finished(request, run_id)
        return JSONResponse(clean_json({**run.snapshot(), **run.payload}))

    @app.get("/api/runs/{run_id}/download", tags=["runs"])
    def run_download(request: Request, run_id: str) -> Response:
        """The results folder (result.json and Parquet tables) as a zip file."""
        run = _finished(request, run_id)
        buffer = io.BytesIO()
        with tempfile.TemporaryDirectory() as folder:
            written = run.results.write(Path(folder) / "result")
            with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
                for path in sorted(written.iterdir()):
                    archive.write(path, arcname=f"{_slug(run.scenario.name)}/{path.name}")
        name = f"chokepoint-{_slug(run.scenario.name)}-{run.id[:8]}.zip"
        return Response(
            buffer.getvalue(),
            media_type="application/zip",
            headers={"Content-Disposition": f'attachment; filename="{name}"'},
        )

    @app.get("/api/report", tags=["runs"], response_class=HTMLResponse)
    def report(request: Request, runs: Annotated[list[str], Query(max_length=4)]) -> HTMLResponse:
        """The self-contained HTML report on one run, or on up to four compared."""
        from chokepoint.reporting.data import RunData
        from chokepoint.reporting.html import build_report

        finished = [_finished(request, run_id) for run_id in runs]
        network = request.app.state.runs.network()
        data = [RunData.from_results(run.results, run.label) for run in finished]
        document = build_report(data, [network] * len(data))
        name = "chokepoint-report-" + "-vs-".join(_slug(r.scenario.name) for r in finished)
        return HTMLResponse(
            document,
            headers={"Content-Disposition": f'attachment; filename="{name[:120]}.html"'},
        )


def _preset(name: str):
    from chokepoint.scenario import load_scenario, preset_names, presets_folder

    if name not in preset_names():
        raise HTTPException(404, f"no preset '{name[:60]}' (presets: {', '.join(preset_names())})")
    return load_scenario(name), presets_folder() / f"{name}.yaml"


def _describe(scenario, request: Request) -> dict[str, Any]:
    network = request.app.state.runs.network()
    return {
        "scenario": scenario.name,
        "description": " ".join(scenario.description.split()),
        "start": scenario.start.isoformat(),
        "horizon_days": scenario.horizon_days,
        "events": [{"type": e.type, "kind": e.kind, "label": e.title} for e in scenario.events],
        "knobs": knob_defaults(scenario, network),
        "max_draws": request.app.state.max_draws,
    }
