"""Shocks: export bans, quotas and licensing, outages, shifts of final demand.

Each class says what it does to the compiled inputs in its ``compile`` method, through the
compile stage's context object (:class:`chokepoint.compile.context.CompileContext`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, ClassVar, Literal

import numpy as np
from pydantic import Field

from chokepoint.scenario.distributions import Number, median
from chokepoint.scenario.events import (
    MAX_FACTOR,
    Days,
    Event,
    Exemption,
    Factor,
    FlowSelector,
    Fraction,
    Names,
    Positive,
    Probability,
    Whole,
    _Model,
    event_type,
)

if TYPE_CHECKING:
    from chokepoint.compile.context import CompileContext
    from chokepoint.scenario.measures import DemandCut


@event_type
class ExportBan(Event, FlowSelector):
    """No exports of the selected flows in the window, except the exemptions."""

    type: Literal["export_ban"]
    exemptions: list[Exemption] = []

    def references(self) -> dict[str, list[str]]:
        refs = self.selector_references()
        refs["node"] += [c for e in self.exemptions for c in (e.customers or [])]
        return refs

    def compile(self, ctx: CompileContext, position: int) -> None:
        active = ctx.active(self)
        closed = np.where(active, 0.0, 1.0)
        shared: dict[tuple[int, ...], tuple[np.ndarray, np.ndarray]] = {}
        for link in ctx.links(self, position):
            key = ctx.exemption_key(self.exemptions, int(link))
            if key not in shared:
                opened = ctx.exempt(closed, self.exemptions, int(link), position)
                shared[key] = (opened, ctx.volume_cap(opened, active, 0.0))
            opened, cap = shared[key]
            ctx.gate.apply(link, opened)
            ctx.quota.apply(link, cap)


@event_type
class ExportQuota(Event, FlowSelector):
    """Exports of the selected flows capped at a fraction of their baseline volume."""

    type: Literal["export_quota"]
    fraction: Fraction

    def references(self) -> dict[str, list[str]]:
        return self.selector_references()

    def compile(self, ctx: CompileContext, position: int) -> None:
        fraction = ctx.columns(ctx.draw(position, self.fraction, "fraction"))
        cap = np.where(ctx.active(self), fraction[None, :], np.inf)
        for link in ctx.links(self, position):
            ctx.quota.apply(link, cap)


class ValueContentRule(_Model):
    """Foreign-made goods with at least ``threshold`` (share of value) of the exporter's
    controlled content need the exporter's licence too (e.g. China's 0.1% rule)."""

    threshold: Fraction
    controlled: Names


@event_type
class ExportLicensing(Event, FlowSelector):
    """Each selected flow is split into contracts that need a valid licence to ship.

    A contract applies at the start of the regime, waits ``processing_days``, is approved
    with ``approval_probability`` (else re-applies after ``reapply_days``), holds a licence
    valid ``validity_days`` from approval and applies for renewal ``renewal_lead_days``
    before it expires. The share of contracts holding a valid licence gates the flow: that
    share of the contracts ships, each at most its baseline volume.
    """

    type: Literal["export_licensing"]
    licence: Literal["individual", "general"] = "individual"
    contracts: Annotated[Whole, Field(ge=1, le=1000)] = 10
    processing_days: Days = 63.0
    approval_probability: Probability = 1.0
    reapply_days: Days = 30.0
    validity_days: Positive | None = None
    renewal_lead_days: Days = 30.0
    value_content: ValueContentRule | None = None
    volume_headroom: Annotated[float, Field(ge=0, le=MAX_FACTOR)] = 0.15
    """Licensed contracts ship at most (1 + headroom) × their baseline volume, so a buyer
    refills its stock at most at this rate. Default 0.15, an assumption read off customs
    data: once licences flowed, China's magnet exports ran 17.5% above the same month of
    2024 in September 2025, to Germany 27.9% above (General Administration of Customs, as
    reported by Reuters: economictimes.indiatimes.com, 20 Oct 2025; asiacity.news/?p=138890);
    range 0 (a licence covers the contracted quantity: CLEPA, 2025, "stockpiling virtually
    impossible") to 0.28."""
    exemptions: list[Exemption] = []

    VALIDITY_DEFAULTS: ClassVar[dict[str, float]] = {"individual": 180.0, "general": 365.0}

    @property
    def validity(self) -> Number:
        """Validity in days: as given, else 180 (individual) or 365 (general)."""
        if self.validity_days is not None:
            return self.validity_days
        return self.VALIDITY_DEFAULTS[self.licence]

    def references(self) -> dict[str, list[str]]:
        refs = self.selector_references()
        refs["node"] += [c for e in self.exemptions for c in (e.customers or [])]
        if self.value_content:
            refs["commodity"] += self.value_content.controlled
        return refs

    def compile(self, ctx: CompileContext, position: int) -> None:
        ctx.licence(self, ctx.links(self, position), position)


@event_type
class Outage(Event):
    """Producers lose a fraction of capacity in the window, then recover linearly."""

    type: Literal["outage"]
    producer: Names
    capacity_loss: Fraction = 1.0
    recovery_days: Days = 0.0

    def references(self) -> dict[str, list[str]]:
        return {"producer": list(self.producer)}

    def compile(self, ctx: CompileContext, position: int) -> None:
        start, end = ctx.window(self)
        loss = ctx.draw(position, self.capacity_loss, "capacity_loss")
        recovery = ctx.draw(position, self.recovery_days, "recovery_days")
        days = ctx.days
        after = np.clip((days - end + 1) / np.maximum(recovery, 1e-12), 0.0, 1.0)
        lost = np.where(days < start, 0.0, np.where(days < end, 1.0, 1.0 - after))
        multiplier = ctx.narrow(1.0 - ctx.columns(loss)[None, :] * lost)
        for row in ctx.producers(self.producer, position):
            ctx.capacity.apply(row, multiplier)


@event_type
class DemandShift(Event):
    """Final demand for commodities (in regions) multiplied by ``factor`` in the window."""

    type: Literal["demand_shift"]
    commodity: Names
    regions: Names | None = None
    factor: Factor

    def references(self) -> dict[str, list[str]]:
        return {"commodity": list(self.commodity), "country": list(self.regions or [])}

    def compile(self, ctx: CompileContext, position: int) -> None:
        factor = ctx.columns(ctx.draw(position, self.factor, "factor"))
        scale_demand(ctx, self, position, factor)

    def reference_copy(self) -> DemandShift:
        return self.model_copy(update={"factor": median(self.factor)})


def scale_demand(
    ctx: CompileContext,
    event: DemandShift | DemandCut,
    position: int,
    factor: np.ndarray,
) -> None:
    """Multiply the final demand an event names by ``factor`` (per draw) in its window."""
    multiplier = np.where(ctx.active(event), factor[None, :], 1.0)
    for slot in ctx.demand_slots(event.commodity, event.regions, position):
        ctx.demand.apply(slot, multiplier)
