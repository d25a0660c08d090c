"""The dashboard's knobs: licence validity, processing delay, approval rate, an EU stockpile
and new EU capacity, applied to a scenario as edits of its events.

Licensing knobs change every ``export_licensing`` event of the scenario; the stockpile and
the new plant are added as ``stockpile`` and ``new_capacity`` measures from day 0. The edited
scenario is validated again like any scenario file.
"""

from __future__ import annotations

from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field

from chokepoint.errors import ScenarioError
from chokepoint.scenario import ExportLicensing, FlowSelector, Scenario
from chokepoint.scenario.distributions import median


class Knobs(BaseModel):
    """Changes to a scenario; ``None`` keeps the scenario's own value."""

    model_config = ConfigDict(extra="forbid")

    validity_days: float | None = Field(default=None, gt=0, le=3650, description="licence validity")
    processing_days: float | None = Field(
        default=None, ge=0, le=3650, description="median processing delay of a licence application"
    )
    approval_probability: float | None = Field(
        default=None, ge=0, le=1, description="probability that an application is approved"
    )
    stockpile_days: float | None = Field(
        default=None, ge=0, le=3650, description="EU stockpile in days of EU use, placed on day 0"
    )
    stockpile_commodity: str | None = Field(default=None, max_length=100)
    new_capacity: float | None = Field(
        default=None, ge=0, le=1e12, description="new EU plant: capacity per year (commodity units)"
    )
    new_capacity_commodity: str | None = Field(default=None, max_length=100)
    new_capacity_ramp_days: float = Field(default=90.0, ge=0, le=3650)

    def describe(self) -> str:
        """The knobs that change something, in a few words (empty if none)."""
        words = []
        if self.validity_days is not None:
            words.append(f"validity {self.validity_days:g} d")
        if self.processing_days is not None:
            words.append(f"processing {self.processing_days:g} d")
        if self.approval_probability is not None:
            words.append(f"approval {self.approval_probability:.0%}")
        if self.stockpile_days:
            words.append(f"stockpile {self.stockpile_days:g} d of {self.stockpile_commodity}")
        if self.new_capacity:
            words.append(f"new capacity {self.new_capacity:g}/yr of {self.new_capacity_commodity}")
        return ", ".join(words)


def _targets(scenario: Scenario, network) -> list[str]:
    """Commodities the scenario's export measures name (or make, for named producers)."""
    made = dict(zip(network.producers["id"], network.producers["commodity"], strict=True))
    found: list[str] = []
    for event in scenario.events:
        if isinstance(event, FlowSelector):
            named = list(event.commodity or []) + [
                made[p] for p in event.producer or [] if p in made
            ]
            found += [c for c in named if c not in found]
    return found


def _depth(network) -> dict[str, int]:
    inputs: dict[str, list[str]] = {}
    for output, input_ in zip(network.recipes["output"], network.recipes["input"], strict=True):
        inputs.setdefault(output, []).append(input_)
    depth: dict[str, int] = {}

    def visit(commodity: str) -> int:
        if commodity not in depth:
            depth[commodity] = 0
            depth[commodity] = max((visit(i) + 1 for i in inputs.get(commodity, [])), default=0)
        return depth[commodity]

    for commodity in network.commodities["id"]:
        visit(commodity)
    return depth


def knob_defaults(scenario: Scenario, network) -> dict[str, Any]:
    """The scenario's current values of the knobs, and the commodities they can act on.

    Stockpiles and new plants are offered for the commodities the scenario's export measures
    target and the EU uses, most processed first (magnets before oxides).
    """
    from chokepoint.analysis.metrics import consumption

    licensing = [e for e in scenario.events if isinstance(e, ExportLicensing)]
    first = licensing[0] if licensing else None
    used = consumption(network, "EU")
    depth = _depth(network)
    candidates = [c for c in _targets(scenario, network) if used.get(c, 0.0) > 0]
    candidates.sort(key=lambda c: -depth.get(c, 0))
    units = dict(zip(network.commodities["id"], network.commodities["unit"], strict=True))
    names = dict(zip(network.commodities["id"], network.commodities["name"], strict=True))
    return {
        "licensing": first is not None,
        "validity_days": median(first.validity) if first else None,
        "processing_days": median(first.processing_days) if first else None,
        "approval_probability": median(first.approval_probability) if first else None,
        "stockpile_days": 0.0,
        "new_capacity": 0.0,
        "new_capacity_ramp_days": 90.0,
        "commodities": [
            {
                "id": c,
                "name": str(names.get(c, c)),
                "unit": str(units.get(c, "")),
                "eu_use_per_year": float(used.get(c, 0.0)),
            }
            for c in candidates
        ],
        "draws": scenario.draws,
    }


def resolve_knobs(scenario: Scenario, knobs: Knobs, network) -> Knobs:
    """The knobs with the stockpile's and the new plant's commodity filled in when not given
    (the scenario's most processed target the EU uses)."""
    wanted = (knobs.stockpile_days and not knobs.stockpile_commodity) or (
        knobs.new_capacity and not knobs.new_capacity_commodity
    )
    if not wanted:
        return knobs
    candidates = [c["id"] for c in knob_defaults(scenario, network)["commodities"]]
    if not candidates:
        raise ScenarioError(
            "name the commodity for the stockpile or the new plant: the scenario's export "
            "measures target nothing the EU uses"
        )
    return knobs.model_copy(
        update={
            "stockpile_commodity": knobs.stockpile_commodity or candidates[0],
            "new_capacity_commodity": knobs.new_capacity_commodity or candidates[0],
        }
    )


def scenario_data(scenario: Scenario) -> dict[str, Any]:
    """A scenario as plain YAML-ready data (what its file would hold)."""
    return scenario.model_dump(by_alias=True, exclude_none=True, serialize_as_any=True, mode="json")


def scenario_yaml(scenario: Scenario) -> str:
    """A scenario as YAML text that reads back as the same scenario."""
    return yaml.safe_dump(scenario_data(scenario), sort_keys=False, allow_unicode=True)


def _eu_event(kind: str, label: str, commodity: str | None, **fields: Any) -> dict[str, Any]:
    """A countermeasure event of the knobs, in force from day 0."""
    return {"type": kind, "label": label, "commodity": commodity, **fields, "start": 0}


def apply_knobs(scenario: Scenario, knobs: Knobs, network, *, label: str) -> Scenario:
    """A copy of the scenario with the knobs applied, validated again (ScenarioError if not).

    ``label`` names where the scenario came from, as the result will record it.
    """
    knobs = resolve_knobs(scenario, knobs, network)
    data = scenario_data(scenario)
    for event in data["events"]:
        if event.get("type") != "export_licensing":
            continue
        if knobs.validity_days is not None:
            event["validity_days"] = knobs.validity_days
        if knobs.processing_days is not None:
            current = event.get("processing_days")
            if isinstance(current, dict) and current.get("dist") == "lognormal":
                current["median"] = max(knobs.processing_days, 1e-6)
            else:
                event["processing_days"] = knobs.processing_days
        if knobs.approval_probability is not None:
            event["approval_probability"] = knobs.approval_probability
    stock, plant = knobs.stockpile_commodity, knobs.new_capacity_commodity
    if knobs.stockpile_days:
        named = f"EU stockpile of {stock}: {knobs.stockpile_days:g} days of use"
        data["events"].append(
            _eu_event(
                "stockpile", named, stock, regions=["EU27"], days_of_cover=knobs.stockpile_days
            )
        )
    if knobs.new_capacity:
        named = f"new EU capacity for {plant}: {knobs.new_capacity:g} per year"
        data["events"].append(
            _eu_event(
                "new_capacity",
                named,
                plant,
                country="EU27",
                capacity=knobs.new_capacity,
                ramp_days=knobs.new_capacity_ramp_days,
                serves=["EU27"],
            )
        )
    text = yaml.safe_dump(data, sort_keys=False, allow_unicode=True)
    return Scenario.from_text(text, label=label)
