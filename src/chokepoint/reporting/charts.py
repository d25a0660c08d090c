"""Plotly figures of a run: pure functions of its tables, each with a title, units and source.

Every figure carries ``layout.meta = {"title", "units", "source"}`` and a "Source:" note
under the plot, so a chart cut out of the report still says what it shows and where the
numbers come from. Numbers go into the figures as plain lists (no binary arrays), rounded to
a few significant digits, so the JSON stays small and readable.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any, cast

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from chokepoint.reporting.data import EU_REGION, RunData

FONT = "Inter, 'Segoe UI', Helvetica, Arial, sans-serif"
RUN_COLOURS = ("#1f5a96", "#c2452d", "#3d8b3d", "#7b4fa0")
SHOCK_COLOUR = "#c2452d"
MEASURE_COLOUR = "#3d8b3d"
BASELINE_COLOUR = "#555555"
UNIT_WORDS = {"unit": "units", "Munit": "million units"}
STOPPAGE_WORDS = "output below 99% of the no-shock baseline"


# --------------------------------------------------------------------------- catalogue


@dataclass(frozen=True)
class Catalog:
    """Names, units and cited sources of commodities (ids alone without a network)."""

    names: dict[str, str]
    units: dict[str, str]
    commodity_sources: dict[str, list[str]]
    source_labels: dict[str, str]
    producer_commodity: dict[str, str]
    aggregates: frozenset[str] = frozenset()
    """Product families reported besides their members (skip them when summing products)."""

    @classmethod
    def of(cls, network) -> Catalog:  # network: SupplyNetwork | None
        if network is None:
            return cls({}, {}, {}, {}, {})
        from chokepoint.results.groups import family_aggregates

        commodities = network.commodities
        cited: dict[str, list[str]] = {}
        for table, key in ((commodities, "id"), (network.producers, "commodity")):
            for commodity, source in zip(table[key], table["source"], strict=True):
                for item in str(source or "").split(";"):
                    if item.strip() and item.strip() not in cited.setdefault(commodity, []):
                        cited[commodity].append(item.strip())
        labels = {
            row.id: f"{row.publisher} {row.year}".strip()
            for row in network.sources.itertuples(index=False)
        }
        names = {c: _short(n) for c, n in zip(commodities["id"], commodities["name"], strict=True)}
        units = dict(zip(commodities["id"], commodities["unit"], strict=True))
        families = family_aggregates(network)
        for family, members in families.items():
            names[family] = _family_name([names[m] for m in members], family)
            units[family] = units[members[0]]
        return cls(
            names=names,
            units=units,
            commodity_sources=cited,
            source_labels=labels,
            producer_commodity=dict(
                zip(network.producers["id"], network.producers["commodity"], strict=True)
            ),
            aggregates=frozenset(families),
        )

    def name(self, commodity: str, width: int | None = None) -> str:
        """Short readable name (the id without a network), cut to ``width`` characters."""
        text = self.names.get(commodity, commodity.replace("_", " "))
        if width is not None and len(text) > width:
            return text[: width - 1].rstrip() + "…"
        return text

    def unit(self, commodity: str) -> str:
        unit = self.units.get(commodity, "")
        return UNIT_WORDS.get(unit, unit) or "units"

    def data_sources(self, commodities: Iterable[str], limit: int = 4) -> str:
        """Publishers and years of the sources cited for these commodities, shortened."""
        seen: list[str] = []
        for commodity in commodities:
            for source in self.commodity_sources.get(commodity, []):
                label = self.source_labels.get(source)
                if label and label not in seen:
                    seen.append(label)
        if not seen:
            return ""
        more = f" and {len(seen) - limit} more" if len(seen) > limit else ""
        return "; ".join(seen[:limit]) + more


def _family_name(names: list[str], family: str) -> str:
    """A family's name: the words its members' names end with in common ("Full hybrid
    passenger car", "Mild hybrid passenger car" → "Hybrid passenger car"), else its id."""
    words = [n.split() for n in names]
    common: list[str] = []
    while (
        all(len(w) > len(common) for w in words) and len({w[-1 - len(common)] for w in words}) == 1
    ):
        common.insert(0, words[0][-1 - len(common)])
    if not common:
        return family.replace("_", " ")
    text = " ".join(common)
    return text[0].upper() + text[1:] + " (all)"


def _short(name: str, width: int = 34) -> str:
    """A commodity's name without its parenthetical remarks, at most ``width`` characters."""
    text = re.sub(r"\s*\([^)]*\)", "", str(name))
    text = re.split(r", | / |: ", text)[0].strip()
    return text if len(text) <= width else text[: width - 1].rstrip() + "…"


def provenance(run: RunData) -> str:
    """One line naming the simulation behind a chart: package, scenario, draws, seed, data."""
    meta = run.metadata
    network = meta.get("network") or "default"
    return (
        f"chokepoint {meta.get('package_version', '?')} simulation of '{run.name}', "
        f"{meta.get('draws', '?')} draws, seed {meta.get('seed', '?')}; network {network} "
        f"(data {meta.get('data_version', '?')})"
    )


def source_text(runs: Sequence[RunData], data: str = "", width: int = 110) -> str:
    """The source note: one line per run, then the data sources, wrapped at ``width``."""
    lines = [provenance(run) for run in runs]
    if data:
        lines.append(f"Data: {data}")
    return "<br>".join(_wrap(line, width) for line in lines)


def finish(
    figure: go.Figure,
    *,
    title: str,
    subtitle: str,
    units: str,
    source: str,
    height: int = 440,
    legend_rows: int = 1,
    legend_right: bool = False,
) -> go.Figure:
    """Title, subtitle, units, source note and the house layout (legend above the plot, or
    on its right for grids of panels)."""
    lines = source.count("<br>") + 1
    bottom = 80 + 14 * lines
    subtitle = _wrap(subtitle, 120)
    legend_rows = 0 if legend_right else legend_rows
    top = 78 + 15 * (subtitle.count("<br>") + 1) + 22 * legend_rows
    figure.update_layout(
        title={
            "text": f"<b>{title}</b><br><span style='font-size:12px;color:#555'>{subtitle}</span>",
            "x": 0.01,
            "xanchor": "left",
            "xref": "container",
            "y": 1,
            "yanchor": "top",
            "yref": "container",
            "pad": {"t": 14},
        },
        template="plotly_white",
        height=height + 22 * max(legend_rows - 1, 0),
        margin={"l": 80, "r": 30, "t": top, "b": bottom},
        font={"family": FONT, "size": 12, "color": "#222"},
        legend=(
            {"orientation": "v", "x": 1.01, "xanchor": "left", "y": 1, "yanchor": "top"}
            if legend_right
            else {"orientation": "h", "x": 0, "xanchor": "left", "y": 1.01, "yanchor": "bottom"}
        ),
        hoverlabel={"namelength": -1},
        meta={"title": title, "units": units, "source": source.replace("<br>", "; ")},
    )
    figure.add_annotation(
        text=f"Source: {source}",
        xref="paper",
        yref="paper",
        x=0,
        y=0,
        yshift=-56,
        xanchor="left",
        yanchor="top",
        align="left",
        showarrow=False,
        font={"size": 10, "color": "#666"},
    )
    return figure


def rounded(values: Iterable[float | None], digits: int = 4) -> list[float | None]:
    """Plain floats with ``digits`` significant digits of the largest value (NaN → None)."""
    array = np.asarray(list(values), dtype=float)
    finite = np.isfinite(array)
    if not finite.any():
        return [None] * len(array)
    scale = float(np.max(np.abs(array[finite])))
    places = max(digits - 1 - int(math.floor(math.log10(scale))), 0) if scale > 0 else 0
    return [float(v) if np.isfinite(v) else None for v in np.round(array, places)]


def _value(row: pd.Series, column: str) -> float:
    value = row.get(column)
    return float(value) if value is not None and pd.notna(value) else math.nan


def transparent(colour: str, alpha: float) -> str:
    red, green, blue = (int(colour[i : i + 2], 16) for i in (1, 3, 5))
    return f"rgba({red},{green},{blue},{alpha})"


# ------------------------------------------------------------------------------ timeline


def timeline_figure(run: RunData) -> go.Figure:
    """The scenario in words: the simulated period and each event as a bar on a calendar."""
    start = pd.Timestamp(run.metadata.get("start", "2025-01-01"))
    horizon = run.horizon_days
    rows = [("simulated period", start, start + pd.Timedelta(days=horizon), "period", "")]
    for event in run.events:
        rows.append(
            (
                _wrap(str(event["label"]), 46),
                pd.Timestamp(event["start_date"]),
                pd.Timestamp(event["end_date"]),
                event["kind"],
                f"{event['type'].replace('_', ' ')}: day {event['start_day']} to "
                f"{event['end_day']}",
            )
        )
    colours = {"period": "#b8c4d0", "shock": SHOCK_COLOUR, "measure": MEASURE_COLOUR}
    figure = go.Figure()
    for kind, name in (("period", "simulated period"), ("shock", "shock"), ("measure", "measure")):
        part = [r for r in rows if r[3] == kind]
        if not part:
            continue
        figure.add_trace(
            go.Bar(
                name=name,
                orientation="h",
                y=[r[0] for r in part],
                base=[r[1].strftime("%Y-%m-%d") for r in part],
                x=[(r[2] - r[1]).total_seconds() * 1000 for r in part],
                marker_color=colours[kind],
                customdata=[
                    [r[1].strftime("%d %b %Y"), r[2].strftime("%d %b %Y"), r[4]] for r in part
                ],
                hovertemplate="%{y}<br>%{customdata[0]} – %{customdata[1]}"
                "<br>%{customdata[2]}<extra></extra>",
            )
        )
    figure.update_xaxes(type="date", title_text=f"date ({horizon} days from {start:%d %b %Y})")
    figure.update_yaxes(autorange="reversed", title_text="")
    figure.update_layout(barmode="overlay", bargap=0.35)
    return finish(
        figure,
        title=f"Scenario timeline: {run.name}",
        subtitle="red: shocks (export controls, outages); green: countermeasures",
        units="calendar date",
        source=source_text([run], width=64),
        height=max(260, 150 + 46 * len(rows)),
    )


def _wrap(text: str, width: int) -> str:
    words, lines, line = text.split(), [], ""
    for word in words:
        if line and len(line) + len(word) + 1 > width:
            lines.append(line)
            line = word
        else:
            line = f"{line} {word}".strip()
    lines.append(line)
    return "<br>".join(lines)


# ------------------------------------------------------------------- survive vs recover


def _days_bar(
    name: str,
    labels: list[str],
    days: list[float],
    low: list[float],
    high: list[float],
    **style: Any,
) -> go.Bar:
    """A horizontal bar of days per product with asymmetric error bars (``low`` and
    ``high`` are the distances below and above each bar)."""
    bars = {"type": "data", "symmetric": False, "array": rounded(high), "color": "#333"}
    return go.Bar(
        name=name,
        orientation="h",
        y=labels,
        x=rounded(days),
        error_x=bars | {"arrayminus": rounded(low)},
        **style,
    )


def survive_recover_figure(run: RunData, catalog: Catalog) -> go.Figure:
    """Per EU-27 product: days from the first shock until output stops (falls below 99% of
    baseline) and until it is back, median with the p5–p95 range over the draws that stop."""
    stats = run.region_stats()
    stopped = stats[stats["stoppage_probability"] > 0].copy()
    after_shock = run.horizon_days - run.first_shock_day
    recovered_share = _recovered_share(run)
    if stopped.empty:
        stopped = stats.head(6).copy()
    stopped["order"] = stopped["time_to_survive_days_p50"].fillna(after_shock)
    stopped = stopped.sort_values("order")
    labels = [
        f"{catalog.name(r['product'])} · P(stop) {float(r['stoppage_probability']):.0%}"
        for _, r in stopped.iterrows()
    ]
    survive: list[float] = []
    survive_low: list[float] = []
    survive_high: list[float] = []
    recover: list[float] = []
    recover_low: list[float] = []
    recover_high: list[float] = []
    notes, patterns = [], []
    for _, row in stopped.iterrows():
        middle = _value(row, "time_to_survive_days_p50")
        middle = after_shock if math.isnan(middle) else middle
        survive.append(middle)
        survive_low.append(max(middle - _nan0(_value(row, "time_to_survive_days_p5"), middle), 0))
        survive_high.append(max(_nan0(_value(row, "time_to_survive_days_p95"), middle) - middle, 0))
        back = _value(row, "time_to_recover_days_p50")
        share = recovered_share.get(row["product"])
        if math.isnan(back):
            recover.append(after_shock)
            recover_low.append(0)
            recover_high.append(0)
            notes.append("not within the horizon" if row["stoppage_probability"] > 0 else "")
            patterns.append("/")
        else:
            recover.append(back)
            recover_low.append(max(back - _nan0(_value(row, "time_to_recover_days_p5"), back), 0))
            recover_high.append(max(_nan0(_value(row, "time_to_recover_days_p95"), back) - back, 0))
            notes.append(f"recovered in {share:.0%} of stopping draws" if share is not None else "")
            patterns.append("")
    figure = go.Figure()
    figure.add_trace(
        _days_bar(
            "days until output stops",
            labels,
            survive,
            survive_low,
            survive_high,
            marker_color=SHOCK_COLOUR,
            hovertemplate="%{y}<br>stops after %{x:.0f} days (median)<extra></extra>",
        )
    )
    figure.add_trace(
        _days_bar(
            "days until output is back to baseline",
            labels,
            recover,
            recover_low,
            recover_high,
            marker={"color": RUN_COLOURS[0], "pattern": {"shape": patterns}},
            text=[n if p else "" for n, p in zip(notes, patterns, strict=True)],
            customdata=[[n] for n in notes],
            textposition="inside",
            insidetextanchor="end",
            hovertemplate="%{y}<br>back after %{x:.0f} days (median)<br>%{customdata[0]}"
            "<extra></extra>",
        )
    )
    figure.update_xaxes(title_text="days after the first shock", range=[0, after_shock * 1.04])
    figure.update_yaxes(autorange="reversed")
    figure.update_layout(barmode="group", bargap=0.25)
    return finish(
        figure,
        title="Time to survive vs time to recover, EU-27 products",
        subtitle=f"median over the draws in which output stops ({STOPPAGE_WORDS}); whiskers "
        "p5–p95; hatched: not back within the simulated period",
        units="days after the first shock",
        source=source_text([run]),
        height=max(320, 170 + 48 * len(labels)),
    )


def _nan0(value: float, fallback: float) -> float:
    return fallback if math.isnan(value) else value


def _recovered_share(run: RunData) -> dict[str, float]:
    draws = run.draws
    if draws.empty or "time_to_recover_days" not in draws:
        return {}
    eu = draws[(draws["region"] == EU_REGION) & draws["time_to_survive_days"].notna()]
    shares = eu.groupby("product")["time_to_recover_days"].apply(lambda s: s.notna().mean())
    return cast(dict[str, float], shares.to_dict())
