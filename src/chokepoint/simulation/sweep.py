"""Scenario grids: run the cartesian product of parameter values, one tidy table out.

``--vary PATH=V1,V2,...`` names a field of the scenario:

* ``events.0.validity_days`` — a field of the first event (0-based);
* ``stockpile.days`` — a field of every event of that type (``days`` is short for
  ``days_of_cover``; ``export_licensing.validity`` for ``validity_days``);
* ``settings.default_days_of_cover``, ``horizon_days`` — other fields.

Each grid point is a full Monte Carlo run with the same seed (common random numbers); the
table has one row per grid point, product and region, ready for a chart.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pandas as pd

from chokepoint.errors import OptionError
from chokepoint.network.container import SupplyNetwork
from chokepoint.scenario import EVENT_TYPES, Scenario
from chokepoint.simulation.run import simulate

ALIASES = {
    "days": "days_of_cover",
    "validity": "validity_days",
    "delay": "processing_days",
    "approval": "approval_probability",
}


def parse_vary(spec: str) -> tuple[str, list[Any]]:
    """``'events.0.validity_days=90,180'`` → ``('events.0.validity_days', [90, 180])``."""
    path, separator, listed = spec.partition("=")
    if not separator or not path.strip() or not listed.strip():
        raise OptionError("vary", f"expected PATH=VALUE,VALUE,... (got '{spec}')")
    return path.strip(), [_number(v.strip()) for v in listed.split(",") if v.strip()]


def _number(text: str) -> Any:
    for kind in (int, float):
        try:
            return kind(text)
        except ValueError:
            pass
    return text


def apply(scenario: Scenario, path: str, value: Any) -> Scenario:
    """A copy of the scenario with the field at ``path`` set to ``value`` (validated)."""
    data = scenario.model_dump(by_alias=True, exclude_none=True, serialize_as_any=True)
    parts = path.split(".")
    targets: list[dict] = []
    if parts[0] == "events" and len(parts) == 3 and parts[1].isdigit():
        index = int(parts[1])
        if index >= len(data["events"]):
            raise OptionError("vary", f"{path}: the scenario has {len(data['events'])} events")
        targets, key = [data["events"][index]], parts[2]
    elif parts[0] in EVENT_TYPES and len(parts) == 2:
        targets = [e for e in data["events"] if e["type"] == parts[0]]
        if not targets:
            raise OptionError("vary", f"{path}: the scenario has no {parts[0]} event")
        key = parts[1]
    elif len(parts) == 2:
        targets, key = [data.setdefault(parts[0], {})], parts[1]
    elif len(parts) == 1:
        targets, key = [data], parts[0]
    else:
        raise OptionError("vary", f"cannot read the path '{path}'")
    key = ALIASES.get(key, key)
    for target in targets:
        target[key] = value
    try:
        changed = Scenario.model_validate(data)
    except Exception as exc:
        first = str(exc).splitlines()
        detail = " ".join(first[1:3]).strip() if len(first) > 2 else str(exc)
        raise OptionError("vary", f"{path}={value}: {detail}") from None
    changed._path = scenario.path
    return changed


def sweep(
    scenario: Scenario,
    varies: list[tuple[str, list[Any]]],
    network: SupplyNetwork | str | Path | None = None,
    *,
    draws: int | None = None,
    scheduler: str | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> pd.DataFrame:
    """Run every combination of the values; one row per grid point × product × region."""
    if not varies:
        raise OptionError("vary", "give at least one PATH=VALUES")
    names = [path for path, _ in varies]
    grid = list(itertools.product(*(values for _, values in varies)))
    points = []
    for combination in grid:
        changed = scenario
        for path, value in zip(names, combination, strict=True):
            changed = apply(changed, path, value)
        points.append(changed)  # validate the whole grid before running any of it
    frames = []
    for number, (combination, changed) in enumerate(zip(grid, points, strict=True)):
        stats = simulate(changed, network, draws=draws, scheduler=scheduler).stats
        for path, value in zip(names, combination, strict=True):
            stats.insert(0, path, value)
        stats.insert(0, "grid_point", number)
        frames.append(stats)
        if progress is not None:
            progress(number + 1, len(grid))
    return pd.concat(frames, ignore_index=True)
