"""``chokepoint audit``, ``chokepoint calibrate`` and ``chokepoint validate-episodes``.

The evidence loop on the command line, over the public API of :mod:`chokepoint.evidence`:
what a headline rests on, fitting scenario parameters to observed series, and the public
validation episodes. Registered in the main app with ``app.command``. Input errors raise
:class:`~chokepoint.errors.ChokepointError` (one line, exit 2); progress goes to stderr.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from chokepoint.errors import ChokepointError


class Format(StrEnum):
    table = "table"
    json = "json"
    csv = "csv"


ScenarioArgument = Annotated[str, typer.Argument(help="Scenario file (YAML) or preset name.")]
NetworkOption = Annotated[
    Path | None, typer.Option("--network", "-n", help="Network folder (default: the shipped one).")
]


def _dim(console: Console) -> Callable[[str], None]:
    """A progress callback printing each line dimmed on ``console``."""
    return lambda text: console.print(f"[dim]{text}[/dim]", highlight=False)


def _number(value: object) -> str:
    if isinstance(value, float):
        return "" if math.isnan(value) else f"{value:.4g}"
    return "" if value is None else str(value)


def audit_command(
    scenario: ScenarioArgument,
    metric: Annotated[
        str,
        typer.Option(
            "--metric",
            "-m",
            help="Headline: lost_value[@REGION], lost_output_share:PRODUCT@REGION, "
            "pstop:PRODUCT@REGION, lost_output, time_to_survive:PRODUCT@REGION.",
        ),
    ] = "lost_value",
    draws: Annotated[int, typer.Option("--draws", "-d", min=1, help="Draws per run.")] = 10,
    network: NetworkOption = None,
    tolerance: Annotated[
        float, typer.Option("--tolerance", help="Group screening bound, share of the base.")
    ] = 0.01,
    morris: Annotated[
        int, typer.Option("--morris", help="Inputs screened for interactions (Morris).")
    ] = 6,
    trajectories: Annotated[int, typer.Option("--trajectories", help="Morris trajectories.")] = 4,
    workers: Annotated[int, typer.Option("--workers", "-w", min=1, help="Processes.")] = 1,
    base: Annotated[
        str,
        typer.Option(
            "--base", help="scenario (distributions sampled per draw) or median (fixed at medians)."
        ),
    ] = "scenario",
    top: Annotated[int, typer.Option("--top", help="Rows shown in the table format.")] = 20,
    output: Annotated[Format, typer.Option("--format", "-f")] = Format.table,
    report: Annotated[
        Path | None, typer.Option("--report", help="Also write an HTML report (tornado chart).")
    ] = None,
) -> None:
    """Rank every assumed input by its effect on a headline metric: swung one at a time over
    its range, the top ones screened for interactions; the variance share of unsourced
    inputs."""
    from chokepoint import load_scenario
    from chokepoint.evidence import audit
    from chokepoint.reporting.tables import to_csv

    if report is not None and report.suffix.lower() not in {".html", ".htm"}:
        raise ChokepointError(f"--report: {report.name}: the report is HTML; use a .html name")
    err = Console(stderr=True)
    result = audit(
        load_scenario(scenario),
        network,
        metric=metric,
        draws=draws,
        tolerance=tolerance,
        morris_inputs=morris,
        morris_trajectories=trajectories,
        workers=workers,
        base=base,
        progress=_dim(err),
    )
    if report is not None:
        from chokepoint.reporting.evidence import write_evidence_report

        write_evidence_report(report, audit=result)
        err.print(f"wrote {report}", highlight=False)
    if output is Format.json:
        typer.echo(json.dumps(result.to_dict(), indent=2, ensure_ascii=False))
        return
    if output is Format.csv:
        typer.echo(to_csv(result.table), nl=False)
        return
    _print_audit(result, top)


def _print_audit(result, top: int) -> None:
    console = Console()
    table = Table(
        title=f"What {result.headline.label} rests on ({result.scenario}, base "
        f"{result.base_value:.4g}, {result.runs} runs of {result.draws} draws, "
        f"{result.seconds:.0f} s)"
    )
    for name in ("rank", "input", "sourced", "low", "base", "high", "metric low", "metric high"):
        table.add_column(name, justify="right" if name not in {"input"} else "left")
    table.add_column("swing", justify="right")
    table.add_column("how", justify="left")
    table.add_column("Morris μ*", justify="right")
    for row in result.table.head(top).itertuples(index=False):
        table.add_row(
            str(row.rank),
            escape(str(row.input)),
            "yes" if row.sourced else "[bold]no[/bold]",
            _number(row.low),
            _number(row.base),
            _number(row.high),
            _number(row.metric_low),
            _number(row.metric_high),
            _number(row.swing),
            str(row.screened),
            _number(row.morris_mu_star),
        )
    console.print(table)
    share = result.unsourced_share
    console.print(
        f"share of the headline's variance owed to unsourced inputs: "
        f"{'n/a' if math.isnan(share) else f'{share:.0%}'}",
        highlight=False,
    )
    for note in result.notes:
        console.print(f"note: {note}", highlight=False, markup=False)


def _priors(text: list[str] | None) -> dict[str, tuple[float, float]]:
    found = {}
    for item in text or []:
        name, _, bounds = item.partition("=")
        low, _, high = bounds.partition(":")
        try:
            found[name.strip()] = (float(low), float(high))
        except ValueError:
            raise ChokepointError(f"--prior: expected PARAM=LOW:HIGH, got '{item}'") from None
    return found


def calibrate_command(
    scenario: ScenarioArgument,
    observed: Annotated[
        Path, typer.Option("--observed", help="Observed CSV: date, series, value, unit, source.")
    ],
    fit: Annotated[
        str, typer.Option("--fit", help="Parameters to fit, comma-separated (PARAM[,PARAM…]).")
    ],
    mapping: Annotated[
        Path, typer.Option("--mapping", help="YAML naming the model output of each series.")
    ],
    out: Annotated[Path, typer.Option("--out", "-o", help="Folder for the results.")],
    prior: Annotated[
        list[str] | None,
        typer.Option("--prior", help="Uniform prior PARAM=LOW:HIGH (repeatable)."),
    ] = None,
    network: NetworkOption = None,
    runs: Annotated[int, typer.Option("--runs", min=1, help="Engine runs per generation.")] = 40,
    draws: Annotated[int, typer.Option("--draws", "-d", min=1, help="Draws per run.")] = 250,
    keep: Annotated[float, typer.Option("--keep", help="Share kept by rejection.")] = 0.02,
    generations: Annotated[int, typer.Option("--generations", min=0, help="SMC steps.")] = 3,
    seed: Annotated[int, typer.Option("--seed", min=0, help="Seed of the proposals.")] = 0,
) -> None:
    """Fit scenario parameters to observed monthly series by approximate Bayesian
    computation (rejection, then SMC); writes the posterior, the posterior-predictive band,
    a calibrated scenario YAML and an HTML report to --out."""
    from chokepoint import load_scenario
    from chokepoint.evidence import calibrate, read_mapping

    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        raise ChokepointError(f"--out: {out} exists and is not an empty folder")
    names = [name.strip() for name in fit.split(",") if name.strip()]
    if not names:
        raise ChokepointError("--fit: name at least one parameter")
    err = Console(stderr=True)
    result = calibrate(
        load_scenario(scenario),
        observed,
        read_mapping(mapping),
        names,
        network,
        priors=_priors(prior),
        runs=runs,
        draws=draws,
        keep=keep,
        generations=generations,
        seed=seed,
        progress=_dim(err),
    )
    from chokepoint.reporting.evidence import write_evidence_report

    written = result.write(out, network)
    written.append(write_evidence_report(out / "report.html", calibration=result))
    posterior = result.posterior_table()
    table = Table(
        title=f"Posterior ({result.posterior.simulated} particles, {result.seconds:.0f} s)"
    )
    for column in posterior.columns:
        table.add_column(column, justify="left" if column in {"parameter", "level"} else "right")
    for row in posterior.itertuples(index=False):
        table.add_row(*(_number(v) for v in row))
    Console().print(table)
    for path in written:
        err.print(f"wrote {path}", highlight=False)


def validate_episodes_command(
    root: Annotated[
        Path, typer.Argument(help="Folder of episode folders (each with checks.yaml).")
    ] = Path("validation"),
    draws: Annotated[
        int | None, typer.Option("--draws", "-d", min=1, help="Draws (default: each episode's).")
    ] = None,
    network: NetworkOption = None,
    output: Annotated[Format, typer.Option("--format", "-f")] = Format.table,
    report: Annotated[
        Path | None, typer.Option("--report", help="Also write an HTML report (charts).")
    ] = None,
    strict: Annotated[
        bool, typer.Option("--strict", help="Exit 1 when an evaluated check fails.")
    ] = False,
) -> None:
    """Replay the public validation episodes: model against observed, pass or fail per check
    (tolerances as written before any run)."""
    from chokepoint.evidence import validate_episodes
    from chokepoint.reporting.tables import to_csv, to_json

    if report is not None and report.suffix.lower() not in {".html", ".htm"}:
        raise ChokepointError(f"--report: {report.name}: the report is HTML; use a .html name")
    frame = validate_episodes(root, network, draws)
    if report is not None:
        from chokepoint.reporting.evidence import write_evidence_report

        write_evidence_report(report, episodes=frame)
        Console(stderr=True).print(f"wrote {report}", highlight=False)
    if output is Format.json:
        typer.echo(to_json(frame))
    elif output is Format.csv:
        typer.echo(to_csv(frame.assign(accept=frame["accept"].map(str))), nl=False)
    else:
        _print_episodes(frame)
    if strict and (frame["result"] == "fail").any():
        raise typer.Exit(1)


def _print_episodes(frame) -> None:
    console = Console()
    colour = {"pass": "green", "fail": "red", "not evaluated": "yellow"}
    for episode, rows in frame.groupby("episode", sort=False):
        table = Table(title=f"Episode {episode}: model against observed")
        for name in ("check", "title", "observed", "model", "compared", "accept", "in", "result"):
            table.add_column(name, justify="left" if name in {"check", "title"} else "right")
        for row in rows.itertuples(index=False):
            share = row.share_in_accept
            table.add_row(
                str(row.check),
                escape(str(row.title)),
                _number(row.observed),
                _number(row.model),
                _number(row.value),
                f"[{', '.join(str(a) for a in row.accept)}]",
                ""
                if share is None or (isinstance(share, float) and math.isnan(share))
                else f"{share:.0%}",
                f"[{colour[row.result]}]{row.result}[/{colour[row.result]}]",
            )
        console.print(table)
        counts = rows["result"].value_counts()
        console.print(
            f"{episode}: {counts.get('pass', 0)} pass, {counts.get('fail', 0)} fail, "
            f"{counts.get('not evaluated', 0)} not evaluated",
            highlight=False,
        )
        for row in rows[rows["result"] == "not evaluated"].itertuples(index=False):
            console.print(
                f"  {row.check} not evaluated: {row.reason}", highlight=False, markup=False
            )
