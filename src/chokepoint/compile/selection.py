"""Which rows of the model an event touches: links of an export measure (with the
value-content rule), producers by id, demand slots, stockpile holders, exempt customers."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from chokepoint.compile.model import Model
from chokepoint.compile.transit import crosses_border
from chokepoint.errors import ScenarioError
from chokepoint.network.container import SupplyNetwork
from chokepoint.network.countries import region_codes
from chokepoint.network.structure import total_requirements
from chokepoint.scenario.distributions import median as median_value

if TYPE_CHECKING:
    from chokepoint.scenario import ExportLicensing, FlowSelector, Stockpile


def select_links(model: Model, event: FlowSelector) -> np.ndarray:
    """Links an export measure applies to: cross-border flows out of the exporter."""
    exporters = set().union(*(region_codes(c) for c in event.exporter))
    supplier_country = model.producer_country[model.link_supplier].astype(str)
    customer_location = model.slot_location[model.link_slot].astype(str)
    mask = np.isin(supplier_country, list(exporters)) & ~np.isin(customer_location, list(exporters))
    mask &= crosses_border(supplier_country, customer_location)
    if event.commodity:
        mask &= np.isin(model.producer_commodity[model.link_supplier].astype(str), event.commodity)
    if event.destinations:
        places = set().union(*(region_codes(c) for c in event.destinations))
        mask &= np.isin(customer_location, list(places))
    if event.producer:
        mask &= np.isin(model.producer_holder[model.link_supplier].astype(str), event.producer)
    if event.customers:
        mask &= np.isin(model.slot_holder[model.link_slot].astype(str), event.customers)
    return np.flatnonzero(mask)


def value_content_links(net: SupplyNetwork, model: Model, event: ExportLicensing) -> np.ndarray:
    """Foreign links whose goods hold at least the threshold of exporter-origin controlled value.

    The value share of a supplier's good is ``Σ_k T[c, k] · share_exporter(k) · value_k /
    value_c`` over the controlled commodities ``k``, with the exporter's share of each
    ``k`` from origin attribution.
    """
    from chokepoint.analysis.origins import origin_shares

    rule = event.value_content
    assert rule is not None
    exporters = set().union(*(region_codes(c) for c in event.exporter))
    supplier_country = model.producer_country[model.link_supplier].astype(str)
    customer_location = model.slot_location[model.link_slot].astype(str)
    exported = ~np.isin(supplier_country, list(exporters)) & crosses_border(
        supplier_country, customer_location
    )
    if event.destinations:
        places = set().union(*(region_codes(c) for c in event.destinations))
        exported &= np.isin(customer_location, list(places))
    candidates = set(model.producer_holder[model.link_supplier[exported]].astype(str))
    total = total_requirements(net)
    value = pd.Series(model.commodity_value, dtype=float)
    origins = origin_shares(net, list(rule.controlled))
    from_exporter = (
        origins[origins["country"].isin(exporters)]
        .groupby(["node", "traced"])["share"]
        .sum()
        .rename("share")
        .reset_index()
    )
    from_exporter["commodity"] = (
        pd.Series(model.producer_commodity, index=model.producer_holder)
        .groupby(level=0)
        .first()
        .reindex(from_exporter["node"])
        .to_numpy()
    )
    from_exporter = from_exporter.dropna(subset=["commodity"])
    from_exporter = from_exporter[from_exporter["node"].isin(candidates)]
    per_unit = [
        total.at[c, k]
        for c, k in zip(from_exporter["commodity"], from_exporter["traced"], strict=True)
    ]
    content = np.asarray(per_unit) * from_exporter["share"].to_numpy()
    traced_value = value.reindex(from_exporter["traced"]).to_numpy()
    own_value = value.reindex(from_exporter["commodity"]).to_numpy()
    needed = content > 0
    for values, column in ((traced_value, "traced"), (own_value, "commodity")):
        missing = needed & np.isnan(values)
        if missing.any():
            commodity = from_exporter[column].to_numpy()[np.flatnonzero(missing)[0]]
            raise ScenarioError(
                f"the value-content rule needs the value of '{commodity}' (commodities table)",
                field="value_content",
            )
    from_exporter["value_share"] = content * traced_value / own_value
    by_node = from_exporter.groupby("node")["value_share"].sum()
    caught = set(by_node[by_node >= median_value(rule.threshold)].index)
    mask = exported & np.isin(model.producer_holder[model.link_supplier].astype(str), list(caught))
    return np.flatnonzero(mask)


def producer_rows(model: Model, ids: list[str], where: str) -> np.ndarray:
    """Rows of the named producers (every firm of a producer declared as several)."""
    holder = model.producer_holder.astype(str)
    for name in ids:
        if name not in holder:
            raise ScenarioError(f"unknown producer '{name}'", field=f"{where}.producer")
    return np.flatnonzero(np.isin(holder, ids))


def demand_slots(model: Model, commodity: str, regions: list[str] | None) -> np.ndarray:
    mask = (model.slot_demand >= 0) & (model.slot_commodity == commodity)
    if regions:
        codes = set().union(*(region_codes(r) for r in regions))
        mask &= np.isin(model.slot_location.astype(str), list(codes))
    return np.flatnonzero(mask)


def stockpile_slots(model: Model, event: Stockpile, where: str) -> np.ndarray:
    if event.holders:
        holder = model.slot_holder.astype(str)
        slots = np.flatnonzero(
            np.isin(holder, event.holders) & (model.slot_commodity == event.commodity)
        )
    else:
        slots = model.slots_of(event.commodity, event.regions or ["EU27"])
    if len(slots) == 0:
        raise ScenarioError(
            f"no holder uses '{event.commodity}' where the stockpile is placed", field=where
        )
    return slots


def exemptions_for(exemptions, model: Model, link: int) -> tuple[int, ...]:
    """Numbers of the exemptions that apply to a link's customer."""
    holder = str(model.slot_holder[model.link_slot[link]])
    return tuple(
        number
        for number, exemption in enumerate(exemptions)
        if not exemption.customers or holder in exemption.customers
    )
