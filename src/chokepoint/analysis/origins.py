"""Origin attribution: where the content of every node's inputs ultimately comes from.

For a traced commodity ``k`` and a node ``n`` whose output embodies ``k``, ``O[n, k]`` is
the share of that ``k`` content produced (at stage ``k``) in each country. A producer of
``k`` itself gives its own country, and so does a recycling producer for all its content
(secondary material counts where it is recovered, as in the CRMA recycling benchmark).
A producer of ``c`` mixes its suppliers' origin vectors, weighting each direct input ``j``
by the part of the ``k`` content that reaches ``c`` through ``j``
(``R[c, j] · T[j, k] / T[c, k]``) and each supplier by its link share; the uncovered part
of a partial input is of unknown origin (``UNK``). A demand mixes its suppliers. This is
the footprint maths of input-output analysis on the link graph: ``(I − W) O = B``, solved
sparsely per traced commodity.
"""

from __future__ import annotations

from typing import cast

import numpy as np
import pandas as pd
import scipy.sparse as sp
import scipy.sparse.linalg as spla

from chokepoint.analysis.metrics import UNKNOWN
from chokepoint.network.container import SupplyNetwork
from chokepoint.network.countries import region_codes
from chokepoint.network.structure import nodes, total_requirements

_EPS = 1e-12


def origin_shares(net: SupplyNetwork, traced: str | list[str] | None = None) -> pd.DataFrame:
    """Origin of the traced commodities' content in every node that embodies them.

    Columns: ``node``, ``node_commodity``, ``traced``, ``country``, ``share`` (of the node's
    content of ``traced``), ``content`` (yearly quantity of ``traced`` in the node's baseline
    output, in its unit). ``traced=None`` traces every commodity.
    """
    total = total_requirements(net)
    if traced is None:
        targets = list(total.columns)
    else:
        targets = [traced] if isinstance(traced, str) else list(traced)
    frames = [_trace(net, total, k) for k in targets]
    frames = [f for f in frames if not f.empty]
    if not frames:
        return pd.DataFrame(
            columns=["node", "node_commodity", "traced", "country", "share", "content"]
        )
    return pd.concat(frames, ignore_index=True)


def _trace(net: SupplyNetwork, total: pd.DataFrame, k: str) -> pd.DataFrame:
    table = nodes(net)
    embodied = total[k].reindex(table["commodity"]).to_numpy()
    keep = (embodied > _EPS) & ((table["kind"] == "demand") | (table["commodity"] != k)) | (
        (table["kind"] == "producer") & (table["commodity"] == k)
    )
    table = table[keep].reset_index(drop=True)
    if table.empty:
        return pd.DataFrame()
    index = pd.Index(table["node"])
    countries = pd.Index(
        sorted(set(table.loc[table["kind"] == "producer", "location"])) + [UNKNOWN]
    ).unique()
    n = len(table)
    recycling = set(net.producers.loc[net.producers["route"] == "recycling", "id"])
    made = net.producers.set_index("id")["commodity"]
    recipe = net.recipes.set_index(["output", "input"])["quantity"]

    links = net.links[~net.links["alternative"]]
    links = links[
        links["customer"].isin(index)
        & links["supplier"].isin(index)
        & ~links["customer"].isin(recycling)
    ]
    link_commodity = made.reindex(links["supplier"]).to_numpy()
    customer_commodity = table.set_index("node")["commodity"].reindex(links["customer"]).to_numpy()
    customer_kind = table.set_index("node")["kind"].reindex(links["customer"]).to_numpy()

    # weight of the input j in the k content of a producer of c: R[c, j] · T[j, k] / T[c, k]
    def input_weight(c: str, j: str) -> float:
        return float(recipe.get((c, j), 0.0) * total.at[j, k] / total.at[c, k])

    weights = np.array(
        [
            1.0 if kind == "demand" else input_weight(c, j)
            for kind, c, j in zip(customer_kind, customer_commodity, link_commodity, strict=True)
        ]
    )
    rows = index.get_indexer(links["customer"])
    cols = index.get_indexer(links["supplier"])
    values = weights * links["share"].to_numpy(float)
    w = sp.csc_matrix((values, (rows, cols)), shape=(n, n))

    b = np.zeros((n, len(countries)))
    own = (
        (table["kind"] == "producer") & ((table["commodity"] == k) | table["node"].isin(recycling))
    ).to_numpy()
    b[np.flatnonzero(own), countries.get_indexer(table.loc[own, "location"])] = 1.0
    # unknown origin: for every (node, input) the part of the weight no link covers
    covered = pd.Series(values).groupby([rows, link_commodity]).sum()
    for position in np.flatnonzero(~own):
        node_kind = table.at[position, "kind"]
        c = str(table.at[position, "commodity"])
        if node_kind == "demand":
            inputs = {c: 1.0}
        else:
            inputs = (
                {
                    j: input_weight(c, j)
                    for j in recipe.loc[c].index
                    if cast(float, total.at[j, k]) > _EPS
                }
                if c in recipe.index.get_level_values(0)
                else {}
            )
        gap = sum(weight - covered.get((position, j), 0.0) for j, weight in inputs.items())
        b[position, -1] = max(gap, 0.0)

    system = (sp.identity(n, format="csc") - w).tocsc()
    solution = spla.spsolve(system, b)
    solution = np.asarray(solution.toarray() if sp.issparse(solution) else solution)
    solution = solution.reshape(n, len(countries))

    content = table["quantity"].to_numpy() * total[k].reindex(table["commodity"]).to_numpy()
    long = pd.DataFrame(solution, columns=countries)
    long.insert(0, "node", table["node"])
    long = long.melt(id_vars="node", var_name="country", value_name="share")
    long = long[long["share"] > _EPS]
    info = table.set_index("node")
    long["node_commodity"] = info["commodity"].reindex(long["node"]).to_numpy()
    long["traced"] = k
    long["content"] = (
        pd.Series(content, index=table["node"]).reindex(long["node"]).to_numpy() * long["share"]
    )
    return long[["node", "node_commodity", "traced", "country", "share", "content"]].sort_values(
        ["node", "share"], ascending=[True, False], ignore_index=True
    )


def product_origins(
    net: SupplyNetwork,
    product: str,
    region: str = "EU",
    traced: str | list[str] | None = None,
) -> pd.DataFrame:
    """Origin of the traced content of a product made (or demanded) in a region.

    Aggregates :func:`origin_shares` over the region's producers of ``product`` (or, when the
    region has none, its demand for it), weighted by content. Columns: ``traced``,
    ``country``, ``content``, ``share``. ``traced=None`` traces every upstream commodity.
    """
    total = total_requirements(net)
    if product not in total.index:
        from chokepoint.errors import DataError

        raise DataError(f"unknown commodity '{product}'", field="product")
    upstream = [
        c for c in total.columns if c != product and cast(float, total.at[product, c]) > _EPS
    ]
    targets = upstream if traced is None else ([traced] if isinstance(traced, str) else traced)
    shares = origin_shares(net, targets)
    table = nodes(net)
    inside = table["location"].isin(region_codes(region)) & (table["commodity"] == product)
    chosen = table[inside & (table["kind"] == "producer")]
    if chosen.empty:
        chosen = table[inside & (table["kind"] == "demand")]
    part = shares[shares["node"].isin(chosen["node"])]
    grouped = part.groupby(["traced", "country"])["content"].sum().reset_index()
    grouped["share"] = grouped["content"] / grouped.groupby("traced")["content"].transform("sum")
    return grouped.sort_values(["traced", "share"], ascending=[True, False], ignore_index=True)


def material_origins_by_stage(
    net: SupplyNetwork, product: str, material: str, region: str = "EU"
) -> pd.DataFrame:
    """Origin of a material's content in a product, stage by stage, summed over commodities.

    For example the rare-earth content of EU-made EV traction motors: at the separation
    stage the NdPr, Dy and Tb oxides together, at the metal stage the metals, and so on.
    Columns: ``stage``, ``country``, ``content``, ``share`` (of the stage's content).
    """
    of_material = net.commodities[net.commodities["material"] == material]
    origins = product_origins(net, product, region, list(of_material["id"]))
    if origins.empty:
        return pd.DataFrame(columns=["stage", "country", "content", "share"])
    stage = of_material.set_index("id")["stage"]
    origins["stage"] = stage.reindex(origins["traced"]).to_numpy()
    grouped = origins.groupby(["stage", "country"])["content"].sum().reset_index()
    grouped["share"] = grouped["content"] / grouped.groupby("stage")["content"].transform("sum")
    order = {name: position for position, name in enumerate(stage.unique())}
    grouped["_order"] = grouped["stage"].map(order)
    return (
        grouped.sort_values(["_order", "share"], ascending=[True, False])
        .drop(columns="_order")
        .reset_index(drop=True)
    )
