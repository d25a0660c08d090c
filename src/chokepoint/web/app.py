"""The web app: a JSON API over presets, uploads and runs, the dashboard page, and the API
docs (served offline).

``create_app()`` builds a FastAPI app whose state (runs, uploads, network, the scenario
checker) lives on the app object. Errors come back as ``{"error": "one clear message"}``
with a 4xx status, never a traceback; bad scenario content is a 422; an unexpected failure
is logged on the server and reported as a 500 in a line. Requests pass, outermost first,
a ``Host``/``Origin`` check, the optional token, and the request-body limits.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from contextlib import asynccontextmanager
from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import HTMLResponse, JSONResponse
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException

from chokepoint.errors import ChokepointError
from chokepoint.web.access import HostCheck, TokenGate, served_names
from chokepoint.web.checker import CHECK_TIMEOUT, ScenarioChecker
from chokepoint.web.limits import BODY_IDLE_TIMEOUT, BODY_TIMEOUT, BodyGuard
from chokepoint.web.optimise import SearchManager
from chokepoint.web.runs import Busy, FilesGone, RunManager
from chokepoint.web.workers import WorkersBusy

logger = logging.getLogger(__name__)

UPLOAD_LIMIT = 256 * 1024
"""Largest scenario file accepted, in bytes."""


def _error(status: int, message: str) -> JSONResponse:
    return JSONResponse({"error": message}, status_code=status)


def _swagger_folder() -> Path | None:
    """Swagger UI's files from the installed ``swagger-ui-bundle`` package, if any."""
    try:
        from swagger_ui_bundle import swagger_ui_path
    except ImportError:
        return None
    folder = Path(str(swagger_ui_path))
    return folder if (folder / "swagger-ui-bundle.js").is_file() else None


def create_app(
    *,
    store=None,
    workers: int = 2,
    max_draws: int = 2000,
    upload_limit: int = UPLOAD_LIMIT,
    max_pending: int = 8,
    bind: str = "127.0.0.1",
    hosts: Iterable[str] = (),
    token: str | None = None,
    check_timeout: float = CHECK_TIMEOUT,
    checker_workers: int = 1,
    warm: bool = False,
    body_timeout: float = BODY_TIMEOUT,
    body_idle_timeout: float = BODY_IDLE_TIMEOUT,
) -> FastAPI:
    """The dashboard and its API.

    ``store`` is a :class:`~chokepoint.store.RunStore` or its folder (default: the user's
    run store). ``workers`` runs execute at once, ``max_pending`` wait at most; each may
    have at most ``max_draws`` draws; uploads are at most ``upload_limit`` bytes and are
    checked in ``checker_workers`` processes, each check within ``check_timeout`` seconds.
    The app answers to the loopback names, IP addresses, ``bind`` and ``hosts`` (``*``:
    any name); with ``token``, every request but ``/api/health`` needs it. Runs and checks
    happen in worker processes, started when first needed (``warm``: at start-up).
    """
    from chokepoint.store import RunStore, store_path

    opened = store if isinstance(store, RunStore) else RunStore(store_path(store))
    manager = RunManager(store=opened, workers=workers, max_pending=max_pending)
    checker = ScenarioChecker(timeout=check_timeout, workers=checker_workers)
    searches = SearchManager()

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        if warm:  # start the worker processes now, not on the first request
            checker.warm()
            manager.warm()
        yield
        manager.shutdown()
        searches.shutdown()
        checker.close()

    app = FastAPI(
        title="chokepoint",
        summary="Stress-test EU supply chains against export controls.",
        description="Run scenario presets or uploaded scenarios, adjust licence validity, "
        "processing delay, approval rate, stockpiles and new capacity, list and reopen past "
        "runs, and fetch the charts (and their data as CSV), the results and a "
        "self-contained HTML report.",
        lifespan=lifespan,
        docs_url=None,
        redoc_url=None,
    )
    app.state.runs = manager
    app.state.checker = checker
    app.state.searches = searches
    app.state.max_draws = max_draws
    app.state.upload_limit = upload_limit
    app.state.plotly_js = None
    app.add_middleware(
        BodyGuard,
        limit=upload_limit + 16 * 1024,
        message=f"the request is too large: a scenario file may have at most "
        f"{upload_limit // 1024} KiB",
        idle_timeout=body_idle_timeout,
        timeout=body_timeout,
    )
    if token:
        app.add_middleware(TokenGate, token=token)
    app.add_middleware(HostCheck, names=served_names(bind, hosts))
    _handlers(app)
    _docs(app)
    from chokepoint.web.api import add_routes

    add_routes(app)
    from chokepoint.web.api import static_folder

    app.mount("/static", StaticFiles(directory=static_folder()), name="static")
    return app


def _handlers(app: FastAPI) -> None:
    @app.exception_handler(ChokepointError)
    async def input_error(request: Request, exc: ChokepointError) -> JSONResponse:
        status = 503 if isinstance(exc, Busy | WorkersBusy) else 422
        status = 410 if isinstance(exc, FilesGone) else status
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
        headers = {"Connection": "close"} if exc.status_code in (408, 413) else None
        response = _error(exc.status_code, str(exc.detail))
        if headers:
            response.headers.update(headers)
        return response

    @app.exception_handler(Exception)
    async def internal_error(request: Request, exc: Exception) -> JSONResponse:
        logger.exception("request %s %s failed", request.method, request.url.path)
        return _error(500, "internal error; the server log has the details")


def _docs(app: FastAPI) -> None:
    """``/docs``: Swagger UI from the installed package's files, no CDN."""
    folder = _swagger_folder()
    if folder is not None:
        app.mount("/docs-assets", StaticFiles(directory=folder), name="docs-assets")

    @app.get("/docs", include_in_schema=False)
    def docs() -> HTMLResponse:
        if folder is None:
            return HTMLResponse(
                "<!DOCTYPE html><title>chokepoint API</title><p>The interactive API docs need "
                "the swagger-ui-bundle package (pip install 'chokepoint[web]'). The API "
                "schema is at <a href='/openapi.json'>/openapi.json</a>.</p>"
            )
        return get_swagger_ui_html(
            openapi_url="/openapi.json",
            title="chokepoint API",
            swagger_js_url="/docs-assets/swagger-ui-bundle.js",
            swagger_css_url="/docs-assets/swagger-ui.css",
            swagger_favicon_url="/docs-assets/favicon-32x32.png",
            oauth2_redirect_url=None,
        )
