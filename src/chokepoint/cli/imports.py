"""``chokepoint import``: turn public trade data sets into chokepoint tables.

The lead CLI mounts :data:`import_app` as the ``import`` command group. Data
errors (:class:`~chokepoint.errors.DataError`) propagate to the main CLI, which
prints them on one line and exits with code 2.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from chokepoint.cli.options import argument, option

import_app = typer.Typer(
    name="import",
    help="Import external trade data (CEPII BACI) into chokepoint tables.",
    no_args_is_help=True,
    add_completion=False,
)


@import_app.callback()
def _import_group() -> None:
    """Import external trade data (CEPII BACI) into chokepoint tables."""


@import_app.command("baci")
def baci(
    trade: Annotated[
        list[Path],
        argument(
            help="BACI trade files (BACI_HS*_Y*.csv, columns t,i,j,k,v,q; .csv.gz too) "
            "or a folder holding them. Values are summed over all files read.",
        ),
    ],
    codes: Annotated[
        Path,
        option(
            "--codes",
            help="BACI country-code file (country_codes_V*.csv), either column layout.",
        ),
    ],
    out: Annotated[
        Path,
        option(
            "--out",
            help="Parquet file to write: importer, product, exporter, value (kUSD), "
            "quantity (t), share, share_quantity.",
        ),
    ],
    hs: Annotated[
        list[str] | None,
        option(
            "--hs",
            help="Keep this HS code: 6 digits (010121), or 2/4 digits for a chapter or "
            "heading. Repeat for more; default: every product.",
        ),
    ] = None,
    importer: Annotated[
        list[str] | None,
        option(
            "--importer",
            help="Keep this importer: an ISO3 code or EU27. Repeat for more; default: all.",
        ),
    ] = None,
    year: Annotated[
        list[int] | None,
        option(
            "--year",
            help="Keep this year. Repeat for more; default: every year in the files.",
        ),
    ] = None,
    eu_as_one: Annotated[
        bool,
        typer.Option(
            "--eu-as-one/--no-eu-as-one",
            help="Sum the 27 EU member states into the importer EU27 (intra-EU trade "
            "dropped, so its shares are extra-EU sourcing).",
        ),
    ] = True,
    keep_intra_eu: Annotated[
        bool,
        typer.Option(
            "--keep-intra-eu",
            help="With --eu-as-one, keep imports from other member states.",
        ),
    ] = False,
    memory_limit: Annotated[
        str, typer.Option("--memory-limit", help="DuckDB memory limit; it spills beyond.")
    ] = "512MB",
    threads: Annotated[int, typer.Option("--threads", min=1, help="DuckDB threads.")] = 2,
) -> None:
    """Aggregate BACI bilateral trade into supplier shares per importer and HS6 product."""
    from chokepoint.files import check_writable
    from chokepoint.importers.baci import write_baci_supplier_shares
    from chokepoint.network.countries import EU27

    check_writable(out, "--out")
    try:
        summary = write_baci_supplier_shares(
            trade[0] if len(trade) == 1 else trade,
            codes,
            out,
            products=hs or None,
            importers=importer or None,
            years=year or None,
            group_importers={"EU27": EU27} if eu_as_one else None,
            keep_intra_group=keep_intra_eu,
            memory_limit=memory_limit,
            threads=threads,
        )
    except ValueError as exc:
        raise typer.BadParameter(str(exc)) from exc
    Console().print(
        f"[bold green]Wrote[/] {summary.rows:,} rows to [bold]{summary.path}[/]: "
        f"{summary.importers:,} importers, {summary.products:,} products, "
        f"{summary.exporters:,} exporters."
    )
