"""What a run reports on: final products (and product families) by region, EU stocks by
commodity, and the outcomes (time to survive and recover, lost output) of a product
group's daily output.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd
import scipy.sparse as sp
from numba import njit

from chokepoint.compile.model import Model
from chokepoint.compile.transit import crosses_border
from chokepoint.network.container import SupplyNetwork
from chokepoint.network.countries import EU27, region_codes
from chokepoint.network.structure import link_flows


@dataclass(frozen=True)
class ProductGroups:
    """Final products × regions, and the producers or demands whose output they sum."""

    table: pd.DataFrame  # product, region, source (production|delivery), value
    producer_matrix: np.ndarray  # [group, producer]
    demand_matrix: np.ndarray  # [group, demand]


def family_aggregates(net: SupplyNetwork) -> dict[str, list[str]]:
    """Product families of two or more commodities (family id → member ids, in table order).

    Results report each such family as one more product, named by the family id, besides
    its members; sums over products should skip these ids so as not to count twice.
    """
    families: dict[str, list[str]] = {}
    for commodity, family in zip(net.commodities["id"], net.commodities["family"], strict=True):
        families.setdefault(str(family or commodity), []).append(str(commodity))
    return {f: members for f, members in families.items() if len(members) > 1}


def _group_row(
    model: Model, baseline: pd.DataFrame, commodities: list[str], region: str
) -> tuple[str, np.ndarray, np.ndarray] | None:
    """How a region's output of some commodities is measured: its own production when it
    meets at least half of the region's final demand for them, else the deliveries."""
    makers = np.flatnonzero(
        np.isin(model.producer_commodity, commodities) & ~model.virtual & (model.output > 0)
    )
    codes = list(region_codes(region))
    buyers = (
        np.isin(model.demand_commodity, commodities)
        & np.isin(model.demand_region.astype(str), codes)
        & ~model.demand_beyond
    )
    own = makers[np.isin(model.producer_country[makers].astype(str), codes)]
    into = baseline[baseline["customer"].isin(model.demand_ids[buyers])]
    needed = into["flow"].sum()
    domestic = into[into["supplier"].isin(model.producer_holder[own])]["flow"].sum()
    producer_row = np.zeros(model.n_producers)
    demand_row = np.zeros(len(model.demand_ids))
    if len(own) and (not buyers.any() or domestic >= 0.5 * needed):
        producer_row[own] = 1.0
        return "production", producer_row, demand_row
    if buyers.any():
        demand_row[buyers] = 1.0
        return "delivery", producer_row, demand_row
    return None


def _family_value(model: Model, members: list[str]) -> float:
    """A family's value per unit: its members' values weighted by their baseline output."""
    values = np.array([model.commodity_value.get(m, math.nan) for m in members], dtype=float)
    weights = np.array(
        [model.output[(model.producer_commodity == m) & ~model.virtual].sum() for m in members]
    )
    if np.isnan(values).any():
        return math.nan
    if weights.sum() <= 0:
        return float(values.mean())
    return float(np.dot(values, weights) / weights.sum())


def _countries_abroad(model: Model, members: list[str]) -> list[str]:
    """Countries outside the EU (not ROW) that hold final demand for the commodities."""
    wanted = np.isin(model.demand_commodity, members) & ~model.demand_beyond
    regions = model.demand_region[wanted].astype(str)
    return sorted(set(regions) - set(EU27) - {"EU27", "EU", "ROW"})


def product_groups(model: Model, net: SupplyNetwork, regions: list[str] | None) -> ProductGroups:
    """Final products (commodities with final demand) by region, and product families.

    A region's row measures the output of its own producers of the product when they meet
    at least half of the region's final demand for it (EU car plants), and otherwise the
    deliveries to the region's final demand (magnets the EU buys abroad). Member states get
    a production row where they make the product; a country outside the EU gets a row where
    it holds final demand for it (the US demand of the default data). A family of two or
    more final products (:func:`family_aggregates`) gets rows of its own after its members,
    summing them.
    """
    products = list(dict.fromkeys(net.demand["commodity"]))
    families = {
        family: [m for m in members if m in products]
        for family, members in family_aggregates(net).items()
    }
    last_member = {members[-1]: family for family, members in families.items() if len(members) > 1}
    entries: list[tuple[str, list[str], float]] = []
    for product in products:
        entries.append((product, [product], model.commodity_value.get(product, math.nan)))
        if product in last_member:
            family = last_member[product]
            entries.append((family, families[family], _family_value(model, families[family])))
    baseline = link_flows(net)
    rows, producer_rows, demand_rows = [], [], []
    for product, members, value in entries:
        makers = np.isin(model.producer_commodity, members) & ~model.virtual & (model.output > 0)
        countries = sorted({c for c in model.producer_country[makers] if c in EU27})
        for region in regions or ["EU27", *countries, *_countries_abroad(model, members)]:
            found = _group_row(model, baseline, members, region)
            if found is None:
                continue
            source, producer_row, demand_row = found
            rows.append(
                {"product": product, "region": region, "measured_as": source, "value": value}
            )
            producer_rows.append(producer_row)
            demand_rows.append(demand_row)
    return ProductGroups(
        pd.DataFrame(rows, columns=["product", "region", "measured_as", "value"]),
        np.array(producer_rows).reshape(len(rows), model.n_producers),
        np.array(demand_rows).reshape(len(rows), len(model.demand_ids)),
    )


def stock_groups(model: Model) -> tuple[pd.DataFrame, sp.csr_matrix]:
    """Sum of the stocks of each commodity held in the EU (for charts of stocks running down)."""
    inside = np.isin(model.slot_location.astype(str), list(region_codes("EU27")))
    commodities = [
        c
        for c in dict.fromkeys(model.slot_commodity[inside])
        if model.slot_stock[inside & (model.slot_commodity == c)].sum() > 0
    ]
    rows: list[int] = []
    cols: list[int] = []
    for g, commodity in enumerate(commodities):
        slots = np.flatnonzero(inside & (model.slot_commodity == commodity))
        rows += [g] * len(slots)
        cols += list(slots)
    matrix = sp.csr_matrix(
        (np.ones(len(rows)), (rows, cols)), shape=(len(commodities), model.n_slots)
    )
    return pd.DataFrame({"commodity": commodities, "region": "EU27"}), matrix


def trade_groups(model: Model) -> tuple[pd.DataFrame, sp.csr_matrix]:
    """Cross-border links by exporter country, destination (country or region) and
    commodity: what customs statistics count. The table has the baseline flow per day."""
    exporter = model.producer_country[model.link_supplier].astype(str)
    destination = model.slot_location[model.link_slot].astype(str)
    commodity = model.producer_commodity[model.link_supplier].astype(str)
    links = np.flatnonzero(crosses_border(exporter, destination))
    keys = pd.DataFrame(
        {
            "exporter": exporter[links],
            "destination": destination[links],
            "commodity": commodity[links],
            "link": links,
            "baseline": model.link_flow[links],
        }
    )
    table = keys.groupby(["exporter", "destination", "commodity"], as_index=False, sort=True).agg(
        baseline=("baseline", "sum")
    )
    number = keys.merge(table.reset_index()[["exporter", "destination", "commodity", "index"]])
    matrix = sp.csr_matrix(
        (np.ones(len(number)), (number["index"].to_numpy(), number["link"].to_numpy())),
        shape=(len(table), model.n_links),
    )
    return table, matrix


def exporter_groups(
    model: Model, producers: np.ndarray | None = None
) -> tuple[pd.DataFrame, sp.csr_matrix]:
    """Producers by country and commodity, whose stock of output (what they made and could
    not ship) the results report: ``producers`` (e.g. those an export measure restricts),
    or every producer with a cross-border link."""
    if producers is None:
        exporter = model.producer_country[model.link_supplier].astype(str)
        destination = model.slot_location[model.link_slot].astype(str)
        producers = np.unique(model.link_supplier[crosses_border(exporter, destination)])
    producers = np.asarray(producers, dtype=int)
    keys = pd.DataFrame(
        {
            "exporter": model.producer_country[producers].astype(str),
            "commodity": model.producer_commodity[producers].astype(str),
            "producer": producers,
        }
    )
    table = keys.groupby(["exporter", "commodity"], as_index=False, sort=True).size()
    table = table.drop(columns="size")
    number = keys.merge(table.reset_index()[["exporter", "commodity", "index"]])
    matrix = sp.csr_matrix(
        (np.ones(len(number)), (number["index"].to_numpy(), number["producer"].to_numpy())),
        shape=(len(table), model.n_producers),
    )
    return table, matrix


def outcomes(
    output: np.ndarray,
    reference: np.ndarray,
    first_shock: int,
    threshold: float,
    gap: np.ndarray | None = None,
) -> dict[str, np.ndarray]:
    """Per group and draw: time to survive and recover, lost output and its share, and the
    split of lost output into input-limited and demand-limited parts.

    ``output[day, group, draw]`` against the no-shock ``reference[day, group]``. Each day's
    loss (the shortfall below reference) is input-limited up to ``gap[day, group, draw]``,
    the output that inputs (or the plants' own capacity) did not allow although it was
    ordered; the rest of the loss is demand-limited (customers ordered less). A day is a
    stoppage when its input-limited loss exceeds ``1 - threshold`` of the reference: a
    demand-limited fall is never a stoppage. Time to survive counts days from the first
    shock to the first stoppage; time to recover, to the day after the last one (NaN when
    output is still short at the end of the horizon, or never stopped). Without ``gap``
    every loss counts as input-limited.
    """
    output = np.ascontiguousarray(output, dtype=np.float64)
    if gap is None:
        gap = np.full(output.shape, np.inf)
    survive, recover, lost, share, lost_input = _outcome_kernel(
        output,
        np.ascontiguousarray(reference, dtype=np.float64),
        np.ascontiguousarray(gap, dtype=np.float64),
        int(first_shock),
        float(threshold),
    )
    return {
        "time_to_survive_days": survive,
        "time_to_recover_days": recover,
        "lost_output": lost,
        "lost_output_share": share,
        "lost_output_input": lost_input,
        "lost_output_demand": np.maximum(lost - lost_input, 0.0),
    }


@njit(cache=True, nogil=True)
def _outcome_kernel(output, reference, gap, first_shock, threshold):
    horizon, groups, draws = output.shape
    survive = np.full((groups, draws), np.nan)
    recover = np.full((groups, draws), np.nan)
    lost = np.zeros((groups, draws))
    lost_input = np.zeros((groups, draws))
    share = np.full((groups, draws), np.nan)
    first = np.full((groups, draws), -1)
    last = np.full((groups, draws), -1)
    total = np.zeros(groups)
    for t in range(horizon):
        for g in range(groups):
            ref = reference[t, g]
            total[g] += ref
            for r in range(draws):
                loss = max(ref - output[t, g, r], 0.0)
                from_inputs = min(max(gap[t, g, r], 0.0), loss)
                lost[g, r] += loss
                lost_input[g, r] += from_inputs
                if t >= first_shock and ref > 0 and from_inputs > (1.0 - threshold) * ref + 1e-9:
                    if first[g, r] < 0:
                        first[g, r] = t
                    last[g, r] = t
    for g in range(groups):
        for r in range(draws):
            if first[g, r] >= 0:
                survive[g, r] = first[g, r] - first_shock
                if last[g, r] < horizon - 1:
                    recover[g, r] = last[g, r] + 1 - first_shock
            if total[g] > 0:
                share[g, r] = lost[g, r] / total[g]
    return survive, recover, lost, share, lost_input
