"""The compiled model: a network (plus a scenario's new plants and suppliers) as arrays.

Nodes are producers (index ``0..P-1``) and demands. Every input a node holds is a *slot*:
one per producer and input commodity of its recipe, one per demand. Every link feeds one
slot. All quantities are per day. Built once per scenario by :func:`build_model`; the
engine reads nothing else.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from chokepoint.compile.expand import BEYOND, EngineTables, engine_tables
from chokepoint.compile.transit import link_transit
from chokepoint.errors import ScenarioError
from chokepoint.fields import CountOf
from chokepoint.network.container import SupplyNetwork
from chokepoint.network.countries import region_codes
from chokepoint.network.structure import link_flows

if TYPE_CHECKING:
    from chokepoint.scenario import Scenario
    from chokepoint.scenario.events import When

DAYS_PER_YEAR = 365.0


@dataclass(frozen=True, eq=False)
class Model:
    producer_ids: np.ndarray
    """Unique id of each producer row: the network's id, or ``<id>#<n>`` for a firm."""
    producer_holder: np.ndarray
    """The network producer (or scenario plant) each row belongs to: what events name."""
    producer_country: np.ndarray
    producer_commodity: np.ndarray
    capacity: np.ndarray
    output: np.ndarray
    external_orders: np.ndarray
    level: np.ndarray
    virtual: np.ndarray
    producer_storage: np.ndarray
    """How much output each producer may keep when it cannot ship (quantity)."""
    demand_ids: np.ndarray
    demand_region: np.ndarray
    demand_commodity: np.ndarray
    demand_beyond: np.ndarray
    """Whether a demand stands for buyers outside the network (a producer's other exports)."""
    slot_producer: np.ndarray
    slot_demand: np.ndarray
    slot_commodity: np.ndarray
    slot_coef: np.ndarray
    slot_use: np.ndarray
    slot_stock: np.ndarray
    slot_target: np.ndarray
    slot_unknown: np.ndarray
    slot_stock_assumed: np.ndarray
    link_ids: np.ndarray
    link_supplier: np.ndarray
    link_slot: np.ndarray
    link_share: np.ndarray
    link_alternative: np.ndarray
    link_qualification: np.ndarray
    link_flow: np.ndarray
    link_ready: np.ndarray
    link_event: np.ndarray
    link_from_data: np.ndarray
    link_transit: np.ndarray
    """Whole days a shipment on the link takes to arrive (0: the day it ships)."""
    commodity_value: dict

    n_producers = CountOf("producer_ids")
    n_slots = CountOf("slot_coef")
    n_links = CountOf("link_supplier")

    @property
    def slot_location(self) -> np.ndarray:
        """Country or region of each slot's holder."""
        location = np.empty(self.n_slots, dtype=object)
        is_producer = self.slot_producer >= 0
        location[is_producer] = self.producer_country[self.slot_producer[is_producer]]
        location[~is_producer] = self.demand_region[self.slot_demand[~is_producer]]
        return location

    @property
    def slot_holder(self) -> np.ndarray:
        """The network holder of each slot (a split holder's firms share its id)."""
        return self._slot_owner(self.producer_holder)

    @property
    def slot_label(self) -> np.ndarray:
        """A unique label per slot: ``<producer row or demand id>:<commodity>``."""
        owner = self._slot_owner(self.producer_ids)
        return np.array(
            [f"{h}:{c}" for h, c in zip(owner, self.slot_commodity, strict=True)], dtype=object
        )

    def _slot_owner(self, producer_names: np.ndarray) -> np.ndarray:
        holder = np.empty(self.n_slots, dtype=object)
        is_producer = self.slot_producer >= 0
        holder[is_producer] = producer_names[self.slot_producer[is_producer]]
        holder[~is_producer] = self.demand_ids[self.slot_demand[~is_producer]]
        return holder

    def slots_of(self, commodity: str, regions: list[str] | None) -> np.ndarray:
        """Slots of a commodity whose holders are located in the regions (None: anywhere)."""
        mask = self.slot_commodity == commodity
        if regions:
            codes = set().union(*(region_codes(r) for r in regions))
            mask &= np.isin(self.slot_location.astype(str), list(codes))
        return np.flatnonzero(mask)


def build_model(net: SupplyNetwork, scenario: Scenario) -> Model:
    """Arrays of the network, with the scenario's new plants and supplier switches added.

    The network is first rewritten as the engine sees it (:mod:`chokepoint.compile.expand`:
    buyers outside the network, firms); link transit times come from
    :mod:`chokepoint.compile.transit`."""
    tables = engine_tables(net)
    base = _network_arrays(tables, scenario)
    producers = tables.producers.reset_index(drop=True)
    ids = producers["id"].to_numpy(object)
    holder_of = np.array([tables.holder.get(i, i) for i in ids], dtype=object)
    made = pd.Series(producers["commodity"].to_numpy(object), index=ids)
    links = _data_links(tables, base["flows"], made, pd.Index(ids), base["slot_key"])
    covered = np.bincount(
        np.asarray(links["slot"], int), weights=links["share"], minlength=len(base["slot_use"])
    )
    n_data_links = len(links["ids"])

    builder = ModelBuilder(
        scenario, ids, made, links, base["holders"], base["slot_commodity"], base["location"]
    )
    builder.holder_of = holder_of
    for position, event in enumerate(scenario.events):
        event.extend_model(builder, position)
    extra = builder.extra
    n_extra = len(extra["ids"])
    model_links = {k: np.asarray(v) for k, v in links.items()}
    supplier, slot = model_links["supplier"].astype(int), model_links["slot"].astype(int)
    producer_country = np.concatenate(
        [producers["country"].to_numpy(object), np.array(extra["country"], object)]
    )
    output = np.concatenate([base["output"], np.zeros(n_extra)])
    return Model(
        producer_ids=np.concatenate([ids, np.array(extra["ids"], dtype=object)]),
        producer_holder=np.concatenate([holder_of, np.array(extra["ids"], dtype=object)]),
        producer_country=producer_country,
        producer_commodity=np.concatenate(
            [made.to_numpy(object), np.array(extra["commodity"], dtype=object)]
        ),
        capacity=np.concatenate([base["capacity"], np.ones(n_extra)]),  # scaled by events
        output=output,
        producer_storage=output * scenario.settings.exporter_storage_days,
        external_orders=np.concatenate([base["external"], np.zeros(n_extra)]),
        level=_levels(len(output), supplier, base["slot_producer"], slot),
        virtual=np.concatenate([np.zeros(len(ids), bool), np.ones(n_extra, bool)]),
        demand_ids=tables.demand["id"].to_numpy(object),
        demand_region=tables.demand["region"].to_numpy(object),
        demand_commodity=tables.demand["commodity"].to_numpy(object),
        demand_beyond=tables.demand["id"].astype(str).str.startswith(BEYOND).to_numpy(bool),
        slot_producer=base["slot_producer"],
        slot_demand=base["slot_demand"],
        slot_commodity=base["slot_commodity"],
        slot_coef=base["slot_coef"],
        slot_use=base["slot_use"],
        slot_stock=base["stock"],
        slot_target=base["target"],
        slot_unknown=np.clip(1.0 - covered, 0.0, 1.0),
        slot_stock_assumed=base["assumed"],
        link_ids=model_links["ids"].astype(object),
        link_supplier=supplier,
        link_slot=slot,
        link_share=model_links["share"].astype(float),
        link_alternative=model_links["alternative"].astype(bool),
        link_qualification=model_links["qualification"].astype(float),
        link_flow=model_links["flow"].astype(float),
        link_ready=model_links["ready"].astype(float),
        link_event=model_links["event"].astype(int),
        link_from_data=np.arange(len(model_links["ids"])) < n_data_links,
        link_transit=link_transit(
            model_links["transit"].astype(float),
            producer_country[supplier],
            base["location"][slot],
            scenario.settings.transit,
            scenario.settings.sea_days,
        ),
        commodity_value=dict(
            zip(tables.commodities["id"], tables.commodities["value"], strict=True)
        ),
    )


def _network_arrays(tables: EngineTables, scenario: Scenario) -> dict:
    """Producers' capacities and outputs per day, and the slots (producer inputs, then
    demands) with their uses and stocks."""
    producers = tables.producers.reset_index(drop=True)
    flows = link_flows(tables)
    ids = producers["id"].to_numpy(object)
    output = producers["output"].to_numpy(float) / DAYS_PER_YEAR
    drawn = flows.groupby("supplier")["flow"].sum().reindex(ids).fillna(0.0).to_numpy()
    recycling = producers["route"].to_numpy() == "recycling"
    recipe = tables.recipes[["output", "input", "quantity"]]
    slot_rows = producers.assign(_p=np.arange(len(producers)))[~recycling].merge(
        recipe, left_on="commodity", right_on="output"
    )
    demand = tables.demand
    n_demand = len(demand)
    slot_producer = np.concatenate([slot_rows["_p"].to_numpy(int), np.full(n_demand, -1)])
    slot_demand = np.concatenate([np.full(len(slot_rows), -1), np.arange(n_demand)])
    slot_commodity = np.concatenate(
        [slot_rows["input"].to_numpy(object), demand["commodity"].to_numpy(object)]
    )
    slot_use = np.concatenate(
        [
            slot_rows["quantity"].to_numpy(float) * output[slot_rows["_p"].to_numpy(int)],
            demand["quantity"].to_numpy(float) / DAYS_PER_YEAR,
        ]
    )
    holders = np.concatenate([ids[slot_producer[: len(slot_rows)]], demand["id"].to_numpy(object)])
    slot_key = pd.Index(list(zip(holders, slot_commodity, strict=True)))
    stock, target, assumed = _stocks(tables, slot_key, slot_use, scenario)
    return {
        "flows": flows,
        "capacity": producers["capacity"].to_numpy(float) / DAYS_PER_YEAR,
        "output": output,
        "external": np.maximum(output - drawn / DAYS_PER_YEAR, 0.0),
        "slot_producer": slot_producer,
        "slot_demand": slot_demand,
        "slot_commodity": slot_commodity,
        "slot_coef": np.concatenate([slot_rows["quantity"].to_numpy(float), np.ones(n_demand)]),
        "slot_use": slot_use,
        "holders": holders,
        "slot_key": slot_key,
        "stock": stock,
        "target": target,
        "assumed": assumed,
        "location": holders_location(slot_producer, slot_demand, producers, tables),
    }


def _data_links(
    net: EngineTables, flows: pd.DataFrame, made: pd.Series, index: pd.Index, slot_key: pd.Index
) -> dict[str, list]:
    """The network's links as lists the model builder may extend (links into recycling
    producers feed no slot and are dropped)."""
    link_commodity = made.reindex(net.links["supplier"]).to_numpy(object)
    link_slot = slot_key.get_indexer(
        pd.Index(list(zip(net.links["customer"], link_commodity, strict=True)))
    )
    link_supplier = index.get_indexer(pd.Index(net.links["supplier"]))
    alternative = net.links["alternative"].to_numpy(bool)
    share = np.where(alternative, 0.0, net.links["share"].to_numpy(float))
    keep = link_slot >= 0
    link_ids = (net.links["supplier"] + "->" + net.links["customer"]).to_numpy(object)
    return {
        "ids": list(link_ids[keep]),
        "supplier": list(link_supplier[keep]),
        "slot": list(link_slot[keep]),
        "share": list(share[keep]),
        "alternative": list(alternative[keep]),
        "qualification": list(net.links["qualification_days"].to_numpy(float)[keep]),
        "flow": list(flows["flow"].to_numpy(float)[keep] / DAYS_PER_YEAR),
        "ready": [np.inf] * int(keep.sum()),
        "event": [-1] * int(keep.sum()),
        "transit": list(net.links["transit_days"].to_numpy(float)[keep]),
    }


def _stocks(
    net: EngineTables, slot_key: pd.Index, slot_use: np.ndarray, scenario: Scenario
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Initial stock, target stock and whether each slot's stock is the default assumption."""
    stock = slot_use * scenario.settings.default_days_of_cover
    target = stock.copy()
    assumed = np.ones(len(slot_use), dtype=bool)
    row: Any  # a stocks row (pandas types its fields too loosely)
    for row in net.stocks.itertuples(index=False):
        key = [(row.holder, row.commodity)]
        position = slot_key.get_indexer(key)[0]  # type: ignore[arg-type]  # stub: a list of tuples is accepted
        if position < 0:
            continue  # an output stock: the engine keeps none
        if not np.isnan(row.quantity):
            stock[position] = row.quantity
            days = row.quantity / slot_use[position] if slot_use[position] > 0 else 0.0
        else:
            days = row.days_of_cover
            stock[position] = row.days_of_cover * slot_use[position]
        target_days = row.target_days if not np.isnan(row.target_days) else days
        target[position] = target_days * slot_use[position]
        assumed[position] = False

    return stock, target, assumed


class ModelBuilder:
    """What an event may add to the model while it is built: plants (virtual producers
    with no base capacity) and links (standby alternatives). Events call it from their
    ``extend_model`` hook."""

    def __init__(
        self,
        scenario: Scenario,
        ids: np.ndarray,
        made: pd.Series,
        links: dict,
        holders: np.ndarray,
        slot_commodity: np.ndarray,
        location: np.ndarray,
    ) -> None:
        self.scenario, self.ids, self._made, self.links = scenario, ids, made, links
        self.holders, self.slot_commodity, self.location = holders, slot_commodity, location
        self.index = pd.Index(ids)
        self.holder_of = ids
        """The network producer each row belongs to (firms of a split holder share it)."""
        self.extra: dict[str, list] = {"ids": [], "country": [], "commodity": []}

    def day(self, when: When) -> int:
        return self.scenario.day(when)

    def made(self, producer: str) -> str:
        """The commodity a producer of the network makes."""
        return str(self._made.iloc[self.rows_of(producer)[0]])

    def rows_of(self, producer: str) -> np.ndarray:
        """Producer rows of a network producer (one, or one per firm)."""
        return np.flatnonzero(self.holder_of == producer)

    def customers(self, commodity: str, regions: list[str]) -> np.ndarray:
        """Slots of holders in the regions that use the commodity."""
        codes = set().union(*(region_codes(r) for r in regions))
        mask = (self.slot_commodity == commodity) & np.isin(self.location.astype(str), list(codes))
        return np.flatnonzero(mask)

    def add_producer(self, producer_id: str, country: str, commodity: str) -> int:
        """A new plant; its capacity is set per draw through the capacity multipliers."""
        self.extra["ids"].append(producer_id)
        self.extra["country"].append(country)
        self.extra["commodity"].append(commodity)
        return len(self.ids) + len(self.extra["ids"]) - 1

    def producer_id(self, producer: int) -> str:
        n = len(self.ids)
        return str(self.ids[producer] if producer < n else self.extra["ids"][producer - n])

    def add_link(self, supplier: int, slot: int, *, ready: float, event: int) -> None:
        """A standby link from ``supplier`` into ``slot``, ready from day ``ready``."""
        links = self.links
        links["ids"].append(f"{self.producer_id(supplier)}->{self.holders[slot]}")
        links["supplier"].append(supplier)
        links["slot"].append(slot)
        links["share"].append(0.0)
        links["alternative"].append(True)
        links["qualification"].append(0.0)
        links["flow"].append(0.0)
        links["ready"].append(ready)
        links["event"].append(event)
        links["transit"].append(np.nan)  # the default rule

    def switch_to(self, supplier_id: str, slot: int, *, event: int) -> int:
        """Make ``supplier_id`` (each of its firms) an alternative supplier of ``slot`` whose
        ready day the event draws; 1 if that changes anything, 0 if it is already a regular
        supplier."""
        links = self.links
        changed = 0
        for supplier in self.rows_of(supplier_id):
            existing = [
                i
                for i, (s, t) in enumerate(zip(links["supplier"], links["slot"], strict=True))
                if s == supplier and t == slot
            ]
            if existing:
                i = existing[0]
                if links["alternative"][i]:  # a standby supplier becomes ready on schedule
                    links["event"][i] = event
                    changed = 1
                continue
            self.add_link(int(supplier), slot, ready=np.inf, event=event)
            changed = 1
        return changed


def holders_location(slot_producer, slot_demand, producers, net) -> np.ndarray:
    location = np.empty(len(slot_producer), dtype=object)
    is_producer = slot_producer >= 0
    location[is_producer] = producers["country"].to_numpy(object)[slot_producer[is_producer]]
    location[~is_producer] = net.demand["region"].to_numpy(object)[slot_demand[~is_producer]]
    return location


def _levels(
    n_producers: int, supplier: np.ndarray, slot_producer: np.ndarray, link_slot: np.ndarray
) -> np.ndarray:
    """Longest path from a producer without suppliers: suppliers come before customers.

    Kahn's topological sort over the producer graph, O(producers + links).
    """
    customer = slot_producer[link_slot] if len(link_slot) else np.zeros(0, int)
    keep = customer >= 0
    supplier, customer = supplier[keep], customer[keep]
    order = np.argsort(supplier, kind="stable")
    supplier, customer = supplier[order], customer[order]
    starts = np.searchsorted(supplier, np.arange(n_producers + 1))
    indegree = np.bincount(customer, minlength=n_producers)
    level = np.zeros(n_producers, dtype=int)
    ready = list(np.flatnonzero(indegree == 0))
    seen = 0
    while ready:
        node = ready.pop()
        seen += 1
        for child in customer[starts[node] : starts[node + 1]]:
            level[child] = max(level[child], level[node] + 1)
            indegree[child] -= 1
            if indegree[child] == 0:
                ready.append(child)
    if seen != n_producers:
        raise ScenarioError("the links form a cycle among producers")
    return level
