"""The routes of the web app: the dashboard page, presets, uploads, runs (new and past),
their results, charts as CSV, downloads and reports.

Scenario text from clients is read and checked in the checker's processes; everything
else that takes time runs in worker threads (plain ``def`` routes), never on the event
loop, which only moves bytes and answers ``/api/health``.
"""

from __future__ import annotations

import io
import zipfile
from importlib import resources
from pathlib import Path
from typing import Annotated, Any

from fastapi import FastAPI, File, Query, Request, UploadFile
from fastapi import Path as PathParameter
from fastapi.responses import HTMLResponse, Response
from pydantic import BaseModel, ConfigDict, Field
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException

from chokepoint.web.knobs import Knobs, apply_knobs, knob_defaults, resolve_knobs
from chokepoint.web.limits import clean_json, safe_name
from chokepoint.web.runs import Run, RunManager

RunId = Annotated[str, PathParameter(max_length=64, description="run id")]


class RunRequest(BaseModel):
    """A run: a preset or an uploaded scenario, the knobs, draws and seed."""

    model_config = ConfigDict(extra="forbid")

    preset: str | None = Field(None, max_length=100, description="name of a shipped preset")
    upload: str | None = Field(None, max_length=64, description="token from POST /api/scenarios")
    draws: int | None = Field(None, ge=1, description="Monte Carlo draws (default: scenario's)")
    seed: int | None = Field(None, ge=0, le=2**63 - 1)
    knobs: Knobs = Field(default_factory=Knobs)


def _manager(request: Request) -> RunManager:
    return request.app.state.runs


def _run_or_404(request: Request, run_id: str) -> Run:
    try:
        return _manager(request).get(run_id)
    except KeyError:
        raise HTTPException(404, f"no run '{run_id[:40]}'") from None


def _finished(request: Request, run_id: str) -> Run:
    run = _run_or_404(request, run_id)
    state = run.snapshot()
    if state["status"] == "failed":
        raise HTTPException(409, f"the run failed: {state['error']}")
    if state["status"] != "done":
        raise HTTPException(409, f"the run is {state['status']}; try again when it is done")
    return run


def _attachment(name: str) -> dict[str, str]:
    return {"Content-Disposition": f'attachment; filename="{name}"'}


def _preset(name: str):
    from chokepoint.scenario import load_scenario, preset_names, presets_folder

    if name not in preset_names():
        raise HTTPException(404, f"no preset '{name[:60]}' (presets: {', '.join(preset_names())})")
    return load_scenario(name), presets_folder() / f"{name}.yaml"


def _describe(scenario, request: Request) -> dict[str, Any]:
    network = _manager(request).network()
    return {
        "scenario": scenario.name,
        "description": " ".join(scenario.description.split()),
        "start": scenario.start.isoformat(),
        "horizon_days": scenario.horizon_days,
        "events": [{"type": e.type, "kind": e.kind, "label": e.title} for e in scenario.events],
        "knobs": knob_defaults(scenario, network),
        "max_draws": request.app.state.max_draws,
    }


def _accept_upload(request: Request, text: str, label: str) -> dict[str, Any]:
    state = request.app.state
    scenario = state.checker.check(text, label, state.max_draws)
    token = _manager(request).add_upload(scenario)
    with _manager(request).heavy():
        return {"token": token, **_describe(scenario, request)}


def add_routes(app: FastAPI) -> None:
    """Add the dashboard's page and the API's routes to ``app``."""
    _page_routes(app)
    _scenario_routes(app)
    _run_routes(app)
    _output_routes(app)
    from chokepoint.web.optimise import add_optimise_routes

    add_optimise_routes(app)


def static_folder() -> Path:
    """The dashboard's page, script and styles."""
    return Path(str(resources.files("chokepoint.web") / "static"))


def _page_routes(app: FastAPI) -> None:
    @app.get("/", response_class=HTMLResponse, include_in_schema=False)
    def dashboard() -> HTMLResponse:
        return HTMLResponse((static_folder() / "index.html").read_text(encoding="utf-8"))

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
    async def health() -> dict[str, Any]:
        """Answered on the event loop, whatever the workers are doing."""
        from chokepoint import __version__

        return {"status": "ok", "version": __version__}


def _scenario_routes(app: FastAPI) -> None:
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
        with _manager(request).heavy():
            scenario, path = _preset(name)
            described = _describe(scenario, request)
        return {**described, "name": name, "yaml": path.read_text("utf-8")}

    @app.post("/api/scenarios", tags=["scenarios"], status_code=201)
    async def upload(request: Request, file: Annotated[UploadFile, File()]) -> dict[str, Any]:
        """Upload a scenario file (YAML, at most 256 KiB). It is read and checked in a
        separate process, within a time limit, like any scenario file and against the
        default network, up to the first simulated day; returns a token to run it with."""
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
        name = safe_name(Path(file.filename or "scenario.yaml").name, "scenario.yaml")
        return await run_in_threadpool(_accept_upload, request, text, f"upload:{name}")


def _run_routes(app: FastAPI) -> None:
    @app.post("/api/runs", tags=["runs"], status_code=202)
    def start_run(request: Request, order: RunRequest) -> dict[str, Any]:
        """Start a run in a worker; poll ``GET /api/runs/{id}`` for progress. The run is
        checked up to its first simulated day first: bad knobs are a 422 here."""
        from chokepoint.web.checker import dry_run

        manager = _manager(request)
        if (order.preset is None) == (order.upload is None):
            raise HTTPException(422, "give either 'preset' or 'upload'")
        with manager.heavy():  # a few at a time, so that a burst cannot starve the server
            if order.preset is not None:
                scenario, _ = _preset(order.preset)
                source = order.preset
            else:
                try:
                    scenario = manager.upload(str(order.upload))
                except KeyError:
                    raise HTTPException(404, "no such upload (it may have expired)") from None
                source = f"upload {scenario.name}"
            draws, most = order.draws or scenario.draws, request.app.state.max_draws
            if draws > most:
                raise HTTPException(422, f"draws: at most {most} on this server (got {draws})")
            network = manager.network()
            knobs = resolve_knobs(scenario, order.knobs, network)
            settings = knobs.describe()
            adjusted = apply_knobs(
                scenario.with_overrides(draws=draws, seed=order.seed),
                knobs,
                network,
                label=f"dashboard:{safe_name(source)}" + (" (adjusted)" if settings else ""),
            )
            dry_run(adjusted, network)
        label = f"{scenario.name}" + (f" ({settings})" if settings else "")
        return manager.submit(adjusted, label=label, settings=settings).snapshot()

    @app.get("/api/runs", tags=["runs"])
    def past_runs(
        request: Request,
        limit: Annotated[int, Query(ge=1, le=200)] = 50,
        offset: Annotated[int, Query(ge=0)] = 0,
    ) -> dict[str, Any]:
        """Runs recorded in the run store (this server's, earlier servers' and
        ``chokepoint run --out`` runs), newest first, with their key numbers."""
        return clean_json(_manager(request).past(limit, offset))

    @app.get("/api/runs/{run_id}", tags=["runs"])
    async def run_state(request: Request, run_id: RunId) -> dict[str, Any]:
        """A run's status and progress (draws done of total)."""
        run = _manager(request).live(run_id)  # in memory: answered on the event loop
        if run is None:  # perhaps in the store: read it on a worker thread
            run = await run_in_threadpool(_run_or_404, request, run_id)
        return run.snapshot()

    @app.get("/api/runs/{run_id}/result", tags=["runs"])
    def run_result(request: Request, run_id: RunId) -> Response:
        """Key numbers, the dashboard's charts (Plotly JSON) and the result summary."""
        run = _finished(request, run_id)
        return Response(_manager(request).result_json(run), media_type="application/json")


def _output_routes(app: FastAPI) -> None:
    @app.get("/api/runs/{run_id}/charts/{chart}.csv", tags=["runs"])
    def chart_csv(request: Request, run_id: RunId, chart: str) -> Response:
        """The data one dashboard chart shows, as CSV (one row per point of each trace)."""
        from chokepoint.web.chartdata import figure_csv

        run = _finished(request, run_id)
        figure = _manager(request).payload(run)["figures"].get(chart)
        if figure is None:
            raise HTTPException(404, f"run {run.id} has no chart '{chart[:40]}'")
        name = f"chokepoint-{safe_name(run.scenario_name)}-{run.id[:8]}-{safe_name(chart)}.csv"
        return Response(
            figure_csv(figure), media_type="text/csv; charset=utf-8", headers=_attachment(name)
        )

    @app.get("/api/runs/{run_id}/download", tags=["runs"])
    def run_download(request: Request, run_id: RunId) -> Response:
        """The results folder (result.json, Parquet tables, the scenario) as a zip file."""
        run = _finished(request, run_id)
        manager = _manager(request)
        folder = manager.folder(run)
        top = safe_name(run.scenario_name)
        buffer = io.BytesIO()
        with manager.heavy(), zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
            for path in sorted(folder.iterdir()):
                if path.is_file() and not path.is_symlink():
                    archive.write(path, arcname=f"{top}/{safe_name(path.name, 'file')}")
        return Response(
            buffer.getvalue(),
            media_type="application/zip",
            headers=_attachment(f"chokepoint-{top}-{run.id[:8]}.zip"),
        )

    @app.get("/api/report", tags=["runs"], response_class=HTMLResponse)
    def report(request: Request, runs: Annotated[list[str], Query(max_length=4)]) -> HTMLResponse:
        """The self-contained HTML report on one run, or on up to four compared."""
        from chokepoint.reporting.html import build_report

        manager = _manager(request)
        finished = [_finished(request, run_id) for run_id in runs]
        with manager.heavy():
            data = [manager.run_data(run) for run in finished]
            document = build_report(data, [manager.network_for(d) for d in data])
        name = "chokepoint-report-" + "-vs-".join(safe_name(r.scenario_name) for r in finished)
        return HTMLResponse(document, headers=_attachment(f"{name[:120]}.html"))
