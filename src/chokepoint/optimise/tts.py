"""Time to survive and time to recover per node (Simchi-Levi et al., 2015, *Interfaces* 45(5)).

For a node (or a set of nodes) knocked out alone, the *time to survive* (TTS) is the longest
time ``t`` the rest of the network meets all demand from its stocks and by rerouting:

    max t  s.t.  u_j r_kj <= Σ_{i supplies k to j} y_ij + s_jk     (bill of materials)
                 Σ_j y_ij <= u_i + s_i                              (shipments)
                 u_j <= c_j t,  u_j = 0 for the disrupted nodes
                 u_j + s_j >= d_j t for every product j

with production ``u`` and shipments ``y`` over the whole period, ``s_i`` the stock of a
node's own output and ``s_jk`` its stock of input ``k``. The *time-to-recover* program fixes
``t`` at the node's recovery time and minimises the weighted demand lost (``l_j`` added to
the demand rows). The risk exposure index ranks nodes by that loss relative to the largest.
TTS is infinite when the node is not needed to meet demand.

:func:`from_network` builds the graph from a chokepoint network (producers as plants,
final demands as products, stocks from the stocks table); the graph can also be given
directly (:class:`Graph`), as the tests do with the 35-node case of the open
supply-chain-stress-test repository.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from chokepoint.optimise.matrix import LinearProgram, summed


@dataclass
class Graph:
    """Nodes, who supplies which material to whom, recipes, capacities, stocks, demand."""

    nodes: list[str]
    edges: list[tuple[str, str]]  # (supplier, customer)
    material: dict[str, str]  # material each supplying node makes
    recipe: dict[tuple[str, str], float]  # (customer, material) -> units per unit made
    capacity: dict[str, float]  # per unit of time (inf allowed)
    demand: dict[str, float] = field(default_factory=dict)  # products: per unit of time
    margin: dict[str, float] = field(default_factory=dict)  # weight of a product's lost unit
    stock: dict[str, float] = field(default_factory=dict)  # of the node's own output
    input_stock: dict[tuple[str, str], float] = field(default_factory=dict)


def _program(graph: Graph, disrupted: set[str], ttr: float | None, integer: bool = False):
    lp = LinearProgram()
    index = {n: i for i, n in enumerate(graph.nodes)}
    upper = np.array([0.0 if n in disrupted else np.inf for n in graph.nodes])
    u = lp.var("u", (len(graph.nodes),), upper=upper, integer=integer)
    y = lp.var("y", (len(graph.edges),), integer=integer)
    survive = ttr is None
    t = lp.var(
        "t",
        (),
        lower=0.0 if ttr is None else ttr,
        upper=np.inf if ttr is None else ttr,
        cost=-1.0 if survive else 0.0,
    )
    products = [n for n in graph.nodes if n in graph.demand]
    lost = lp.var(
        "l",
        (len(products),),
        cost=np.array([0.0 if survive else graph.margin.get(p, 1.0) for p in products]),
    )
    if survive:
        lp.upper[-1][:] = 0.0  # no loss allowed
    by_input: dict[tuple[str, str], list[int]] = {}
    out: dict[str, list[int]] = {}
    for e, (i, j) in enumerate(graph.edges):
        by_input.setdefault((j, graph.material[i]), []).append(e)
        out.setdefault(i, []).append(e)
    for (j, k), quantity in graph.recipe.items():
        edges = by_input.get((j, k), [])
        lp.constrain(
            "bom",
            [(quantity, u[index[j]]), *([(-1.0, summed(y[edges]))] if edges else [])],
            upper=graph.input_stock.get((j, k), 0.0),
        )
    for i, edges in out.items():
        lp.constrain(
            "ship", [(1.0, summed(y[edges])), (-1.0, u[index[i]])], upper=graph.stock.get(i, 0.0)
        )
    for n in graph.nodes:
        if math.isfinite(graph.capacity.get(n, math.inf)):
            lp.constrain("capacity", [(1.0, u[index[n]]), (-graph.capacity[n], t)], upper=0.0)
    for position, p in enumerate(products):
        lp.constrain(
            "demand",
            [(1.0, u[index[p]]), (1.0, lost[position]), (-graph.demand[p], t)],
            lower=-graph.stock.get(p, 0.0),
        )
    return lp, t, lost


def _solve(lp: LinearProgram) -> tuple[str, np.ndarray, float]:
    from chokepoint.optimise.solve import _highs, _quiet

    arrays = lp.arrays()
    h = _highs(arrays, bool(arrays["integer"].any()), {"mip_rel_gap": 1e-9})
    with _quiet():
        h.run()
    status = h.modelStatusToString(h.getModelStatus())
    values = np.asarray(h.getSolution().col_value)
    return status, values, float(h.getInfo().objective_function_value)


def time_to_survive(
    graph: Graph, disrupted: set[str] | list[str], *, integer: bool = False
) -> float:
    """Longest time demand is met in full with the nodes out (inf: they are not needed).

    ``integer`` makes production and shipments whole units (a mixed-integer program).
    """
    lp, t, _ = _program(graph, set(disrupted), None, integer)
    status, values, _ = _solve(lp)
    if status in {"Unbounded", "Primal unbounded or infeasible"}:
        return math.inf
    if status != "Optimal":
        return math.nan
    return float(values[t])


def lost_at_recovery(
    graph: Graph, disrupted: set[str] | list[str], ttr: float, *, integer: bool = False
) -> float:
    """Least weighted demand lost while the nodes are out for ``ttr``."""
    lp, _, _ = _program(graph, set(disrupted), float(ttr), integer)
    status, _, objective = _solve(lp)
    return objective if status == "Optimal" else math.nan


def exposure_table(graph: Graph, ttr: dict[str, float], sets: dict[str, list[str]] | None = None):
    """TTS, TTR, lost weighted demand and risk exposure index per node (or node set)."""
    sets = sets or {n: [n] for n in ttr}
    rows = []
    for name, members in sets.items():
        recovery = ttr[name]
        rows.append(
            {
                "node": name,
                "tts": time_to_survive(graph, members),
                "ttr": recovery,
                "lost": lost_at_recovery(graph, members, recovery),
            }
        )
    table = pd.DataFrame(rows)
    worst = table["lost"].max()
    table["risk_exposure_index"] = table["lost"] / worst if worst and worst > 0 else 0.0
    table["tts_below_ttr"] = table["tts"] < table["ttr"]
    return table.sort_values("lost", ascending=False, kind="stable").reset_index(drop=True)


def from_network(net, *, by: str = "producer") -> tuple[Graph, dict[str, list[str]]]:
    """A chokepoint network as a graph (per day), and the node sets to knock out.

    ``by="producer"``: each plant alone; ``by="country"``: each (country, commodity) stage.
    Final demands are the products (weight: the commodity's value, 1 where unknown); stocks
    are the input stocks of the stocks table (days of cover times use).
    """
    from chokepoint.compile.model import build_model
    from chokepoint.scenario import Scenario

    model = build_model(net, Scenario())
    producers = [str(p) for p in model.producer_ids]
    demands = [f"demand:{d}" for d in model.demand_ids]
    slot_node = np.where(
        model.slot_producer >= 0,
        model.producer_ids[np.maximum(model.slot_producer, 0)].astype(str),
        np.array([f"demand:{d}" for d in model.demand_ids])[np.maximum(model.slot_demand, 0)],
    )
    material = {p: str(c) for p, c in zip(producers, model.producer_commodity, strict=True)}
    edges = [
        (producers[s], str(slot_node[k]))
        for s, k in zip(model.link_supplier, model.link_slot, strict=True)
    ]
    recipe = {  # the share from outside the network is not modelled: scale it out
        (str(slot_node[s]), str(model.slot_commodity[s])): float(
            model.slot_coef[s] * (1.0 - model.slot_unknown[s])
        )
        for s in range(model.n_slots)
    }
    stock = {
        (str(slot_node[s]), str(model.slot_commodity[s])): float(model.slot_stock[s])
        for s in range(model.n_slots)
    }
    value = {str(k): v for k, v in model.commodity_value.items()}
    capacity = {p: float(c) for p, c in zip(producers, model.capacity, strict=True)}
    capacity.update({d: math.inf for d in demands})
    # sales outside the network are demand the plant must keep serving
    demand = {
        d: float(model.slot_use[s])
        for d, s in zip(demands, np.flatnonzero(model.slot_demand >= 0), strict=True)
    }
    margin = {
        d: (value.get(str(model.demand_commodity[i])) or 1.0)
        if np.isfinite(value.get(str(model.demand_commodity[i])) or math.nan)
        else 1.0
        for i, d in enumerate(demands)
    }
    graph = Graph(
        nodes=producers + demands,
        edges=edges,
        material=material,
        recipe=recipe,
        capacity=capacity,
        demand=demand,
        margin=margin,
        input_stock=stock,
    )
    if by == "country":
        sets: dict[str, list[str]] = {}
        for p, country, commodity in zip(
            producers, model.producer_country, model.producer_commodity, strict=True
        ):
            sets.setdefault(f"{commodity}@{country}", []).append(p)
    else:
        sets = {p: [p] for p in producers}
    return graph, sets
