"""A static picture of a run for terminal users: the key chart as PNG (or SVG, PDF).

Drawn with matplotlib's object API (no pyplot, no global state): the daily output of the
hardest-hit EU-27 products as a share of their no-shock output, median and p5–p95 band.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from chokepoint.errors import ChokepointError, OptionError
from chokepoint.files import atomic_file
from chokepoint.reporting.charts import RUN_COLOURS, Catalog, provenance
from chokepoint.reporting.data import EU_REGION, RunData, network_of
from chokepoint.reporting.trajectories import affected_products

if TYPE_CHECKING:
    from chokepoint.network.container import SupplyNetwork
    from chokepoint.simulation.run import Results

FORMATS = {".png": "png", ".svg": "svg", ".pdf": "pdf"}


def write_plot(
    results: Results | RunData,
    path: str | Path,
    *,
    network: SupplyNetwork | None = None,
    products: int = 6,
) -> Path:
    """Write the key chart of a run to ``path`` (.png, .svg or .pdf), atomically."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    target = Path(path)
    kind = FORMATS.get(target.suffix.lower())
    if kind is None:
        raise OptionError("plot", f"{target.name}: use a .png, .svg or .pdf file name")
    run = results if isinstance(results, RunData) else RunData.from_results(results)
    catalog = Catalog.of(network if network is not None else network_of(run))
    bands = run.bands
    if bands.empty:
        raise ChokepointError("the run has no daily bands to plot")
    output = bands[(bands["kind"] == "output") & (bands["region"] == EU_REGION)]
    items = [i for i in affected_products([run], limit=products) if (output["item"] == i).any()]
    if not items:
        raise ChokepointError("the run has no EU-27 output to plot")
    columns = min(3, len(items))
    rows = -(-len(items) // columns)
    figure = Figure(figsize=(max(4.2 * columns, 9.0), 2.9 * rows + 1.1), dpi=150)
    FigureCanvasAgg(figure)
    grid = figure.subplots(rows, columns, sharex=True, sharey=True, squeeze=False)
    for index, axes in enumerate(grid.flat):
        if index >= len(items):
            axes.set_visible(False)
            continue
        _panel(axes, output[output["item"] == items[index]].sort_values("day"), index)
        axes.set_title(catalog.name(items[index]), fontsize=9, loc="left")
        if index % columns == 0:
            axes.set_ylabel("% of no-shock output", fontsize=8)
    draws = run.band_draws
    figure.suptitle(
        f"{run.name}: daily output of the hardest-hit EU-27 products (% of output without "
        f"the shock)\nmedian (line) and p5–p95 band (shade) over {draws} Monte Carlo draws; "
        "dashed: no shock",
        fontsize=10,
        x=0.01,
        ha="left",
    )
    figure.text(0.01, 0.01, f"Source: {provenance(run)}", fontsize=7, color="#666")
    figure.subplots_adjust(
        left=0.07,
        right=0.98,
        bottom=0.06 + 0.08 / rows,
        top=1 - 0.9 / (2.9 * rows + 1.1),
        hspace=0.35,
        wspace=0.08,
    )
    with atomic_file(target) as staging:
        figure.savefig(staging, format=kind)
    return target


def _panel(axes, part: pd.DataFrame, index: int) -> None:
    """One product: median and p5–p95 band as % of the no-shock output."""
    from matplotlib.dates import AutoDateLocator, ConciseDateFormatter

    reference = part["baseline"].to_numpy(float)
    scale = np.where(reference > 0, 100.0 / np.maximum(reference, 1e-300), np.nan)
    dates = pd.to_datetime(part["date"]).to_numpy()
    colour = RUN_COLOURS[index % 2]
    axes.fill_between(
        dates,
        part["p5"].to_numpy(float) * scale,
        part["p95"].to_numpy(float) * scale,
        color=colour,
        alpha=0.2,
        linewidth=0,
    )
    axes.plot(dates, part["p50"].to_numpy(float) * scale, color=colour, linewidth=1.5)
    axes.axhline(100, color="#555", linestyle="--", linewidth=0.9)
    axes.set_ylim(0, 110)
    locator = AutoDateLocator(maxticks=5)
    axes.xaxis.set_major_locator(locator)
    axes.xaxis.set_major_formatter(ConciseDateFormatter(locator))
    axes.tick_params(labelsize=7)
    axes.grid(alpha=0.3)
    axes.spines[["top", "right"]].set_visible(False)
