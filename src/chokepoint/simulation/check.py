"""Check a scenario against the network it runs on, and find that network.

Every id an event refers to must exist; errors name the scenario file and the event field."""

from __future__ import annotations

from pathlib import Path

from chokepoint.errors import ScenarioError
from chokepoint.network.container import SupplyNetwork, load_default
from chokepoint.network.countries import location_problem
from chokepoint.scenario import Scenario


def check_scenario(scenario: Scenario, net: SupplyNetwork) -> None:
    """Check that every id and code an event names exists in the network."""
    known = {
        "commodity": set(net.commodities["id"]),
        "producer": set(net.producers["id"]),
        "node": set(net.producers["id"]) | set(net.demand["id"]),
    }
    for position, event in enumerate(scenario.events):
        for kind, values in event.references().items():
            for value in values:
                problem = _reference_problem(kind, value, known)
                if problem:
                    raise ScenarioError(
                        problem,
                        file=scenario.path,
                        field=f"events[{position}]{_field_of(event, value)}",
                    )
        start, end = scenario.window(event)
        if end <= 0:
            raise ScenarioError(
                f"the event ends (day {end}) before the scenario starts: it would change nothing",
                file=scenario.path,
                field=f"events[{position}].end",
            )
        if start >= scenario.horizon_days:
            raise ScenarioError(
                f"the event starts on day {start}, after the horizon of "
                f"{scenario.horizon_days} days",
                file=scenario.path,
                field=f"events[{position}].start",
            )
        if end <= start:
            raise ScenarioError(
                f"the event ends (day {end}) before it starts (day {start})",
                file=scenario.path,
                field=f"events[{position}].end",
            )


def _reference_problem(kind: str, value: str, known: dict[str, set[str]]) -> str:
    if kind == "country":
        if location_problem(value.upper()):
            return f"unknown country or region '{value}'"
        return ""
    if value not in known[kind]:
        label = {"node": "producer or demand"}.get(kind, kind)
        return f"unknown {label} '{value}'"
    return ""


def _field_of(event, value: str) -> str:
    for name, content in event.model_dump().items():
        if content == value or (isinstance(content, list) and value in content):
            return f".{name}"
    return ""


def network_for(scenario: Scenario, network: SupplyNetwork | str | Path | None) -> SupplyNetwork:
    """The network a scenario runs on: the one given, else the scenario's reference."""
    path = network_path(scenario, network)
    if isinstance(network, SupplyNetwork):
        return network
    return load_default() if path is None else SupplyNetwork.from_folder(path)


def network_path(scenario: Scenario, network: SupplyNetwork | str | Path | None) -> Path | None:
    """Folder of the network a run uses, resolved (None: the shipped default or an object).

    A relative ``network:`` in a scenario file is read relative to that file.
    """
    if isinstance(network, SupplyNetwork):
        return None
    reference = str(network) if network is not None else scenario.network
    if reference == "default":
        return None
    path = Path(reference)
    if not path.is_absolute() and scenario.path and network is None:
        path = Path(scenario.path).parent / path
    return path.resolve()


# ----------------------------------------------------------------------------- results


# ---------------------------------------------------------------------------- prepare
