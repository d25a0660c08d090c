"""The network diagram: the supply chains a scenario touches, from raw material to product.

Nodes are producers of a commodity grouped by country (EU member states as one "EU" node;
countries with under 4% of world output as "other"); columns are the stages of the recipe
chain (mine → refinery → metal → magnet → motor → car). A node's colour is its share of
world output of the commodity: a dark node is a chokepoint. Flows the scenario restricts
(licensed, banned or capped exports) are drawn in red.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from typing import Any

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from chokepoint.errors import ChokepointError
from chokepoint.network.countries import EU27
from chokepoint.reporting.charts import SHOCK_COLOUR, Catalog, finish, source_text
from chokepoint.reporting.data import RunData

SMALL_SHARE = 0.04
"""Countries below this share of world output of a commodity are grouped as "other"."""
EU_AREA = "EU"


def restricted_links(network, run: RunData) -> dict[str, str]:
    """Link ids (``supplier->customer``) the run's export measures apply to, with the kind
    of measure; licensed links come from the run's licensing table."""
    from chokepoint.compile.model import build_model
    from chokepoint.compile.selection import select_links
    from chokepoint.scenario import ExportBan, ExportLicensing, ExportQuota

    restricted = {str(link): "licensed" for link in run.licences.get("link", [])}
    if run.scenario is None:
        return restricted
    try:
        model = build_model(network, run.scenario)
    except ChokepointError:
        return restricted
    for event in run.scenario.events:
        if isinstance(event, ExportBan | ExportQuota | ExportLicensing):
            word = {"export_ban": "banned", "export_quota": "capped"}.get(event.type, "licensed")
            for index in select_links(model, event):
                restricted.setdefault(str(model.link_ids[index]), word)
    return restricted


def chain_commodities(network, run: RunData, restricted: Iterable[str]) -> list[str]:
    """Commodities on the chains from what the scenario restricts to the products it hits."""
    producer_commodity = dict(
        zip(network.producers["id"], network.producers["commodity"], strict=True)
    )
    shocked = {
        commodity
        for link in restricted
        if (commodity := producer_commodity.get(link.split("->")[0])) is not None
    }
    lost = set(run.stats.loc[run.stats["lost_output_mean"].fillna(0) > 0, "product"])
    inputs: dict[str, set[str]] = defaultdict(set)
    outputs: dict[str, set[str]] = defaultdict(set)
    for output, input_ in zip(network.recipes["output"], network.recipes["input"], strict=True):
        inputs[output].add(input_)
        outputs[input_].add(output)
    if not shocked:
        chain = _closure(lost, inputs)
    else:
        targets = _closure(lost | shocked, inputs)
        downstream = _closure(shocked, outputs)
        chain = _closure(shocked, inputs) | (downstream & targets)
    order = list(network.commodities["id"])
    return [c for c in order if c in chain]


def _closure(start: set[str], edges: dict[str, set[str]]) -> set[str]:
    seen, stack = set(start), list(start)
    while stack:
        for following in edges.get(stack.pop(), ()):
            if following not in seen:
                seen.add(following)
                stack.append(following)
    return seen


def _area(country: str) -> str:
    return EU_AREA if country in EU27 or country == "EU27" else country


def _nodes(network, chain: list[str]) -> tuple[pd.DataFrame, dict[str, str]]:
    """Diagram nodes (commodity × area) and the node of each producer or demand shown."""
    producers = network.producers[network.producers["commodity"].isin(chain)].copy()
    producers = producers[producers["output"].astype(float) > 0]
    producers["area"] = producers["country"].map(_area)
    totals = producers.groupby("commodity")["output"].transform("sum").astype(float)
    producers["world_share"] = producers["output"].astype(float) / totals
    by_area = producers.groupby(["commodity", "area"])["world_share"].transform("sum")
    small = (by_area < SMALL_SHARE) & (producers["area"] != EU_AREA)
    producers.loc[small, "area"] = "other"
    producers["node"] = producers["commodity"] + "@" + producers["area"]
    nodes = producers.groupby(["node", "commodity", "area"], as_index=False).agg(
        output=("output", "sum"), world_share=("world_share", "sum")
    )
    owner = dict(zip(producers["id"], producers["node"], strict=True))
    demand = network.demand
    eu_demand = demand[demand["region"].map(_area) == EU_AREA]
    made_in_eu = set(nodes.loc[nodes["area"] == EU_AREA, "commodity"])
    users = []
    for commodity, part in eu_demand.groupby("commodity"):
        if commodity in chain and commodity not in made_in_eu:
            node = f"{commodity}@EU users"
            users.append(
                {
                    "node": node,
                    "commodity": commodity,
                    "area": "EU users",
                    "output": float(part["quantity"].sum()),
                    "world_share": np.nan,
                }
            )
            owner.update({demand_id: node for demand_id in part["id"]})
    return pd.concat([nodes, pd.DataFrame(users, columns=nodes.columns)], ignore_index=True), owner


def _depths(network, chain: list[str]) -> dict[str, int]:
    """Column of each commodity: the longest recipe path from a raw material in the chain."""
    inputs: dict[str, list[str]] = defaultdict(list)
    for output, input_ in zip(network.recipes["output"], network.recipes["input"], strict=True):
        if output in chain and input_ in chain:
            inputs[output].append(input_)
    depth: dict[str, int] = {}

    def visit(commodity: str) -> int:
        if commodity not in depth:
            depth[commodity] = 0
            depth[commodity] = max((visit(i) + 1 for i in inputs[commodity]), default=0)
        return depth[commodity]

    for commodity in chain:
        visit(commodity)
    return depth


def network_figure(network, run: RunData, catalog: Catalog) -> go.Figure:
    """The affected supply chains as a layered diagram, coloured by concentration."""
    restricted = restricted_links(network, run)
    chain = chain_commodities(network, run, restricted)
    nodes, owner = _nodes(network, chain)
    depth = _depths(network, chain)
    nodes["x"] = [
        depth.get(c, 0) + (1 if area == "EU users" else 0)
        for c, area in zip(nodes["commodity"], nodes["area"], strict=True)
    ]
    edges = _edges(network, run, owner, restricted)
    nodes = _arrange(nodes, edges, {c: i for i, c in enumerate(chain)})
    position = nodes.set_index("node")[["x", "y"]]
    figure = go.Figure()
    for flag, colour, width, name in (
        (False, "#b9c2cc", 1.0, "flow (baseline)"),
        (True, SHOCK_COLOUR, 2.6, "flow under export control (licence, ban or quota)"),
    ):
        part = edges[edges["restriction"].notna() == flag]
        xs, ys = [], []
        for edge in part.itertuples(index=False):
            start, end = position.loc[edge[0]], position.loc[edge[1]]
            xs += [float(start["x"]), float(end["x"]), None]
            ys += [float(start["y"]), float(end["y"]), None]
        figure.add_trace(
            go.Scatter(
                x=xs or [None],
                y=ys or [None],
                mode="lines",
                line={"color": colour, "width": width},
                name=name,
                hoverinfo="skip",
            )
        )
    figure.add_trace(_edge_hover(edges, position, catalog))
    figure.add_trace(_node_trace(nodes, catalog, users=False))
    if nodes["area"].eq("EU users").any():
        figure.add_trace(_node_trace(nodes, catalog, users=True))
    columns = sorted({int(x) for x in nodes["x"]})
    stage = dict(zip(network.commodities["id"], network.commodities["stage"], strict=True))
    labels = []
    for column in columns:
        stages = [stage.get(c, "") for c, d in depth.items() if d == column]
        labels.append(" / ".join(dict.fromkeys(s for s in stages if s))[:28])
    figure.update_xaxes(
        tickvals=columns,
        ticktext=labels,
        title_text="stage in the chain (raw material → final product)",
        showgrid=False,
        zeroline=False,
        range=[min(columns, default=0) - 0.3, max(columns, default=0) + 1.1],
    )
    figure.update_yaxes(visible=False)
    tallest = int(nodes.groupby("x").size().max()) if len(nodes) else 1
    return finish(
        figure,
        title="Where the chokepoints are: the supply chains this scenario touches",
        subtitle="producers grouped by country; colour: share of world output of that "
        "commodity (dark = chokepoint); red lines: flows under export control",
        units="% of world output (node colour)",
        source=source_text([run], catalog.data_sources(chain)),
        height=max(480, 260 + 44 * tallest),
    )


def _edges(
    network, run: RunData, owner: dict[str, str], restricted: dict[str, str]
) -> pd.DataFrame:
    """Links between diagram nodes, summed per pair of nodes, with their restriction."""
    from chokepoint.network.structure import link_flows

    flows = link_flows(network)
    flows["link"] = flows["supplier"] + "->" + flows["customer"]
    flows["from"] = flows["supplier"].map(owner)
    flows["to"] = flows["customer"].map(owner)
    flows["restriction"] = flows["link"].map(restricted)
    shown = flows.dropna(subset=["from", "to"])
    shown = shown[
        (shown["from"] != shown["to"]) & ((shown["flow"] > 0) | shown["restriction"].notna())
    ]
    gated = (
        run.licences.set_index("link")["gated_days_per_contract"].to_dict()
        if not run.licences.empty
        else {}
    )
    return (
        shown.assign(gated=shown["link"].map(lambda link: gated.get(link, np.nan)))
        .groupby(["from", "to"], as_index=False)
        .agg(
            flow=("flow", "sum"),
            commodity=("commodity", "first"),
            restriction=("restriction", lambda s: s.dropna().iloc[0] if s.notna().any() else None),
            gated=("gated", "mean"),
        )
    )


def _arrange(nodes: pd.DataFrame, edges: pd.DataFrame, rank: dict[str, int]) -> pd.DataFrame:
    """Vertical positions: nodes ordered within each column by the mean position of their
    neighbours (a few barycentre sweeps), to keep lines from crossing."""
    nodes = nodes.copy()
    nodes["rank"] = nodes["commodity"].map(rank)
    nodes = nodes.sort_values(["x", "rank", "area"]).reset_index(drop=True)
    nodes["y"] = nodes.groupby("x").cumcount().astype(float)
    columns = sorted(nodes["x"].unique())
    pairs = list(zip(edges["from"], edges["to"], strict=True))
    for sweep in range(6):
        y = dict(zip(nodes["node"], nodes["y"], strict=True))
        x = dict(zip(nodes["node"], nodes["x"], strict=True))
        forward = sweep % 2 == 0
        for column in columns if forward else columns[::-1]:
            inside = nodes["x"] == column
            centre = []
            for node in nodes.loc[inside, "node"]:
                near = [
                    y[b if a == node else a]
                    for a, b in pairs
                    if node in (a, b)
                    and (x[b if a == node else a] < column) == forward
                    and x[b if a == node else a] != column
                ]
                centre.append(float(np.mean(near)) if near else y[node])
            order = np.argsort(np.asarray(centre), kind="stable")
            spread = np.empty(len(order))
            spread[order] = np.arange(len(order)) - (len(order) - 1) / 2
            nodes.loc[inside, "y"] = spread
            y.update(dict(zip(nodes.loc[inside, "node"], spread, strict=True)))
    return nodes


def _node_trace(nodes: pd.DataFrame, catalog: Catalog, users: bool) -> go.Scatter:
    """Producer nodes coloured by share of world output, or EU users as grey squares."""
    part = nodes[nodes["area"].eq("EU users") == users]
    share = (part["world_share"].astype(float) * 100).round(1)
    text = [
        f"{catalog.name(c, 22)} · {a}" for c, a in zip(part["commodity"], part["area"], strict=True)
    ]
    if users:
        hover = [
            f"{catalog.name(c)} · EU users<br>EU final use {o:,.4g} {catalog.unit(c)}/yr"
            for c, o in zip(part["commodity"], part["output"], strict=True)
        ]
        marker = {"size": 11, "color": "#8a96a3", "symbol": "square"}
    else:
        hover = [
            f"{catalog.name(c)} · {a}<br>{s:.0f}% of world output ({o:,.4g} {catalog.unit(c)}/yr)"
            for c, a, s, o in zip(
                part["commodity"], part["area"], share, part["output"], strict=True
            )
        ]
        marker = {
            "size": [round(12 + 16 * s / 100, 1) for s in share],
            "color": share.tolist(),
            "colorscale": "YlOrRd",
            "cmin": 0,
            "cmax": 100,
            "line": {"color": "#333", "width": 0.8},
            "colorbar": {"title": {"text": "share of world<br>output (%)"}, "thickness": 12},
        }
    return go.Scatter(
        x=part["x"].round(3).tolist(),
        y=part["y"].round(3).tolist(),
        mode="markers+text",
        name="EU users (final demand)" if users else "producers, by country",
        text=text,
        textposition="middle right",
        textfont={"size": 10},
        hovertext=hover,
        hoverinfo="text",
        showlegend=users,
        marker=marker,
    )


def _edge_hover(edges: pd.DataFrame, position: pd.DataFrame, catalog: Catalog) -> go.Scatter:
    xs: list[float | None] = []
    ys: list[float | None] = []
    texts: list[str] = []
    edge: Any  # a namedtuple of the edges' columns
    for edge in edges.itertuples(index=False):
        start, end = position.loc[edge[0]], position.loc[edge[1]]
        xs.append(round((float(start["x"]) + float(end["x"])) / 2, 3))
        ys.append(round((float(start["y"]) + float(end["y"])) / 2, 3))
        words = f"{edge[0].replace('@', ' · ')} → {edge[1].replace('@', ' · ')}<br>"
        words += f"{edge.flow:,.4g} {catalog.unit(edge.commodity)}/yr"
        if edge.restriction:
            words += f"; {edge.restriction}"
        if np.isfinite(edge.gated):
            words += f", {edge.gated:.0f} days per contract without a licence"
        texts.append(words)
    return go.Scatter(
        x=xs or [None],
        y=ys or [None],
        mode="markers",
        marker={"size": 7, "color": "rgba(0,0,0,0)"},
        hovertext=texts,
        hoverinfo="text",
        showlegend=False,
        name="flows",
    )
