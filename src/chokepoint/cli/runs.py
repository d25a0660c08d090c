"""``chokepoint runs list|show|compare|delete``: the runs recorded in the run store, and the
call that records a ``chokepoint run --out`` run.

The store is ``--store``, else ``$CHOKEPOINT_STORE``, else the user's data directory (XDG).
Registered in :mod:`chokepoint.cli.main`; heavy imports happen inside the commands.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from chokepoint.cli.options import TableOrJson
from chokepoint.errors import ChokepointError

if TYPE_CHECKING:
    from chokepoint.network.container import SupplyNetwork
    from chokepoint.simulation.run import Results
    from chokepoint.store import RunRecord, RunStore

StoreOption = Annotated[
    Path | None,
    typer.Option(
        "--store",
        help="Run store folder (default: $CHOKEPOINT_STORE, else the user's data directory, "
        "$XDG_DATA_HOME/chokepoint).",
        show_default=False,
    ),
]
MAX_COMPARED = 4

runs_app = typer.Typer(
    help="Runs recorded in the run store (dashboard runs and 'run --out' runs).",
    no_args_is_help=True,
)


Format = TableOrJson


FormatOption = Annotated[
    Format, typer.Option("--format", "-f", help="table for people, json for machines.")
]


def open_store(option: Path | None = None) -> RunStore:
    from chokepoint.store import RunStore, store_path

    return RunStore(store_path(option))


def record_cli_run(
    results: Results, out: Path, store: Path | None = None, network: SupplyNetwork | None = None
) -> str | None:
    """Record a run written to ``out`` in the store; its id, or None (with a warning on
    stderr) when the store cannot be written: the run itself has succeeded. With the run's
    ``network``, the key numbers name products and count product families once."""
    import sqlite3

    from chokepoint.store import new_run_id
    from chokepoint.store.record import record_of_results

    try:
        from chokepoint.reporting.charts import Catalog

        catalog = Catalog.of(network) if network is not None else None
        record = record_of_results(
            results,
            run_id=new_run_id(),
            source="cli",
            folder=out,
            names=catalog.names if catalog else None,
            aggregates=catalog.aggregates if catalog else (),
        )
        open_store(store).add(record)
    except (ChokepointError, OSError, OverflowError, sqlite3.Error) as exc:
        message = " ".join(str(exc).split())
        sys.stderr.write(f"warning: the run is not recorded in the run store: {message}\n")
        return None
    return record.id


def _money(value: Any) -> str:
    from chokepoint.reporting.tables import short_amount

    return short_amount(value, "€") if isinstance(value, int | float) else "–"


def _first_stop(summary: dict[str, Any]) -> str:
    first = summary.get("first_stop")
    if not isinstance(first, dict):
        return "none"
    return f"{first.get('name') or first.get('product')}, day {float(first.get('days', 0)):.0f}"


def _gated(summary: dict[str, Any]) -> str:
    gated = summary.get("gated_days")
    return "no licensing" if not isinstance(gated, int | float) else f"{gated:.0f} days"


def _stopping(summary: dict[str, Any]) -> str:
    return f"{summary.get('stopping', '–')} of {summary.get('products', '–')}"


def _has_files(record: RunRecord) -> bool:
    return (Path(record.folder) / "result.json").is_file()


def _console() -> Console:
    import shutil

    return Console(width=max(shutil.get_terminal_size((120, 40)).columns, 120))


def _echo_json(value: Any) -> None:
    typer.echo(json.dumps(value, indent=2, ensure_ascii=False))


@runs_app.command("list")
def list_command(
    store: StoreOption = None,
    limit: Annotated[int, typer.Option("--limit", "-n", min=1, help="Most runs shown.")] = 20,
    source: Annotated[
        str | None, typer.Option("--source", help="Only 'dashboard' or 'cli' runs.")
    ] = None,
    output: FormatOption = Format.table,
) -> None:
    """The recorded runs, newest first."""
    if source is not None and source not in ("dashboard", "cli"):
        raise ChokepointError(f"--source: expected dashboard or cli, got '{source}'")
    opened = open_store(store)
    records = opened.runs(limit=limit, source=source)
    if output is Format.json:
        _echo_json([{**r.to_dict(), "files": _has_files(r)} for r in records])
        return
    total = opened.count(source)
    table = Table(
        title=f"Runs in {opened.root} ({len(records)} of {total}, newest first)",
        title_justify="left",
        header_style="bold",
    )
    for name in ("id", "recorded", "from", "run", "draws", "seed", "lost value", "stopping"):
        right = name in ("draws", "seed", "lost value", "stopping")
        table.add_column(name, justify="right" if right else "left", no_wrap=name != "run")
    for record in records:
        label = record.label + ("" if _has_files(record) else " (files missing)")
        table.add_row(
            record.id,
            record.created_text,
            record.source,
            label,
            str(record.draws if record.draws is not None else "–"),
            str(record.seed if record.seed is not None else "–"),
            _money(record.summary.get("lost_value")),
            _stopping(record.summary),
        )
    _console().print(table)


@runs_app.command("show")
def show_command(
    run: Annotated[str, typer.Argument(help="Run id (or its first digits).")],
    store: StoreOption = None,
    output: FormatOption = Format.table,
) -> None:
    """One run: what ran, the versions, its key numbers and where its files are."""
    record = open_store(store).find(run)
    if output is Format.json:
        _echo_json({**record.to_dict(), "files": _has_files(record)})
        return
    summary = record.summary
    folder = record.folder + ("" if _has_files(record) else "  (missing: moved or deleted?)")
    rows = [
        ("id", record.id),
        ("recorded", f"{record.created_text} from the {record.source}"),
        ("run", record.label),
        ("scenario", f"{record.scenario} ({record.scenario_file or 'no file recorded'})"),
        ("settings", record.settings or "the scenario's own"),
        ("draws, seed", f"{record.draws}, {record.seed}"),
        ("horizon", f"{record.horizon_days} days"),
        ("network", f"{record.network} (data {record.data_version})"),
        ("chokepoint", str(record.package_version)),
        ("files", folder),
        ("lost value (EU-27)", _money(summary.get("lost_value"))),
        ("products that stop", _stopping(summary)),
        ("first line to stop", _first_stop(summary)),
        ("days without licence", _gated(summary)),
    ]
    table = Table(show_header=False, box=None)
    table.add_column(style="bold")
    table.add_column()
    for name, value in rows:
        table.add_row(name, value)
    _console().print(table, highlight=False)


@runs_app.command("compare")
def compare_command(
    runs: Annotated[list[str], typer.Argument(help="Two to four run ids (or their first digits).")],
    store: StoreOption = None,
    report: Annotated[
        Path | None,
        typer.Option("--report", help="Also write an HTML report comparing the runs (.html)."),
    ] = None,
    output: FormatOption = Format.table,
) -> None:
    """Key numbers of two to four runs side by side (and, with --report, an HTML report)."""
    if not 2 <= len(runs) <= MAX_COMPARED:
        raise ChokepointError(f"compare two to {MAX_COMPARED} runs (got {len(runs)})")
    opened = open_store(store)
    records = [opened.find(run) for run in runs]
    if report is not None:
        _write_report(records, report)
    if output is Format.json:
        _echo_json([r.to_dict() for r in records])
        return
    from chokepoint.reporting.tables import rich_table

    headers = [f"{record.id}\n{record.label}" for record in records]
    table = rich_table("Runs compared (EU-27)", ("",), headers)
    lines = {
        "lost value": lambda r: _money(r.summary.get("lost_value")),
        "products that stop": lambda r: _stopping(r.summary),
        "first line to stop": lambda r: _first_stop(r.summary),
        "days without licence": lambda r: _gated(r.summary),
        "draws, seed": lambda r: f"{r.draws}, {r.seed}",
        "data, chokepoint": lambda r: f"{r.data_version}, {r.package_version}",
        "recorded": lambda r: r.created_text,
    }
    for name, cell in lines.items():
        table.add_row(name, *[cell(record) for record in records])
    _console().print(table, highlight=False)
    if report is not None:
        typer.echo(f"wrote {report}")


def _write_report(records: list[RunRecord], target: Path) -> None:
    from chokepoint.reporting.html import report_from_folders

    if target.suffix.lower() not in {".html", ".htm"}:
        raise ChokepointError(f"--report: {target.name}: the report is HTML; use a .html name")
    for record in records:
        if not _has_files(record):
            raise ChokepointError(
                f"run {record.id}: its files are missing from {record.folder} (moved or "
                "deleted?), so there is nothing to report on"
            )
    labels = [f"{record.label} ({record.id[:6]})" for record in records]
    report_from_folders([r.folder for r in records], target, labels=labels)


@runs_app.command("delete")
def delete_command(
    runs: Annotated[list[str], typer.Argument(help="Run ids to forget (full ids).")],
    store: StoreOption = None,
) -> None:
    """Forget runs. A dashboard run's files, kept in the store, go with it; a 'run --out'
    folder is yours and stays where it is."""
    opened = open_store(store)
    records = []
    for run in runs:
        record = opened.find(run)
        if record.id != run.strip().lower():
            raise ChokepointError(f"'{run}': give the full id to delete a run ({record.id}?)")
        records.append(record)
    for record in records:
        opened.delete(record.id)
        kept = "" if record.owned else f"; its files stay in {record.folder}"
        typer.echo(f"deleted run {record.id} ({record.label}){kept}")
