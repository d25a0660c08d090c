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
    group_producers: list[np.ndarray] = field(default_factory=list)  # positions in producers
    group_demands: list[np.ndarray] = field(default_factory=list)  # positions in slots
    exogenous: Exogenous | None = None

    @property
    def model(self) -> Model:
        return self.prepared.model

    @property
    def net(self) -> SupplyNetwork:
        return self.prepared.net

    @property
    def scenario(self) -> Scenario:
        return self.prepared.scenario

    @property
    def horizon(self) -> int:
        return self.scenario.horizon_days

    @property
    def first_shock(self) -> int:
        return self.prepared.first_shock

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
            link_share[i] = flow / out if out > 0 else 0.0
            headroom = cap_day / out if out > 0 else 1.0
            daily = flow * headroom * gate
        else:  # a regular link without baseline volume: what the customer needs at capacity
            owner = int(model.slot_producer[slot])
            need = model.slot_coef[slot] * (model.capacity[owner] if owner >= 0 else 0.0)
            daily = model.link_share[k] * need * gate
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
