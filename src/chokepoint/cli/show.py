"""Commands that show results: ``chokepoint report`` (a self-contained HTML report),
``chokepoint serve`` (the web dashboard), and the helpers ``run --plot`` and ``demo`` call.

Registered in :mod:`chokepoint.cli.main`; heavy imports happen inside the commands.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from chokepoint.cli.options import argument, option
from chokepoint.cli.runs import StoreOption
from chokepoint.errors import ChokepointError

if TYPE_CHECKING:
    from chokepoint.network.container import SupplyNetwork
    from chokepoint.simulation.run import Results

MAX_RUNS = 4
"""Most runs one report compares side by side."""


def report_command(
    result_dirs: Annotated[
        list[Path],
        argument(
            help="Results folder(s) written by 'chokepoint run SCENARIO --out DIR'; two or "
            "more are compared side by side (at most 4).",
        ),
    ],
    output: Annotated[
        Path | None,
        option(
            "--output",
            "-o",
            help="HTML file to write (default: report.html in the first results folder).",
        ),
    ] = None,
    label: Annotated[
        list[str] | None,
        typer.Option("--label", "-l", help="Name of each run in the report, in order."),
    ] = None,
    title: Annotated[str | None, option("--title", help="Title of the report.")] = None,
) -> None:
    """Write a self-contained HTML report (interactive charts, works offline) on a run or
    on several runs compared side by side."""
    from chokepoint.reporting.html import report_from_folders

    if len(result_dirs) > MAX_RUNS:
        raise ChokepointError(f"a report compares at most {MAX_RUNS} runs (got {len(result_dirs)})")
    target = output if output is not None else result_dirs[0] / "report.html"
    if target.suffix.lower() not in {".html", ".htm"}:
        raise ChokepointError(f"--output: {target.name}: the report is HTML; use a .html name")
    written = report_from_folders(result_dirs, target, labels=label, title=title)
    typer.echo(f"wrote {written}")


def serve_command(
    host: Annotated[
        str,
        typer.Option(help="Address to listen on; 127.0.0.1 keeps the dashboard on this machine."),
    ] = "127.0.0.1",
    port: Annotated[int, typer.Option(min=1, max=65535, help="Port to listen on.")] = 8000,
    workers: Annotated[
        int, typer.Option(min=1, max=64, help="Simulations that run at the same time.")
    ] = 2,
    max_draws: Annotated[
        int, typer.Option("--max-draws", min=1, help="Most Monte Carlo draws one run may ask.")
    ] = 2000,
    store: StoreOption = None,
    allow_host: Annotated[
        list[str] | None,
        typer.Option(
            "--allow-host",
            help="Host name clients use to reach the server (repeatable; '*' for any). "
            "Loopback names and IP addresses are always accepted.",
        ),
    ] = None,
    token: Annotated[
        str | None,
        option(
            envvar="CHOKEPOINT_TOKEN",
            help="Access token every request needs (at least 8 characters). Default: none on "
            "127.0.0.1, a random one printed at start on any other address.",
        ),
    ] = None,
    no_token: Annotated[
        bool, typer.Option("--no-token", help="Serve a non-loopback address without a token.")
    ] = False,
    max_connections: Annotated[
        int, typer.Option("--max-connections", min=1, help="Open connections at most.")
    ] = 512,
) -> None:
    """Serve the web dashboard and its JSON API (docs at /docs) until Ctrl+C. Runs are kept
    in the run store, so they are still there after a restart."""
    import secrets

    try:
        from chokepoint.web import create_app
        from chokepoint.web.server import LOOPBACK, ServerLimits, serve
    except ImportError as exc:
        raise ChokepointError(
            f"the dashboard needs the web extra ({exc.name} is missing): "
            "pip install 'chokepoint[web]'"
        ) from None
    if token is not None and len(token) < 8:
        raise ChokepointError("--token: use at least 8 characters")
    loopback = host in LOOPBACK
    if token is None and not loopback and not no_token:
        token = secrets.token_urlsafe(18)
    if not loopback and token is None:
        sys.stderr.write(
            f"warning: listening on {host} without a token: anyone who can reach this address "
            "can run simulations and read past runs\n"
        )
    app = create_app(
        store=store,
        workers=workers,
        max_draws=max_draws,
        bind=host,
        hosts=allow_host or (),
        token=token,
        warm=True,
    )
    link = f"http://{host}:{port}/" + (f"?token={token}" if token else "")
    typer.echo(f"chokepoint dashboard on {link} (API docs: /docs; Ctrl+C stops)")
    typer.echo(f"runs are kept in {app.state.runs.store.root}")
    serve(app, host, port, limits=ServerLimits(max_connections=max_connections))


def check_plot_path(path: str | Path) -> None:
    """Fail early (before a run) when ``--plot`` names a file type that cannot be written."""
    from chokepoint.reporting.static import FORMATS

    if Path(path).suffix.lower() not in FORMATS:
        raise ChokepointError(f"--plot: {Path(path).name}: use a .png, .svg or .pdf file name")


def write_plot(results: Results, path: str | Path) -> Path:
    """The key chart of a run as a static image (``run --plot out.png``; .png, .svg, .pdf)."""
    from chokepoint.reporting.static import write_plot as draw

    return draw(results, path)


def write_demo_report(
    results: Sequence[Results],
    path: str | Path,
    *,
    labels: Sequence[str] | None = ("3-month licences", "12-month licences"),
    network: SupplyNetwork | None = None,
    title: str | None = "What does a year-long export licence buy? 3-month vs 12-month licences",
) -> Path:
    """The report comparing the demo's runs (``licences-3m`` and ``licences-12m``)."""
    from chokepoint.reporting.html import report_from_results

    return report_from_results(results, path, labels=labels, network=network, title=title)
