"""Scenarios: a network reference, a horizon, a seed and a list of typed events.

A scenario file is UTF-8 YAML (at most ``MAX_FILE_BYTES``), read strictly
(:mod:`chokepoint.scenario.strict_yaml`: safe tags, no duplicate keys, bounded nesting) and
validated by the pydantic models below, then checked against the network it runs on
(:func:`chokepoint.simulation.run.check_scenario`). Errors name the file, the line and the
field (``events[2].approval_probability``).
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Iterable
from pathlib import Path
from typing import Annotated, Any

import yaml
from pydantic import (
    AfterValidator,
    BeforeValidator,
    Field,
    PrivateAttr,
    ValidationError,
    ValidationInfo,
    field_validator,
)
from pydantic_core import ErrorDetails

from chokepoint.errors import ScenarioError
from chokepoint.files import decode_utf8, read_bytes
from chokepoint.scenario import strict_yaml
from chokepoint.scenario.events import (
    EVENT_TYPES,
    MAX_DAYS,
    AnyEvent,
    Date,
    Event,
    When,
    Whole,
    _Model,
)

MAX_FILE_BYTES = 1 << 20
"""Largest scenario file read (1 MiB; the presets are a few KiB)."""
MAX_EVENTS = 1000
"""Most events one scenario may hold."""
MAX_DRAWS = 1_000_000
"""Most Monte Carlo draws a scenario may ask for (runs are also held to a work budget,
:mod:`chokepoint.simulation.budget`)."""
MAX_HORIZON_DAYS = 3650
SEED_LIMIT = 2**64
"""Seeds are integers from 0 to 2^64 - 1 (the counter-based generator's key)."""


def _check_seed(seed: int) -> int:
    if seed >= SEED_LIMIT:
        raise ValueError(f"must be below 2^64 = {SEED_LIMIT} (got {seed})")
    return seed


class Settings(_Model):
    """Behaviour of the engine that is not an event."""

    restoration_days: Annotated[float, Field(gt=0, le=MAX_DAYS)] = 10.0
    """Days over which a holder tries to restore its target stock (ARIO's τ)."""
    default_days_of_cover: Annotated[float, Field(ge=0, le=MAX_DAYS)] = 30.0
    """Days of input stock assumed where the network gives none."""
    survive_threshold: Annotated[float, Field(gt=0, le=1)] = 0.99
    """Output below this fraction of baseline counts as a stoppage."""
    transit: bool = True
    """Cross-border links take their transit time (the links' ``transit_days``, else the
    default rule of ``docs/scenarios.md``); ``false``: every shipment arrives the day it
    leaves."""
    sea_days: Annotated[float, Field(gt=0, le=MAX_DAYS)] | None = None
    """Days by sea between continents in the default transit rule, for links whose
    ``transit_days`` is blank (``None``: the rule's 35, the middle of China-EU's 4-6 weeks,
    Schaeffler via Politico, June 2025; range 28-42)."""
    exporter_storage_days: Annotated[float, Field(ge=0, le=3650)] = 30.0
    """How much a producer that cannot ship may keep, in days of its baseline output
    (stated assumption, range 0-90: Chinese magnet makers stored unsold export goods while
    awaiting licences in April-June 2025, Reuters; how much is not published)."""


def _as_date(value: Any) -> Any:
    """A calendar date (YAML ``2023-08-01`` or the same text quoted); nothing else."""
    if isinstance(value, dt.datetime):
        raise ValueError("must be a date (YYYY-MM-DD), not a date and time")
    if isinstance(value, dt.date):
        return value
    if isinstance(value, str):
        try:
            return dt.date.fromisoformat(value.strip())
        except ValueError:
            pass
    raise ValueError(f"must be a date (YYYY-MM-DD), got {value!r}")


def _not_blank(value: str) -> str:
    if not value.strip():
        raise ValueError("must not be empty")
    return value


CalendarDate = Annotated[Date, BeforeValidator(_as_date)]
"""A date given as a date: ``2023-08-01`` (numbers and date-times are refused), within the
dates every scenario date must lie in (:data:`chokepoint.scenario.events.Date`)."""
Text = Annotated[str, BeforeValidator(lambda v: _not_blank(v) if isinstance(v, str) else v)]
Texts = Annotated[list[Text], BeforeValidator(lambda v: [v] if isinstance(v, str) else v)]

METADATA = ("control", "announced", "in_force", "ends", "source")
"""Top-level keys that describe the control a preset stands for; they do not change a run."""


class Scenario(_Model):
    """A scenario: what network, when, for how long, how many draws, and what happens.

    A preset may also say which real control it stands for (all optional, none changes the
    numbers of a run): ``control`` (its name), ``announced``, ``in_force`` and ``ends`` (dates:
    announced <= in force < ends) and ``source`` (where those facts come from). ``chokepoint
    presets --timeline`` draws the presets on one time line by these dates.
    """

    name: str = "scenario"
    description: str = ""
    control: Text | None = None
    """The measure the scenario stands for, e.g. "MOFCOM/GAC announcement 23/2023"."""
    announced: CalendarDate | None = None
    """Day the measure was announced."""
    in_force: CalendarDate | None = None
    """Day it took effect."""
    ends: CalendarDate | None = None
    """Day it ended, was suspended or lapses (left out: in force, open-ended)."""
    source: Texts | None = None
    """Where the dates, items and mechanics come from (references or URLs)."""
    network: str = "default"
    start: Date = dt.date(2025, 1, 1)
    horizon_days: Annotated[Whole, Field(gt=0, le=MAX_HORIZON_DAYS)] = 365
    seed: Annotated[Whole, Field(ge=0), AfterValidator(_check_seed)] = 0
    draws: Annotated[Whole, Field(ge=1, le=MAX_DRAWS)] = 1
    settings: Settings = Settings()
    events: Annotated[list[AnyEvent], Field(max_length=MAX_EVENTS)] = []
    _path: str | None = PrivateAttr(default=None)

    @field_validator("in_force")
    @classmethod
    def _in_force_after_announcement(cls, value: dt.date | None, info: ValidationInfo) -> Any:
        announced = info.data.get("announced")
        if value is not None and announced is not None and value < announced:
            raise ValueError(f"in force ({value}) before it was announced ({announced})")
        return value

    @field_validator("ends")
    @classmethod
    def _ends_after_start(cls, value: dt.date | None, info: ValidationInfo) -> Any:
        began = info.data.get("in_force") or info.data.get("announced")
        if value is not None and began is not None and value <= began:
            raise ValueError(f"ends ({value}) on or before it began ({began})")
        return value

    @property
    def timeline_date(self) -> dt.date:
        """The date a time line places the scenario at: in force, else announced, else start."""
        return self.in_force or self.announced or self.start

    @property
    def path(self) -> str | None:
        """The file the scenario was read from, if any."""
        return self._path

    def window(self, event: Event) -> tuple[int, int]:
        """An event's first and past-the-last day (the horizon when it has no end)."""
        return self.day(event.start), self.day(event.end, default=self.horizon_days)

    def digest(self) -> str:
        """The short hash a run records for its scenario (draws and seed included; the
        control's metadata left out, as it does not change the run)."""
        text = self.model_dump_json(by_alias=True, serialize_as_any=True, exclude=set(METADATA))
        return hashlib.sha256(text.encode()).hexdigest()[:12]

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
        data = read_bytes(file, limit=MAX_FILE_BYTES, error=ScenarioError)
        return cls.from_text(decode_utf8(data, file, error=ScenarioError), label=str(file))

    @classmethod
    def from_text(cls, text: str, *, label: str = "<scenario>") -> Scenario:
        """Validate scenario YAML text; ``label`` names it in errors."""
        if len(text) > MAX_FILE_BYTES:
            raise ScenarioError(f"is larger than {MAX_FILE_BYTES >> 20} MiB", file=label)
        try:
            data = strict_yaml.load(text)
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


def _message(error: ErrorDetails) -> str:
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
        node = strict_yaml.compose(text)
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
