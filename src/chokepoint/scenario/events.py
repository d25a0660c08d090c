"""Scenario events: frozen, typed shocks and measures, and the registry from YAML ``type:``.

Every event is a pydantic model with a time window; ``EVENT_TYPES`` maps the YAML ``type:``
to its class. Parameters may be numbers or distributions (:mod:`chokepoint.scenario.distributions`).
"""

from __future__ import annotations

import datetime as dt
import math
from typing import Annotated, Any, ClassVar, Literal, TypeVar

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    model_validator,
)

from chokepoint.scenario.distributions import Number, quantile, support

# --------------------------------------------------------------------------- field types

MAX_DAYS = 36_500
"""Longest duration or day offset accepted anywhere in a scenario: 100 years."""
MAX_QUANTITY = 1e15
"""Largest quantity (commodity units, or units per year) or sum of money (EUR) accepted."""
MAX_FACTOR = 100.0
"""Largest multiplier of a baseline accepted (demand shift, substitution input factor)."""
EARLIEST_DATE = dt.date(1900, 1, 1)
LATEST_DATE = dt.date(2199, 12, 31)
"""Dates outside this range are refused: the whole horizon must stay within the range of
calendar arithmetic used for outputs (pandas timestamps end in 2262)."""


def _as_list(value: Any) -> Any:
    return [value] if isinstance(value, str) else value


Names = Annotated[list[str], BeforeValidator(_as_list)]
"""A list of ids or codes; a single string is accepted as a list of one."""


def _bounded(low: float | None = None, high: float | None = None, *, strict_low: bool = False):
    def check(value: Number) -> Number:
        lo, hi = support(value)
        reach = "" if isinstance(value, int | float) else f"; {value.dist} can reach "
        if low is not None and (lo < low or (strict_low and lo <= low)):
            bound = f"greater than {low:g}" if strict_low else f"at least {low:g}"
            raise ValueError(
                f"must be {bound} (got {lo:g})" if not reach else f"must be {bound}{reach}{lo:g}"
            )
        if high is not None and hi > high:
            if math.isinf(hi):
                hi = quantile(value, 1 - 1e-6)  # unbounded: its one-in-a-million draw
            if hi > high:
                raise ValueError(
                    f"must be at most {high:g} (got {hi:g})"
                    if not reach
                    else f"must be at most {high:g}{reach}{hi:g}"
                )
        return value

    return AfterValidator(check)


def _not_bool(what: str):
    def check(value: Any) -> Any:
        if isinstance(value, bool):
            raise ValueError(f"{str(value).lower()} is not {what}")
        return value

    return BeforeValidator(check)


def _date(value: Any) -> Any:
    if isinstance(value, str):
        try:
            value = dt.date.fromisoformat(value.strip())
        except ValueError:
            raise ValueError(f"'{value}' is not a date (YYYY-MM-DD)") from None
    if isinstance(value, dt.date) and not EARLIEST_DATE <= _day_of(value) <= LATEST_DATE:
        raise ValueError(
            f"{value.isoformat()} is outside the dates accepted "
            f"({EARLIEST_DATE.isoformat()} to {LATEST_DATE.isoformat()})"
        )
    return value


def _day_of(value: dt.date) -> dt.date:
    return value.date() if isinstance(value, dt.datetime) else value


Whole = Annotated[int, _not_bool("a whole number")]
"""An integer; true and false are not numbers."""
Date = Annotated[dt.date, BeforeValidator(_date)]
"""A calendar date between EARLIEST_DATE and LATEST_DATE."""
Probability = Annotated[Number, _bounded(0.0, 1.0)]
Fraction = Annotated[Number, _bounded(0.0, 1.0)]
Days = Annotated[Number, _bounded(0.0, MAX_DAYS)]
Positive = Annotated[Number, _bounded(0.0, MAX_DAYS, strict_low=True)]
"""A duration in days greater than 0."""
NonNegative = Annotated[Number, _bounded(0.0, MAX_QUANTITY)]
"""A quantity or an amount of money: from 0 to MAX_QUANTITY."""
Factor = Annotated[Number, _bounded(0.0, MAX_FACTOR)]
"""A multiplier of a baseline: from 0 to MAX_FACTOR."""
When = Annotated[
    Date | Annotated[int, Field(ge=0, le=MAX_DAYS)], _not_bool("a date or a day number")
]
"""A date, or a day offset from the scenario start."""


class _Model(BaseModel):
    model_config = ConfigDict(
        frozen=True, extra="forbid", populate_by_name=True, allow_inf_nan=False
    )


# -------------------------------------------------------------------------------- events


class Event(_Model):
    """Base of every event: a type, an optional label and a time window."""

    kind: ClassVar[str] = "shock"
    type: str
    label: str | None = None
    start: When = 0
    end: When | None = None

    @model_validator(mode="after")
    def _window(self) -> Event:
        if self.end is not None and type(self.start) is type(self.end) and self.end < self.start:
            raise ValueError(f"end ({self.end}) is before start ({self.start})")
        return self

    def references(self) -> dict[str, list[str]]:
        """Ids this event refers to, by kind: country, commodity, producer, node."""
        return {}


EVENT_TYPES: dict[str, type[Event]] = {}
_E = TypeVar("_E", bound=type[Event])
"""The registry: YAML ``type:`` → event class. Classes join it with :func:`event_type`."""


def event_type(cls: _E) -> _E:
    """Class decorator: register an event class under the literal of its ``type`` field."""
    name = cls.model_fields["type"].annotation.__args__[0]  # type: ignore[union-attr]
    if name in EVENT_TYPES:
        raise TypeError(f"event type {name!r} registered twice")
    EVENT_TYPES[name] = cls
    return cls


class Exemption(_Model):
    """Part of a restricted flow let through from a date (for some customers, or all): up to
    ``share`` of its baseline volume."""

    start: When = 0
    share: Fraction = 1.0
    customers: Names | None = None
    label: str | None = None


class FlowSelector(_Model):
    """Which links an export measure hits: exports from ``exporter`` (cross-border only)."""

    exporter: Names
    commodity: Names | None = None
    destinations: Names | None = None
    producer: Names | None = None
    customers: Names | None = None

    def selector_references(self) -> dict[str, list[str]]:
        return {
            "country": [*self.exporter, *(self.destinations or [])],
            "commodity": list(self.commodity or []),
            "producer": list(self.producer or []),
            "node": list(self.customers or []),
        }


@event_type
class ExportBan(Event, FlowSelector):
    """No exports of the selected flows in the window, except the exemptions."""

    type: Literal["export_ban"]
    exemptions: list[Exemption] = []

    def references(self) -> dict[str, list[str]]:
        refs = self.selector_references()
        refs["node"] += [c for e in self.exemptions for c in (e.customers or [])]
        return refs


@event_type
class ExportQuota(Event, FlowSelector):
    """Exports of the selected flows capped at a fraction of their baseline volume."""

    type: Literal["export_quota"]
    fraction: Fraction

    def references(self) -> dict[str, list[str]]:
        return self.selector_references()


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
    volume_headroom: Annotated[float, Field(ge=0, le=MAX_FACTOR)] = 0.0
    """Licensed contracts ship at most (1 + headroom) × their baseline volume: 0 means a
    licence covers the contracted quantity, so buyers cannot stock up through it (CLEPA,
    2025: "stockpiling virtually impossible")."""
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


@event_type
class Outage(Event):
    """Producers lose a fraction of capacity in the window, then recover linearly."""

    type: Literal["outage"]
    producer: Names
    capacity_loss: Fraction = 1.0
    recovery_days: Days = 0.0

    def references(self) -> dict[str, list[str]]:
        return {"producer": list(self.producer)}


@event_type
class DemandShift(Event):
    """Final demand for commodities (in regions) multiplied by ``factor`` in the window."""

    type: Literal["demand_shift"]
    commodity: Names
    regions: Names | None = None
    factor: Factor

    def references(self) -> dict[str, list[str]]:
        return {"commodity": list(self.commodity), "country": list(self.regions or [])}


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


@event_type
class DemandCut(Event):
    """Final demand for commodities (in regions) cut by ``cut`` (a fraction) in the window."""

    kind: ClassVar[str] = "measure"
    type: Literal["demand_cut"]
    commodity: Names
    regions: Names | None = None
    cut: Fraction

    def references(self) -> dict[str, list[str]]:
        return {"commodity": list(self.commodity), "country": list(self.regions or [])}


def _parse_event(value: Any) -> Any:
    if isinstance(value, Event):
        return value
    if not isinstance(value, dict):
        raise ValueError("an event must be a mapping with a 'type'")
    kind = value.get("type")
    if not isinstance(kind, str) or kind not in EVENT_TYPES:
        raise ValueError(f"unknown event type {kind!r} (known: {', '.join(EVENT_TYPES)})")
    return EVENT_TYPES[kind].model_validate(value)


AnyEvent = Annotated[Event, BeforeValidator(_parse_event)]
