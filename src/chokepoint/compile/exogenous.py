"""Compile: a scenario's events become exogenous inputs per day and draw.

All randomness lives here. Every random number is keyed by (seed, event, parameter name,
draw, index) through the counter-based generator of :mod:`chokepoint.compile.rng`, so a
draw's numbers do not depend on how the draws are chunked, threaded or distributed. Inputs
are compact: dense ``[day, row, draw]`` arrays only for the rows (producers, links, slots)
an event touches. What each event type does is written in its own class (its ``compile``
and ``cost`` methods); this module only runs them over a scenario's events.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from chokepoint.compile.context import CompileContext
from chokepoint.compile.model import Model
from chokepoint.compile.patterns import Rows
from chokepoint.network.container import SupplyNetwork
from chokepoint.scenario import Scenario


@dataclass
class Exogenous:
    """Everything outside the engine's control, for one chunk of draws."""

    horizon: int
    draws: np.ndarray
    capacity: Rows
    gate: Rows
    quota: Rows
    demand: Rows
    coef: Rows
    scrap: Rows
    reserve: Rows
    reserve_immediate: np.ndarray
    link_ready: np.ndarray
    air: Rows = field(default_factory=lambda: Rows.empty(0))
    """Share of each listed link's shipments that flies, ``[day, pattern, draw]``."""
    air_days: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))
    """``[link]``: transit days by air."""
    licences: pd.DataFrame = field(default_factory=pd.DataFrame)

    @classmethod
    def empty(cls, model: Model, horizon: int) -> Exogenous:
        """No events: every gate open, every capacity whole, alternatives on standby, and
        the scenario's new plants without capacity."""
        empty = Rows.empty(horizon)
        virtual = np.flatnonzero(model.virtual).astype(np.int64)
        capacity = empty
        if len(virtual):
            capacity = Rows(virtual, np.zeros(len(virtual), np.int64), np.zeros((horizon, 1, 1)))
        return cls(
            horizon=horizon,
            draws=np.zeros(1, dtype=np.int64),
            capacity=capacity,
            gate=empty,
            quota=empty,
            demand=empty,
            coef=empty,
            scrap=empty,
            reserve=empty,
            reserve_immediate=np.zeros(0, bool),
            link_ready=np.full((model.n_links, 1), np.inf),
            air=empty,
            air_days=np.zeros(model.n_links, np.int64),
        )


def compile_exogenous(
    net: SupplyNetwork | None, model: Model, scenario: Scenario, draws: np.ndarray
) -> Exogenous:
    """Exogenous inputs of the draws ``draws`` (absolute draw indices)."""
    ctx = CompileContext(net, model, scenario, draws)
    for position, event in enumerate(scenario.events):
        event.compile(ctx, position)
    return Exogenous(
        horizon=ctx.horizon,
        draws=ctx.draws,
        capacity=ctx.capacity.result(),
        gate=ctx.gate.result(),
        quota=ctx.quota.result(),
        demand=ctx.demand.result(),
        coef=ctx.coef.result(),
        scrap=ctx.scrap.result(),
        reserve=Rows.concat(ctx.reserve.result(), ctx.released.result()),
        reserve_immediate=np.concatenate(
            [np.zeros(len(ctx.reserve.rows), bool), np.ones(len(ctx.released.rows), bool)]
        ),
        link_ready=ctx.ready,
        air=ctx.air.result(),
        air_days=ctx.air_days,
        licences=pd.concat(ctx.licences, ignore_index=True) if ctx.licences else pd.DataFrame(),
    )


def measure_costs(model: Model, scenario: Scenario, draws: np.ndarray) -> pd.DataFrame:
    """What each measure costs per draw (EUR), from its cost parameters (each measure's
    ``cost`` method says how). Columns: event, draw, cost."""
    ctx = CompileContext(None, model, scenario, draws)
    frames = []
    for position, event in enumerate(scenario.events):
        cost = event.cost(ctx, position)
        if cost is not None:
            frames.append(pd.DataFrame({"event": position, "draw": ctx.draws, "cost": cost}))
    if not frames:
        return pd.DataFrame(columns=["event", "draw", "cost"])
    return pd.concat(frames, ignore_index=True)


def reference_exogenous(net: SupplyNetwork, model: Model, scenario: Scenario) -> Exogenous:
    """What output is measured against: no shocks and no measures, except the events that
    say they belong in the reference (changes of final demand, at their medians) — a
    demand cut is not a supply loss."""
    empty = Exogenous.empty(model, scenario.horizon_days)
    kept = [copy for e in scenario.events if (copy := e.reference_copy()) is not None]
    if not kept:
        return empty
    reference = scenario.model_copy(update={"events": kept})
    compiled = compile_exogenous(net, model, reference, np.zeros(1, dtype=np.int64))
    empty.demand = compiled.demand
    return empty
