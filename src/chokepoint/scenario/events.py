"""Scenario events: frozen, typed shocks and measures, and the registry from YAML ``type:``.

Every event is a pydantic model with a time window; ``EVENT_TYPES`` maps the YAML ``type:``
to its class. Parameters may be numbers or distributions (:mod:`chokepoint.scenario.distributions`).
"""

from __future__ import annotations

import datetime as dt
import math
from typing import TYPE_CHECKING, Annotated, Any, ClassVar, TypeVar, get_args

import numpy as np
from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    model_validator,
)

from chokepoint.scenario.distributions import Number, quantile, support

if TYPE_CHECKING:
    from chokepoint.compile.context import CompileContext
    from chokepoint.compile.model import ModelBuilder

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
        start, end = self.start, self.end  # a day number and a date are not compared
        if (isinstance(start, int) and isinstance(end, int) and end < start) or (
            isinstance(start, dt.date) and isinstance(end, dt.date) and end < start
        ):
            raise ValueError(f"end ({self.end}) is before start ({self.start})")
        return self

    def references(self) -> dict[str, list[str]]:
        """Ids this event refers to, by kind: country, commodity, producer, node."""
        return {}

    @property
    def title(self) -> str:
        """What reports call the event: its label, else its type in words."""
        return self.label or self.type.replace("_", " ")

    # Hooks of the compile stage. Each event type says in its own class what it does; the
    # compile stage calls these through one context object and never dispatches on type.

    def extend_model(self, builder: ModelBuilder, position: int) -> None:
        """Add the plants or links the event brings to the model (default: none)."""

    def compile(self, ctx: CompileContext, position: int) -> None:
        """Write the event's exogenous inputs (gates, capacities, injections) into ``ctx``."""
        raise NotImplementedError(f"{type(self).__name__} does not compile")

    def cost(self, ctx: CompileContext, position: int) -> np.ndarray | None:
        """What the measure costs per draw (EUR), or None for an event without a cost."""
        return None

    def reference_copy(self) -> Event | None:
        """The event as it applies to the reference run that losses are measured against
        (at its median), or None when the reference run ignores it (default)."""
        return None


EVENT_TYPES: dict[str, type[Event]] = {}
"""The registry: YAML ``type:`` → event class. Classes join it with :func:`event_type`."""
_E = TypeVar("_E", bound=type[Event])


def event_type(cls: _E) -> _E:
    """Class decorator: register an event class under the literal of its ``type`` field."""
    registered: type[Event] = cls
    name = get_args(registered.model_fields["type"].annotation)[0]
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
