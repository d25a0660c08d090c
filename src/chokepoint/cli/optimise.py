"""``chokepoint optimise`` and ``chokepoint tts``: choose measures, rank nodes.

Registered in the main app with ``app.command``. Input errors raise ChokepointError, which
the main CLI prints on one line (exit 2). Progress goes to stderr.
"""

from __future__ import annotations

import json
import math
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from chokepoint.cli.options import OutputFormat
from chokepoint.errors import ChokepointError


class Method(StrEnum):
    benders = "benders"
    extensive = "extensive"


TtsFormat = OutputFormat


def optimise_command(
    scenario: Annotated[str, typer.Argument(help="Scenario file (YAML) or preset name.")],
    target: Annotated[
        list[str],
        typer.Option(
            "--target",
            "-t",
            help="KIND[:PRODUCT@REGION]<=BOUND, e.g. 'pstop:car_bev@EU27<=0.05', "
            "'elv<=2e9', 'cvar95:car_bev@EU27<=1e5' (repeat for several).",
        ),
    ],
    out: Annotated[Path, typer.Option("--out", "-o", help="Folder for the results.")],
    budget: Annotated[
        float | None, typer.Option("--budget", help="At most this much (EUR); targets soft.")
    ] = None,
    draws: Annotated[int, typer.Option("--draws", help="Draws in the program (SAA).")] = 200,
    measures: Annotated[
        Path | None, typer.Option("--measures", help="Measure catalogue CSV (default: shipped).")
    ] = None,
    network: Annotated[Path | None, typer.Option("--network", "-n", help="Network folder.")] = None,
    step: Annotated[int, typer.Option("--step-days", help="Days per period.")] = 7,
    check_draws: Annotated[
        int, typer.Option("--check-draws", help="Fresh draws for the engine check (0: none).")
    ] = 1000,
    method: Annotated[Method, typer.Option("--method")] = Method.benders,
    frontier: Annotated[
        str | None,
        typer.Option("--frontier", help="Comma-separated bounds of the first target to trace."),
    ] = None,
    time_limit: Annotated[
        float, typer.Option("--time-limit", help="Seconds for the solver.")
    ] = 120,
) -> None:
    """The cheapest portfolio of measures that meets a resilience target, checked by the engine."""
    from chokepoint.optimise.check import check_portfolio
    from chokepoint.optimise.frontier import contributions
    from chokepoint.optimise.frontier import frontier as trace
    from chokepoint.optimise.run import choose, setup
    from chokepoint.optimise.writeback import portfolio_scenario, write_scenario
    from chokepoint.scenario import load_scenario

    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        raise ChokepointError(f"--out: {out} exists and is not an empty folder")
    if draws < 1:
        raise ChokepointError("--draws: at least 1")
    bounds = _bounds(frontier)
    err = Console(stderr=True)

    def say(message: str) -> None:
        err.print(f"[dim]optimise:[/] {message}", highlight=False)

    loaded = load_scenario(scenario)
    prepared = setup(
        loaded, target, network=network, draws=draws, step_days=step, measures=measures
    )
    if prepared.dropped:
        say("measures that reach nothing the targets depend on: " + ", ".join(prepared.dropped))
    solution = choose(
        prepared, budget=budget, method=method.value, time_limit=time_limit, progress=say
    )
    out.mkdir(parents=True, exist_ok=True)
    portfolio = solution.portfolio()
    portfolio.to_csv(out / "portfolio.csv", index=False)
    write_scenario(portfolio_scenario(solution), out / "scenario.yaml")
    summary = {
        "scenario": loaded.name,
        "targets": [str(t) for t in prepared.targets],
        "draws": draws,
        "step_days": step,
        "method": solution.method,
        "status": solution.status,
        "seconds": round(solution.seconds, 2),
        "cost_eur": solution.cost,
        "portfolio": portfolio.to_dict("records"),
        "in_sample": solution.risk().to_dict("records"),
    }
    if solution.evaluate is not None:
        parts = contributions(solution)
        parts.to_csv(out / "contributions.csv", index=False)
        summary["contributions"] = parts.to_dict("records")
    if check_draws:
        say(f"engine check: the same {draws} draws and {check_draws} fresh ones")
        checked = check_portfolio(solution, draws=check_draws)
        checked.to_csv(out / "check.csv", index=False)
        summary["check"] = checked.to_dict("records")
    if bounds:
        if method is not Method.benders:
            raise ChokepointError("--frontier needs --method benders")
        points = trace(prepared, bounds, time_limit=time_limit, progress=say)
        points.to_csv(out / "frontier.csv", index=False)
        summary["frontier"] = points.to_dict("records")
        from chokepoint.reporting.optimise import frontier_chart

        frontier_chart(points, prepared.targets[0], out / "frontier.png")
    (out / "optimise.json").write_text(json.dumps(summary, indent=2, default=_plain) + "\n")
    _print(summary, Console())


def _bounds(text: str | None) -> list[float]:
    if not text:
        return []
    try:
        values = [float(v) for v in text.split(",") if v.strip()]
    except ValueError:
        raise ChokepointError(
            f"--frontier: expected numbers separated by commas, got '{text}'"
        ) from None
    if any(not math.isfinite(v) or v < 0 for v in values):
        raise ChokepointError("--frontier: bounds must be finite numbers >= 0")
    return values


def _plain(value):
    return float(value) if hasattr(value, "__float__") else str(value)


def _print(summary: dict, console: Console) -> None:
    console.print(
        f"[bold]{', '.join(summary['targets'])}[/]: cost EUR {summary['cost_eur']:,.0f} "
        f"({summary['status']}, {summary['seconds']} s)",
        highlight=False,
    )
    table = Table("measure", "amount", "unit", "cost (EUR)")
    for row in summary["portfolio"]:
        if row["amount"] > 0:
            table.add_row(
                row["measure"], f"{row['amount']:,.4g}", row["unit"], f"{row['cost']:,.0f}"
            )
    console.print(table)
    if "check" in summary:
        check = Table(
            "estimate", "group", "P(stop)", "lost output", "CVaR95 lost output", "lost value (EUR)"
        )
        for row in summary["check"]:
            check.add_row(
                row["estimate"],
                f"{row['product']}@{row['region']}",
                f"{row['stoppage_probability']:.1%}",
                f"{row['lost_output_mean']:,.0f}",
                f"{row['lost_output_cvar95']:,.0f}",
                f"{row['lost_value_mean']:,.0f}",
            )
        console.print(check)


def tts_command(
    network: Annotated[Path | None, typer.Option("--network", "-n", help="Network folder.")] = None,
    ttr: Annotated[
        float, typer.Option("--ttr-days", help="Time to recover of every node (days).")
    ] = 90.0,
    by: Annotated[str, typer.Option("--by", help="producer, or country (a country's stage).")] = (
        "producer"
    ),
    top: Annotated[int, typer.Option("--top", help="Rows shown (table format).")] = 20,
    output: Annotated[TtsFormat, typer.Option("--format", "-f")] = TtsFormat.table,
) -> None:
    """Time to survive and time to recover per node, ranked by risk exposure (Simchi-Levi)."""
    from chokepoint.network.container import SupplyNetwork, load_default
    from chokepoint.optimise.tts import exposure_table, from_network

    if by not in ("producer", "country"):
        raise ChokepointError(f"--by: expected producer or country, got '{by}'")
    if not math.isfinite(ttr) or ttr <= 0:
        raise ChokepointError("--ttr-days: a positive number of days")
    net = load_default() if network is None else SupplyNetwork.from_folder(network)
    graph, sets = from_network(net, by=by)
    table = exposure_table(graph, {name: ttr for name in sets}, sets)
    table = table.rename(columns={"lost": "lost_value_eur", "tts": "tts_days", "ttr": "ttr_days"})
    if output is TtsFormat.json:
        typer.echo(table.to_json(orient="records", indent=2))
    elif output is TtsFormat.csv:
        typer.echo(table.to_csv(index=False), nl=False)
    else:
        shown = Table("node", "TTS (days)", "TTR (days)", "lost value (EUR)", "exposure")
        for row in table.head(top).itertuples(index=False):
            shown.add_row(
                row.node,
                "∞" if math.isinf(row.tts_days) else f"{row.tts_days:,.1f}",
                f"{row.ttr_days:g}",
                f"{row.lost_value_eur:,.0f}",
                f"{row.risk_exposure_index:.3f}",
            )
        Console().print(shown)
