"""The licensing authority of an ``export_licensing`` event, and when its contracts apply.

``authority`` says how fast applications are decided (a capacity in decisions per week, as
a share of the event's contracts), in which order (arrival, or the largest contracts first),
how that changes by date (``schedule``: a stall, faster decisions, other odds or validity),
which flows get a fast-track ``channel`` (served before the others, with their own odds,
delay or validity), and when ``general_licences`` are granted to the largest contracts (the
large exporters'). ``applications`` says which contracts apply on the first day (the
initial wave), when the others do, and how many other applications (buyers outside the
modelled flows) compete for the authority's capacity. Left out, the authority has unlimited
capacity, one set of values and every contract applies on the first day: the model before
the authority.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, model_validator

from chokepoint.scenario.distributions import Number, support
from chokepoint.scenario.events import (
    Days,
    Fraction,
    Names,
    NonNegative,
    Positive,
    Probability,
    When,
    _bounded,
    _Model,
)

Capacity = Annotated[Number, _bounded(0.0, 1e6)] | Literal["unlimited"]
"""Decisions per week as a share of the event's contracts (0.1: a tenth of them a week, so
a first wave of every contract takes ten weeks; 0: a stall), or ``unlimited``."""

_VALUES = ("capacity_per_week", "approval_probability", "processing_days", "validity_days")


def _ordered(before: When, after: When) -> bool:
    """Whether ``after`` comes after ``before`` (a date and a day number are not compared)."""
    if type(before) is not type(after):
        return True
    return after > before  # type: ignore[operator]


class Phase(_Model):
    """From ``from``, the values given here replace those in force (the others stay)."""

    from_: When = Field(alias="from")
    capacity_per_week: Capacity | None = None
    approval_probability: Probability | None = None
    processing_days: Days | None = None
    validity_days: Positive | None = None
    label: str | None = None

    @model_validator(mode="after")
    def _changes_something(self) -> Phase:
        if all(getattr(self, key) is None for key in _VALUES):
            raise ValueError(f"a schedule entry must change one of {', '.join(_VALUES)}")
        return self


class Channel(_Model):
    """A fast track from ``from`` until ``until``: applications for the flows to
    ``destinations`` (or ``customers``) filed in that window are served before all others;
    values given here replace the ones in force for them (left out: the same)."""

    from_: When = Field(alias="from")
    until: When | None = None
    destinations: Names | None = None
    customers: Names | None = None
    approval_probability: Probability | None = None
    processing_days: Days | None = None
    validity_days: Positive | None = None
    label: str | None = None

    @model_validator(mode="after")
    def _some_flows(self) -> Channel:
        if not self.destinations and not self.customers:
            raise ValueError("a channel needs destinations or customers")
        if self.until is not None and not _ordered(self.from_, self.until):
            raise ValueError(f"until ({self.until}) is not after from ({self.from_})")
        return self


class GeneralLicences(_Model):
    """On ``from``, general licences for the largest contracts of each flow reached (of
    ``commodity``, to ``destinations`` or ``customers`` when given), those holding ``share``
    of its volume to the nearest contract: the large exporters' contracts. Each is granted with
    ``approval_probability`` and is valid ``validity_days``; its renewals are general too."""

    from_: When = Field(alias="from")
    share: Fraction
    approval_probability: Probability = 1.0
    validity_days: Positive = 365.0
    commodity: Names | None = None
    destinations: Names | None = None
    customers: Names | None = None
    label: str | None = None


class Authority(_Model):
    """How the exporter's licensing office decides applications."""

    capacity_per_week: Capacity = "unlimited"
    priority: Literal["arrival", "volume"] = "arrival"
    """``arrival``: first come, first served; ``volume``: the largest contracts first, then
    by arrival (channels come before either)."""
    schedule: list[Phase] = []
    channels: list[Channel] = []
    general_licences: list[GeneralLicences] = []

    @model_validator(mode="after")
    def _in_order(self) -> Authority:
        for before, after in zip(self.schedule, self.schedule[1:], strict=False):
            if not _ordered(before.from_, after.from_):
                raise ValueError("schedule entries must be in date order")
        return self


class Applications(_Model):
    """When contracts apply, and what else the authority decides."""

    initial_share: Fraction = 1.0
    """Chance that a contract applies on the regime's first day (the initial wave)..."""
    spread_days: Days = 0.0
    """...the others apply on a day drawn uniformly over this many days after it."""
    new_buyers_per_week: NonNegative = 0.0
    """Other applications (buyers outside the modelled flows), per week as a share of the
    event's contracts, evenly spaced: each takes one decision of the authority's capacity."""

    @model_validator(mode="after")
    def _spread(self) -> Applications:
        if support(self.initial_share)[0] < 1 and support(self.spread_days)[1] <= 0:
            raise ValueError("initial_share below 1 needs spread_days (when the others apply)")
        return self


SizeExponent = Annotated[Number, _bounded(0.0, 10.0)]
"""Contract ``c`` (0 = largest) of a flow carries volume ∝ ``(c + 1) ** -size_exponent``:
0 for equal contracts, 1 for Zipf's law."""
