"""Plotly figures of losses: value by product and country, output shares, days to stoppage
and days without a licence, for one run or several side by side (one colour per run)."""

from __future__ import annotations

import math
from collections.abc import Sequence

import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from chokepoint.reporting.charts import (
    RUN_COLOURS,
    STOPPAGE_WORDS,
    Catalog,
    finish,
    rounded,
    source_text,
)
from chokepoint.reporting.data import EU_REGION, RunData


def _products(runs: Sequence[RunData], column: str, limit: int = 14) -> list[str]:
    """EU-27 products with a positive ``column`` in any run, largest first."""
    largest: dict[str, float] = {}
    for run in runs:
        for _, row in run.region_stats().iterrows():
            value = row.get(column)
            value = float(value) if value is not None and pd.notna(value) else 0.0
            largest[row["product"]] = max(largest.get(row["product"], 0.0), value)
    hit = sorted((p for p, v in largest.items() if v > 0), key=lambda p: -largest[p])
    return hit[:limit]


def _errors(frame: pd.DataFrame, metric: str, scale: float) -> dict:
    middle = frame[f"{metric}_mean"].astype(float) / scale
    low = frame[f"{metric}_p5"].astype(float) / scale
    high = frame[f"{metric}_p95"].astype(float) / scale
    return {
        "type": "data",
        "symmetric": False,
        "array": rounded((high - middle).clip(lower=0).fillna(0)),
        "arrayminus": rounded((middle - low).clip(lower=0).fillna(0)),
        "color": "#333",
    }


def _row_for(run: RunData, products: Sequence[str]) -> pd.DataFrame:
    stats = run.region_stats().set_index("product")
    return stats.reindex(list(products))


# ------------------------------------------------------------------------ lost value


def lost_value_figure(run: RunData, catalog: Catalog) -> go.Figure:
    """Lost value of output over the horizon: EU-27 by product, and by member state."""
    products = _products([run], "lost_value_mean")
    eu = run.region_stats()
    unpriced = [
        catalog.name(p)
        for p, value, lost in zip(
            eu["product"], eu["lost_value_mean"], eu["lost_output_mean"], strict=True
        )
        if (value is None or pd.isna(value)) and (lost or 0) > 0
    ]
    if not products:
        priced = eu[eu["lost_value_mean"].notna()]
        products = list(priced["product"][:6]) or list(eu["product"][:6])
    figure = make_subplots(
        rows=1,
        cols=2,
        column_widths=[0.55, 0.45],
        horizontal_spacing=0.2,
        subplot_titles=["EU-27 by product", "by country (where the data split it)"],
    )
    rows = _row_for(run, products)
    largest = float(rows["lost_value_p95"].astype(float).max(skipna=True) or 0.0)
    scale, word = (1e9, "bn") if not largest < 1e9 else (1e6, "m")
    figure.add_trace(
        go.Bar(
            orientation="h",
            name="EU-27 (mean, p5–p95)",
            y=[catalog.name(p) for p in products],
            x=rounded(rows["lost_value_mean"].astype(float).fillna(0) / scale),
            error_x=_errors(rows, "lost_value", scale),
            marker_color=RUN_COLOURS[1],
            hovertemplate=f"%{{y}}: €%{{x:,.2f}} {word}<extra>mean over draws</extra>",
            showlegend=False,
        ),
        row=1,
        col=1,
    )
    for index, (product, part) in enumerate(
        _by_country(run, products).groupby("product", sort=False)
    ):
        figure.add_trace(
            go.Bar(
                orientation="h",
                name=catalog.name(str(product)),
                y=part["country"].tolist(),
                x=rounded(part["value"] / scale),
                marker_color=_palette(index),
                hovertemplate=f"%{{y}}: €%{{x:,.2f}} {word}<extra>"
                + catalog.name(str(product))
                + "</extra>",
            ),
            row=1,
            col=2,
        )
    figure.update_layout(barmode="stack")
    figure.update_yaxes(autorange="reversed", row=1, col=1)
    figure.update_xaxes(title_text=f"€ {word} (mean over draws)", row=1, col=1)
    figure.update_xaxes(title_text=f"€ {word} (mean over draws)", row=1, col=2)
    note = f"; no price in the data for {', '.join(unpriced[:5])}" if unpriced else ""
    return finish(
        figure,
        title=f"Lost value of output over {run.horizon_days} days",
        subtitle="lost output × value per unit, against the no-shock baseline" + note,
        units=f"€ {word}",
        source=source_text([run], catalog.data_sources(products)),
        height=max(360, 190 + 34 * len(products)),
        legend_right=True,
    )


def _by_country(run: RunData, products: Sequence[str]) -> pd.DataFrame:
    """Lost value per member state and product, with the EU-27 rest not split by country."""
    stats = run.stats
    rows = []
    for product in products:
        part = stats[(stats["product"] == product) & stats["lost_value_mean"].notna()]
        total = part.loc[part["region"] == EU_REGION, "lost_value_mean"].sum()
        countries = part[part["region"] != EU_REGION]
        for country, value in zip(countries["region"], countries["lost_value_mean"], strict=True):
            if value > 0:
                rows.append({"product": product, "country": country, "value": float(value)})
        rest = total - countries["lost_value_mean"].sum()
        if total > 0 and rest > 1e-6 * total:
            rows.append({"product": product, "country": "rest of EU-27", "value": float(rest)})
    return pd.DataFrame(rows, columns=["product", "country", "value"])


def _palette(index: int) -> str:
    colours = ("#1f5a96", "#e08a2c", "#3d8b3d", "#7b4fa0", "#8c564b", "#2aa1b3", "#b5477d")
    return colours[index % len(colours)]


# ------------------------------------------------------------------------- lost share


def lost_share_figure(runs: Sequence[RunData], catalog: Catalog) -> go.Figure:
    """Share of EU-27 output lost over the horizon per product, one bar per run."""
    products = _products(runs, "lost_output_share_mean") or list(
        runs[0].region_stats()["product"][:6]
    )
    figure = go.Figure()
    for number, run in enumerate(runs):
        rows = _row_for(run, products)
        figure.add_trace(
            go.Bar(
                orientation="h",
                name=run.label,
                y=[catalog.name(p) for p in products],
                x=rounded(rows["lost_output_share_mean"].astype(float).fillna(0) * 100),
                error_x=_errors(rows, "lost_output_share", 0.01),
                marker_color=RUN_COLOURS[number % len(RUN_COLOURS)],
                hovertemplate="%{y}: %{x:.1f}% lost<extra>" + run.label + "</extra>",
            )
        )
    figure.update_layout(barmode="group", bargap=0.2, showlegend=len(runs) > 1)
    return _finish_by_product(
        figure,
        runs,
        products,
        title="Share of EU-27 output lost, by product",
        subtitle="mean over draws, whiskers p5–p95; deliveries to EU users for products the "
        "EU mostly imports, EU production otherwise",
    )


def _finish_by_product(
    figure: go.Figure, runs: Sequence[RunData], products: list[str], *, title: str, subtitle: str
) -> go.Figure:
    """Axes, height and frame of a bar chart of lost output shares, one bar row per product."""
    figure.update_xaxes(title_text="% of no-shock output lost over the horizon", rangemode="tozero")
    figure.update_yaxes(autorange="reversed")
    return finish(
        figure,
        title=title,
        subtitle=subtitle,
        units="% of no-shock output",
        source=source_text(runs),
        height=max(340, 170 + 26 * len(products) * max(len(runs), 1)),
    )


def lost_cause_figure(runs: Sequence[RunData], catalog: Catalog) -> go.Figure:
    """Why EU-27 output was lost: input-limited (inputs ran out, or an outage) beside
    demand-limited (customers ordered less), as shares of no-shock output, per run."""
    products = _products(runs, "lost_output_share_mean") or list(
        runs[0].region_stats()["product"][:6]
    )
    figure = go.Figure()
    parts = (
        ("lost_output_input_mean", "input-limited (a stoppage)", 1.0),
        ("lost_output_demand_mean", "demand-limited (customers ordered less)", 0.45),
    )
    for number, run in enumerate(runs):
        rows = _row_for(run, products)
        if "lost_output_input_mean" not in rows.columns:
            continue  # a run written before the split
        lost = rows["lost_output_mean"].astype(float)
        share = rows["lost_output_share_mean"].astype(float)
        per_unit = (share / lost).where(lost > 0, 0.0).fillna(0.0)  # 1 / baseline output
        for column, word, opacity in parts:
            figure.add_trace(
                go.Bar(
                    orientation="h",
                    name=f"{word}" + (f" · {run.label}" if len(runs) > 1 else ""),
                    y=[catalog.name(p) for p in products],
                    x=rounded(rows[column].astype(float).fillna(0) * per_unit * 100),
                    offsetgroup=str(number),
                    marker_color=RUN_COLOURS[number % len(RUN_COLOURS)],
                    marker_opacity=opacity,
                    hovertemplate="%{y}: %{x:.1f}% " + word + "<extra>" + run.label + "</extra>",
                )
            )
    figure.update_layout(barmode="relative", bargap=0.2)
    return _finish_by_product(
        figure,
        runs,
        products,
        title="Why EU-27 output was lost, by product",
        subtitle="mean over draws; input-limited: ordered but not made for lack of inputs "
        "(or an outage), what days to stoppage count; demand-limited: customers ordered "
        "less (e.g. their own lines stopped)",
    )


# ------------------------------------------------------------------ stoppage comparison


def stoppage_comparison_figure(runs: Sequence[RunData], catalog: Catalog) -> go.Figure:
    """Median days until each EU-27 product stops, one bar per run (hatched: no stoppage)."""
    products = _products(runs, "stoppage_probability") or list(
        runs[0].region_stats()["product"][:6]
    )
    first = _row_for(runs[0], products)["time_to_survive_days_p50"].astype(float)
    products = list(first.fillna(math.inf).sort_values(kind="stable").index)
    figure = go.Figure()
    for number, run in enumerate(runs):
        after_shock = run.horizon_days - run.first_shock_day
        rows = _row_for(run, products)
        days = rows["time_to_survive_days_p50"].astype(float)
        stops = rows["stoppage_probability"].astype(float).fillna(0)
        figure.add_trace(
            go.Bar(
                orientation="h",
                name=run.label,
                y=[catalog.name(p) for p in products],
                x=rounded(days.fillna(after_shock)),
                customdata=[[f"{p:.0%}"] for p in stops],
                marker={
                    "color": RUN_COLOURS[number % len(RUN_COLOURS)],
                    "pattern": {"shape": ["/" if math.isnan(d) else "" for d in days]},
                },
                hovertemplate="%{y}: stops after %{x:.0f} days (median); P(stop) "
                "%{customdata[0]}<extra>" + run.label + "</extra>",
            )
        )
    figure.update_layout(barmode="group", bargap=0.2)
    figure.update_xaxes(title_text="days after the first shock (median)", rangemode="tozero")
    figure.update_yaxes(autorange="reversed")
    return finish(
        figure,
        title="When lines stop: days until EU-27 output stops",
        subtitle=f"median over the draws in which it stops ({STOPPAGE_WORDS}); hatched: no "
        "stoppage in most draws (bar at the horizon)",
        units="days after the first shock",
        source=source_text(runs),
        height=max(340, 170 + 26 * len(products) * max(len(runs), 1)),
    )


# --------------------------------------------------------------------------- licensing


def has_licensing(runs: Sequence[RunData]) -> bool:
    return any(not run.licences.empty for run in runs)


def licensing_figure(runs: Sequence[RunData], catalog: Catalog) -> go.Figure:
    """Days per contract without a valid licence, by licensed commodity, one bar per run."""
    frames = []
    for run in runs:
        if run.licences.empty:
            continue
        frame = run.licences.copy()
        supplier = frame["link"].astype(str).str.split("->").str[0]
        frame["commodity"] = [catalog.producer_commodity.get(s, s) for s in supplier]
        frame["run"] = run.label
        frames.append(frame)
    table = pd.concat(frames, ignore_index=True)
    window = int(table["window_days"].max())
    order = (
        table.groupby("commodity")["gated_days_per_contract"].mean().sort_values(ascending=False)
    )
    figure = go.Figure()
    for number, run in enumerate(runs):
        part = table[table["run"] == run.label]
        if part.empty:
            continue
        means = part.groupby("commodity")["gated_days_per_contract"].mean().reindex(order.index)
        flows = part.groupby("commodity")["link"].count().reindex(order.index).fillna(0)
        figure.add_trace(
            go.Bar(
                orientation="h",
                name=run.label,
                y=[catalog.name(c) for c in order.index],
                x=rounded(means.fillna(0)),
                customdata=[[int(f)] for f in flows],
                marker_color=RUN_COLOURS[number % len(RUN_COLOURS)],
                hovertemplate="%{y}: %{x:.0f} days without a licence per contract, mean over "
                "%{customdata[0]} licensed flows<extra>" + run.label + "</extra>",
            )
        )
    figure.update_layout(barmode="group", bargap=0.2, showlegend=len(runs) > 1)
    figure.update_xaxes(
        title_text=f"days per contract without a valid licence (of {window})", range=[0, window]
    )
    figure.update_yaxes(autorange="reversed")
    return finish(
        figure,
        title="Licensing: days each contract waits without a valid licence",
        subtitle="mean over draws and over the licensed flows of each commodity; a flow ships "
        "the share of its contracts that hold a licence",
        units="days per contract",
        source=source_text(runs),
        height=max(320, 170 + 24 * len(order) * max(len(runs), 1)),
    )
