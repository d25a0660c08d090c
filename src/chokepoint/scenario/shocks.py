"""Shocks: export bans, quotas and licensing, outages, shifts of final demand.

Each class says what it does to the compiled inputs in its ``compile`` method, through the
compile stage's context object (:class:`chokepoint.compile.context.CompileContext`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, ClassVar, Literal, Self

import numpy as np
from pydantic import BeforeValidator, Field, model_validator

from chokepoint.errors import ScenarioError
from chokepoint.scenario.authority import (
    Applications,
    Authority,
    Channel,
    GeneralLicences,
    SizeExponent,
)
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
    from chokepoint.scenario.spec import Scenario


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
    exporter_flows: bool = True
    """Whether the exporter's own flows that ``commodity`` selects need the licence too
    (false: the rule reaches only the foreign-made goods, e.g. when the exporter's own
    goods are already licensed under another event)."""


@event_type
class ExportLicensing(Event, FlowSelector):
    """Each selected flow is split into contracts that need a valid licence to ship.

    A contract applies at the start of the regime (or later: ``applications``), waits for
    its turn at the ``authority`` (unlimited capacity unless given) and ``processing_days``,
    is approved with ``approval_probability`` (else re-applies after ``reapply_days``),
    holds a licence valid ``validity_days`` from approval and applies for renewal
    ``renewal_lead_days`` before it expires. The authority's ``schedule`` changes capacity,
    odds, delay and validity by date; ``channels`` serve some flows' applications first;
    ``general_licences`` go to the largest contracts on a date; ``licence_suspension`` and
    ``licence_revocation`` events act on it by its label. Contracts carry volume ∝
    ``(c + 1) ** -size_exponent``. The share of a flow's volume holding a valid licence
    gates it: that share ships, at most its baseline volume.
    """

    type: Literal["export_licensing"]
    licence: Literal["individual", "general"] = "individual"
    contracts: Annotated[Whole, Field(ge=1, le=1000)] = 10
    size_exponent: SizeExponent = 0.0
    processing_days: Days = 63.0
    approval_probability: Probability = 1.0
    reapply_days: Days = 30.0
    validity_days: Positive | None = None
    renewal_lead_days: Days = 30.0
    authority: Authority = Authority()
    applications: Applications = Applications()
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
        places: list[Channel | GeneralLicences] = [
            *self.authority.channels,
            *self.authority.general_licences,
        ]
        refs["country"] += [d for p in places for d in (p.destinations or [])]
        refs["node"] += [c for p in places for c in (p.customers or [])]
        refs["commodity"] += [
            c for g in self.authority.general_licences for c in (g.commodity or [])
        ]
        return refs

    def compile(self, ctx: CompileContext, position: int) -> None:
        ctx.licence(self, ctx.links(self, position), position)


def _as_targets(value: object) -> object:
    return [value] if isinstance(value, str | int) else value


Targets = Annotated[
    list[Annotated[int, Field(ge=0)] | str], BeforeValidator(_as_targets), Field(min_length=1)
]
"""``export_licensing`` events by label, or by position in ``events`` (from 0)."""


class LicenceAction(Event):
    """An act of the licensing authority on ``export_licensing`` events (``licensing``:
    their labels or positions). The licensing events apply it in their own compile step;
    this event's compile step only checks the reference."""

    licensing: Targets

    def targets(self, scenario: Scenario, position: int) -> list[int]:
        """Positions of the licensing events this one acts on; an error for a name that
        matches none, or a position that is not a licensing event."""
        found: list[int] = []
        where = f"events[{position}].licensing"
        for target in self.licensing:
            if isinstance(target, int):
                if target >= len(scenario.events) or not isinstance(
                    scenario.events[target], ExportLicensing
                ):
                    raise ScenarioError(
                        f"event {target} is not an export_licensing event", field=where
                    )
                found.append(target)
                continue
            named = [
                number
                for number, event in enumerate(scenario.events)
                if isinstance(event, ExportLicensing) and event.label == target
            ]
            if not named:
                raise ScenarioError(f"no export_licensing event labelled {target!r}", field=where)
            found += named
        return sorted(set(found))

    def compile(self, ctx: CompileContext, position: int) -> None:
        self.targets(ctx.scenario, position)


@event_type
class LicenceSuspension(LicenceAction):
    """The licensing requirement of the events named is lifted from ``start`` to ``end``:
    nothing is gated and nobody applies; licences held keep running. When it ends, every
    contract without a valid licence applies (e.g. MOFCOM announcement 70/2025)."""

    type: Literal["licence_suspension"]


@event_type
class LicenceRevocation(LicenceAction):
    """On ``start``, the authority revokes the licences of ``share`` of the contracts (of
    the flows to ``destinations`` or ``customers``, if given); they apply again at once."""

    type: Literal["licence_revocation"]
    share: Fraction = 1.0
    destinations: Names | None = None
    customers: Names | None = None

    @model_validator(mode="after")
    def _one_day(self) -> LicenceRevocation:
        if self.end is not None:
            raise ValueError("a revocation happens on its start day: leave out end")
        return self

    def references(self) -> dict[str, list[str]]:
        return {"country": list(self.destinations or []), "node": list(self.customers or [])}


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


class DemandScaling(Event):
    """Base of the events that scale the final demand for commodities (in regions) in the
    window by a value drawn from their field ``amount`` names."""

    amount: ClassVar[str]
    commodity: Names
    regions: Names | None = None

    def references(self) -> dict[str, list[str]]:
        return {"commodity": list(self.commodity), "country": list(self.regions or [])}

    def multiplier(self, drawn: np.ndarray) -> np.ndarray:
        """Demand's multiplier (per draw) for the drawn amount (default: the amount)."""
        return drawn

    def compile(self, ctx: CompileContext, position: int) -> None:
        drawn = ctx.columns(ctx.draw(position, getattr(self, self.amount), self.amount))
        scale_demand(ctx, self, position, self.multiplier(drawn))

    def reference_copy(self) -> Self:
        return self.model_copy(update={self.amount: median(getattr(self, self.amount))})


@event_type
class DemandShift(DemandScaling):
    """Final demand for commodities (in regions) multiplied by ``factor`` in the window."""

    amount: ClassVar[str] = "factor"
    type: Literal["demand_shift"]
    factor: Factor


def scale_demand(
    ctx: CompileContext,
    event: DemandScaling,
    position: int,
    factor: np.ndarray,
) -> None:
    """Multiply the final demand an event names by ``factor`` (per draw) in its window."""
    multiplier = np.where(ctx.active(event), factor[None, :], 1.0)
    for slot in ctx.demand_slots(event.commodity, event.regions, position):
        ctx.demand.apply(slot, multiplier)
