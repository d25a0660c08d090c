"""Which charts a report and the dashboard show, in what order, with what words around them."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import plotly.graph_objects as go

from chokepoint.reporting.charts import Catalog, survive_recover_figure, timeline_figure
from chokepoint.reporting.data import RunData
from chokepoint.reporting.losses import (
    has_licensing,
    licensing_figure,
    lost_cause_figure,
    lost_share_figure,
    lost_value_figure,
    stoppage_comparison_figure,
)
from chokepoint.reporting.network_chart import network_figure, restricted_links
from chokepoint.reporting.trajectories import affected_products, bands_figure, depleted_stocks


@dataclass
class Chart:
    """One figure; ``run`` names the run of a per-run chart (None: all runs together)."""

    key: str
    figure: go.Figure
    run: str | None = None


@dataclass
class Section:
    key: str
    title: str
    intro: str
    charts: list[Chart] = field(default_factory=list)
    side_by_side: bool = False
    notes: list[str] = field(default_factory=list)


def figure_json(figure: go.Figure) -> dict[str, Any]:
    """A figure as plain JSON data (what ``Plotly.newPlot`` takes)."""
    return json.loads(figure.to_json())


def catalog_for(networks: Sequence[Any]) -> Catalog:
    return Catalog.of(next((n for n in networks if n is not None), None))


def output_figure(runs: Sequence[RunData], catalog: Catalog) -> go.Figure:
    title = "Daily output of the hardest-hit EU-27 products"
    subtitle = (
        f"median and p5–p95 band over {runs[0].band_draws} Monte Carlo draws; dashed: without "
        "the shock; EU production, or deliveries to EU users for imported goods"
    )
    items = affected_products(runs)
    return bands_figure(runs, "output", items, catalog, title=title, subtitle=subtitle)


def stock_figure(runs: Sequence[RunData], catalog: Catalog) -> go.Figure:
    title = "EU-27 stocks running down"
    subtitle = (
        f"stocks held in the EU (inputs at plants and users), median and p5–p95 "
        f"band over {runs[0].band_draws} draws; dashed: without the shock"
    )
    items = depleted_stocks(runs)
    return bands_figure(runs, "stock", items, catalog, title=title, subtitle=subtitle)


def report_sections(runs: Sequence[RunData], networks: Sequence[Any]) -> list[Section]:
    """The sections of a report on one run, or on several runs compared side by side."""
    catalog = catalog_for(networks)
    several = len(runs) > 1
    sections = [
        Section(
            "scenario",
            "The scenario",
            "What happens, and when: each shock and countermeasure on the calendar.",
            [Chart("timeline", timeline_figure(run), run.label) for run in runs],
            side_by_side=several,
        )
    ]
    network_charts, notes, drawn = [], [], []
    for run, network in zip(runs, networks, strict=True):
        if network is None:
            notes.append(
                f"{run.label}: the network this run used could not be found again (or its "
                "data changed since), so its diagram is left out."
            )
            continue
        restricted = set(restricted_links(network, run))
        if restricted in drawn:
            continue
        drawn.append(restricted)
        network_charts.append(Chart("network", network_figure(network, run, catalog), run.label))
    sections.append(
        Section(
            "network",
            "Where the chokepoints are",
            "The supply chains the scenario touches, from raw material to final product. "
            "Dark nodes hold most of the world's output of their commodity; red lines are "
            "the flows the export measures restrict.",
            network_charts,
            side_by_side=len(network_charts) > 1,
            notes=notes,
        )
    )
    sections.append(
        Section(
            "trajectories",
            "How output and stocks run down",
            "Day by day, the spread over Monte Carlo draws: the band holds 90% of the draws."
            + (" Each run has its own colour." if several else ""),
            [
                Chart("output", output_figure(runs, catalog)),
                Chart("stocks", stock_figure(runs, catalog)),
            ],
        )
    )
    stop_charts = [
        Chart("survive", survive_recover_figure(run, catalog), run.label) for run in runs
    ]
    if several:
        stop_charts.insert(0, Chart("stoppage", stoppage_comparison_figure(runs, catalog)))
    sections.append(
        Section(
            "stoppage",
            "When lines stop, and when they recover",
            "Time to survive: days from the first shock until output falls below 99% of "
            "what it would have been for lack of inputs (a fall because customers ordered "
            "less is not a stoppage). Time to recover: days until it is back.",
            stop_charts,
            side_by_side=False,
        )
    )
    sections.append(
        Section(
            "losses",
            "What is lost",
            "Output lost over the simulated period against the no-shock baseline, as a "
            "share and in euros (where the data give a price), and why: inputs ran out, or "
            "customers ordered less.",
            [
                Chart("lost_share", lost_share_figure(runs, catalog)),
                Chart("lost_cause", lost_cause_figure(runs, catalog)),
            ]
            + [Chart("lost_value", lost_value_figure(run, catalog), run.label) for run in runs],
        )
    )
    if has_licensing(runs):
        sections.append(
            Section(
                "licensing",
                "Licensing: why the lines stop",
                "Every licensed flow is split into contracts that apply, wait, are approved "
                "or refused, and must renew before their licence expires.",
                [Chart("licensing", licensing_figure(runs, catalog))],
            )
        )
    return sections


def dashboard_figures(run: RunData, network: Any) -> dict[str, dict[str, Any]]:
    """The dashboard's charts for one run, as JSON data keyed by chart."""
    catalog = Catalog.of(network)
    figures = {
        "timeline": timeline_figure(run),
        "output": output_figure([run], catalog),
        "stocks": stock_figure([run], catalog),
        "survive": survive_recover_figure(run, catalog),
        "lost_share": lost_share_figure([run], catalog),
        "lost_value": lost_value_figure(run, catalog),
    }
    if has_licensing([run]):
        figures["licensing"] = licensing_figure([run], catalog)
    if network is not None:
        figures["network"] = network_figure(network, run, catalog)
    return {key: figure_json(figure) for key, figure in figures.items()}
