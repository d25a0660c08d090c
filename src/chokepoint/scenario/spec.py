"""Scenarios: a network reference, a horizon, a seed and a list of typed events.

A scenario file is YAML (read with ``yaml.safe_load`` only) validated by the pydantic models
below, then checked against the network it runs on
(:func:`chokepoint.simulation.run.check_scenario`). Errors name the file, the line and the
field (``events[2].approval_probability``).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from pathlib import Path
from typing import Annotated, Any

import yaml
from pydantic import Field, PrivateAttr, ValidationError

from chokepoint.errors import ScenarioError
from chokepoint.scenario.events import EVENT_TYPES, AnyEvent, When, _Model


class Settings(_Model):
    """Behaviour of the engine that is not an event."""

    restoration_days: Annotated[float, Field(gt=0)] = 10.0
    """Days over which a holder tries to restore its target stock (ARIO's τ)."""
    default_days_of_cover: Annotated[float, Field(ge=0)] = 30.0
    """Days of input stock assumed where the network gives none."""
    survive_threshold: Annotated[float, Field(gt=0, le=1)] = 0.99
    """Output below this fraction of baseline counts as a stoppage."""
    transit: bool = True
    """Cross-border links take their transit time (the links' ``transit_days``, else the
    default rule of ``docs/scenarios.md``); ``false``: every shipment arrives the day it
    leaves."""
    exporter_storage_days: Annotated[float, Field(ge=0, le=3650)] = 30.0
    """How much a producer that cannot ship may keep, in days of its baseline output
    (stated assumption, range 0-90: Chinese magnet makers stored unsold export goods while
    awaiting licences in April-June 2025, Reuters; how much is not published)."""


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
