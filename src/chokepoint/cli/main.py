"""The ``chokepoint`` command line: a thin layer over the public Python API.

User errors (bad data, bad options, usage) print one line on stderr and exit with status 2
(:mod:`chokepoint.cli.oneline`); ``--debug`` shows the traceback instead.
"""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any, Literal, cast

import typer
from rich.console import Console

from chokepoint.cli.criticality import (
    criticality_command,
    geopolrisk_command,
    import_geopolrisk_command,
    print_strategic_materials,
)
from chokepoint.cli.economy import economy_command
from chokepoint.cli.evidence import audit_command, calibrate_command, validate_episodes_command
from chokepoint.cli.imports import import_app
from chokepoint.cli.oneline import OneLineErrors
from chokepoint.cli.optimise import optimise_command, tts_command
from chokepoint.cli.options import DrawsOption, OutputFormat, SeedOption, TableOrJson
from chokepoint.cli.runs import StoreOption, record_cli_run, runs_app
from chokepoint.cli.show import report_command, serve_command
from chokepoint.errors import ChokepointError
from chokepoint.files import check_writable

app = typer.Typer(
    cls=OneLineErrors,
    name="chokepoint",
    help="Stress-test critical supply chains against economic coercion: map a supply network, "
    "measure dependency, trace origins.",
    no_args_is_help=True,
    add_completion=False,
    rich_markup_mode="rich",
)
data_app = typer.Typer(help="The default dataset and the table schema.", no_args_is_help=True)
app.add_typer(data_app, name="data")


NetworkOption = Annotated[
    Path | None,
    typer.Option(
        "--network",
        "-n",
        help="Folder with network tables (CSV or Parquet); default: the shipped dataset.",
        show_default=False,
    ),
]
RegionOption = Annotated[
    str,
    typer.Option("--region", "-r", help="Importing region: EU (= EU27), an ISO3 code, or WORLD."),
]
SchedulerOption = Annotated[
    str | None,
    typer.Option(
        "--scheduler",
        help="Run draws on Dask: 'local' (a LocalCluster on this "
        "machine) or a scheduler address such as tcp://host:8786.",
    ),
]
FormatOption = Annotated[
    OutputFormat, typer.Option("--format", "-f", help="table for people, json/csv for machines.")
]


def _network(path: Path | None):
    from chokepoint.network.container import SupplyNetwork, load_default

    return load_default() if path is None else SupplyNetwork.from_folder(path)


def _check_region(region: str) -> str:
    from chokepoint.network.countries import location_problem

    code = region.upper()
    if location_problem(code, world=True):
        raise ChokepointError(f"--region: unknown region '{region}' (EU, WORLD or an ISO3 code)")
    return code


@app.callback()
def _root(
    debug: Annotated[
        bool, typer.Option("--debug", help="Show a traceback for errors in the input.")
    ] = False,
    version: Annotated[bool, typer.Option("--version", help="Print the version and exit.")] = False,
) -> None:
    if version:
        from chokepoint import __version__

        typer.echo(__version__)
        raise typer.Exit()


@app.command()
def metrics(
    network: NetworkOption = None,
    region: RegionOption = "EU",
    commodity: Annotated[
        str | None, typer.Option("--commodity", "-c", help="Only this commodity id.")
    ] = None,
    output: FormatOption = OutputFormat.table,
) -> None:
    """Dependency per commodity: supplier shares, HHI, import reliance, CRMA 65% flag."""
    from chokepoint.analysis.metrics import dependency_table
    from chokepoint.reporting.tables import (
        crma_scope_note,
        dependency_rich_table,
        to_csv,
        to_json,
    )

    net = _network(network)
    code = _check_region(region)
    if commodity is not None and commodity not in set(net.commodities["id"]):
        raise ChokepointError(f"--commodity: unknown commodity '{commodity}'")
    table = dependency_table(net, code, commodity)
    if output is OutputFormat.json:
        typer.echo(to_json(table))
    elif output is OutputFormat.csv:
        typer.echo(to_csv(table), nl=False)
    else:
        shown = table[table["consumption"] > 0] if commodity is None else table
        console = Console()
        console.print(
            dependency_rich_table(
                shown,
                title=f"Dependency of {table['region'].iloc[0] if len(table) else code} "
                f"on its suppliers ({net.name}, data {net.data_version})",
            )
        )
        if len(shown):
            console.print(crma_scope_note(shown), highlight=False)
        if code in {"EU", "EU27"} and commodity is None:
            print_strategic_materials(Console())


@app.command()
def origins(
    product: Annotated[
        str, typer.Argument(help="Commodity id of the product, e.g. ev_traction_motor.")
    ],
    network: NetworkOption = None,
    region: RegionOption = "EU",
    traced: Annotated[
        list[str] | None,
        typer.Option("--traced", "-t", help="Input commodity to trace (repeatable); default all."),
    ] = None,
    output: FormatOption = OutputFormat.table,
) -> None:
    """Where the inputs of a product made in a region ultimately come from, by country."""
    from chokepoint.analysis.origins import product_origins
    from chokepoint.reporting.tables import origins_rich_table, to_csv, to_json

    net = _network(network)
    code = _check_region(region)
    known = set(net.commodities["id"])
    for item in [product, *(traced or [])]:
        if item not in known:
            raise ChokepointError(f"unknown commodity '{item}'")
    table = product_origins(net, product, code, traced or None)
    if output is OutputFormat.json:
        typer.echo(to_json(table))
    elif output is OutputFormat.csv:
        typer.echo(to_csv(table), nl=False)
    else:
        Console().print(
            origins_rich_table(table, title=f"Origins of the inputs of {product} made in {code}")
        )


@app.command()
def validate(
    path: Annotated[Path, typer.Argument(help="Folder with network tables to check.")],
) -> None:
    """Check a network folder: exits 0 if consistent, 2 with a one-line error if not."""
    from chokepoint.network.container import SupplyNetwork

    net = SupplyNetwork.from_folder(path)
    console = Console()
    for warning in net.warnings:
        console.print(f"[yellow]warning:[/yellow] {warning}", highlight=False)
    counts = ", ".join(
        f"{len(getattr(net, t))} {t}"
        for t in ("commodities", "producers", "links", "recipes", "stocks", "demand", "sources")
    )
    console.print(
        f"[green]ok[/green] {path}: {counts} (data version {net.data_version})", highlight=False
    )


@data_app.command("export")
def data_export(
    folder: Annotated[Path, typer.Argument(help="Folder to create with the tables.")],
    file_format: Annotated[str, typer.Option("--format", help="csv or parquet.")] = "csv",
    force: Annotated[bool, typer.Option("--force", help="Replace tables already there.")] = False,
) -> None:
    """Write the default network as a folder of tables, to start your own."""
    from chokepoint.network.container import load_default

    if file_format not in {"csv", "parquet"}:
        raise ChokepointError(f"--format: expected csv or parquet, got '{file_format}'")
    chosen = cast(Literal["csv", "parquet"], file_format)  # checked just above
    written = load_default().to_folder(folder, format=chosen, overwrite=force)
    typer.echo(f"wrote the default network to {written}/ ({file_format})")


@data_app.command("schema")
def data_schema() -> None:
    """Print the table schema reference (Markdown), as in docs/schema.md."""
    from chokepoint.network.schema import schema_markdown

    typer.echo(schema_markdown(), nl=False)


RunFormat = TableOrJson


class Keep(StrEnum):
    summary = "summary"
    daily = "daily"


def _console(stderr: bool = False) -> Console:
    import shutil

    width = shutil.get_terminal_size((120, 40)).columns
    return Console(stderr=stderr, width=max(width, 100))


@app.command("run")
def run_command(
    scenario: Annotated[str, typer.Argument(help="Scenario file (YAML) or preset name.")],
    network: NetworkOption = None,
    draws: DrawsOption = None,
    seed: SeedOption = None,
    out: Annotated[
        Path | None,
        typer.Option(
            "--out", "-o", help="Write Parquet tables and result.json here (a new or empty folder)."
        ),
    ] = None,
    output: Annotated[
        RunFormat, typer.Option("--format", "-f", help="table for people, json for machines.")
    ] = RunFormat.table,
    keep: Annotated[
        Keep,
        typer.Option("--keep", help="summary, or daily trajectories too (Python API / --out)."),
    ] = Keep.summary,
    scheduler: SchedulerOption = None,
    plot: Annotated[
        Path | None,
        typer.Option(
            "--plot",
            help="Write the key chart as an image (.png, .svg or .pdf).",
            show_default=False,
        ),
    ] = None,
    allow_large: Annotated[
        bool,
        typer.Option(
            "--allow-large",
            help="Run even past the work budget (over 100,000 draws, 1e11 link-day-draw "
            "updates, or 80% of this machine's memory by estimate).",
        ),
    ] = False,
    store: StoreOption = None,
) -> None:
    """Simulate a scenario day by day: days to stoppage, lost output and value per product."""
    from chokepoint.files import present
    from chokepoint.scenario import load_scenario
    from chokepoint.simulation.run import network_for, simulate

    loaded = load_scenario(scenario)
    if out is not None and present(out) and (not out.is_dir() or any(out.iterdir())):
        raise ChokepointError(f"--out: {out} exists and is not an empty folder")
    for target, option in ((out, "--out"), (plot, "--plot")):
        check_writable(target, option)
    if plot is not None:
        from chokepoint.cli.show import check_plot_path

        check_plot_path(plot)
    results = _simulate_with_progress(
        simulate, loaded, network, draws, seed, keep.value, scheduler, allow_large
    )
    recorded = None
    if out is not None:
        written = results.write(out)
        recorded = record_cli_run(results, written, store, network_for(loaded, network))
    if plot is not None:
        from chokepoint.cli.show import write_plot

        _console(stderr=True).print(f"wrote {write_plot(results, plot)}", highlight=False)
    if output is RunFormat.json:
        import json

        typer.echo(json.dumps(results.to_dict(), indent=2, ensure_ascii=False))
        return
    _print_results(results, _console())
    if out is not None:
        run_id = f" (recorded as run {recorded})" if recorded else ""
        _console().print(f"wrote {out}/{run_id}", highlight=False)


def _progress_bar(console: Console, counting: str = ""):
    """A transient bar on ``console``; ``counting`` names what it counts ("draws")."""
    from rich.progress import BarColumn, Progress, TextColumn, TimeRemainingColumn

    return Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        TextColumn("{task.completed}/{task.total}" + (f" {counting}" if counting else "")),
        TimeRemainingColumn(),
        console=console,
        transient=True,
        disable=not console.is_terminal,
    )


def _simulate_with_progress(
    simulate, scenario, network, draws, seed, keep, scheduler=None, allow_large=False
):
    with _progress_bar(_console(stderr=True), "draws") as bar:
        task = bar.add_task(scenario.name, total=draws or scenario.draws)

        def advance(done: int, total: int) -> None:
            bar.update(task, completed=done, total=total)

        return simulate(
            scenario,
            network,
            draws=draws,
            seed=seed,
            keep=keep,
            progress=advance,
            scheduler=scheduler,
            allow_large=allow_large,
        )


def _print_results(results, console: Console) -> None:
    from chokepoint.reporting.tables import licence_rich_table, results_rich_table

    meta = results.metadata
    console.rule(f"[bold]{meta['scenario']}")
    if meta["description"]:
        console.print(meta["description"], highlight=False)
    console.print(
        f"{meta['draws']} draws, seed {meta['seed']}, {meta['horizon_days']} days from "
        f"{meta['start']} (first shock on day {meta['first_shock_day']}); network "
        f"{meta['network']} (data {meta['data_version']}), chokepoint {meta['package_version']}.",
        highlight=False,
    )
    console.print(results_rich_table(results.stats, title="Per final product and region"))
    console.print(
        "* measured as deliveries to the region's final demand (the region makes "
        "too little of it itself); otherwise its own production.",
        highlight=False,
    )
    if not results.measures.empty:
        from chokepoint.reporting.tables import rich_table

        measures = rich_table(
            "Measures and their cost", ("measure", "type"), ("cost mean", "p5–p95")
        )
        for row in results.measures.itertuples(index=False):
            measures.add_row(
                row.label,
                row.type,
                f"€{row.cost_mean:,.0f}",
                f"€{row.cost_p5:,.0f}–€{row.cost_p95:,.0f}",
            )
        console.print(measures)
    licences = results.licence_summary()
    if not licences.empty:
        labels = {i: e.title for i, e in enumerate(results.scenario.events)}
        console.print(licence_rich_table(licences, labels, title="Licensing"))


@app.command()
def sweep(
    scenario: Annotated[str, typer.Argument(help="Scenario file (YAML) or preset name.")],
    vary: Annotated[
        list[str],
        typer.Option(
            "--vary",
            "-v",
            help="PATH=V1,V2,... e.g. "
            "events.0.validity_days=90,180,365 or stockpile.days=0,30,60 "
            "(repeatable: the grid is the cartesian product).",
        ),
    ],
    network: NetworkOption = None,
    draws: Annotated[
        int | None, typer.Option("--draws", "-d", min=1, help="Draws per grid point.")
    ] = None,
    out: Annotated[
        Path | None, typer.Option("--out", "-o", help="Write the table to a .csv or .parquet file.")
    ] = None,
    scheduler: SchedulerOption = None,
    output: FormatOption = OutputFormat.table,
) -> None:
    """Run a grid of scenario variants; one tidy row per grid point, product and region."""
    from chokepoint.reporting.tables import to_csv, to_json
    from chokepoint.scenario import load_scenario
    from chokepoint.simulation.sweep import parse_vary
    from chokepoint.simulation.sweep import sweep as run_sweep

    varies = [parse_vary(spec) for spec in vary]
    check_writable(out, "--out")
    if out is not None and out.suffix not in {".csv", ".parquet"}:
        raise ChokepointError(f"--out: expected a .csv or .parquet file, got '{out}'")
    loaded = load_scenario(scenario)
    console = _console(stderr=True)
    with _progress_bar(console) as bar:
        task = bar.add_task(f"{loaded.name} grid", total=None)
        table = run_sweep(
            loaded,
            varies,
            network,
            draws=draws,
            scheduler=scheduler,
            progress=lambda d, t: bar.update(task, completed=d, total=t),
        )
    if out is not None:
        _write_table(table, out)
    if output is OutputFormat.json:
        typer.echo(to_json(table))
    elif output is OutputFormat.csv:
        typer.echo(to_csv(table), nl=False)
    else:
        _print_sweep(table, [path for path, _ in varies], _console())


def _write_table(table, out: Path) -> None:
    from chokepoint.files import atomic_file

    with atomic_file(out) as staging:
        if out.suffix == ".csv":
            table.to_csv(staging, index=False)
        else:
            table.to_parquet(staging, index=False)


def _print_sweep(table, paths: list[str], console: Console) -> None:
    from rich.table import Table

    from chokepoint.reporting.tables import percent

    result = Table(
        title="Grid: EU-27 products with losses (means over draws)",
        title_justify="left",
        header_style="bold",
    )
    for name in [*paths, "product", "P(stop)", "lost output", "lost share", "lost value"]:
        result.add_column(name, justify="left" if name == "product" else "right")
    for row in table[table["region"] == "EU27"].to_dict(orient="records"):
        if not row["lost_output_mean"] and not row["stoppage_probability"]:
            continue
        value = row["lost_value_mean"]
        money = "–" if value is None or value != value else f"€{value / 1e6:,.1f} m"
        result.add_row(
            *[str(row[p]) for p in paths],
            row["product"],
            percent(row["stoppage_probability"]),
            f"{row['lost_output_mean']:,.4g}",
            percent(row["lost_output_share_mean"], 1),
            money,
        )
    console.print(result)


@app.command()
def sensitivity(
    scenario: Annotated[str, typer.Argument(help="Scenario file (YAML) or preset name.")],
    network: NetworkOption = None,
    draws: Annotated[
        int, typer.Option("--draws", "-d", min=20, help="Monte Carlo draws for the variance index.")
    ] = 400,
    tornado_draws: Annotated[
        int, typer.Option("--tornado-draws", min=1, help="Draws per one-at-a-time run.")
    ] = 50,
    metric: Annotated[
        str, typer.Option("--metric", help="lost_value, lost_output or lost_output_share.")
    ] = "lost_value",
    product: Annotated[
        str | None,
        typer.Option("--product", "-p", help="One product (default: all products of the region)."),
    ] = None,
    region: Annotated[str, typer.Option("--region", "-r", help="Region of the outcome.")] = "EU27",
    output: FormatOption = OutputFormat.table,
) -> None:
    """Rank the scenario's uncertain inputs by their effect on losses (tornado + index)."""
    from chokepoint.reporting.tables import to_csv, to_json
    from chokepoint.scenario import load_scenario
    from chokepoint.simulation.sensitivity import sensitivity as rank

    if metric not in {"lost_value", "lost_output", "lost_output_share"}:
        raise ChokepointError(
            f"--metric: expected lost_value, lost_output or lost_output_share, got '{metric}'"
        )
    table = rank(
        load_scenario(scenario),
        network,
        draws=draws,
        tornado_draws=tornado_draws,
        metric=metric,
        product=product,
        region=_check_region(region) if region.upper() != "EU" else "EU27",
    )
    if output is OutputFormat.json:
        typer.echo(to_json(table))
    elif output is OutputFormat.csv:
        typer.echo(to_csv(table), nl=False)
    else:
        from chokepoint.reporting.tables import rich_table

        result = rich_table(
            f"What drives {metric} ({product or 'all products'}, {region})",
            ("parameter",),
            ("p5 → p95", "outcome at p5", "at p95", "swing", "first-order index"),
        )
        row: Any  # a namedtuple of the table's columns
        for row in table.itertuples(index=False):
            result.add_row(
                row.parameter,
                f"{row.p5_value:.3g} → {row.p95_value:.3g}",
                f"{row.outcome_at_p5:,.4g}",
                f"{row.outcome_at_p95:,.4g}",
                f"{row.swing:,.4g}",
                f"{row.first_order_index:.2f}",
            )
        _console().print(result)


@app.command()
def presets(
    timeline: Annotated[
        bool, typer.Option("--timeline", help="The controls on one time line, by date.")
    ] = False,
    output: FormatOption = OutputFormat.table,
) -> None:
    """List the scenario presets shipped with chokepoint, one line each (or on a time line)."""
    from chokepoint.reporting.tables import timeline_rich_table, to_csv, to_json
    from chokepoint.scenario import preset_timeline

    table = preset_timeline()
    if output is OutputFormat.json:
        typer.echo(to_json(table))
    elif output is OutputFormat.csv:
        typer.echo(to_csv(table.assign(source=table["source"].map("; ".join))), nl=False)
    elif timeline:
        _console().print(timeline_rich_table(table, title="Presets on one time line"))
    else:
        for row in table.sort_values("name").itertuples():
            typer.echo(f"{row.name:<26} {row.summary}")


@app.command()
def demo(
    draws: Annotated[int, typer.Option("--draws", "-d", min=1, help="Draws per regime.")] = 100,
    report: Annotated[
        Path, typer.Option("--report", help="Where to write the HTML report with the charts.")
    ] = Path("chokepoint-demo.html"),
) -> None:
    """Run the main job on the default data: 3-month vs 12-month licences for rare earths."""
    from chokepoint.cli.demo import run_demo

    run_demo(_console(), draws=draws, report_path=report)


app.add_typer(import_app, name="import", help="Import users' own data (trade flows).")
app.command("report")(report_command)
app.command("serve")(serve_command)
app.command("economy")(economy_command)
app.command("criticality")(criticality_command)
app.command("geopolrisk")(geopolrisk_command)
import_app.command("geopolrisk")(import_geopolrisk_command)
app.command("optimise")(optimise_command)
app.command("tts")(tts_command)
app.command("audit")(audit_command)
app.command("calibrate")(calibrate_command)
app.command("validate-episodes")(validate_episodes_command)
app.add_typer(runs_app, name="runs")


def main() -> None:
    """Console entry point: input errors become one line on stderr and exit status 2."""
    app(prog_name="chokepoint")
