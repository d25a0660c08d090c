"""Build the two-stage stochastic program: first-stage measures, second-stage flows per draw.

First stage: one decision per candidate (a stockpile's tonnes, a plant's t/yr, a recycling
or substitution share, a yes/no qualification), priced linearly. Second stage, per draw
and period: production, flows on links, stocks, deliveries and the shortfall of each target
group against its reference output, on the linear model of :mod:`chokepoint.optimise.adapter`.

Targets are sample averages over the draws (SAA): ``elv`` and ``cvar95`` are linear
(CVaR by Rockafellar–Uryasev); ``pstop`` is a chance constraint with one binary per draw:
a draw may stop (``z = 1``, its shortfall unbounded) in at most ``floor(p × N)`` draws,
every other draw keeps each period's shortfall within the scenario's stop tolerance. The
big-M is the reference output itself (a shortfall cannot exceed it), the tightest there is.

Costs are in million EUR in the objective (numerics); with ``budget`` the targets become
soft (a violation costs far more than any measure) so the program says how close the
budget gets.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import cast

import numpy as np

from chokepoint.errors import ScenarioError
from chokepoint.optimise.adapter import Case
from chokepoint.optimise.catalogue import Candidate
from chokepoint.optimise.matrix import LinearProgram, summed
from chokepoint.optimise.measures import (
    MEASURE_KINDS,
    InflowEffect,
    LinkEffect,
    RecipeEffect,
    StockEffect,
)
from chokepoint.optimise.targets import Target

MEUR = 1e6
VIOLATION_COST = 1e6  # million EUR per unit of target violation (soft targets only)
SHORTFALL_WEIGHT = 0.0  # of lost value, to keep the second stage tidy; negligible


@dataclass
class Built:
    """A built program and where its pieces are."""

    lp: LinearProgram
    case: Case
    candidates: list[Candidate]
    targets: list[Target]
    target_groups: list[int]
    cost_per_unit: np.ndarray  # EUR per unit of each decision
    decision: np.ndarray  # column of each candidate's decision
    short: np.ndarray  # [R, T, G] columns
    stop: dict = field(default_factory=dict)  # target index -> z columns
    slack: dict = field(default_factory=dict)
    budget: float | None = None


def measure_effects(case: Case, candidates: list[Candidate]) -> list:
    """What each candidate does in the linear model of the case."""
    return [MEASURE_KINDS[c.type].effect(c, case) for c in candidates]


def draw_effects(effects: list, position: int) -> list:
    """The effects restricted to one draw (per-draw arrays sliced)."""
    out = []
    for effect in effects:
        if isinstance(effect, LinkEffect):
            effect = LinkEffect(effect.links, effect.extra[position : position + 1])
        out.append(effect)
    return out


def _padded(groups: list[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """Ragged lists as a padded index array and a 0/1 mask."""
    width = max([len(g) for g in groups] + [1])
    index = np.zeros((len(groups), width), dtype=int)
    mask = np.zeros((len(groups), width))
    for i, g in enumerate(groups):
        index[i, : len(g)] = g
        mask[i, : len(g)] = 1.0
    return index, mask


def build(
    case: Case,
    candidates: list[Candidate],
    targets: list[Target],
    *,
    budget: float | None = None,
    relax: bool = False,
    measure: Target | None = None,
    effects: list | None = None,
) -> Built:
    """The program for the case: minimise the cost of the measures subject to the targets.

    ``relax`` drops integrality (binaries of ``pstop`` and qualifications become [0, 1]).
    With ``measure`` (a target) the program is a second-stage subproblem instead: no targets,
    decisions fixed by their bounds (set before solving), and the objective is the target's
    risk measure (:func:`subproblem_objective`).
    """
    lp = LinearProgram()
    R, T = len(case.draws), len(case.period_start)
    P, S, L, G = len(case.producers), len(case.slots), len(case.links), len(case.groups)

    kinds = [MEASURE_KINDS[c.type] for c in candidates]
    if effects is None:
        effects = measure_effects(case, candidates)
    cost = np.array([k.cost_per_unit(c, case) for k, c in zip(kinds, candidates, strict=True)])
    decision = lp.var(
        "decision",
        (len(candidates),),
        upper=np.array([k.upper(c) for k, c in zip(kinds, candidates, strict=True)]),
        cost=cost / MEUR,
    )
    for i, kind in enumerate(kinds):
        if kind.integer and not relax:
            lp.integer[0][i] = True

    # producer position -> list of (effect number, ys columns position)
    substituted: dict[int, list[tuple[int, int]]] = {}
    ys_blocks = {}
    for n, effect in enumerate(effects):
        if isinstance(effect, RecipeEffect) and len(effect.producers):
            ys_blocks[n] = lp.var(f"ys{n}", (R, T, len(effect.producers)))
            for j, p in enumerate(effect.producers):
                substituted.setdefault(int(p), []).append((n, j))
    y_upper = case.prod_cap.copy()
    for p in substituted:
        y_upper[:, :, p] = np.inf
    y = lp.var("y", (R, T, P), upper=y_upper)
    linked = {int(i) for e in effects if isinstance(e, LinkEffect) for i in e.links}
    x_upper = case.link_bound.copy()
    for i in linked:
        x_upper[:, :, i] = np.inf
    x = lp.var("x", (R, T, L), upper=x_upper)
    inv = lp.var("inv", (R, T, S))
    demand_slots = np.flatnonzero(case.slot_demand >= 0)
    dlv = lp.var("dlv", (R, T, len(demand_slots)), upper=case.demand_bound[:, :, demand_slots])
    values = case.groups["value"].to_numpy(float)
    weight = np.where(np.isfinite(values), values, 1.0) * SHORTFALL_WEIGHT / MEUR / R
    short = lp.var("short", (R, T, G), cost=np.broadcast_to(weight, (R, T, G)))

    _slot_balance(lp, case, effects, decision, ys_blocks, y, x, inv, dlv, demand_slots)
    _links(lp, case, effects, decision, ys_blocks, substituted, y, x)
    _orders(lp, case, x, inv)
    _capacity(lp, case, effects, decision, ys_blocks, substituted, y)
    _groups(lp, case, ys_blocks, effects, y, dlv, demand_slots, short)
    built = Built(lp, case, candidates, targets, [], cost, decision, short, budget=budget)
    if measure is not None:
        subproblem_objective(built, measure)
        return built
    for number, target in enumerate(targets):
        _target(built, number, target, relax=relax, soft=budget is not None)
    if budget is not None:
        if not math.isfinite(budget) or budget < 0:
            raise ScenarioError("the budget must be a finite amount >= 0 (EUR)", field="budget")
        lp.constrain("budget", [(cost / MEUR, summed(decision))], upper=budget / MEUR)
    return built


def _slot_balance(lp, case, effects, decision, ys_blocks, y, x, inv, dlv, demand_slots):
    R, T, S = len(case.draws), len(case.period_start), len(case.slots)
    into, into_mask = _padded([np.flatnonzero(case.link_slot == s) for s in range(S)])
    owner = np.maximum(case.slot_owner, 0)
    use = case.slot_net_share[None, None, :] * case.slot_coef * (case.slot_owner >= 0)
    previous = np.concatenate([inv[:, :1, :], inv[:, :-1, :]], axis=1)
    first = np.zeros((1, T, 1))
    first[0, 0, 0] = 1.0
    terms = [
        (1.0, inv),
        (-(1.0 - first), previous),
        *_arrivals(case, x, into, into_mask),
        (use, y[:, :, owner]),
    ]
    if len(demand_slots):
        position = np.full(S, 0)
        position[demand_slots] = np.arange(len(demand_slots))
        terms.append(((case.slot_demand >= 0).astype(float), dlv[:, :, position]))
    rhs = case.slot_inflow.copy()
    rhs[:, 0, :] += case.slot_stock
    if case.link_pipeline is not None and len(case.links):
        pipeline = np.zeros((T, S))
        np.add.at(pipeline, (slice(None), case.link_slot), case.link_pipeline)  # type: ignore[arg-type]
        rhs += pipeline[None]
    for n, effect in enumerate(effects):
        coef = np.zeros((T, S))
        if isinstance(effect, StockEffect):
            terms.append(_reserve(lp, case, n, effect, decision[n], S))
            continue
        elif isinstance(effect, InflowEffect):
            np.add.at(coef, (slice(None), effect.slots), -effect.profile)  # type: ignore[arg-type]
        else:
            continue
        terms.append((coef[None], decision[n]))
    for n, columns in ys_blocks.items():
        effect = effects[n]
        for j, p in enumerate(effect.producers):
            own = np.flatnonzero(case.slot_owner == p)
            factor = np.where(own == effect.slots[j], effect.factor, 1.0)
            coef = np.zeros((R, T, S))
            coef[:, :, own] = use[:, :, own] * factor
            terms.append((coef, np.broadcast_to(columns[:, :, j : j + 1], (R, T, S))))
    lp.constrain("balance", terms, lower=rhs, upper=rhs)


def _arrivals(case, x, into, into_mask) -> list:
    """Terms of what reaches each slot in a period: what left its suppliers ``lag`` periods
    before (a fractional lag splits a shipment over two periods)."""
    R, T, L = x.shape
    lag = np.zeros(L) if case.link_lag is None else np.asarray(case.link_lag, float)
    whole = np.floor(lag + 1e-9).astype(int)
    part = lag - whole
    terms = []
    for shift in np.unique(np.concatenate([whole, whole[part > 1e-9] + 1])):
        weight = np.where(whole == shift, 1.0 - part, 0.0) + np.where(
            (whole + 1 == shift) & (part > 1e-9), part, 0.0
        )
        if shift >= T or not weight.any():
            continue
        periods = np.arange(T)
        source = x[:, np.maximum(periods - shift, 0), :]
        live = (periods >= shift).astype(float)
        coef = -(into_mask * weight[into])[None, None] * live[None, :, None, None]
        terms.append((coef, summed(source[:, :, into])))
    return terms


def _reserve(lp, case, n: int, effect: StockEffect, amount, S: int):
    """A stockpile held apart from the working stock, released into it as needed (the
    engine's reserve, which does not count towards the refill orders)."""
    R, T = len(case.draws), len(case.period_start)
    k = len(effect.slots)
    held = lp.var(f"reserve{n}", (R, T, k))
    released = lp.var(f"release{n}", (R, T, k))
    before = np.concatenate([held[:, :1, :], held[:, :-1, :]], axis=1)
    first = np.zeros((1, T, 1))
    first[0, 0, 0] = 1.0
    lp.constrain(
        f"reserve{n}",
        [
            (1.0, held),
            (-(1.0 - first), before),
            (1.0, released),
            (-first * effect.weights[None, None, :], np.broadcast_to(amount, (R, T, k))),
        ],
        lower=0.0,
        upper=0.0,
    )
    # one release column per slot of the effect (the slots of one effect are distinct)
    coef = np.zeros((1, 1, S, 1))
    index = np.zeros((R, T, S, 1), dtype=int)
    index[:, :, effect.slots, 0] = released
    coef[0, 0, effect.slots, 0] = -1.0
    return (coef, summed(index))


def _orders(lp, case, x, inv) -> None:
    """The engine's orders bound what a link can carry: its share of the customer's planned
    use plus the refill ``(target - stock) / tau``, times the open part of its gate; and an
    outside supplier short of output shares it pro rata to orders (concave: tangent cuts)."""
    if case.link_ordered is None or not case.link_ordered.any():
        return
    R, T, L = x.shape
    ordered = np.flatnonzero(case.link_ordered)
    slot = case.link_slot[ordered]
    days = case.period_days.astype(float)[None, :, None]
    open_share = case.link_gate_days[:, :, ordered] / days  # average open part of the gate
    share = case.model.link_share[case.links[ordered]][None, None, :]
    # the refill restored in a period: the gap decays at the slot's open order rate / tau
    rate = np.zeros((R, T, len(case.slots)))
    np.add.at(rate, (slice(None), slice(None), slot), share * open_share)  # type: ignore[arg-type]
    alpha = np.maximum(rate[:, :, slot], 1e-12)
    restored = (1.0 - np.power(np.maximum(1.0 - alpha / case.tau, 0.0), days)) / alpha
    refill = share * open_share * restored  # per unit of the gap (target - stock)
    # the gap counts the supply line too: goods under way short of ``lead`` days of the plan
    # (the engine's refill rule), the goods under way taken as last period's shipments
    # times their transit
    transit = case.period_days[0] * (np.zeros(L) if case.link_lag is None else case.link_lag)
    lead = np.bincount(
        case.link_slot[ordered],
        weights=case.model.link_share[case.links[ordered]] * transit[ordered],
        minlength=len(case.slots),
    )[slot]
    line = lead * case.slot_plan[:, :, slot] / days
    gap_top = case.slot_target[slot] + line
    base = share * open_share * case.slot_plan[:, :, slot] + refill * gap_top
    stock0 = np.zeros((R, T, len(ordered)))
    stock0[:, 0, :] = (
        case.slot_stock[slot]
        + np.bincount(
            case.link_slot,
            weights=case.model.link_flow[case.links] * transit,
            minlength=len(case.slots),
        )[slot]
    )
    before = np.concatenate([inv[:, :1, :], inv[:, :-1, :]], axis=1)[:, :, slot]
    first = np.zeros((1, T, 1))
    first[0, 0, 0] = 1.0
    terms = [(1.0, x[:, :, ordered]), (refill * (1.0 - first), before)]
    into, into_mask = _padded([np.flatnonzero(case.link_slot == s) for s in range(len(case.slots))])
    under_way = into_mask * transit[into] / days[0, 0, 0]  # [S, width]
    if under_way.any():
        shipped_before = np.concatenate([x[:, :1, :], x[:, :-1, :]], axis=1)
        coef = (refill * (1.0 - first))[..., None] * under_way[slot][None, None]
        terms.append((coef, summed(shipped_before[:, :, into[slot]])))
    lp.constrain("order", terms, upper=base - refill * stock0)
    position = {int(k): i for i, k in enumerate(ordered)}
    for number, pool in enumerate(case.pools):
        mine = np.array([position[int(k)] for k in pool.links if int(k) in position], int)
        if not len(mine):
            continue
        flow = case.model.link_flow[case.links[ordered[mine]]].sum()
        cap, others = pool.capacity, np.maximum(pool.others, 0.0)
        # E = sum over the pool's links of (base - refill * stock before), ignoring the
        # supply line's part (a little more room for the pool: it only bounds it)
        for m, multiple in enumerate((1.0, 2.0, 4.0, 8.0)):
            e0 = np.maximum(multiple * flow * days[:, :, 0], 1e-12)
            slope = cap * others / (e0 + others) ** 2  # [R, T]
            level = cap * e0**2 / (e0 + others) ** 2
            # sum x - slope * E <= level, E = sum base - sum refill * stock_before
            lp.constrain(
                f"pool{number}_{m}",
                [
                    (1.0, summed(x[:, :, ordered[mine]])),
                    (
                        slope[:, :, None] * refill[:, :, mine] * (1.0 - first),
                        summed(before[:, :, mine]),
                    ),
                ],
                upper=level
                + slope * (base[:, :, mine] - refill[:, :, mine] * stock0[:, :, mine]).sum(-1),
            )


def _links(lp, case, effects, decision, ys_blocks, substituted, y, x):
    regular = np.flatnonzero((case.link_from >= 0) & ~case.link_alternative)
    if len(regular):
        supplier = case.link_from[regular]
        terms = [(1.0, x[:, :, regular]), (-case.link_share[regular], y[:, :, supplier])]
        for position, link in enumerate(regular):
            for n, j in substituted.get(int(case.link_from[link]), []):
                coef = np.zeros(len(regular))
                coef[position] = -case.link_share[link]
                columns = np.broadcast_to(ys_blocks[n][:, :, j : j + 1], x[:, :, regular].shape)
                terms.append((coef, columns))
        lp.constrain("regular_link", terms, upper=0.0)
    # a modelled supplier ships at most what it makes (each link's share is the most its
    # orders can win, so the shares may add up to more than one)
    suppliers = np.unique(case.link_from[case.link_from >= 0])
    for p in suppliers:
        out = np.flatnonzero(case.link_from == p)
        terms = [(1.0, summed(x[:, :, out])), (-1.0, y[:, :, p])]
        for n, j in substituted.get(int(p), []):
            terms.append((-1.0, ys_blocks[n][:, :, j]))
        lp.constrain(f"supplier_{p}", terms, upper=0.0)
    for n, effect in enumerate(effects):
        if isinstance(effect, LinkEffect) and len(effect.links):
            lp.constrain(
                f"qualified{n}",
                [(1.0, x[:, :, effect.links]), (-effect.extra, decision[n])],
                upper=case.link_bound[:, :, effect.links],
            )


def _capacity(lp, case, effects, decision, ys_blocks, substituted, y):
    for n, columns in ys_blocks.items():
        effect = effects[n]
        base = case.prod_base[effect.producers][None, None, :] * effect.active[None, :, None]
        lp.constrain(f"switched{n}", [(1.0, columns), (-base, decision[n])], upper=0.0)
    for p, uses in substituted.items():
        cap = case.prod_cap[:, :, p]
        terms = [(1.0, y[:, :, p])]
        for n, j in uses:
            terms.append((1.0, ys_blocks[n][:, :, j]))
            if effects[n].penalty > 0:
                terms.append((effects[n].penalty * cap, decision[n]))
        lp.constrain(f"capacity_{p}", terms, upper=cap)


def _groups(lp, case, ys_blocks, effects, y, dlv, demand_slots, short):
    G = len(case.groups)
    made, made_mask = _padded(case.group_producers)
    terms = [(1.0, short), (made_mask[None, None], summed(y[:, :, made]))]
    for n, columns in ys_blocks.items():
        producers = effects[n].producers
        for g in range(G):
            inside = np.flatnonzero(np.isin(producers, case.group_producers[g]))
            if len(inside):
                coef = np.zeros((G, 1))
                coef[g] = 1.0
                terms.append(
                    (
                        coef,
                        summed(
                            np.broadcast_to(
                                columns[:, :, None, inside], (*columns.shape[:2], G, len(inside))
                            )
                        ),
                    )
                )
    if len(demand_slots):
        position = {int(s): i for i, s in enumerate(demand_slots)}
        delivered = [np.array([position[int(s)] for s in d], int) for d in case.group_demands]
        index, mask = _padded(delivered)
        terms.append((mask[None, None], summed(dlv[:, :, index])))
    lp.constrain("output", terms, lower=case.group_ref[None, :, :])


def _target(built: Built, number: int, target: Target, *, relax: bool, soft: bool) -> None:
    lp, case = built.lp, built.case
    R = len(case.draws)
    groups = _groups_of(case, target)
    built.target_groups.append(groups[0] if target.group else -1)
    slack = lp.var(f"slack{number}", (), cost=VIOLATION_COST) if soft else None
    if slack is not None:
        built.slack[number] = slack
    relief = [] if slack is None else [(-1.0, slack)]
    ref = case.group_ref
    if target.kind == "pstop":
        g = groups[0]
        z = lp.var(f"stop{number}", (R,), upper=1.0, integer=not relax)
        built.stop[number] = z
        tolerance = case.stop_tolerance
        lp.constrain(
            f"stop{number}",
            [(1.0, built.short[:, :, g]), (-(1.0 - tolerance) * ref[None, :, g], z[:, None])],
            upper=tolerance * ref[None, :, g],
        )
        allowed = math.floor(target.bound * R + 1e-9)
        lp.constrain(f"pstop{number}", [(1.0, summed(z)), *relief], upper=float(allowed))
    elif target.kind == "elv":
        values = case.groups["value"].to_numpy(float)[groups]
        if target.group is not None and not np.isfinite(values[0]):
            raise ScenarioError(
                f"'{target.group}' has no value: use cvar95 or pstop", field="target"
            )
        values = np.where(np.isfinite(values), values, 0.0)
        coef = np.zeros(len(case.groups))
        coef[groups] = values / R / MEUR
        lp.constrain(
            f"elv{number}",
            _elv_terms(built, coef) + relief,
            upper=target.bound / MEUR,
        )
    elif target.kind == "cvar95":
        g = groups[0]
        eta = lp.var(f"eta{number}", (), lower=-np.inf)
        excess = lp.var(f"excess{number}", (R,))
        lp.constrain(
            f"tail{number}",
            [(1.0, summed(built.short[:, :, g])), (-1.0, eta), (-1.0, excess)],
            upper=0.0,
        )
        alpha = 0.05
        lp.constrain(
            f"cvar{number}",
            [(1.0, eta), (1.0 / (alpha * R), summed(excess)), *relief],
            upper=target.bound,
        )


def _groups_of(case: Case, target: Target) -> list[int]:
    """Positions of the product groups ``target`` bounds (all of them when it names none)."""
    if target.product is None:
        return list(range(len(case.groups)))
    region = cast(str, target.region)  # parse_target gives a product with its region
    return [case.group_index(target.product, region)]


def subproblem_objective(built: Built, target: Target) -> None:
    """Second-stage objective of one target: value lost (M EUR, ``elv``), output lost
    (``cvar95``) or shortfall beyond the stop tolerance, relative to the reference (``pstop``)."""
    lp, case = built.lp, built.case
    cost = np.concatenate(lp.cost)
    groups = _groups_of(case, target)
    short = built.short
    if target.kind == "elv":
        values = np.nan_to_num(case.groups["value"].to_numpy(float), nan=0.0)
        for g in groups:
            cost[short[:, :, g]] += values[g] / MEUR
    elif target.kind == "cvar95":
        cost[short[:, :, groups[0]]] += 1.0
    else:
        g = groups[0]
        ref = case.group_ref[:, g]
        # the excess as a share of each period's reference, its mean over the periods: costs
        # of order one (a cost per car of 1 / annual output sits below HiGHS's dual
        # feasibility tolerance, and the answer then depends on presolve)
        T = len(ref)
        excess = lp.var("excess", short.shape[:2], cost=1.0 / T)
        cost = np.concatenate([cost, np.concatenate(lp.cost[len(lp.cost) - 1 :])])
        lp.constrain(
            "excess",
            [(1.0, short[:, :, g]), (-np.maximum(ref, 1e-12)[None, :], excess)],
            upper=case.stop_tolerance * ref[None, :],
        )
        # the whole shortfall as a share of the reference, free here: its cost is raised
        # only to read back the least shortfall of an answer (decompose.POLISH)
        lp.var("within", short.shape[:2])
        cost = np.concatenate([cost, np.zeros(short.shape[0] * short.shape[1])])
        lp.constrain(
            "within",
            [(1.0, short[:, :, g]), (-np.maximum(ref, 1e-12)[None, :], lp.names["within"])],
            upper=0.0,
        )
    cost[built.decision] = 0.0
    lp.cost = [cost[: lp.n_cols]]
    built.target_groups.append(groups[0] if target.group else -1)


def _elv_terms(built: Built, coef: np.ndarray) -> list:
    """Σ over draws, periods and groups of ``coef[g] × short``: one row."""
    flat = built.short.reshape(-1, built.short.shape[-1])
    weights = np.broadcast_to(coef, flat.shape).ravel()
    return [(weights, summed(flat.ravel()))]
