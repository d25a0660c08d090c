"""Daily trajectories: output and stocks over the horizon, median and p5–p95 band over the
Monte Carlo draws beside the no-shock baseline, one panel per product or commodity."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from chokepoint.reporting.charts import (
    BASELINE_COLOUR,
    RUN_COLOURS,
    Catalog,
    finish,
    rounded,
    source_text,
    transparent,
)
from chokepoint.reporting.data import EU_REGION, RunData

# -------------------------------------------------------------------------------- bands


def affected_products(runs: Sequence[RunData], limit: int = 9) -> list[str]:
    """EU-27 products with a loss in any run, hardest hit first (at least one product)."""
    shares: dict[str, float] = {}
    order: list[str] = []
    for run in runs:
        row: Any  # a namedtuple of the region statistics' columns
        for row in run.region_stats().itertuples(index=False):
            share = float(row.lost_output_share_mean or 0.0)
            if row.product not in shares:
                order.append(row.product)
            shares[row.product] = max(shares.get(row.product, 0.0), share)
    hit = sorted((p for p in order if shares[p] > 0), key=lambda p: -shares[p])
    return (hit or order[:4])[:limit]


def depleted_stocks(runs: Sequence[RunData], limit: int = 6) -> list[str]:
    """EU stocks whose median falls furthest below their no-shock level, in any run."""
    drops: dict[str, float] = {}
    for run in runs:
        if run.bands.empty:
            continue
        stock = run.bands[(run.bands["kind"] == "stock") & (run.bands["region"] == EU_REGION)]
        for item, part in stock.groupby("item", sort=False):
            reference = part["baseline"].to_numpy(float)
            low = part["p50"].to_numpy(float)
            relative = np.where(reference > 0, low / np.maximum(reference, 1e-300), 1.0)
            drops[str(item)] = max(drops.get(str(item), 0.0), float(1.0 - relative.min()))
    hit = sorted((item for item, drop in drops.items() if drop > 0.01), key=lambda i: -drops[i])
    return (hit or list(drops)[:3])[:limit]


def _add_line(
    figure: go.Figure, cell: tuple[int, int], dates: list[str], values: pd.Series, **style: Any
) -> None:
    """One line of daily ``values`` in the panel at ``cell`` (row, column; from 1)."""
    figure.add_trace(
        go.Scatter(x=dates, y=rounded(values), mode="lines", **style), row=cell[0], col=cell[1]
    )


def bands_figure(
    runs: Sequence[RunData],
    kind: str,
    items: Sequence[str],
    catalog: Catalog,
    *,
    title: str,
    subtitle: str,
    columns: int = 3,
) -> go.Figure:
    """Daily median and p5–p95 band of output (per day) or stocks, one panel per item,
    one colour per run, with the no-shock baseline dashed."""
    items = [i for i in items if any(_band(run, kind, i) is not None for run in runs)]
    columns = max(1, min(columns, len(items)))
    rows = max(1, math.ceil(len(items) / columns))
    figure = make_subplots(
        rows=rows,
        cols=columns,
        subplot_titles=[catalog.name(i) for i in items] or [""],
        horizontal_spacing=0.09,
        vertical_spacing=min(0.5 / rows, 0.16),
    )
    per = "/day" if kind == "output" else ""
    units_used = []
    for index, item in enumerate(items):
        row, column = divmod(index, columns)
        unit = f"{catalog.unit(item)}{per}"
        units_used.append(unit)
        baseline_drawn = False
        for number, run in enumerate(runs):
            part = _band(run, kind, item)
            if part is None:
                continue
            colour = RUN_COLOURS[number % len(RUN_COLOURS)]
            dates = pd.to_datetime(part["date"]).dt.strftime("%Y-%m-%d").tolist()
            group = f"run{number}"
            suffix = f" ({run.label})" if len(runs) > 1 else ""
            first = index == 0
            band_draws = run.band_draws
            cell = (row + 1, column + 1)
            hidden = {"line": {"width": 0}, "legendgroup": group, "hoverinfo": "skip"}
            _add_line(figure, cell, dates, part["p95"], showlegend=False, **hidden)
            _add_line(
                figure,
                cell,
                dates,
                part["p5"],
                fill="tonexty",
                fillcolor=transparent(colour, 0.22),
                name=f"p5–p95 of {band_draws} draws{suffix}",
                showlegend=first,
                **hidden,
            )
            _add_line(
                figure,
                cell,
                dates,
                part["p50"],
                line={"color": colour, "width": 2},
                name=f"median{suffix}",
                showlegend=first,
                legendgroup=group,
                hovertemplate=f"%{{x}}: %{{y:,.4g}} {unit}<extra>median{suffix}</extra>",
            )
            if not baseline_drawn:
                baseline_drawn = True
                _add_line(
                    figure,
                    cell,
                    dates,
                    part["baseline"],
                    line={"color": BASELINE_COLOUR, "width": 1.2, "dash": "dash"},
                    name="without the shock",
                    showlegend=first,
                    legendgroup="baseline",
                    hovertemplate=f"%{{x}}: %{{y:,.4g}} {unit}<extra>no shock</extra>",
                )
        figure.update_yaxes(title_text=unit, rangemode="tozero", row=row + 1, col=column + 1)
        figure.update_xaxes(tickformat="%b %Y", nticks=5, row=row + 1, col=column + 1)
    for empty in range(len(items), rows * columns):
        row, column = divmod(empty, columns)
        figure.update_xaxes(visible=False, row=row + 1, col=column + 1)
        figure.update_yaxes(visible=False, row=row + 1, col=column + 1)
    units = ", ".join(dict.fromkeys(units_used)) or "units"
    data = catalog.data_sources(items)
    return finish(
        figure,
        title=title,
        subtitle=subtitle,
        units=units,
        source=source_text(runs, data),
        height=150 + 250 * rows,
        legend_right=True,
    )


def _band(run: RunData, kind: str, item: str) -> pd.DataFrame | None:
    if run.bands.empty:
        return None
    part = run.bands[
        (run.bands["kind"] == kind)
        & (run.bands["item"] == item)
        & (run.bands["region"] == EU_REGION)
    ].sort_values("day")
    return None if part.empty else part
