"""Dependency metrics: supplier shares, concentration, import reliance, CRMA benchmarks.

Pure functions of a network and an importing region. A region is an ISO3 code, ``EU``
(= ``EU27``, the member states plus producers recorded under the ``EU27`` pseudo-code) or
``WORLD`` (global production shares). Flows come from
:func:`chokepoint.network.structure.link_flows`: a link carries ``share × requirement`` of
its customer. Consumption of a commodity in a region is the baseline requirement of the
region's producers and final demand; the part of it that no link covers has unknown origin
and appears under the code ``UNK``.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd

from chokepoint.network.container import SupplyNetwork
from chokepoint.network.countries import region_codes
from chokepoint.network.structure import link_flows, nodes, requirements

UNKNOWN = "UNK"
"""Country code used for the part of a requirement whose supplier is not in the network."""

WORLD = "WORLD"
AGGREGATES = frozenset({"ROW", "EU27", "EU"})
"""Location codes that stand for many countries (never a 'single third country')."""
CRMA_SINGLE_COUNTRY_LIMIT = 0.65
"""CRMA (Reg. (EU) 2024/1252), Art. 5(1)(d): at most 65% of the Union's consumption of each
*strategic* raw material (Annex I), at any relevant stage of processing, from one third
country. Like the extraction, processing and recycling benchmarks it is flagged only for
commodities marked ``strategic`` in the network."""

CRMA_STAGES: dict[str, str] = {
    "mining": "extraction",
    "separation": "processing",
    "refining": "processing",
    "metal": "processing",
    "alloy": "processing",
}
"""Network stages that the CRMA extraction and processing benchmarks apply to."""

CRMA_DOMESTIC_BENCHMARKS = {"extraction": 0.10, "processing": 0.40}
CRMA_RECYCLING_BENCHMARK = 0.25


def hhi(shares: pd.Series | dict[str, float]) -> float:
    """Herfindahl-Hirschman index on the 0-10,000 scale: sum of squared percentage shares.

    Shares are renormalised to sum to 1 first (so unknown origin, left out by the caller,
    does not count as a supplier).
    """
    values = np.asarray(list(shares.values()) if isinstance(shares, dict) else shares, float)
    total = values.sum()
    if total <= 0:
        return math.nan
    return float(np.sum((100.0 * values / total) ** 2))


def consumption(net: SupplyNetwork, region: str) -> pd.Series:
    """Baseline yearly requirement of each commodity by the region's producers and demand."""
    need = requirements(net)
    location = nodes(net).set_index("node")["location"]
    inside = location.reindex(need["node"]).isin(region_codes(region)).to_numpy()
    return need[inside].groupby("commodity")["requirement"].sum()


def regional_output(net: SupplyNetwork, region: str, *, route: str | None = None) -> pd.Series:
    """Baseline yearly output of each commodity by producers in the region."""
    producers = net.producers
    if region.upper() == WORLD:
        mask = pd.Series(True, index=producers.index)
    else:
        mask = producers["country"].isin(region_codes(region))
    if route is not None:
        mask &= producers["route"] == route
    return producers[mask].groupby("commodity")["output"].sum()


def supplier_flows(net: SupplyNetwork, region: str) -> pd.DataFrame:
    """Yearly flow of each commodity into the region by supplier country (``UNK`` = unknown).

    For ``WORLD``: production by country. Columns: ``commodity``, ``country``, ``flow``.
    """
    if region.upper() == WORLD:
        frame = net.producers.groupby(["commodity", "country"])["output"].sum()
        return frame.rename("flow").reset_index()
    flows = link_flows(net)
    inside = flows["customer_location"].isin(region_codes(region))
    known = (
        flows[inside & (flows["flow"] > 0)]
        .groupby(["commodity", "supplier_country"])["flow"]
        .sum()
        .rename_axis(["commodity", "country"])
        .rename("flow")
        .reset_index()
    )
    covered = known.groupby("commodity")["flow"].sum()
    total = consumption(net, region)
    gap = (total - covered.reindex(total.index).fillna(0.0)).clip(lower=0.0)
    gap = gap[gap > total * 1e-9]
    unknown = pd.DataFrame({"commodity": gap.index, "country": UNKNOWN, "flow": gap.to_numpy()})
    return pd.concat([known, unknown], ignore_index=True)


def supplier_shares(net: SupplyNetwork, region: str) -> pd.DataFrame:
    """Share of each supplier country in the region's supply of each commodity."""
    flows = supplier_flows(net, region)
    totals = flows.groupby("commodity")["flow"].transform("sum")
    return flows.assign(share=flows["flow"] / totals)


def dependency_table(
    net: SupplyNetwork, region: str = "EU", commodity: str | None = None
) -> pd.DataFrame:
    """One row per commodity: supplier shares, HHI, import reliance and CRMA flags.

    Columns: ``commodity``, ``name``, ``stage``, ``material``, ``region``, ``consumption``,
    ``domestic_output``, ``supplier_shares`` (country → share, largest first, ``UNK`` for
    unknown origin), ``unknown_share``, ``hhi`` (0-10,000, over known suppliers),
    ``import_reliance`` (max(0, (C − P) / C)), ``top_supplier``, ``top_supplier_share``,
    ``top_third_country``, ``top_third_country_share`` (largest supplier outside the region),
    ``strategic`` (a CRMA strategic raw material, from the commodities table),
    ``crma_65_breach`` (strategic and more than 65% from one third country; false for any
    other commodity), ``crma_stage``, ``domestic_share`` (P / C),
    ``crma_domestic_benchmark``, ``crma_domestic_met``, ``recycling_share``,
    ``crma_recycling_met``. The CRMA benchmarks apply to strategic raw materials only: for
    other commodities ``crma_stage``, the domestic benchmark and ``crma_recycling_met`` are
    None.
    """
    region_label = "EU27" if region.upper() == "EU" else region.upper()
    members = region_codes(region)
    world = region_label == WORLD
    shares = supplier_shares(net, region)
    used = consumption(net, region) if not world else regional_output(net, WORLD)
    produced = (
        net.producers.groupby("commodity")["output"].sum()
        if world
        else (regional_output(net, region))
    )
    recycled = regional_output(net, region, route="recycling")
    commodities = net.commodities
    if commodity is not None:
        commodities = commodities[commodities["id"] == commodity]
    rows = []
    item: Any  # a namedtuple of the commodities' columns
    for item in commodities.itertuples(index=False):
        part = shares[shares["commodity"] == item.id].sort_values(
            ["share", "country"], ascending=[False, True]
        )
        share_map = {c: float(s) for c, s in zip(part["country"], part["share"], strict=True)}
        known = {c: s for c, s in share_map.items() if c != UNKNOWN}
        # a third country is one country outside the region: never an aggregate like ROW
        outside = region_codes("EU") if world else members
        third = {c: s for c, s in known.items() if c not in outside and c not in AGGREGATES}
        total = float(used.get(item.id, 0.0))
        output = float(produced.get(item.id, 0.0))
        strategic = bool(item.strategic)
        stage = None if world or not strategic else CRMA_STAGES.get(item.stage)
        benchmark = CRMA_DOMESTIC_BENCHMARKS.get(stage) if stage else None
        domestic = output / total if total > 0 and not world else None
        recycling = float(recycled.get(item.id, 0.0)) / total if total > 0 else None
        top = next(iter(known.items()), (None, None))
        top_third = next(iter(third.items()), (None, None))
        rows.append(
            {
                "commodity": item.id,
                "name": item.name,
                "stage": item.stage,
                "material": item.material,
                "unit": item.unit,
                "region": region_label,
                "consumption": total,
                "domestic_output": output,
                "supplier_shares": share_map,
                "unknown_share": share_map.get(UNKNOWN, 0.0) if share_map else None,
                "hhi": hhi(known) if known else None,
                "import_reliance": None
                if world or total <= 0
                else max(0.0, (total - output) / total),
                "top_supplier": top[0],
                "top_supplier_share": top[1],
                "top_third_country": top_third[0],
                "top_third_country_share": top_third[1],
                "strategic": strategic,
                "crma_65_breach": bool(
                    strategic
                    and top_third[1] is not None
                    and top_third[1] > CRMA_SINGLE_COUNTRY_LIMIT
                ),
                "crma_stage": stage,
                "domestic_share": domestic,
                "crma_domestic_benchmark": benchmark,
                "crma_domestic_met": None
                if benchmark is None or domestic is None
                else domestic >= benchmark,
                "recycling_share": recycling,
                "crma_recycling_met": None
                if recycling is None or not strategic
                else recycling >= CRMA_RECYCLING_BENCHMARK,
            }
        )
    return pd.DataFrame(rows)
