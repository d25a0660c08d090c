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

from chokepoint.errors import ChokepointError

if TYPE_CHECKING:
    from chokepoint.network.container import SupplyNetwork
    from chokepoint.simulation.run import Results

MAX_RUNS = 4
"""Most runs one report compares side by side."""


def report_command(
    result_dirs: Annotated[
        list[Path],
        typer.Argument(
            help="Results folder(s) written by 'chokepoint run SCENARIO --out DIR'; two or "
            "more are compared side by side (at most 4).",
            show_default=False,
        ),
    ],
    output: Annotated[
        Path | None,
        typer.Option(
            "--output",
            "-o",
            help="HTML file to write (default: report.html in the first results folder).",
            show_default=False,
        ),
    ] = None,
    label: Annotated[
        list[str] | None,
        typer.Option("--label", "-l", help="Name of each run in the report, in order."),
    ] = None,
    title: Annotated[
        str | None, typer.Option("--title", help="Title of the report.", show_default=False)
    ] = None,
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
) -> None:
    """Serve the web dashboard and its JSON API (docs at /docs) until Ctrl+C."""
    try:
        from chokepoint.web import create_app
        from chokepoint.web.server import LOOPBACK, serve
    except ImportError as exc:
        raise ChokepointError(
            f"the dashboard needs the web extra ({exc.name} is missing): "
            "pip install 'chokepoint[web]'"
        ) from None
    if host not in LOOPBACK:
        sys.stderr.write(
            f"warning: listening on {host}: the dashboard has no login, so anyone who can reach "
            "this address can run simulations\n"
        )
    typer.echo(f"chokepoint dashboard on http://{host}:{port}/ (API docs: /docs; Ctrl+C stops)")
    serve(create_app(workers=workers, max_draws=max_draws), host, port)


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
