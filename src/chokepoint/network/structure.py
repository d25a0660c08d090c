"""Derived structure of a network: bill-of-materials maths, requirements and link flows.

Pure functions on the tables (any object with the table attributes of
:class:`~chokepoint.network.container.SupplyNetwork`). Recipes are a directed acyclic graph of
commodities; ``R[c, j]`` is the quantity of input ``j`` per unit of ``c`` and the total
requirement matrix ``T = (I - R)^-1 = I + R + R^2 + ...`` gives the quantity of every
upstream commodity embodied in one unit of ``c``.
"""

from __future__ import annotations

from dataclasses import dataclass
from types import SimpleNamespace

import numpy as np
import pandas as pd
import scipy.sparse as sp
import scipy.sparse.linalg as spla


@dataclass(frozen=True, eq=False)
class NetworkTables:
    """The six tables a model is built from, as DataFrames: the base of
    :class:`~chokepoint.network.container.SupplyNetwork` and of the engine's rewritten
    tables, and what the functions below read."""

    commodities: pd.DataFrame
    producers: pd.DataFrame
    links: pd.DataFrame
    recipes: pd.DataFrame
    stocks: pd.DataFrame
    demand: pd.DataFrame


Tables = NetworkTables | SimpleNamespace
"""What the functions of this module read: a :class:`NetworkTables` (a frozen
:class:`~chokepoint.network.container.SupplyNetwork` is one) or a namespace of the same six
tables (what :mod:`chokepoint.network.validate` checks)."""


def commodity_ids(net: Tables) -> pd.Index:
    return pd.Index(net.commodities["id"], name="commodity")


def recipe_matrix(net: Tables) -> sp.csr_matrix:
    """Sparse ``R`` (commodity × commodity): input quantity per unit of output."""
    ids = commodity_ids(net)
    n = len(ids)
    if net.recipes.empty:
        return sp.csr_matrix((n, n))
    rows = ids.get_indexer(pd.Index(net.recipes["output"]))
    cols = ids.get_indexer(pd.Index(net.recipes["input"]))
    return sp.csr_matrix((net.recipes["quantity"].to_numpy(float), (rows, cols)), shape=(n, n))


def total_requirements(net: Tables) -> pd.DataFrame:
    """``T = (I - R)^-1``: units of each commodity (columns) embodied in one unit of each row.

    Solved as a sparse system; valid because validated recipes have no cycle, so ``R`` is
    nilpotent.
    """
    ids = commodity_ids(net)
    n = len(ids)
    if n == 0:
        return pd.DataFrame(index=ids, columns=ids, dtype=float)
    system = (sp.identity(n, format="csc") - recipe_matrix(net).tocsc()).tocsc()
    total = spla.spsolve(system, sp.identity(n, format="csc"))
    dense = total.toarray() if sp.issparse(total) else np.atleast_2d(total)
    return pd.DataFrame(dense.reshape(n, n), index=ids, columns=ids)


def recipe_cycle(recipes: pd.DataFrame) -> list[str] | None:
    """A cycle of commodities in the recipes (``[a, b, ..., a]``), or None if acyclic."""
    graph: dict[str, list[str]] = {}
    for output, input_ in zip(recipes["output"], recipes["input"], strict=True):
        graph.setdefault(output, []).append(input_)
    state: dict[str, int] = {}  # 1 = on the current path, 2 = done
    for start in graph:
        if state.get(start):
            continue
        stack: list[tuple[str, int]] = [(start, 0)]
        path: list[str] = [start]
        state[start] = 1
        while stack:
            node, position = stack[-1]
            children = graph.get(node, [])
            if position < len(children):
                stack[-1] = (node, position + 1)
                child = children[position]
                if state.get(child) == 1:
                    return path[path.index(child) :] + [child]
                if not state.get(child):
                    state[child] = 1
                    stack.append((child, 0))
                    path.append(child)
            else:
                state[node] = 2
                stack.pop()
                path.pop()
    return None


def nodes(net: Tables) -> pd.DataFrame:
    """Producers and demands as one table of nodes.

    Columns: ``node``, ``kind`` (producer|demand), ``commodity``, ``location`` (country or
    region), ``quantity`` (baseline output, or demand per year).
    """
    parts = [
        pd.DataFrame(
            {
                "node": frame["id"],
                "kind": kind,
                "commodity": frame["commodity"],
                "location": frame[location],
                "quantity": frame[quantity].astype(float),
            }
        )
        for frame, kind, location, quantity in (
            (net.producers, "producer", "country", "output"),
            (net.demand, "demand", "region", "quantity"),
        )
    ]
    return pd.concat(parts, ignore_index=True)


def requirements(net: Tables) -> pd.DataFrame:
    """Baseline yearly requirement of every node for every input it uses.

    A producer needs ``output × R[c, j]`` of each direct input ``j`` of its commodity ``c``
    (recycling producers make theirs from scrap, outside the network, and need nothing);
    a demand needs its quantity of its own commodity. Columns: ``node``, ``commodity``,
    ``requirement``.
    """
    frame = nodes(net)
    primary = set(net.producers.loc[net.producers["route"] != "recycling", "id"])
    producers = frame[(frame["kind"] == "producer") & frame["node"].isin(primary)]
    direct = producers.merge(
        net.recipes[["output", "input", "quantity"]].rename(
            columns={"output": "commodity", "quantity": "per_unit"}
        ),
        on="commodity",
    )
    produced = pd.DataFrame(
        {
            "node": direct["node"],
            "commodity": direct["input"],
            "requirement": direct["quantity"] * direct["per_unit"],
        }
    )
    demanded = frame.loc[frame["kind"] == "demand", ["node", "commodity", "quantity"]].rename(
        columns={"quantity": "requirement"}
    )
    return pd.concat([produced, demanded], ignore_index=True)


def link_flows(net: Tables) -> pd.DataFrame:
    """Every link with its commodity, the two ends' locations and its baseline flow per year.

    ``flow = share × requirement(customer, commodity)``; standby alternatives carry 0.
    """
    node_table = nodes(net).set_index("node")
    links = net.links.copy()
    links["commodity"] = node_table["commodity"].reindex(links["supplier"]).to_numpy()
    links["supplier_country"] = node_table["location"].reindex(links["supplier"]).to_numpy()
    links["customer_location"] = node_table["location"].reindex(links["customer"]).to_numpy()
    need = requirements(net).set_index(["node", "commodity"])["requirement"]
    keys = pd.MultiIndex.from_arrays([links["customer"], links["commodity"]])
    requirement = need.reindex(keys).fillna(0.0).to_numpy()
    share = np.where(links["alternative"].to_numpy(bool), 0.0, links["share"].to_numpy(float))
    links["flow"] = share * requirement
    return links
