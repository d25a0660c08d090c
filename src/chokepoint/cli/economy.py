"""``chokepoint economy``: a scenario's shortfalls carried through an MRIO table (ARIO model).

The lead CLI registers :func:`economy_command` with ``app.command("economy")``. Input errors
raise :class:`~chokepoint.errors.ChokepointError`, which the main CLI prints on one line
(exit 2).
"""

from __future__ import annotations

import json
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from chokepoint.cli.options import DrawsOption, SeedOption
from chokepoint.errors import ChokepointError


class EconomyFormat(StrEnum):
    table = "table"
    json = "json"


def economy_command(
    scenario: Annotated[str, typer.Argument(help="Scenario file (YAML) or preset name.")],
    mrio: Annotated[
        str,
        typer.Option(
            "--mrio",
            "-m",
            help="MRIO table: 'test' (pymrio's bundled test system, illustrative only), an "
            "EXIOBASE 3 archive or folder (IOT_2022_ixi.zip), an OECD ICIO file "
            "(ICIO2021_2018.csv) or a folder saved by pymrio.",
        ),
    ] = "test",
    network: Annotated[
        Path | None,
        typer.Option(
            "--network",
            "-n",
            help="Folder with network tables; default: the scenario's (the shipped dataset).",
            show_default=False,
        ),
    ] = None,
    draws: DrawsOption = None,
    seed: SeedOption = None,
    mapping: Annotated[
        Path | None,
        typer.Option(
            "--mapping",
            help="Sector mapping CSV (product,mrio_sector,weight,unit_value,source,assumption); "
            "default: the shipped one for the MRIO (EXIOBASE 3, OECD ICIO or the test system).",
            show_default=False,
        ),
    ] = None,
    eur_per_unit: Annotated[
        float | None,
        typer.Option(
            "--eur-per-unit",
            min=0.0,
            help="Euros per money unit of the table (default: read from its unit, e.g. "
            "M.EUR = 1e6; USD at 0.92 EUR).",
            show_default=False,
        ),
    ] = None,
    top: Annotated[
        int, typer.Option("--top", min=1, help="Rows in the sector and industry tables.")
    ] = 10,
    output: Annotated[
        EconomyFormat, typer.Option("--format", "-f", help="table for people, json for machines.")
    ] = EconomyFormat.table,
) -> None:
    """Value added lost by country and sector: the scenario's physical shortfalls become
    production-capacity losses of MRIO industries, and an ARIO model (as BoARIO's
    ARIOPsiModel) carries them through the economy."""
    from chokepoint.economy.run import run_economy

    if mrio != "test" and not Path(mrio).exists():
        raise ChokepointError(f"--mrio: {mrio} does not exist (give 'test' or a path)")
    result = run_economy(
        scenario,
        mrio,
        network=network,
        draws=draws,
        seed=seed,
        mapping=mapping,
        eur_per_unit=eur_per_unit,
    )
    if output is EconomyFormat.json:
        typer.echo(json.dumps(result.to_dict(), indent=2, ensure_ascii=False))
        return
    print_economy(result, _console(), top=top)


def _console() -> Console:
    import shutil

    width = shutil.get_terminal_size((120, 40)).columns
    return Console(width=max(width, 100))


def _euros(value: Any) -> str:
    """Euros in words a reader takes in at a glance: 1.2 bn, 340 m, 12 k."""
    from chokepoint.reporting.tables import short_amount

    return short_amount(value)


def _share(value: Any) -> str:
    from chokepoint.reporting.tables import missing

    return "–" if missing(value) else f"{100 * value:.3g}%"


def _loss_table(frame, keys: list[tuple[str, str]], *, title: str) -> Table:
    from chokepoint.reporting.tables import rich_table

    figures = ("lost, mean (EUR)", "p5", "p95", "share of value added")
    table = rich_table(title, [label for _, label in keys], figures)
    for row in frame.itertuples(index=False):
        table.add_row(
            *[str(getattr(row, key)) for key, _ in keys],
            _euros(row.loss_mean),
            _euros(row.loss_p5),
            _euros(row.loss_p95),
            _share(row.loss_share),
        )
    return table


def print_economy(result, console: Console, *, top: int = 10) -> None:
    """The economy results for people: EU total, countries, sectors, industries, caveats."""
    meta = result.metadata
    console.rule(f"[bold]{meta['scenario']}[/bold]: value added lost through {meta['mrio']}")
    console.print(
        f"{meta['draws']} draws, seed {meta['seed']}, {meta['horizon_days']} days from "
        f"{meta['start']}; MRIO {meta['mrio_system']} ({meta['mrio_industries']} industries, "
        f"{meta['mrio_unit'] or 'unit unknown'} = EUR {meta['eur_per_unit']:,.0f}); "
        f"ARIO as BoARIO's ARIOPsiModel (alt orders, psi "
        f"{meta['ario_parameters']['psi']}, {meta['ario_parameters']['main_inventory_days']:g} "
        f"days of inputs); chokepoint {meta['package_version']}.",
        highlight=False,
    )
    if meta["mrio_system"] == "pymrio_test":
        console.print(
            "[yellow]The pymrio test system is fictitious: its regions stand for countries "
            "only by the illustrative mapping in data/mappings/regions.csv. Use EXIOBASE 3 "
            "or OECD ICIO for real figures.[/yellow]",
            highlight=False,
        )
    total = result.eu_total()
    console.print(
        f"EU value added lost: [bold]EUR {_euros(total['loss_mean'])}[/bold] "
        f"(p5 {_euros(total['loss_p5'])}, p95 {_euros(total['loss_p95'])}); output lost "
        f"directly by the mapped producers: EUR {_euros(meta['direct_output_lost_eur_mean'])}.",
        highlight=False,
    )
    regions = result.regions[result.regions["region"] != "EU"].sort_values(
        "loss_mean", ascending=False
    )
    console.print(
        _loss_table(
            regions,
            [("region", "region"), ("countries", "stands for"), ("eu", "EU")],
            title="By MRIO region",
        )
    )
    console.print(
        _loss_table(result.eu_sectors.head(top), [("sector", "sector")], title="EU, by sector")
    )
    industries = result.industries[result.industries["eu"]].nlargest(top, "loss_mean")
    console.print(
        _loss_table(
            industries,
            [("region", "region"), ("sector", "sector"), ("constrained", "hit directly")],
            title="EU industries losing most",
        )
    )
    console.print(_monthly_table(result))
    for line in _caveats(result):
        console.print(f"* {line}", highlight=False)


def _monthly_table(result) -> Table:
    from chokepoint.reporting.tables import rich_table

    table = rich_table("EU value added lost per month", ("month",), ("lost, mean (EUR)",))
    for row in result.monthly("EU").itertuples(index=False):
        table.add_row(row.month, _euros(row.loss_mean))
    return table


def _caveats(result) -> list[str]:
    lines = []
    if not result.unvalued.empty:
        lost = ", ".join(
            f"{row.commodity} ({row.producer}: {row.lost_units_mean:,.0f} {row.unit})"
            for row in result.unvalued.itertuples(index=False)
            if row.lost_units_mean > 0
        )
        if lost:
            lines.append(f"not valued (no unit value in the data), so not counted: {lost}.")
    if not result.skipped.empty:
        names = ", ".join(sorted(set(result.skipped["producer"])))
        lines.append(f"producers whose country has no region in the MRIO: {names}.")
    if result.metadata["capacity_loss_capped"]:
        lines.append(
            f"{result.metadata['capacity_loss_capped']} industry-days lost more than their "
            "whole output and were capped at 100%."
        )
    lines.append(
        "losses are over the horizon only; ARIO's overproduction (up to 25%) lets hit "
        "industries catch up in part."
    )
    return lines
