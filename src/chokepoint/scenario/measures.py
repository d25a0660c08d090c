"""Measures: stockpiles, new capacity, recycling, substitution, supplier switches, demand cuts.

Each class says what it does to the model (``extend_model``), to the compiled inputs
(``compile``) and what it costs (``cost``), through the compile stage's context objects.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar, Literal

import numpy as np
from pydantic import model_validator

from chokepoint.compile.transit import AIR_COST_MULTIPLE, AIR_DAYS
from chokepoint.errors import ScenarioError
from chokepoint.network.countries import region_codes
from chokepoint.scenario.distributions import median
from chokepoint.scenario.events import (
    Days,
    Event,
    Factor,
    FlowSelector,
    Fraction,
    Names,
    NonNegative,
    Positive,
    event_type,
)
from chokepoint.scenario.shocks import DemandScaling

if TYPE_CHECKING:
    from chokepoint.compile.context import CompileContext
    from chokepoint.compile.model import Model, ModelBuilder


@event_type
class Stockpile(Event):
    """A reserve of a commodity placed at the holders' sites on ``start``.

    ``quantity`` (total) or ``days_of_cover`` (of the holders' baseline use); the reserve is
    split over the holders by baseline use and released ``on_shortage`` (to cover a day's
    use when the holder's own stock falls short) or ``immediately`` into their stocks.
    """

    kind: ClassVar[str] = "measure"
    type: Literal["stockpile"]
    commodity: str
    holders: Names | None = None
    regions: Names | None = None
    quantity: NonNegative | None = None
    days_of_cover: Days | None = None
    release: Literal["on_shortage", "immediately"] = "on_shortage"
    cost_per_unit_year: NonNegative = 0.0
    """Holding cost (EUR per unit and year) of the reserve, reported as the measure's cost."""

    @model_validator(mode="after")
    def _amount(self) -> Stockpile:
        if (self.quantity is None) == (self.days_of_cover is None):
            raise ValueError("give either quantity or days_of_cover")
        return self

    def references(self) -> dict[str, list[str]]:
        return {
            "commodity": [self.commodity],
            "node": list(self.holders or []),
            "country": list(self.regions or []),
        }

    def amounts(self, ctx: CompileContext, position: int) -> tuple[np.ndarray, np.ndarray]:
        """The holders' slots and ``[slot, draw]`` amounts placed there (split by use)."""
        slots = ctx.stockpile_slots(self, position)
        use = ctx.model.slot_use[slots]
        if self.quantity is not None:
            weights = use / use.sum() if use.sum() > 0 else np.full(len(slots), 1 / len(slots))
            total = ctx.draw(position, self.quantity, "quantity")
            return slots, total[None, :] * weights[:, None]
        assert self.days_of_cover is not None  # _amount: exactly one of the two is given
        days_cover = ctx.draw(position, self.days_of_cover, "days_of_cover")
        return slots, use[:, None] * days_cover[None, :]

    def compile(self, ctx: CompileContext, position: int) -> None:
        start, _ = ctx.window(self)
        target = ctx.released if self.release == "immediately" else ctx.reserve
        slots, amounts = self.amounts(ctx, position)
        for slot, amount in zip(slots, amounts, strict=True):
            injection = np.zeros((ctx.horizon, len(ctx.draws)))
            if start < ctx.horizon:  # placed before the scenario starts: there on day 0
                injection[max(start, 0)] = amount
            target.apply(slot, ctx.narrow(injection))

    def cost(self, ctx: CompileContext, position: int) -> np.ndarray:
        """Holding cost of the whole reserve over its window."""
        start, end = ctx.window(self)
        days = max(min(end, ctx.horizon) - max(start, 0), 0)
        _, amounts = self.amounts(ctx, position)
        rate = ctx.draw(position, self.cost_per_unit_year, "cost_per_unit_year")
        return amounts.sum(axis=0) * rate * days / 365.0


@event_type
class NewCapacity(Event):
    """A new plant: serves the commodity's customers in ``serves`` from ``start``, ramping up."""

    kind: ClassVar[str] = "measure"
    type: Literal["new_capacity"]
    commodity: str
    country: str
    capacity: NonNegative
    ramp_days: Days = 0.0
    serves: Names = ["EU27"]
    capex: NonNegative = 0.0
    """Investment (EUR), reported as the measure's cost."""

    def references(self) -> dict[str, list[str]]:
        return {"commodity": [self.commodity], "country": [self.country, *self.serves]}

    def plant_id(self, position: int) -> str:
        """Id of the new plant in the model (one home: model building and compile use it)."""
        return f"new_capacity[{position}]:{self.commodity}@{self.country}"

    def extend_model(self, builder: ModelBuilder, position: int) -> None:
        producer = builder.add_producer(self.plant_id(position), self.country, self.commodity)
        customers = builder.customers(self.commodity, self.serves)
        if len(customers) == 0:
            raise ScenarioError(
                f"nobody in {', '.join(self.serves)} uses '{self.commodity}': the new "
                "capacity would serve no one",
                field=f"events[{position}].serves",
            )
        for slot in customers:
            builder.add_link(producer, slot, ready=float(builder.day(self.start)), event=position)

    def compile(self, ctx: CompileContext, position: int) -> None:
        start, end = ctx.window(self)
        row = ctx.producer_row(self.plant_id(position))
        size = ctx.draw(position, self.capacity, "capacity") / 365.0
        ramp = ctx.ramp(start, ctx.draw(position, self.ramp_days, "ramp_days"))
        # the virtual producer's base capacity is 0; the multiplier carries the capacity
        ctx.capacity.apply(row, ctx.narrow(np.where(ctx.days < end, ramp, 0.0) * size[None, :]))

    def cost(self, ctx: CompileContext, position: int) -> np.ndarray:
        return ctx.draw(position, self.capex, "capex")


@event_type
class Recycling(Event):
    """A share of the region's use of a commodity met from scrap, ramping up from ``start``."""

    kind: ClassVar[str] = "measure"
    type: Literal["recycling"]
    commodity: str
    regions: Names = ["EU27"]
    share: Fraction
    ramp_days: Days = 0.0

    def references(self) -> dict[str, list[str]]:
        return {"commodity": [self.commodity], "country": list(self.regions)}

    def compile(self, ctx: CompileContext, position: int) -> None:
        start, end = ctx.window(self)
        slots = ctx.model.slots_of(self.commodity, self.regions)
        if len(slots) == 0:
            raise ScenarioError(
                "no holder of the commodity in the regions", field=f"events[{position}]"
            )
        share = ctx.draw(position, self.share, "share")
        ramp = ctx.ramp(start, ctx.draw(position, self.ramp_days, "ramp_days"))
        values = ctx.narrow(np.where(ctx.days < end, ramp, 0.0) * share[None, :])
        for slot in slots:
            ctx.scrap.apply(slot, values)


@event_type
class Substitution(Event):
    """A recipe alternative: part of the output of ``output`` uses less of ``input``.

    From ``start + lead_days`` a ``share`` of production in ``regions`` switches to a recipe
    using ``factor`` times the input (0: input-free, e.g. Dy-free or ferrite motors). The
    switched share costs ``cost_penalty`` EUR more per unit of output (reported as the
    measure's cost) and loses ``performance_penalty`` of its throughput (the producers'
    capacity falls by ``share × performance_penalty``).
    """

    kind: ClassVar[str] = "measure"
    type: Literal["substitution"]
    output: str
    input: str
    factor: Factor = 0.0
    share: Fraction = 1.0
    lead_days: Days = 0.0
    regions: Names = ["EU27"]
    cost_penalty: NonNegative = 0.0
    performance_penalty: Fraction = 0.0

    def references(self) -> dict[str, list[str]]:
        return {"commodity": [self.output, self.input], "country": list(self.regions)}

    def producers(self, model: Model) -> np.ndarray:
        """Producers of ``output`` in the regions."""
        codes = set().union(*(region_codes(r) for r in self.regions))
        return np.flatnonzero(
            (model.producer_commodity == self.output)
            & np.isin(model.producer_country.astype(str), list(codes))
        )

    def switched_days(self, ctx: CompileContext, position: int) -> np.ndarray:
        """``[day, draw]``: whether the switched share runs on the new recipe."""
        start, end = ctx.window(self)
        lead = ctx.draw(position, self.lead_days, "lead_days")
        return (ctx.days >= start + np.rint(lead)[None, :]) & (ctx.days < end)

    def compile(self, ctx: CompileContext, position: int) -> None:
        model = ctx.model
        producers = self.producers(model)
        slots = np.flatnonzero(
            np.isin(model.slot_producer, producers) & (model.slot_commodity == self.input)
        )
        if len(slots) == 0:
            raise ScenarioError(
                f"no producer of '{self.output}' in {', '.join(self.regions)} uses '{self.input}'",
                field=f"events[{position}]",
            )
        share = ctx.draw(position, self.share, "share")
        factor = ctx.draw(position, self.factor, "factor")
        switched = self.switched_days(ctx, position)
        multiplier = ctx.narrow(np.where(switched, 1.0 - share * (1.0 - factor), 1.0))
        for slot in slots:
            ctx.coef.apply(int(slot), multiplier)
        penalty = ctx.draw(position, self.performance_penalty, "performance_penalty")
        if np.any(penalty > 0):
            slower = ctx.narrow(np.where(switched, 1.0 - share * penalty, 1.0))
            for producer in producers:
                ctx.capacity.apply(producer, slower)

    def cost(self, ctx: CompileContext, position: int) -> np.ndarray:
        """``cost_penalty`` per unit of the switched baseline output, over the switched days."""
        made = float(ctx.model.output[self.producers(ctx.model)].sum())
        share = ctx.draw(position, self.share, "share")
        penalty = ctx.draw(position, self.cost_penalty, "cost_penalty")
        switched = self.switched_days(ctx, position).sum(axis=0)
        return penalty * share * made * switched


@event_type
class SupplierSwitch(Event):
    """Qualify alternative suppliers for the region's buyers of a commodity.

    Orders the usual suppliers cannot fill may move to ``suppliers`` from
    ``start + qualification_days``.
    """

    kind: ClassVar[str] = "measure"
    type: Literal["supplier_switch"]
    commodity: str
    suppliers: Names
    regions: Names = ["EU27"]
    qualification_days: Days = 0.0

    def references(self) -> dict[str, list[str]]:
        return {
            "commodity": [self.commodity],
            "producer": list(self.suppliers),
            "country": list(self.regions),
        }

    def extend_model(self, builder: ModelBuilder, position: int) -> None:
        customers = builder.customers(self.commodity, self.regions)
        if len(customers) == 0:
            raise ScenarioError(
                f"nobody in {', '.join(self.regions)} buys '{self.commodity}'",
                field=f"events[{position}].regions",
            )
        switched = 0
        for supplier in self.suppliers:
            made = builder.made(supplier)
            if made != self.commodity:
                raise ScenarioError(
                    f"supplier '{supplier}' makes '{made}', not '{self.commodity}'",
                    field=f"events[{position}].suppliers",
                )
            for slot in customers:
                switched += builder.switch_to(supplier, slot, event=position)
        if switched == 0:
            raise ScenarioError(
                "every supplier named is already a regular supplier of these buyers: "
                "the switch changes nothing",
                field=f"events[{position}].suppliers",
            )

    def compile(self, ctx: CompileContext, position: int) -> None:
        start, _ = ctx.window(self)
        qualification = ctx.draw(position, self.qualification_days, "qualification_days")
        rows = np.flatnonzero(ctx.model.link_event == position)
        ctx.ready[rows] = start + np.rint(qualification)[None, :]


@event_type
class DemandCut(DemandScaling):
    """Final demand for commodities (in regions) cut by ``cut`` (a fraction) in the window."""

    kind: ClassVar[str] = "measure"
    amount: ClassVar[str] = "cut"
    type: Literal["demand_cut"]
    cut: Fraction

    def multiplier(self, drawn: np.ndarray) -> np.ndarray:
        return 1.0 - drawn


@event_type
class AirFreight(Event, FlowSelector):
    """Part of the selected cross-border flows flies instead of going by sea.

    From ``start`` a ``share`` of each day's shipments arrives after ``days`` (door to door)
    instead of the link's transit time; goods already at sea keep their course. Air freight
    costs ``cost_multiple`` times sea freight; with ``sea_freight_cost`` (EUR per unit of
    the commodity by sea) the measure's cost is the extra freight on the share flown of the
    flows' baseline volume over the window.
    """

    kind: ClassVar[str] = "measure"
    type: Literal["air_freight"]
    share: Fraction = 1.0
    days: Positive = AIR_DAYS
    cost_multiple: NonNegative = AIR_COST_MULTIPLE
    sea_freight_cost: NonNegative | None = None

    def references(self) -> dict[str, list[str]]:
        return self.selector_references()

    def links(self, ctx: CompileContext, position: int) -> np.ndarray:
        """The selected links that have a transit time longer than the flight."""
        links = ctx.links(self, position)
        days = max(int(np.floor(median(self.days) + 0.5)), 1)
        links = links[ctx.model.link_transit[links] > days]
        if len(links) == 0:
            raise ScenarioError(
                "no selected flow takes longer than the flight: air freight changes nothing",
                field=f"events[{position}]",
            )
        return links

    def compile(self, ctx: CompileContext, position: int) -> None:
        share = ctx.columns(ctx.draw(position, self.share, "share"))
        flown = np.where(ctx.active(self), share[None, :], 0.0)
        days = max(int(np.floor(median(self.days) + 0.5)), 1)
        for link in self.links(ctx, position):
            ctx.air.apply(link, flown)
            current = ctx.air_days[link]
            ctx.air_days[link] = days if current == 0 else min(current, days)

    def cost(self, ctx: CompileContext, position: int) -> np.ndarray | None:
        if self.sea_freight_cost is None:
            return None
        flow = float(ctx.model.link_flow[self.links(ctx, position)].sum())
        share = ctx.draw(position, self.share, "share")
        extra = ctx.draw(position, self.cost_multiple, "cost_multiple") - 1.0
        freight = ctx.draw(position, self.sea_freight_cost, "sea_freight_cost")
        start, end = ctx.window(self)
        days = max(min(end, ctx.horizon) - max(start, 0), 0)
        return np.maximum(extra, 0.0) * freight * share * flow * days
