"""Preset scenarios shipped with chokepoint (``data/scenarios/*.yaml``), found by name, and
the time line of the controls they stand for."""

from __future__ import annotations

import datetime as dt
from importlib import resources
from pathlib import Path

import pandas as pd

from chokepoint.errors import ScenarioError
from chokepoint.scenario.spec import Scenario

TIMELINE_COLUMNS = [
    "name",
    "date",
    "control",
    "announced",
    "in_force",
    "ends",
    "start",
    "end",
    "source",
    "summary",
]


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


def summary(scenario: Scenario) -> str:
    """The first sentence of a scenario's description."""
    text = " ".join(scenario.description.split())
    return text.split(". ")[0].rstrip(".") + "." if text else ""


def timeline(scenarios: list[Scenario]) -> pd.DataFrame:
    """One row per scenario, in date order (in force, else announced, else start; then name).

    ``start`` and ``end`` are the scenario's simulated window (start + horizon); ``ends``
    the end of the control itself when the scenario gives one.
    """
    rows = [
        {
            "name": s.name,
            "date": s.timeline_date,
            "control": s.control or "",
            "announced": s.announced,
            "in_force": s.in_force,
            "ends": s.ends,
            "start": s.start,
            "end": s.start + dt.timedelta(days=s.horizon_days),
            "source": list(s.source or []),
            "summary": summary(s),
        }
        for s in scenarios
    ]
    rows.sort(key=lambda row: (row["date"], row["name"]))
    return pd.DataFrame(rows, columns=TIMELINE_COLUMNS)


def preset_timeline() -> pd.DataFrame:
    """:func:`timeline` of every shipped preset."""
    return timeline([load_scenario(name) for name in preset_names()])
