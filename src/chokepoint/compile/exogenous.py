"""Compile: a scenario's events become exogenous inputs per day and draw.

All randomness lives here. Every random number is keyed by (seed, event, parameter, draw,
index) through the counter-based generator of :mod:`chokepoint.compile.rng`, so a draw's numbers do
not depend on how the draws are chunked, threaded or distributed. Inputs are compact: dense
``[day, row, draw]`` arrays only for the rows (producers, links, slots) an event touches.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from chokepoint.analysis.metrics import region_codes
from chokepoint.compile.licensing import licence_gates
from chokepoint.compile.model import Model
from chokepoint.compile.rng import sample_draws
from chokepoint.errors import ScenarioError
from chokepoint.network.container import SupplyNetwork
from chokepoint.network.structure import total_requirements
from chokepoint.scenario import (
    DemandCut,
    DemandShift,
    Event,
    ExportBan,
    ExportLicensing,
    ExportQuota,
    FlowSelector,
    NewCapacity,
    Outage,
    Recycling,
    Scenario,
    Stockpile,
    Substitution,
    SupplierSwitch,
)
from chokepoint.scenario.distributions import Number
from chokepoint.scenario.distributions import code as distribution_code


@dataclass
class Rows:
    """Daily inputs for a few rows, stored once per distinct pattern.

    Row ``rows[i]`` takes ``values[day, pattern[i], draw]``; the last axis has one column
    when the patterns do not vary by draw. A ban on ten thousand links is one pattern.
    """

    rows: np.ndarray
    pattern: np.ndarray
    values: np.ndarray

    @classmethod
    def empty(cls, horizon: int) -> Rows:
        return cls(np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros((horizon, 0, 1)))

    @classmethod
    def concat(cls, first: Rows, second: Rows) -> Rows:
        """Both sets of rows (a row may appear in each), patterns renumbered."""
        width = max(first.values.shape[2], second.values.shape[2])
        horizon = first.values.shape[0]
        values = np.concatenate(
            [
                np.broadcast_to(part.values, (horizon, part.values.shape[1], width))
                for part in (first, second)
            ],
            axis=1,
        )
        return cls(
            np.concatenate([first.rows, second.rows]).astype(np.int64),
            np.concatenate([first.pattern, second.pattern + first.values.shape[1]]).astype(
                np.int64
            ),
            np.ascontiguousarray(values),
        )

    def row_values(self, row: int) -> np.ndarray:
        """``[day, draw]`` values of one row (for tests and diagnostics)."""
        position = int(np.flatnonzero(self.rows == row)[0])
        return self.values[:, self.pattern[position], :]


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
    licences: pd.DataFrame = field(default_factory=pd.DataFrame)


class _Accumulator:
    """Collects ``[day, draw]`` (or draw-independent ``[day, 1]``) arrays per row.

    Rows keep references to shared pattern arrays; combining (multiply, add, min, max) is
    done once per distinct list of patterns, so many rows hit by the same event cost one
    array, not one each.
    """

    def __init__(self, horizon: int, draws: int, neutral: float, combine: str) -> None:
        self.horizon, self.draws, self.neutral, self.combine = horizon, draws, neutral, combine
        self.patterns: list[np.ndarray] = []
        self.known: dict[int, int] = {}
        self.rows: dict[int, list[int]] = {}

    def pattern(self, values: np.ndarray) -> int:
        """Register an array (once per object) and return its pattern number."""
        key = id(values)
        if key not in self.known:
            values = np.asarray(values, dtype=float)
            if values.ndim == 1:
                values = values[:, None]
            self.known[key] = len(self.patterns)
            self.patterns.append(values)
        return self.known[key]

    def apply(self, row: int, values: np.ndarray | int) -> None:
        number = values if isinstance(values, int) else self.pattern(values)
        self.rows.setdefault(int(row), []).append(number)

    def _combine(self, numbers: tuple[int, ...]) -> np.ndarray:
        result = self.patterns[numbers[0]]
        for number in numbers[1:]:
            other = self.patterns[number]
            if self.combine == "multiply":
                result = result * other
            elif self.combine == "add":
                result = result + other
            elif self.combine == "min":
                result = np.minimum(result, other)
            else:
                result = np.maximum(result, other)
        return result

    def result(self) -> Rows:
        if not self.rows:
            return Rows.empty(self.horizon)
        keys = np.array(sorted(self.rows), dtype=np.int64)
        combined: dict[tuple[int, ...], int] = {}
        arrays: list[np.ndarray] = []
        pattern = np.empty(len(keys), dtype=np.int64)
        for position, row in enumerate(keys):
            numbers = tuple(self.rows[int(row)])
            if numbers not in combined:
                combined[numbers] = len(arrays)
                arrays.append(self._combine(numbers))
            pattern[position] = combined[numbers]
        width = max(a.shape[1] for a in arrays)
        values = np.empty((self.horizon, len(arrays), width))
        for number, array in enumerate(arrays):
            values[:, number, :] = array  # broadcasts draw-independent patterns
        return Rows(keys, pattern, values)


def _window(scenario: Scenario, event: Event, horizon: int) -> tuple[int, int]:
    start = scenario.day(event.start)
    end = scenario.day(event.end, default=horizon)
    return start, end


def _mask(horizon: int, start: int, end: int) -> np.ndarray:
    days = np.arange(horizon)
    return (days >= start) & (days < end)


def _ramp(horizon: int, start: float, ramp_days: np.ndarray) -> np.ndarray:
    """``[day, draw]``: 0 before start, rising linearly to 1 over ``ramp_days``."""
    days = np.arange(horizon)[:, None] - start
    with np.errstate(divide="ignore", invalid="ignore"):
        ramp = np.where(ramp_days > 0, (days + 1) / np.maximum(ramp_days, 1e-12), 1.0)
    return np.clip(np.where(days >= 0, ramp, 0.0), 0.0, 1.0)


PART: dict[str, int] = {
    name: number
    for number, name in enumerate(
        (
            "fraction",
            "capacity_loss",
            "recovery_days",
            "factor",
            "cut",
            "quantity",
            "days_of_cover",
            "capacity",
            "ramp_days",
            "share",
            "lead_days",
            "qualification_days",
            "approval_probability",
            "validity_days",
            "renewal_lead_days",
            "performance_penalty",
            "cost_penalty",
            "cost_per_unit_year",
            "capex",
        ),
        start=1,
    )
}
"""Random-stream number of each per-draw parameter within its event (the key's ``part``)."""


def exemption_part(number: int) -> int:
    """Random-stream number of the share of an event's ``number``-th exemption."""
    return 100 + number


def per_draw(value: Number, seed: int, draws: np.ndarray, event: int, part: int) -> np.ndarray:
    """One value per draw, keyed by (seed, event, parameter, draw): chunking-independent."""
    code, params = distribution_code(value)
    return sample_draws(code, params, seed, event, part, np.asarray(draws, dtype=np.int64))


# --------------------------------------------------------------------------- selection


def crosses_border(supplier_country: np.ndarray, customer_location: np.ndarray) -> np.ndarray:
    """Whether each flow leaves its supplier's country: a flow between a member state and
    the ``EU27`` aggregate (member state unknown) counts as domestic, like any flow within
    one country."""
    inside = np.array(
        [
            a == b or a in region_codes(b) or b in region_codes(a)
            for a, b in zip(supplier_country, customer_location, strict=True)
        ],
        dtype=bool,
    )
    return ~inside


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
        mask &= np.isin(model.producer_ids[model.link_supplier].astype(str), event.producer)
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
    candidates = set(model.producer_ids[model.link_supplier[exported]].astype(str))
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
        pd.Series(model.producer_commodity, index=model.producer_ids)
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
    mask = exported & np.isin(model.producer_ids[model.link_supplier].astype(str), list(caught))
    return np.flatnonzero(mask)


def median_value(value: Number) -> float:
    from chokepoint.scenario.distributions import median

    return median(value)


# ---------------------------------------------------------------------------- licensing


# ------------------------------------------------------------------------------ compile


def compile_exogenous(
    net: SupplyNetwork, model: Model, scenario: Scenario, draws: np.ndarray
) -> Exogenous:
    """Exogenous inputs of the draws ``draws`` (absolute draw indices)."""
    horizon = scenario.horizon_days
    n = len(draws)
    seed = scenario.seed
    capacity = _Accumulator(horizon, n, 1.0, "multiply")
    gate = _Accumulator(horizon, n, 1.0, "multiply")
    quota = _Accumulator(horizon, n, np.inf, "min")
    demand = _Accumulator(horizon, n, 1.0, "multiply")
    coef = _Accumulator(horizon, n, 1.0, "multiply")
    scrap = _Accumulator(horizon, n, 0.0, "max")
    reserve = _Accumulator(horizon, n, 0.0, "add")  # released on shortage
    released = _Accumulator(horizon, n, 0.0, "add")  # put into stock at once
    ready = np.repeat(model.link_ready[:, None], n, axis=1)
    # data alternatives: triggered by the first shortage (ready = inf until then)
    licence_rows: list[pd.DataFrame] = []

    for position, event in enumerate(scenario.events):
        start, end = _window(scenario, event, horizon)
        where = f"events[{position}]"
        if isinstance(event, ExportBan | ExportQuota | ExportLicensing):
            links = select_links(model, event)
            if isinstance(event, ExportLicensing) and event.value_content is not None:
                links = np.union1d(links, value_content_links(net, model, event))
            if len(links) == 0:
                raise ScenarioError("the event matches no link in the network", field=where)
            active = _mask(horizon, start, end)[:, None]
            if isinstance(event, ExportBan):
                closed = np.where(active, 0.0, 1.0)
                shared: dict[tuple[int, ...], tuple[np.ndarray, np.ndarray]] = {}
                for link in links:
                    applies = _exemptions_for(event.exemptions, model, int(link))
                    if applies not in shared:
                        opened = _exempt(
                            closed,
                            event.exemptions,
                            applies,
                            scenario,
                            seed,
                            draws,
                            position,
                            horizon,
                        )
                        shared[applies] = (opened, _volume_cap(opened, active, 0.0))
                    opened, cap = shared[applies]
                    gate.apply(link, opened)
                    quota.apply(link, cap)
            elif isinstance(event, ExportQuota):
                fraction = per_draw(event.fraction, seed, draws, position, PART["fraction"])
                cap = np.where(active, _columns(fraction)[None, :], np.inf)
                for link in links:
                    quota.apply(link, cap)
            else:
                _licensing(
                    event,
                    links,
                    model,
                    scenario,
                    seed,
                    draws,
                    position,
                    start,
                    end,
                    horizon,
                    active,
                    gate,
                    quota,
                    licence_rows,
                )
        elif isinstance(event, Outage):
            rows = _producers(model, event.producer, where)
            loss = per_draw(event.capacity_loss, seed, draws, position, PART["capacity_loss"])
            recovery = per_draw(event.recovery_days, seed, draws, position, PART["recovery_days"])
            days = np.arange(horizon)[:, None]
            after = np.clip((days - end + 1) / np.maximum(recovery, 1e-12), 0.0, 1.0)
            lost = np.where(days < start, 0.0, np.where(days < end, 1.0, 1.0 - after))
            multiplier = _narrow(1.0 - _columns(loss)[None, :] * lost)
            for row in rows:
                capacity.apply(row, multiplier)
        elif isinstance(event, DemandShift | DemandCut):
            slots = np.concatenate(
                [_demand_slots(model, c, event.regions) for c in event.commodity]
            )
            if len(slots) == 0:
                raise ScenarioError("the event matches no demand in the network", field=where)
            name = "factor" if isinstance(event, DemandShift) else "cut"
            value = event.factor if isinstance(event, DemandShift) else event.cut
            draw_value = per_draw(value, seed, draws, position, PART[name])
            factor = draw_value if isinstance(event, DemandShift) else 1.0 - draw_value
            multiplier = np.where(
                _mask(horizon, start, end)[:, None], _columns(factor)[None, :], 1.0
            )
            for slot in slots:
                demand.apply(slot, multiplier)
        elif isinstance(event, Stockpile):
            slots = _stockpile_slots(model, event, where)
            use = model.slot_use[slots]
            weights = use / use.sum() if use.sum() > 0 else np.full(len(slots), 1 / len(slots))
            if event.quantity is not None:
                amounts = (
                    per_draw(event.quantity, seed, draws, position, PART["quantity"])[None, :]
                    * weights[:, None]
                )
            else:
                days_cover = per_draw(
                    event.days_of_cover, seed, draws, position, PART["days_of_cover"]
                )
                amounts = use[:, None] * days_cover[None, :]
            for slot, amount in zip(slots, amounts, strict=True):
                injection = np.zeros((horizon, n))
                if start < horizon:  # placed before the scenario starts: there on day 0
                    injection[max(start, 0)] = amount
                target = released if event.release == "immediately" else reserve
                target.apply(slot, _narrow(injection))
        elif isinstance(event, NewCapacity):
            row = int(np.flatnonzero(model.producer_ids == _new_capacity_id(position, event))[0])
            size = per_draw(event.capacity, seed, draws, position, PART["capacity"]) / 365.0
            ramp = _ramp(
                horizon, start, per_draw(event.ramp_days, seed, draws, position, PART["ramp_days"])
            )
            # the virtual producer's base capacity is 0; the multiplier carries the capacity
            capacity.apply(
                row, _narrow(np.where(np.arange(horizon)[:, None] < end, ramp, 0.0) * size[None, :])
            )
        elif isinstance(event, Recycling):
            slots = model.slots_of(event.commodity, event.regions)
            if len(slots) == 0:
                raise ScenarioError("no holder of the commodity in the regions", field=where)
            share = per_draw(event.share, seed, draws, position, PART["share"])
            ramp = _ramp(
                horizon, start, per_draw(event.ramp_days, seed, draws, position, PART["ramp_days"])
            )
            values = _narrow(
                np.where(np.arange(horizon)[:, None] < end, ramp, 0.0) * share[None, :]
            )
            for slot in slots:
                scrap.apply(slot, values)
        elif isinstance(event, Substitution):
            producers = np.flatnonzero(model.producer_commodity == event.output)
            codes = set().union(*(region_codes(r) for r in event.regions))
            producers = [p for p in producers if model.producer_country[p] in codes]
            slots = np.flatnonzero(
                np.isin(model.slot_producer, producers) & (model.slot_commodity == event.input)
            )
            if len(slots) == 0:
                raise ScenarioError(
                    f"no producer of '{event.output}' in {', '.join(event.regions)} uses "
                    f"'{event.input}'",
                    field=where,
                )
            share = per_draw(event.share, seed, draws, position, PART["share"])
            factor = per_draw(event.factor, seed, draws, position, PART["factor"])
            lead = per_draw(event.lead_days, seed, draws, position, PART["lead_days"])
            days = np.arange(horizon)[:, None]
            switched = (days >= start + np.rint(lead)[None, :]) & (days < end)
            multiplier = _narrow(np.where(switched, 1.0 - share * (1.0 - factor), 1.0))
            for slot in slots:
                coef.apply(slot, multiplier)
            penalty = per_draw(
                event.performance_penalty, seed, draws, position, PART["performance_penalty"]
            )
            if np.any(penalty > 0):
                slower = _narrow(np.where(switched, 1.0 - share * penalty, 1.0))
                for producer in producers:
                    capacity.apply(producer, slower)
        elif isinstance(event, SupplierSwitch):
            qualification = per_draw(
                event.qualification_days, seed, draws, position, PART["qualification_days"]
            )
            rows = np.flatnonzero(model.link_event == position)
            ready[rows] = start + np.rint(qualification)[None, :]

    return Exogenous(
        horizon=horizon,
        draws=np.asarray(draws),
        capacity=capacity.result(),
        gate=gate.result(),
        quota=quota.result(),
        demand=demand.result(),
        coef=coef.result(),
        scrap=scrap.result(),
        reserve=Rows.concat(reserve.result(), released.result()),
        reserve_immediate=np.concatenate(
            [np.zeros(len(reserve.rows), bool), np.ones(len(released.rows), bool)]
        ),
        link_ready=ready,
        licences=pd.concat(licence_rows, ignore_index=True) if licence_rows else pd.DataFrame(),
    )


def measure_costs(model: Model, scenario: Scenario, draws: np.ndarray) -> pd.DataFrame:
    """What each measure costs per draw (EUR), from its cost parameters.

    A stockpile: holding cost of the whole reserve over its window (``cost_per_unit_year``);
    new capacity: its ``capex``; a substitution: ``cost_penalty`` per unit of the switched
    baseline output over the days it is switched. Columns: event, draw, cost.
    """
    horizon, seed = scenario.horizon_days, scenario.seed
    draws = np.asarray(draws, dtype=np.int64)
    frames = []
    for position, event in enumerate(scenario.events):
        start, end = _window(scenario, event, horizon)
        days = max(min(end, horizon) - max(start, 0), 0)
        if isinstance(event, Stockpile):
            slots = _stockpile_slots(model, event, f"events[{position}]")
            use = float(model.slot_use[slots].sum())
            if event.quantity is not None:
                amount = per_draw(event.quantity, seed, draws, position, PART["quantity"])
            else:
                amount = use * per_draw(
                    event.days_of_cover, seed, draws, position, PART["days_of_cover"]
                )
            rate = per_draw(
                event.cost_per_unit_year, seed, draws, position, PART["cost_per_unit_year"]
            )
            cost = amount * rate * days / 365.0
        elif isinstance(event, NewCapacity):
            cost = per_draw(event.capex, seed, draws, position, PART["capex"])
        elif isinstance(event, Substitution):
            codes = set().union(*(region_codes(r) for r in event.regions))
            made = model.output[
                (model.producer_commodity == event.output)
                & np.isin(model.producer_country.astype(str), list(codes))
            ]
            share = per_draw(event.share, seed, draws, position, PART["share"])
            lead = per_draw(event.lead_days, seed, draws, position, PART["lead_days"])
            penalty = per_draw(event.cost_penalty, seed, draws, position, PART["cost_penalty"])
            switched = np.clip(min(end, horizon) - np.maximum(start + np.rint(lead), 0), 0, None)
            cost = penalty * share * float(made.sum()) * switched
        else:
            continue
        frames.append(pd.DataFrame({"event": position, "draw": draws, "cost": cost}))
    if not frames:
        return pd.DataFrame(columns=["event", "draw", "cost"])
    return pd.concat(frames, ignore_index=True)


def _volume_cap(share: np.ndarray, active: np.ndarray, headroom: float) -> np.ndarray:
    """Within the window, the open share of contracts ships at most its baseline volume
    (a fraction of the link's baseline flow; the engine multiplies by the flow)."""
    return np.where(active, share * (1.0 + headroom), np.inf)


def _columns(values: np.ndarray) -> np.ndarray:
    """Per-draw values, or a single value when every draw has the same."""
    values = np.asarray(values, dtype=float)
    return values[:1] if len(values) and np.all(values == values[0]) else values


def _narrow(values: np.ndarray) -> np.ndarray:
    """A ``[day, draw]`` array as ``[day, 1]`` when it does not vary by draw."""
    if values.ndim == 2 and values.shape[1] > 1 and np.all(values == values[:, :1]):
        return values[:, :1]
    return values


def _new_capacity_id(position: int, event: NewCapacity) -> str:
    return f"new_capacity[{position}]:{event.commodity}@{event.country}"


def _producers(model: Model, ids: list[str], where: str) -> np.ndarray:
    index = pd.Index(model.producer_ids)
    rows = index.get_indexer(ids)
    if (rows < 0).any():
        missing = ids[int(np.flatnonzero(rows < 0)[0])]
        raise ScenarioError(f"unknown producer '{missing}'", field=f"{where}.producer")
    return rows


def _demand_slots(model: Model, commodity: str, regions: list[str] | None) -> np.ndarray:
    mask = (model.slot_demand >= 0) & (model.slot_commodity == commodity)
    if regions:
        codes = set().union(*(region_codes(r) for r in regions))
        mask &= np.isin(model.slot_location.astype(str), list(codes))
    return np.flatnonzero(mask)


def _stockpile_slots(model: Model, event: Stockpile, where: str) -> np.ndarray:
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


def _exemptions_for(exemptions, model: Model, link: int) -> tuple[int, ...]:
    """Numbers of the exemptions that apply to a link's customer."""
    holder = str(model.slot_holder[model.link_slot[link]])
    return tuple(
        number
        for number, exemption in enumerate(exemptions)
        if not exemption.customers or holder in exemption.customers
    )


def _exempt(
    closed: np.ndarray,
    exemptions,
    applies: tuple[int, ...],
    scenario: Scenario,
    seed: int,
    draws: np.ndarray,
    position: int,
    horizon: int,
) -> np.ndarray:
    """Open the exempt share of a restricted flow from each applicable exemption's start."""
    result = closed
    for number in applies:
        exemption = exemptions[number]
        share = _columns(per_draw(exemption.share, seed, draws, position, exemption_part(number)))
        begin = scenario.day(exemption.start)
        floor = np.where((np.arange(horizon) >= begin)[:, None], share[None, :], 0.0)
        result = np.maximum(result, floor)
    return result


def _licensing(
    event: ExportLicensing,
    links: np.ndarray,
    model: Model,
    scenario: Scenario,
    seed: int,
    draws: np.ndarray,
    position: int,
    start: int,
    end: int,
    horizon: int,
    active: np.ndarray,
    gate: _Accumulator,
    quota: _Accumulator,
    report: list[pd.DataFrame],
) -> None:
    draws = np.asarray(draws, dtype=np.int64)
    approval = per_draw(
        event.approval_probability, seed, draws, position, PART["approval_probability"]
    )
    validity = np.maximum(
        per_draw(event.validity, seed, draws, position, PART["validity_days"]), 1.0
    )
    lead = per_draw(event.renewal_lead_days, seed, draws, position, PART["renewal_lead_days"])
    delay_code, delay_params = distribution_code(event.processing_days)
    wait_code, wait_params = distribution_code(event.reapply_days)
    gates = np.empty((horizon, len(links), len(draws)))
    gated = np.empty((len(links), len(draws)))
    delays = np.empty((len(links), len(draws)))
    flows = np.asarray(links, dtype=np.int64)

    def block(bounds: tuple[int, int]) -> None:
        lo, hi = bounds
        licence_gates(
            seed,
            position,
            flows,
            draws[lo:hi],
            event.contracts,
            start,
            end,
            horizon,
            approval[lo:hi],
            validity[lo:hi],
            lead[lo:hi],
            delay_code,
            delay_params,
            wait_code,
            wait_params,
            gates[:, :, lo:hi],
            gated[:, lo:hi],
            delays[:, lo:hi],
        )

    half = len(draws) // 2
    if half:
        with ThreadPoolExecutor(max_workers=2) as pool:  # the kernel releases the GIL
            list(pool.map(block, [(0, half), (half, len(draws))]))
    else:
        block((0, len(draws)))
    for column, link in enumerate(links):
        share = gates[:, column, :]
        applies = _exemptions_for(event.exemptions, model, int(link))
        if applies:
            opened = _exempt(
                np.zeros((horizon, 1)),
                event.exemptions,
                applies,
                scenario,
                seed,
                draws,
                position,
                horizon,
            )
            share = np.maximum(share, opened)
        gate.apply(link, share)
        quota.apply(link, _volume_cap(share, active, event.volume_headroom))
        report.append(
            pd.DataFrame(
                {
                    "event": position,
                    "order": int(link),
                    "link": model.link_ids[link],
                    "contracts": event.contracts,
                    "window_days": max(min(end, horizon) - max(start, 0), 0),
                    "draw": draws,
                    "gated_days": gated[column],
                    "mean_delay": delays[column],
                }
            )
        )
