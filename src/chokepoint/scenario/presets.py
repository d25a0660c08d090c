"""Preset scenarios shipped with chokepoint (``data/scenarios/*.yaml``), found by name."""

from __future__ import annotations

from importlib import resources
from pathlib import Path

from chokepoint.errors import ScenarioError
from chokepoint.scenario.spec import Scenario


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
