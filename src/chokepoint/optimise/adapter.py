"""The one place where the optimiser reads the compiled model: a scenario and its draws as
the plain arrays of a linear model, per period and draw.

Everything the linear program needs — which producers, slots and links it models, their
capacities, gates, stocks and the reference output of the target groups — comes from
:func:`chokepoint.simulation.run.prepare` (``build_model``) and
:func:`chokepoint.compile.exogenous.compile_exogenous`. When the compiled model changes
(transit times, firm cohorts, variant splits), only this module follows.

The linear model keeps the part of the network that can move: producers upstream of a
target group that an event reaches (directly, or through a supplier it reaches). The rest
is *outside*: outside suppliers ship into modelled slots up to their baseline flow times
their capacity headroom, times the gate and within the quota an event sets.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np
import pandas as pd

from chokepoint.compile.exogenous import Exogenous, Rows, compile_exogenous
from chokepoint.compile.model import Model
from chokepoint.errors import ScenarioError
from chokepoint.network.container import SupplyNetwork
from chokepoint.scenario import Scenario
from chokepoint.simulation.run import Prepared, prepare


@dataclass
class Pool:
    """An outside supplier whose output the modelled links share with its other customers
    pro rata to their orders, as the engine's ``made × order / orders``."""

    links: np.ndarray  # positions in the case's links
    capacity: np.ndarray  # [R, T] what it can make per period
    others: np.ndarray  # [R, T] what its other customers order per period


@dataclass
class Case:
    """A scenario's draws as the arrays of the linear model (quantities per period)."""

    prepared: Prepared
    draws: np.ndarray
    step_days: int
    period_start: np.ndarray  # [T] first day of each period
    period_days: np.ndarray  # [T]
    groups: pd.DataFrame  # product, region, measured_as, value, label
    group_ref: np.ndarray  # [T, G] reference output per period
    producers: np.ndarray  # model producer indices that are modelled
    prod_cap: np.ndarray  # [R, T, P] capacity per period
    prod_base: np.ndarray  # [P] baseline output per day
    slots: np.ndarray  # model slot indices that are modelled
    slot_owner: np.ndarray  # [S] position in producers, or -1 for a demand slot
    slot_demand: np.ndarray  # [S] model demand index, or -1
    slot_coef: np.ndarray  # [R, T, S] input per unit of output (1 for a demand)
    slot_net_share: np.ndarray  # [S] share of use the network supplies (1 - unknown)
    slot_stock: np.ndarray  # [S] stock on day 0
    slot_inflow: np.ndarray  # [R, T, S] exogenous inflow (reserves released, scrap)
    slot_use: np.ndarray  # [S] baseline use per day
    demand_bound: np.ndarray  # [R, T, S] final demand per period (demand slots; 0 else)
    links: np.ndarray  # model link indices into modelled slots
    link_slot: np.ndarray  # [L] position in slots
    link_from: np.ndarray  # [L] position in producers, or -1 (outside supplier)
    link_share: np.ndarray  # [L] share of the supplier's output (modelled suppliers)
    link_bound: np.ndarray  # [R, T, L] upper bound per period (inf: none)
    link_alternative: np.ndarray  # [L] bool
    link_gate_days: np.ndarray | None = None  # [R, T, L] open gate-days per period
    link_ordered: np.ndarray | None = None  # [L] bool: flow bounded by the order rule
    link_lag: np.ndarray | None = None  # [L] whole periods in transit
    link_pipeline: np.ndarray | None = None  # [T, L] arrivals of goods under way on day 0
    slot_target: np.ndarray | None = None  # [S] target stock (the refill rule's aim)
    slot_plan: np.ndarray | None = None  # [R, T, S] largest planned use per period
    pools: list[Pool] = field(default_factory=list)  # outside suppliers shared pro rata
    group_producers: list[np.ndarray] = field(default_factory=list)  # positions in producers
    group_demands: list[np.ndarray] = field(default_factory=list)  # positions in slots
    exogenous: Exogenous | None = None
    # what the case was prepared from (set from ``prepared``)
    model: Model = field(init=False, repr=False)
    net: SupplyNetwork = field(init=False, repr=False)
    scenario: Scenario = field(init=False, repr=False)
    horizon: int = field(init=False, repr=False)
    first_shock: int = field(init=False, repr=False)

    def __post_init__(self) -> None:
        prepared = self.prepared
        self.model, self.net, self.scenario = prepared.model, prepared.net, prepared.scenario
        self.horizon, self.first_shock = self.scenario.horizon_days, prepared.first_shock

    @property
    def tau(self) -> float:
        """Days over which the engine's orders restore a slot's target stock."""
        return float(self.scenario.settings.restoration_days)

    @property
    def stop_tolerance(self) -> float:
        """Shortfall allowed before a day counts as a stoppage (1 - survive threshold)."""
        return 1.0 - self.scenario.settings.survive_threshold

    def group_index(self, product: str, region: str) -> int:
        found = np.flatnonzero(
            (self.groups["product"] == product) & (self.groups["region"] == region)
        )
        if not len(found):
            known = ", ".join(self.groups["label"])
            raise ScenarioError(f"no product group '{product}@{region}' (known: {known})")
        return int(found[0])

    def take(self, position: int) -> Case:
        """The case of one draw (its position in ``draws``)."""
        one = slice(position, position + 1)
        return replace(
            self,
            draws=self.draws[one],
            prod_cap=self.prod_cap[one],
            slot_coef=self.slot_coef[one],
            slot_inflow=self.slot_inflow[one],
            demand_bound=self.demand_bound[one],
            link_bound=self.link_bound[one],
            link_gate_days=None if self.link_gate_days is None else self.link_gate_days[one],
            slot_plan=None if self.slot_plan is None else self.slot_plan[one],
            pools=[Pool(pool.links, pool.capacity[one], pool.others[one]) for pool in self.pools],
        )

    def period_sum(self, daily: np.ndarray) -> np.ndarray:
        """Sum a ``[day, ...]`` array over the days of each period."""
        return np.add.reduceat(daily, self.period_start, axis=0)


def row_daily(rows: Rows, n_rows: int, horizon: int, n_draws: int, neutral: float) -> dict:
    """``{row: [day, draw]}`` for the rows an event touches (others take ``neutral``)."""
    out = {}
    for position, row in enumerate(rows.rows):
        values = rows.values[:, rows.pattern[position], :]
        out[int(row)] = np.broadcast_to(values, (horizon, n_draws))
    return out


def _upstream(model: Model, producers: set[int], demand_slots: set[int]) -> set[int]:
    """Producers that feed the given producers or demand slots, directly or not."""
    feeding: dict[int, list[int]] = {}
    for link, slot in enumerate(model.link_slot):
        feeding.setdefault(int(slot), []).append(int(model.link_supplier[link]))
    seen: set[int] = set()
    frontier = [s for s in demand_slots]
    frontier += [int(s) for s in np.flatnonzero(np.isin(model.slot_producer, list(producers)))]
    seen |= producers
    while frontier:
        slot = frontier.pop()
        for supplier in feeding.get(slot, []):
            if supplier not in seen:
                seen.add(supplier)
                frontier += [int(s) for s in np.flatnonzero(model.slot_producer == supplier)]
    return seen


def _affected(model: Model, exo: Exogenous, extra_slots: set[int]) -> set[int]:
    """Producers whose output an event can move, and every producer downstream of them."""
    touched_slots = set(int(s) for s in exo.coef.rows) | set(int(s) for s in exo.scrap.rows)
    touched_slots |= set(int(s) for s in exo.reserve.rows) | extra_slots
    touched_slots |= set(int(model.link_slot[link]) for link in exo.gate.rows)
    touched_slots |= set(int(model.link_slot[link]) for link in exo.quota.rows)
    ready = np.isfinite(exo.link_ready).any(axis=1)
    touched_slots |= set(int(s) for s in model.link_slot[ready])
    start = {int(p) for p in exo.capacity.rows}
    start |= {int(model.slot_producer[s]) for s in touched_slots if model.slot_producer[s] >= 0}
    out_links: dict[int, list[int]] = {}
    for link, supplier in enumerate(model.link_supplier):
        out_links.setdefault(int(supplier), []).append(link)
    seen = set(start)
    frontier = list(start)
    while frontier:
        producer = frontier.pop()
        for link in out_links.get(producer, []):
            customer = int(model.slot_producer[model.link_slot[link]])
            if customer >= 0 and customer not in seen:
                seen.add(customer)
                frontier.append(customer)
    return seen


def compile_case(
    scenario: Scenario,
    network: SupplyNetwork | str | Path | None = None,
    *,
    draws: int | np.ndarray = 200,
    step_days: int = 7,
    groups: list[tuple[str, str]] | None = None,
    extra_slots: set[int] | None = None,
    prepared: Prepared | None = None,
) -> Case:
    """Compile a scenario's draws into the arrays of the linear model.

    ``groups`` are the (product, region) groups the targets name (None: all groups);
    ``extra_slots`` are model slots a candidate measure acts on (modelled if upstream of a
    group). Draw numbers are absolute: ``draws=200`` means draws 0..199 of the scenario's seed.
    """
    if step_days < 1:
        raise ScenarioError("the step must be at least one day", field="step_days")
    prepared = prepared or prepare(scenario, network)
    model, horizon = prepared.model, scenario.horizon_days
    draws = np.arange(int(draws)) if np.ndim(draws) == 0 else np.asarray(draws)
    n_draws = len(draws)
    exo = compile_exogenous(prepared.net, model, prepared.scenario, draws)
    table = prepared.groups.table.copy()
    table["label"] = table["product"] + "@" + table["region"]
    wanted = (
        np.arange(len(table))
        if groups is None
        else np.array([_group(table, p, r) for p, r in groups], dtype=int)
    )
    g_prod = [np.flatnonzero(prepared.groups.producer_matrix[g]) for g in wanted]
    g_dem = [np.flatnonzero(prepared.groups.demand_matrix[g]) for g in wanted]
    demand_slot_of = {
        int(model.slot_demand[s]): int(s) for s in np.flatnonzero(model.slot_demand >= 0)
    }
    target_producers = set(int(p) for ps in g_prod for p in ps)
    target_demand_slots = {demand_slot_of[int(d)] for ds in g_dem for d in ds}
    upstream = _upstream(model, target_producers, target_demand_slots)
    affected = _affected(model, exo, extra_slots or set())
    producers = np.array(sorted((upstream & affected) | target_producers), dtype=int)
    p_pos = {int(p): i for i, p in enumerate(producers)}

    # slots: inputs of modelled producers, and the target groups' demand slots
    slot_mask = np.isin(model.slot_producer, producers)
    slot_mask[list(target_demand_slots)] = True
    slots = np.flatnonzero(slot_mask)
    s_pos = {int(s): i for i, s in enumerate(slots)}
    period_start = np.arange(0, horizon, step_days)
    period_days = np.diff(np.append(period_start, horizon))
    case_shape = (n_draws, len(period_start))

    def per_period(daily: np.ndarray) -> np.ndarray:  # [day, draw] -> [draw, T]
        return np.add.reduceat(daily, period_start, axis=0).T

    # producers: capacity per period
    cap_rows = row_daily(exo.capacity, model.n_producers, horizon, n_draws, 1.0)
    prod_cap = np.empty((*case_shape, len(producers)))
    for i, p in enumerate(producers):
        mult = cap_rows.get(int(p), np.ones((horizon, 1)))
        prod_cap[:, :, i] = per_period(
            np.broadcast_to(model.capacity[p] * mult, (horizon, n_draws))
        )

    slot_coef, slot_inflow, demand_bound = _slot_arrays(
        model, exo, slots, s_pos, period_start, period_days, n_draws
    )
    links = np.flatnonzero(np.isin(model.link_slot, slots))
    link_bound, link_from, link_share = _link_arrays(
        model, exo, prepared, links, p_pos, cap_rows, period_start, n_draws
    )
    slot_owner = np.array([p_pos.get(int(model.slot_producer[s]), -1) for s in slots], dtype=int)
    ref = np.add.reduceat(prepared.reference, period_start, axis=0)[:, wanted]
    gate_days = _gate_days(model, exo, links, period_start, horizon, n_draws)
    ordered = ~model.link_alternative[links]
    plan = np.where(
        (slot_owner >= 0)[None, None, :],
        slot_coef * prod_cap[:, :, np.maximum(slot_owner, 0)] if len(producers) else 0.0,
        demand_bound,
    )
    lag, pipeline = _transit(model, links, period_start, step_days)
    pools = _pools(model, exo, links, link_from, cap_rows, per_period, horizon, n_draws)
    return Case(
        prepared=prepared,
        draws=draws,
        step_days=step_days,
        period_start=period_start,
        period_days=period_days,
        groups=table.iloc[wanted].reset_index(drop=True),
        group_ref=ref,
        producers=producers,
        prod_cap=prod_cap,
        prod_base=model.output[producers],
        slots=slots,
        slot_owner=slot_owner,
        slot_demand=model.slot_demand[slots],
        slot_coef=slot_coef,
        slot_net_share=1.0 - model.slot_unknown[slots],
        slot_stock=model.slot_stock[slots].copy(),
        slot_inflow=slot_inflow,
        slot_use=model.slot_use[slots],
        demand_bound=demand_bound,
        links=links,
        link_slot=np.array([s_pos[int(model.link_slot[k])] for k in links], dtype=int),
        link_from=link_from,
        link_share=link_share,
        link_bound=link_bound,
        link_alternative=model.link_alternative[links],
        link_gate_days=gate_days,
        link_ordered=ordered,
        link_lag=lag,
        link_pipeline=pipeline,
        slot_target=model.slot_target[slots].astype(float),
        slot_plan=plan,
        pools=pools,
        group_producers=[np.array([p_pos[int(p)] for p in ps], dtype=int) for ps in g_prod],
        group_demands=[
            np.array([s_pos[demand_slot_of[int(d)]] for d in ds], dtype=int) for ds in g_dem
        ],
        exogenous=exo,
    )


def _slot_arrays(
    model,
    exo,
    slots: np.ndarray,
    s_pos: dict[int, int],
    period_start: np.ndarray,
    period_days: np.ndarray,
    n_draws: int,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per draw, period and modelled slot: input coefficient, inflow from outside the
    network (scrap, reserves) and the final demand bound."""
    horizon = int(period_start[-1] + period_days[-1])
    case_shape = (n_draws, len(period_start))

    def per_period(daily: np.ndarray) -> np.ndarray:  # [day, draw] -> [draw, T]
        return np.add.reduceat(daily, period_start, axis=0).T

    coef_rows = row_daily(exo.coef, model.n_slots, horizon, n_draws, 1.0)
    scrap_rows = row_daily(exo.scrap, model.n_slots, horizon, n_draws, 0.0)
    demand_rows = row_daily(exo.demand, model.n_slots, horizon, n_draws, 1.0)
    slot_coef = np.empty((*case_shape, len(slots)))
    slot_inflow = np.zeros((*case_shape, len(slots)))
    demand_bound = np.zeros((*case_shape, len(slots)))
    days = period_days[None, :]
    for i, s in enumerate(slots):
        if int(s) in coef_rows:
            daily = model.slot_coef[s] * coef_rows[int(s)]
            slot_coef[:, :, i] = per_period(np.broadcast_to(daily, (horizon, n_draws))) / days
        else:
            slot_coef[:, :, i] = model.slot_coef[s]
        if int(s) in scrap_rows:
            slot_inflow[:, :, i] += per_period(scrap_rows[int(s)] * model.slot_use[s])
        if model.slot_demand[s] >= 0:
            mult = demand_rows.get(int(s), np.ones((horizon, 1)))
            demand_bound[:, :, i] = per_period(
                np.broadcast_to(model.slot_use[s] * mult, (horizon, n_draws))
            )
    for position, s in enumerate(exo.reserve.rows):
        if int(s) in s_pos:
            values = np.broadcast_to(
                exo.reserve.values[:, exo.reserve.pattern[position], :], (horizon, n_draws)
            )
            slot_inflow[:, :, s_pos[int(s)]] += per_period(values)

    return slot_coef, slot_inflow, demand_bound


def _link_arrays(
    model,
    exo,
    prepared,
    links: np.ndarray,
    p_pos: dict[int, int],
    cap_rows: dict,
    period_start: np.ndarray,
    n_draws: int,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per draw, period and link into a modelled slot: its upper bound (gates, quotas,
    spare capacity of alternatives), its supplier's position and its baseline share."""
    horizon = prepared.scenario.horizon_days
    case_shape = (n_draws, len(period_start))

    def per_period(daily: np.ndarray) -> np.ndarray:  # [day, draw] -> [draw, T]
        return np.add.reduceat(daily, period_start, axis=0).T

    gate_rows = row_daily(exo.gate, model.n_links, horizon, n_draws, 1.0)
    quota_rows = row_daily(exo.quota, model.n_links, horizon, n_draws, np.inf)
    link_bound = np.full((*case_shape, len(links)), np.inf)
    link_from = np.array([p_pos.get(int(model.link_supplier[k]), -1) for k in links], dtype=int)
    link_share = np.zeros(len(links))
    alt_use = _alternative_weights(model, links)
    day = np.arange(horizon)[:, None]
    for i, k in enumerate(links):
        supplier, slot = int(model.link_supplier[k]), int(model.link_slot[k])
        gate = gate_rows.get(int(k), np.ones((horizon, 1)))
        flow = model.link_flow[k]
        cap_day = model.capacity[supplier] * cap_rows.get(supplier, np.ones((horizon, 1)))
        out = model.output[supplier]
        if model.link_alternative[k]:
            ready = exo.link_ready[k][None, :]
            if model.link_from_data[k]:
                ready = np.minimum(ready, prepared.first_shock + model.link_qualification[k])
            spare = np.maximum(cap_day - out, 0.0) * alt_use[i]
            daily = np.where(day >= ready, spare * gate, 0.0)
        elif flow > 0:
            link_share[i] = _order_share(model, prepared, int(k)) if out > 0 else 0.0
            headroom = cap_day / out if out > 0 else 1.0
            daily = flow * headroom * gate
        else:  # a regular link without baseline volume: what the customer needs at capacity
            owner = int(model.slot_producer[slot])
            need = model.slot_coef[slot] * (model.capacity[owner] if owner >= 0 else 0.0)
            daily = model.link_share[k] * need * gate
        if not model.link_alternative[k]:
            # the order rule and the supplier's pro-rata share bound it (lp.py); a quota too
            daily = np.full((horizon, 1), np.inf)
        if int(k) in quota_rows:
            share = quota_rows[int(k)]
            cap_q = share * flow if flow > 0 else np.where(share > 0, np.inf, 0.0)
            daily = np.minimum(daily, cap_q)
        daily = np.broadcast_to(daily, (horizon, n_draws))
        if (
            link_from[i] < 0
            or model.link_alternative[k]
            or int(k) in gate_rows
            or int(k) in quota_rows
        ):
            link_bound[:, :, i] = per_period(daily)
    return link_bound, link_from, link_share


def _order_share(model: Model, prepared: Prepared, link: int) -> float:
    """Largest share of its supplier's output a link can win: the engine ships pro rata to
    orders, and a customer refilling from an empty stock orders its planned use plus
    ``target / tau`` (its other customers taken to order their baseline)."""
    supplier, slot = int(model.link_supplier[link]), int(model.link_slot[link])
    owner = int(model.slot_producer[slot])
    plan = model.slot_coef[slot] * model.capacity[owner] if owner >= 0 else model.slot_use[slot]
    tau = float(prepared.scenario.settings.restoration_days)
    most = model.link_share[link] * (plan + model.slot_target[slot] / tau)
    others = max(model.output[supplier] - model.link_flow[link], 0.0)
    baseline = model.link_flow[link] / model.output[supplier]
    return float(max(baseline, most / max(most + others, 1e-12)))


def _gate_days(model, exo, links, period_start, horizon, n_draws) -> np.ndarray:
    """``[R, T, L]``: the days of each period a link's gate is open (fractions summed)."""
    gate_rows = row_daily(exo.gate, model.n_links, horizon, n_draws, 1.0)
    days = np.diff(np.append(period_start, horizon)).astype(float)
    out = np.broadcast_to(days[None, :, None], (n_draws, len(period_start), len(links))).copy()
    for i, k in enumerate(links):
        if int(k) in gate_rows:
            out[:, :, i] = np.add.reduceat(gate_rows[int(k)], period_start, axis=0).T
    return out


def _transit(model, links, period_start, step_days: int) -> tuple[np.ndarray, np.ndarray]:
    """Transit of each link in periods, and ``[T, L]`` arrivals of the goods under way on
    day 0 (the engine fills each link's pipeline at its baseline flow)."""
    days = getattr(model, "link_transit", None)
    transit = np.zeros(len(links)) if days is None else np.asarray(days, float)[links]
    horizon = int(period_start[-1]) + step_days
    day = np.arange(horizon)[:, None]
    arriving = np.where(day < transit[None, :], model.link_flow[links][None, :], 0.0)
    pipeline = np.add.reduceat(arriving, period_start, axis=0)
    return transit / step_days, pipeline[: len(period_start)]


def _pools(model, exo, links, link_from, cap_rows, per_period, horizon, n_draws) -> list:
    """Outside suppliers of the modelled links whose output is scarce under the scenario
    (an event gates, caps or cuts one of their links or their capacity): they share it pro
    rata to orders with their other customers, taken to order their baseline flow under
    their own gate, and with the buyers beyond the network (``external_orders``)."""
    scarce = set(int(k) for k in exo.gate.rows) | set(int(k) for k in exo.quota.rows)
    gate_rows = row_daily(exo.gate, model.n_links, horizon, n_draws, 1.0)
    pools = []
    outside = np.flatnonzero((link_from < 0) & ~model.link_alternative[links])
    for supplier in np.unique(model.link_supplier[links[outside]]):
        mine = outside[model.link_supplier[links[outside]] == supplier]
        every = np.flatnonzero((model.link_supplier == supplier) & ~model.link_alternative)
        if not (scarce & set(int(k) for k in every)) and int(supplier) not in cap_rows:
            continue
        mult = cap_rows.get(int(supplier), np.ones((horizon, 1)))
        capacity = per_period(np.broadcast_to(model.capacity[supplier] * mult, (horizon, n_draws)))
        others_daily = np.full((horizon, n_draws), float(model.external_orders[supplier]))
        for k in np.setdiff1d(every, links[mine]):
            others_daily = others_daily + model.link_flow[k] * gate_rows.get(
                int(k), np.ones((horizon, 1))
            )
        pools.append(Pool(mine, capacity, per_period(others_daily)))
    return pools


def _group(table: pd.DataFrame, product: str, region: str) -> int:
    found = np.flatnonzero((table["product"] == product) & (table["region"] == region))
    if not len(found):
        raise ScenarioError(
            f"no product group '{product}@{region}' in this network "
            f"(known: {', '.join(table['label'])})",
            field="target",
        )
    return int(found[0])


def _alternative_weights(model: Model, links: np.ndarray) -> np.ndarray:
    """Share of a supplier's spare capacity each alternative link may take: its customer's
    baseline use over that of every alternative customer of the supplier."""
    weights = np.zeros(len(links))
    alternative = np.flatnonzero(model.link_alternative)
    use = model.slot_use[model.link_slot[alternative]]
    for i, k in enumerate(links):
        if not model.link_alternative[k]:
            continue
        same = model.link_supplier[alternative] == model.link_supplier[k]
        total = use[same].sum()
        weights[i] = model.slot_use[model.link_slot[k]] / total if total > 0 else 1.0 / same.sum()
    return weights


def slots_where(
    case: Case, commodity: str, holders: list[str] | None, regions: list[str] | None
) -> np.ndarray:
    """Model slots of a commodity held by the holders, or located in the regions."""
    model = case.model
    if holders:
        mask = np.isin(model.slot_holder.astype(str), holders) & (model.slot_commodity == commodity)
        return np.flatnonzero(mask)
    return model.slots_of(commodity, regions or ["EU27"])
