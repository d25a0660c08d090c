"""A plain numpy implementation of the engine's daily rules: the oracle the compiled
kernel (chokepoint.engine.kernel) is tested against. Not part of the package.

The shortage engine: a pure function of the compiled model and its exogenous inputs.

State is arrays ``[row, draw]`` (draws innermost); the loop runs over days and, within a
day, over producer levels (suppliers before customers), vectorised over draws. Each day:

1. exogenous inputs for the day (capacity, gates, quotas, demand, recipes, scrap, reserves);
2. every holder plans its use from yesterday's orders and orders enough to cover it and to
   restore its target stock over ``restoration_days``; the part of an input no network
   supplier covers (partial links, scrap) arrives from outside;
3. level by level, producers ship from their stock of output first and make what capacity,
   orders and input stocks allow, plus (up to their usual output and a storage limit) what
   blocked orders cannot take, which they keep; they ship to their customers in proportion
   to the (gated, capped) orders; a holder's shortfall
   then moves to qualified alternative suppliers with spare capacity; a shipment on a link
   with a transit time arrives that many days later (the share flown, after the flight);
4. final demand takes what is in stock; the rest is unmet.

Mass balance holds by construction and is measured every day and draw (``balance``).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp

from chokepoint.compile.exogenous import Exogenous
from chokepoint.compile.model import Model

_TINY = 1e-12


@dataclass
class Trajectories:
    """Daily results of a chunk of draws: arrays ``[day, row, draw]``."""

    production: np.ndarray  # [day, producer, draw]
    delivered: np.ndarray  # [day, demand, draw]
    unmet: np.ndarray  # [day, demand, draw]
    stock: np.ndarray | None  # [day, slot, draw] when kept
    grouped_stock: np.ndarray | None  # [day, group, draw]: stock summed by stock_groups
    gate: np.ndarray  # [day, gated link, draw]
    balance: np.ndarray  # [day, draw]: largest mass-balance residual (relative)
    shipped: np.ndarray  # [day, link, draw]: departures
    in_transit: np.ndarray  # [day, link, draw]: goods in transit at the end of the day
    exporter_stock: np.ndarray  # [day, producer, draw]: output kept, not yet shipped


class _Structure:
    """Index arrays derived once per model."""

    def __init__(self, model: Model) -> None:
        self.P, self.S, self.L = model.n_producers, model.n_slots, model.n_links
        self.producer_slots = model.slot_producer >= 0
        self.demand_slots = np.flatnonzero(~self.producer_slots)
        primary = ~model.link_alternative
        self.primary = np.flatnonzero(primary)
        self.alternative = np.flatnonzero(~primary)
        supplier_level = model.level[model.link_supplier]
        self.levels = []
        customer_level = np.full(self.S, model.level.max() + 1 if self.P else 0)
        customer_level[self.producer_slots] = model.level[model.slot_producer[self.producer_slots]]
        for level in range(int(model.level.max()) + 1 if self.P else 0):
            producers = np.flatnonzero(model.level == level)
            slots = np.flatnonzero(self.producer_slots & (customer_level == level))
            self.levels.append(
                (
                    producers,
                    slots,
                    self.primary[supplier_level[self.primary] == level],
                    self.primary[customer_level[model.link_slot[self.primary]] == level],
                    self.alternative[customer_level[model.link_slot[self.alternative]] == level],
                )
            )
        last = customer_level.max() if self.S else 0
        self.final = (
            self.demand_slots,
            self.primary[customer_level[model.link_slot[self.primary]] == last],
            self.alternative[customer_level[model.link_slot[self.alternative]] == last],
        )
        # sparse incidence: supplier × link, slot × link, producer × slot
        ones_l = np.ones(self.L)
        self.by_supplier = sp.csr_matrix(
            (ones_l, (model.link_supplier, np.arange(self.L))), shape=(self.P, self.L)
        )
        self.by_slot = sp.csr_matrix(
            (ones_l, (model.link_slot, np.arange(self.L))), shape=(self.S, self.L)
        )
        self.slot_of_link = model.link_slot
        slots = np.flatnonzero(self.producer_slots)
        self.slot_owner = model.slot_producer
        # producers' slots sorted for min-reduction
        order = slots[np.argsort(model.slot_producer[slots], kind="stable")]
        self.sorted_slots = order
        owners = model.slot_producer[order]
        self.owner_with_slots, self.owner_start = np.unique(owners, return_index=True)
        self.transit = model.link_transit.astype(int)
        self.has_transit = self.transit > 0
        lead = np.where(primary, model.link_share * self.transit, 0.0)
        self.slot_lead = (self.by_slot @ lead)[:, None]


class _Lanes:
    """Goods in transit: per link a ring of arrival days ``[link, day % ring, draw]``."""

    def __init__(self, st: _Structure, model: Model, exo: Exogenous, draws: int) -> None:
        air_days = exo.air_days if len(exo.air_days) else np.zeros(st.L, int)
        self.air_days = np.asarray(air_days, int)
        self.ring = int(max(st.transit.max(initial=0), self.air_days.max(initial=0))) + 1
        self.pipe = np.zeros((st.L, self.ring, draws))
        flow = model.link_share * model.slot_use[model.link_slot]
        for link in np.flatnonzero(st.has_transit):
            for d in range(st.transit[link]):
                self.pipe[link, d % self.ring] += flow[link]
        self.st = st

    def arrivals(self, t: int) -> np.ndarray:
        """``[link, draw]`` arriving on day ``t`` (taken out of the rings)."""
        arrived = self.pipe[:, t % self.ring].copy()
        self.pipe[:, t % self.ring] = 0.0
        return arrived

    def held(self) -> np.ndarray:
        return self.pipe.sum(axis=1)

    def send(self, t: int, links: np.ndarray, amounts: np.ndarray, air: np.ndarray, stock):
        """Ship ``amounts[link, draw]``: at once into stock, or into the rings."""
        st = self.st
        now = ~st.has_transit[links]
        slots = st.slot_of_link[links]
        np.add.at(stock, slots[now], amounts[now])
        for k in np.flatnonzero(~now):
            link = links[k]
            flown = amounts[k] * air[link]
            self.pipe[link, (t + st.transit[link]) % self.ring] += amounts[k] - flown
            self.pipe[link, (t + self.air_days[link]) % self.ring] += flown


def _input_limit(
    st: _Structure, model: Model, stock: np.ndarray, coef: np.ndarray, producers: np.ndarray
) -> np.ndarray:
    """How much each producer could make from its input stocks: ``min_s stock_s / coef_s``."""
    limit = np.full((st.P, stock.shape[1]), np.inf)
    if len(st.sorted_slots):
        ratio = np.where(
            coef[st.sorted_slots] > _TINY,
            stock[st.sorted_slots] / np.maximum(coef[st.sorted_slots], _TINY),
            np.inf,
        )
        limit[st.owner_with_slots] = np.minimum.reduceat(ratio, st.owner_start, axis=0)
    return np.maximum(limit[producers], 0.0)


@dataclass
class _Day:
    """The arrays of one day that the alternative-supplier step reads and updates."""

    t: int
    capacity: np.ndarray
    gate: np.ndarray
    quota: np.ndarray
    coef: np.ndarray
    order: np.ndarray
    link_order: np.ndarray
    shipped: np.ndarray
    made: np.ndarray
    used: np.ndarray
    stock: np.ndarray
    alt_requests: np.ndarray
    alt_made: np.ndarray
    short_since: np.ndarray
    lanes: _Lanes
    air: np.ndarray


def _serve_alternatives(
    st: _Structure,
    model: Model,
    exo: Exogenous,
    day: _Day,
    slots: np.ndarray,
    primary_in: np.ndarray,
    alt_in: np.ndarray,
    trigger_share: float,
) -> None:
    """Move the holders' unmet orders to qualified alternatives with spare capacity.

    A holder is short when its usual suppliers leave more than ``trigger_share`` of its
    order unmet; a standby supplier from the data qualifies ``qualification_days`` after the
    holder first ran short, one from a scenario measure on its scheduled day. The shortfall
    is split over the qualified suppliers by capacity; each ships what its spare capacity
    and input stocks allow.
    """
    if len(slots) == 0:
        return
    S, R = day.stock.shape
    P = st.P
    gap = np.zeros((S, R))
    np.add.at(
        gap, model.link_slot[primary_in], day.link_order[primary_in] - day.shipped[primary_in]
    )
    short = gap[slots] > trigger_share * np.maximum(day.order[slots], _TINY)
    newly = short & np.isinf(day.short_since[slots])
    day.short_since[slots] = np.where(newly, day.t, day.short_since[slots])
    if len(alt_in) == 0:
        return
    slot_of = model.link_slot[alt_in]
    from_data = (model.link_from_data & model.link_alternative)[alt_in]
    trigger = np.where(
        from_data[:, None],
        day.short_since[slot_of] + model.link_qualification[alt_in][:, None],
        np.inf,
    )
    ready = np.minimum(exo.link_ready[alt_in], trigger)
    qualified = day.t >= ready
    supplier = model.link_supplier[alt_in]
    weight = day.capacity[supplier] * qualified
    total_weight = np.zeros((S, R))
    np.add.at(total_weight, slot_of, weight)
    request = gap[slot_of] * weight / np.maximum(total_weight[slot_of], _TINY)
    request = np.minimum(day.gate[alt_in] * request, day.quota[alt_in])
    limit = _input_limit(st, model, day.stock, day.coef, np.arange(P))
    spare = np.maximum(np.minimum(day.capacity - day.made, limit), 0.0)
    asked = np.zeros((P, R))
    np.add.at(asked, supplier, request)
    scale = np.minimum(1.0, spare / np.maximum(asked, _TINY))
    delivered = request * scale[supplier]
    extra = np.zeros((P, R))
    np.add.at(extra, supplier, delivered)
    day.alt_requests += asked
    day.alt_made += extra
    day.made += extra
    day.shipped[alt_in] += delivered
    day.lanes.send(day.t, alt_in, delivered, day.air, day.stock)
    owners = st.producer_slots
    take = day.coef[owners] * extra[model.slot_producer[owners]]
    day.stock[owners] -= take
    day.used[owners] += take


def _day(rows, t: int, draws: int) -> np.ndarray:
    """``[row, draw]`` values of day ``t`` (patterns expanded, draw-independent broadcast)."""
    values = rows.values[t][rows.pattern]
    return np.broadcast_to(values, (len(rows.rows), draws)).copy()


def run(
    model: Model,
    exo: Exogenous,
    *,
    restoration_days: float = 10.0,
    keep_stock: bool = False,
    stock_groups: sp.spmatrix | None = None,
    qualification_trigger: float = 0.01,
) -> Trajectories:
    """Simulate ``exo.horizon`` days for the draws of ``exo``; returns daily trajectories.

    ``keep_stock`` keeps every slot's stock each day; ``stock_groups`` (group × slot) keeps
    only sums of stocks, e.g. per commodity in a region.
    """
    st = _Structure(model)
    T, R = exo.horizon, len(exo.draws)
    P, S, L = st.P, st.S, st.L
    stock = np.repeat(model.slot_stock[:, None], R, axis=1).astype(float)
    target = model.slot_target[:, None]
    reserve = np.zeros((len(exo.reserve.rows), R))
    orders_prev = np.repeat((model.output)[:, None], R, axis=1)
    short_since = np.full((S, R), np.inf)
    share = model.link_share[:, None]
    unknown = model.slot_unknown[:, None]
    external = model.external_orders[:, None]

    production = np.zeros((T, P, R))
    delivered_out = np.zeros((T, len(st.demand_slots), R))
    unmet_out = np.zeros((T, len(st.demand_slots), R))
    stock_out = np.zeros((T, S, R)) if keep_stock else None
    grouped_out = np.zeros((T, stock_groups.shape[0], R)) if stock_groups is not None else None
    gate_out = np.zeros((T, len(exo.gate.rows), R))
    balance = np.zeros((T, R))
    shipped_out = np.zeros((T, L, R))
    transit_out = np.zeros((T, L, R))
    lanes = _Lanes(st, model, exo, R)
    ostock = np.zeros((P, R))
    ostock_out = np.zeros((T, P, R))
    storage = model.producer_storage[:, None]
    output = model.output[:, None]

    for t in range(T):
        # 1. exogenous inputs of the day
        capacity = np.repeat(model.capacity[:, None], R, axis=1)
        if len(exo.capacity.rows):
            capacity[exo.capacity.rows] *= _day(exo.capacity, t, R)
        gate = np.ones((L, R))
        if len(exo.gate.rows):
            gate[exo.gate.rows] = _day(exo.gate, t, R)
            gate_out[t] = _day(exo.gate, t, R)
        quota = np.full((L, R), np.inf)
        if len(exo.quota.rows):
            baseline = model.link_flow[exo.quota.rows, None]
            allowed = _day(exo.quota, t, R)
            quota[exo.quota.rows] = np.where(
                baseline > 0, allowed * baseline, np.where(allowed > 0, np.inf, 0.0)
            )
        coef = np.repeat(model.slot_coef[:, None], R, axis=1)
        if len(exo.coef.rows):
            coef[exo.coef.rows] *= _day(exo.coef, t, R)
        demand = np.repeat(model.slot_use[st.demand_slots][:, None], R, axis=1)
        scrap_share = np.zeros((S, R))
        if len(exo.scrap.rows):
            scrap_share[exo.scrap.rows] = _day(exo.scrap, t, R)
        air = np.zeros((L, R))
        if len(exo.air.rows):
            air[exo.air.rows] = _day(exo.air, t, R)
        start_stock = stock.copy()
        arrived = st.by_slot @ lanes.arrivals(t)
        stock += arrived
        injected = np.zeros((S, R))
        if len(exo.reserve.rows):
            inflow = _day(exo.reserve, t, R)
            now = exo.reserve_immediate
            injected[exo.reserve.rows[now]] += inflow[now]
            reserve[~now] += inflow[~now]
            stock += injected
        if len(exo.demand.rows):
            position = np.searchsorted(st.demand_slots, exo.demand.rows)
            demand[position] *= _day(exo.demand, t, R)

        # 2. plans and orders
        plan = np.minimum(capacity, orders_prev)
        use_plan = np.zeros((S, R))
        owners = st.producer_slots
        use_plan[owners] = coef[owners] * plan[model.slot_producer[owners]]
        use_plan[st.demand_slots] = demand
        released = np.zeros((S, R))
        if len(exo.reserve.rows):
            rows = exo.reserve.rows
            need = np.maximum(use_plan[rows] - stock[rows], 0.0)
            give = np.minimum(reserve, need)
            give[exo.reserve_immediate] = 0.0
            reserve -= give
            released[rows] += give
            stock += released
        scrap_in = scrap_share * use_plan
        # the supply line: goods in transit to restore alongside the target stock
        line = st.slot_lead * (use_plan - scrap_in) - st.by_slot @ lanes.held()
        order = np.maximum(use_plan - scrap_in + (target - stock + line) / restoration_days, 0.0)
        outside_in = unknown * np.minimum(order, use_plan - scrap_in)
        link_order = share * order[model.link_slot]
        effective = np.minimum(gate * link_order, quota)
        orders = external + st.by_supplier @ effective
        blocked = st.by_supplier @ (link_order - effective)
        ostart = ostock.copy()
        planned = np.zeros((P, R))
        sent = np.zeros((P, R))
        stock += outside_in + scrap_in

        made = np.zeros((P, R))
        shipped = np.zeros((L, R))
        used = np.zeros((S, R))
        alt_requests = np.zeros((P, R))
        alt_made = np.zeros((P, R))
        day = _Day(
            t,
            capacity,
            gate,
            quota,
            coef,
            order,
            link_order,
            shipped,
            made,
            used,
            stock,
            alt_requests,
            alt_made,
            short_since,
            lanes,
            air,
        )

        # 3. production, level by level
        for producers, slots, out_links, primary_in, alt_in in st.levels:
            _serve_alternatives(
                st, model, exo, day, slots, primary_in, alt_in, qualification_trigger
            )
            limit = _input_limit(st, model, stock, coef, producers)
            wanted, held = orders[producers], ostock[producers]
            room = np.maximum(storage[producers] - held, 0.0)
            fill = np.minimum(
                np.minimum(blocked[producers], room), np.maximum(output[producers] - wanted, 0.0)
            )
            planned[producers] = np.maximum(wanted - held, 0.0) + fill
            made[producers] = np.minimum(np.minimum(capacity[producers], planned[producers]), limit)
            ready = made[producers] + held
            shipping = np.minimum(ready, wanted)
            ostock[producers] = ready - shipping
            sent[producers] = shipping / np.maximum(wanted, _TINY)
            if len(out_links):
                supplier = model.link_supplier[out_links]
                shipped[out_links] = effective[out_links] * sent[supplier]
                lanes.send(t, out_links, shipped[out_links], air, stock)
            take = coef[slots] * made[model.slot_producer[slots]]
            stock[slots] -= take
            used[slots] += take

        # 4. final demand
        demand_slots, primary_in, alt_in = st.final
        _serve_alternatives(
            st, model, exo, day, demand_slots, primary_in, alt_in, qualification_trigger
        )
        delivered = np.minimum(np.maximum(stock[demand_slots], 0.0), demand)
        stock[demand_slots] -= delivered
        used[demand_slots] += delivered

        # mass balance: stock change = received - used; output = shipped + sold outside
        now = (~st.has_transit)[:, None]
        received = (
            st.by_slot @ (shipped * now) + arrived + outside_in + scrap_in + released + injected
        )
        slot_residual = np.abs(stock - start_stock - received + used)
        sold_outside = external * sent
        producer_residual = np.abs(
            made + ostart - (st.by_supplier @ shipped) - sold_outside - ostock
        )
        scale = max(
            float(np.max(model.slot_use, initial=0.0)),
            float(np.max(model.output, initial=0.0)),
            1.0,
        )
        balance[t] = (
            np.maximum(
                slot_residual.max(axis=0, initial=0.0), producer_residual.max(axis=0, initial=0.0)
            )
            / scale
        )

        production[t] = made
        shipped_out[t] = shipped
        transit_out[t] = lanes.held()
        delivered_out[t] = delivered
        unmet_out[t] = demand - delivered
        if stock_out is not None:
            stock_out[t] = stock
        if grouped_out is not None:
            grouped_out[t] = stock_groups @ stock
        ostock_out[t] = ostock
        orders_prev = planned + alt_requests

    return Trajectories(
        production,
        delivered_out,
        unmet_out,
        stock_out,
        grouped_out,
        gate_out,
        balance,
        shipped_out,
        transit_out,
        ostock_out,
    )
