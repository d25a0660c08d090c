"""Scenarios: a network reference, a horizon, a seed and a list of typed events.

A scenario file is YAML (read with ``yaml.safe_load`` only) validated by the pydantic models
below, then checked against the network it runs on (:func:`check_scenario`). Every event is
a frozen, typed object; ``EVENT_TYPES`` maps the YAML ``type:`` to its class. Errors name
the file, the line and the field (``events[2].approval_probability``).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from importlib import resources
from pathlib import Path
from typing import Annotated, Any, ClassVar, Literal

import yaml
from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PrivateAttr,
    ValidationError,
    model_validator,
)

from chokepoint.errors import ScenarioError
from chokepoint.scenario.distributions import Number, support

# --------------------------------------------------------------------------- field types


def _as_list(value: Any) -> Any:
    return [value] if isinstance(value, str) else value


Names = Annotated[list[str], BeforeValidator(_as_list)]
"""A list of ids or codes; a single string is accepted as a list of one."""


def _bounded(low: float | None = None, high: float | None = None, *, strict_low: bool = False):
    def check(value: Number) -> Number:
        lo, hi = support(value)
        if low is not None and (lo < low or (strict_low and lo <= low)):
            bound = f"greater than {low}" if strict_low else f"at least {low}"
            raise ValueError(f"must be {bound} (got {lo:g})")
        if high is not None and hi > high:
            raise ValueError(f"must be at most {high} (got {hi:g})")
        return value

    return AfterValidator(check)


Probability = Annotated[Number, _bounded(0.0, 1.0)]
Fraction = Annotated[Number, _bounded(0.0, 1.0)]
Days = Annotated[Number, _bounded(0.0)]
Positive = Annotated[Number, _bounded(0.0, strict_low=True)]
NonNegative = Annotated[Number, _bounded(0.0)]
When = dt.date | Annotated[int, Field(ge=0)]
"""A date, or a day offset from the scenario start."""


class _Model(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", populate_by_name=True)


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


class ExportBan(Event, FlowSelector):
    """No exports of the selected flows in the window, except the exemptions."""

    type: Literal["export_ban"]
    exemptions: list[Exemption] = []

    def references(self) -> dict[str, list[str]]:
        refs = self.selector_references()
        refs["node"] += [c for e in self.exemptions for c in (e.customers or [])]
        return refs


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
    contracts: Annotated[int, Field(ge=1, le=1000)] = 10
    processing_days: Days = 63.0
    approval_probability: Probability = 1.0
    reapply_days: Days = 30.0
    validity_days: Positive | None = None
    renewal_lead_days: Days = 30.0
    value_content: ValueContentRule | None = None
    volume_headroom: Annotated[float, Field(ge=0)] = 0.0
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


class Outage(Event):
    """Producers lose a fraction of capacity in the window, then recover linearly."""

    type: Literal["outage"]
    producer: Names
    capacity_loss: Fraction = 1.0
    recovery_days: Days = 0.0

    def references(self) -> dict[str, list[str]]:
        return {"producer": list(self.producer)}


class DemandShift(Event):
    """Final demand for commodities (in regions) multiplied by ``factor`` in the window."""

    type: Literal["demand_shift"]
    commodity: Names
    regions: Names | None = None
    factor: NonNegative

    def references(self) -> dict[str, list[str]]:
        return {"commodity": list(self.commodity), "country": list(self.regions or [])}


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
    days_of_cover: NonNegative | None = None
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
    factor: NonNegative = 0.0
    share: Fraction = 1.0
    lead_days: Days = 0.0
    regions: Names = ["EU27"]
    cost_penalty: NonNegative = 0.0
    performance_penalty: Fraction = 0.0

    def references(self) -> dict[str, list[str]]:
        return {"commodity": [self.output, self.input], "country": list(self.regions)}


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


class DemandCut(Event):
    """Final demand for commodities (in regions) cut by ``cut`` (a fraction) in the window."""

    kind: ClassVar[str] = "measure"
    type: Literal["demand_cut"]
    commodity: Names
    regions: Names | None = None
    cut: Fraction

    def references(self) -> dict[str, list[str]]:
        return {"commodity": list(self.commodity), "country": list(self.regions or [])}


EVENT_TYPES: dict[str, type[Event]] = {
    cls.model_fields["type"].annotation.__args__[0]: cls  # type: ignore[union-attr]
    for cls in (
        ExportBan,
        ExportQuota,
        ExportLicensing,
        Outage,
        DemandShift,
        Stockpile,
        NewCapacity,
        Recycling,
        Substitution,
        SupplierSwitch,
        DemandCut,
    )
}
"""The registry: YAML ``type:`` → event class."""


def _parse_event(value: Any) -> Any:
    if isinstance(value, Event):
        return value
    if not isinstance(value, dict):
        raise ValueError("an event must be a mapping with a 'type'")
    kind = value.get("type")
    if kind not in EVENT_TYPES:
        raise ValueError(f"unknown event type {kind!r} (known: {', '.join(EVENT_TYPES)})")
    return EVENT_TYPES[kind].model_validate(value)


AnyEvent = Annotated[Event, BeforeValidator(_parse_event)]


class Settings(_Model):
    """Behaviour of the engine that is not an event."""

    restoration_days: Annotated[float, Field(gt=0)] = 10.0
    """Days over which a holder tries to restore its target stock (ARIO's τ)."""
    default_days_of_cover: Annotated[float, Field(ge=0)] = 30.0
    """Days of input stock assumed where the network gives none."""
    survive_threshold: Annotated[float, Field(gt=0, le=1)] = 0.99
    """Output below this fraction of baseline counts as a stoppage."""


class Scenario(_Model):
    """A scenario: what network, when, for how long, how many draws, and what happens."""

    name: str = "scenario"
    description: str = ""
    network: str = "default"
    start: dt.date = dt.date(2025, 1, 1)
    horizon_days: Annotated[int, Field(gt=0, le=3650)] = 365
    seed: Annotated[int, Field(ge=0)] = 0
    draws: Annotated[int, Field(ge=1, le=1_000_000)] = 1
    settings: Settings = Settings()
    events: list[AnyEvent] = []
    _path: str | None = PrivateAttr(default=None)

    @property
    def path(self) -> str | None:
        """The file the scenario was read from, if any."""
        return self._path

    def day(self, when: When | None, default: int | None = None) -> int:
        """A date or offset as a day index from the scenario start."""
        if when is None:
            return self.horizon_days if default is None else default
        if isinstance(when, dt.date):
            return (when - self.start).days
        return int(when)

    @classmethod
    def from_yaml(cls, path: str | Path) -> Scenario:
        """Read and validate a scenario file; raise ScenarioError naming file, line, field."""
        file = Path(path)
        try:
            text = file.read_text(encoding="utf-8")
        except OSError as exc:
            raise ScenarioError(f"cannot read the file: {exc.strerror}", file=file) from None
        return cls.from_text(text, label=str(file))

    @classmethod
    def from_text(cls, text: str, *, label: str = "<scenario>") -> Scenario:
        try:
            data = yaml.safe_load(text)
        except yaml.YAMLError as exc:
            mark = getattr(exc, "problem_mark", None)
            line = mark.line + 1 if mark is not None else None
            problem = getattr(exc, "problem", None) or "not valid YAML"
            raise ScenarioError(f"not valid YAML: {problem}", file=label, row=line) from None
        if not isinstance(data, dict):
            raise ScenarioError("a scenario must be a mapping of keys to values", file=label)
        try:
            scenario = cls.model_validate(data)
        except ValidationError as exc:
            error = exc.errors()[0]
            loc = _location(error["loc"])
            message = _message(error)
            raise ScenarioError(
                message, file=label, row=_line_of(text, error["loc"]), field=loc
            ) from None
        scenario._path = label
        return scenario

    def with_overrides(self, **changes: Any) -> Scenario:
        """A copy with top-level fields replaced (e.g. draws, seed), validated again."""
        data = self.model_dump(by_alias=True, exclude_none=True, serialize_as_any=True)
        data.update({k: v for k, v in changes.items() if v is not None})
        try:
            scenario = Scenario.model_validate(data)
        except ValidationError as exc:
            error = exc.errors()[0]
            raise ScenarioError(
                _message(error), file=self.path, field=_location(error["loc"])
            ) from None
        scenario._path = self.path
        return scenario


def _location(loc: Iterable[Any]) -> str:
    parts: list[str] = []
    for item in loc:
        if isinstance(item, int):
            parts.append(f"[{item}]")
        elif item in EVENT_TYPES or str(item).startswith(("function-", "tagged-union")):
            continue
        else:
            parts.append(("." if parts else "") + str(item))
    return "".join(parts)


def _message(error: dict[str, Any]) -> str:
    if error["type"] == "extra_forbidden":
        return "unknown key"
    if error["type"] == "missing":
        return "required key is missing"
    text = str(error["msg"])
    for prefix in ("Value error, ", "Assertion failed, "):
        text = text.removeprefix(prefix)
    return " ".join(text.split())


def _line_of(text: str, loc: Iterable[Any]) -> int | None:
    """1-based line in the YAML text of the node at ``loc`` (or its nearest parent)."""
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.YAMLError:
        return None
    line = node.start_mark.line + 1 if node is not None else None
    for item in loc:
        if node is None:
            break
        child = None
        if isinstance(node, yaml.MappingNode) and isinstance(item, str):
            child = next((v for k, v in node.value if k.value == item), None)
            if child is None:
                key = next((k for k, _ in node.value if k.value == item), None)
                child = key
        elif isinstance(node, yaml.SequenceNode) and isinstance(item, int):
            child = node.value[item] if item < len(node.value) else None
        if child is None:
            continue
        node = child
        line = node.start_mark.line + 1
    return line


# ------------------------------------------------------------------------------ presets


def presets_folder() -> Path:
    return Path(str(resources.files("chokepoint") / "data" / "scenarios"))


def preset_names() -> list[str]:
    """Names of the scenario files shipped with chokepoint."""
    return sorted(p.stem for p in presets_folder().glob("*.yaml"))


def resolve(name_or_path: str | Path) -> Path:
    """A scenario file path, or the file of a preset with that name."""
    path = Path(name_or_path)
    if path.suffix in {".yaml", ".yml"} or path.exists():
        if not path.is_file():
            raise ScenarioError("no such scenario file", file=path)
        return path
    candidate = presets_folder() / f"{name_or_path}.yaml"
    if not candidate.is_file():
        raise ScenarioError(
            f"'{name_or_path}' is neither a scenario file nor a preset "
            f"(presets: {', '.join(preset_names())})"
        )
    return candidate


def load_scenario(name_or_path: str | Path) -> Scenario:
    """Load a scenario by file path or preset name."""
    return Scenario.from_yaml(resolve(name_or_path))
