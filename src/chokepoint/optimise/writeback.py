"""Write a chosen portfolio back as measures: scenario events, and a scenario YAML file.

The scenario keeps its own events (shocks and any measures it had) and gains one event per
measure the optimiser chose (amount above zero), each labelled with its catalogue id, so
``chokepoint run`` (or :func:`chokepoint.simulation.run.simulate`) runs the portfolio.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import numpy as np
import yaml

from chokepoint.optimise.measures import MEASURE_KINDS
from chokepoint.optimise.solve import Solution
from chokepoint.scenario import Scenario

MINIMUM = 1e-6


def portfolio_events(solution: Solution) -> list[dict]:
    """One event (a dict as in a scenario file) per measure chosen."""
    events = []
    for candidate, amount in zip(solution.candidates, solution.amounts, strict=True):
        kind = MEASURE_KINDS[candidate.type]
        if amount <= MINIMUM * max(
            1.0, kind.upper(candidate) if np.isfinite(kind.upper(candidate)) else 1.0
        ):
            continue
        if kind.integer:
            if amount < 0.5:
                continue
            amount = 1.0
        events.append(kind.event(candidate, float(amount), solution.case))
    return events


def portfolio_scenario(solution: Solution, name: str | None = None) -> Scenario:
    """The case's scenario with the portfolio's events added."""
    scenario = solution.case.scenario
    data = scenario.model_dump(by_alias=True, exclude_none=True, serialize_as_any=True)
    data["events"] = [*data["events"], *portfolio_events(solution)]
    data["name"] = name or f"{scenario.name}+portfolio"
    data["description"] = (
        f"{scenario.description} Measures chosen by chokepoint optimise for "
        + ", ".join(str(t) for t in solution.targets)
        + "."
    ).strip()
    result = Scenario.model_validate(data)
    result._path = scenario.path
    return result


def scenario_yaml(scenario: Scenario) -> str:
    """A scenario as YAML text (dates as ISO strings), readable by ``Scenario.from_text``."""
    data = scenario.model_dump(mode="json", by_alias=True, exclude_none=True, serialize_as_any=True)
    if data.get("network") == "default":
        data.pop("network")
    return yaml.safe_dump(data, sort_keys=False, allow_unicode=True, width=100)


def write_scenario(scenario: Scenario, path: str | Path) -> Path:
    """Write the YAML atomically (a temporary file renamed into place)."""
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=target.parent, suffix=".yaml.tmp")
    with os.fdopen(handle, "w", encoding="utf-8") as file:
        file.write(scenario_yaml(scenario))
    os.replace(temporary, target)
    return target
