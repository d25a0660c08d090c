"""The inputs an audit swings: assumed data rows, scenario distributions and settings.

Three kinds, one :class:`Input` each:

* ``data``: every row of :func:`chokepoint.network.assumptions.assumption_table` (a range
  from the data, or the documented default rule where a row has none). A producer's
  capacity is swung with its baseline output in proportion (the assumption table's rule);
  its output, where the range is of the output, with the capacity raised if it would fall
  below it.
* ``scenario``: every parameter given as a distribution
  (:func:`chokepoint.simulation.sensitivity.uncertain_parameters`), at its median in the base
  case and swung from its 5th to its 95th percentile; and the event fields of
  :data:`EVENT_FIELDS` given as numbers (a licensing regime's ``volume_headroom``), over
  their stated range.
* ``setting``: the engine settings of :data:`SETTINGS` — ``default_days_of_cover`` (the
  stock assumed where the network gives none) and ``restoration_days`` (τ) by the same
  default rule as a data row without a range (value × 0.5 to × 1.5);
  ``exporter_storage_days`` and ``sea_days`` (the transit rule's days between continents)
  over their stated ranges (0 to 90 and 28 to 42 days).

:func:`apply` returns the network and scenario with some inputs set to new values; tables
are copied, never changed in place, and the network is not validated again (every value
lies in its stated range).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any, cast

import numpy as np
import pandas as pd
import scipy.sparse as sp
from scipy.sparse.csgraph import connected_components

from chokepoint.compile.transit import SEA_DAYS
from chokepoint.network.assumptions import DEFAULT_RELATIVE_RANGE, assumption_table
from chokepoint.network.container import SupplyNetwork
from chokepoint.scenario import Scenario
from chokepoint.scenario.distributions import median, quantile
from chokepoint.simulation.sensitivity import Parameter, uncertain_parameters, with_value

SETTINGS: dict[str, tuple[float, float, str] | None] = {
    "default_days_of_cover": None,
    "restoration_days": None,
    "exporter_storage_days": (
        0.0,
        90.0,
        "stated range 0-90 days (docs/default-dataset.md, mechanism defaults)",
    ),
    "sea_days": (
        28.0,
        42.0,
        "stated range 28-42 days by sea between continents (4-6 weeks China-EU, Schaeffler "
        "via Politico, June 2025)",
    ),
}
"""Scenario settings the audit swings (each an assumption of the engine): a stated range
``(low, high, reason)``, or ``None`` for the default rule (value × 0.5 to × 1.5)."""

SETTING_DEFAULTS = {"sea_days": SEA_DAYS}
"""The value a setting left blank (``None``) stands for."""

EVENT_FIELDS: dict[str, tuple[float, float, str]] = {
    "volume_headroom": (
        0.0,
        0.28,
        "stated range 0-0.28 (docs/default-dataset.md, mechanism defaults: China's magnet "
        "exports +27.9% y/y to Germany in Sept 2025; 0: CLEPA, no stockpiling)",
    ),
}
"""Event fields the audit swings over a stated range when the scenario gives a number (a
distribution is swung from its p5 to its p95 like any other)."""


@dataclass(frozen=True)
class Input:
    """One input to swing: where it sits, its base value and its range."""

    label: str
    kind: str  # data, scenario or setting
    group: str
    base: float
    low: float
    high: float
    sourced: bool
    source: str = ""
    reason: str = ""
    table: str = ""
    row: int = -1  # 0-based row of the table
    column: str = ""
    parameter: Parameter | None = None
    nodes: tuple[str, ...] = ()  # producers and buyers the row belongs to (data rows)

    @property
    def fixed(self) -> bool:
        """True when the range is a single value (nothing to swing)."""
        return self.low == self.high


def _materials(net: SupplyNetwork) -> dict[str, str]:
    return dict(zip(net.commodities["id"], net.commodities["material"].astype(str), strict=True))


def _row_commodity(net: SupplyNetwork, table: str, row: int) -> str:
    frame = net.table(table)
    if table == "commodities":
        return str(frame["id"].iloc[row])
    if table == "links":
        made = dict(zip(net.producers["id"], net.producers["commodity"], strict=True))
        return str(made.get(frame["supplier"].iloc[row], ""))
    if table == "recipes":
        return str(frame["output"].iloc[row])
    return str(frame["commodity"].iloc[row])


def _row_nodes(net: SupplyNetwork, table: str, row: int, commodity: str) -> tuple[str, ...]:
    frame = net.table(table)
    if table in {"commodities", "recipes"}:
        column = "commodity"
        makers = net.producers.loc[net.producers[column] == commodity, "id"]
        buyers = net.demand.loc[net.demand[column] == commodity, "id"]
        return tuple(makers) + tuple(buyers)
    if table == "links":
        return (str(frame["supplier"].iloc[row]), str(frame["customer"].iloc[row]))
    if table == "stocks":
        return (str(frame["holder"].iloc[row]),)
    return (str(frame["id"].iloc[row]),)


def data_inputs(net: SupplyNetwork) -> list[Input]:
    """One input per row of the network's assumption table."""
    table = assumption_table(net)
    materials = _materials(net)
    found = []
    for item in cast(Any, table.itertuples(index=False)):
        commodity = _row_commodity(net, item.table, int(item.row) - 1)
        material = materials.get(commodity, "other") or "other"
        found.append(
            Input(
                label=f"{item.table}[{item.key}].{item.column}",
                kind="data",
                group=f"{item.table}.{item.column}:{material}",
                base=float(item.value),
                low=float(item.low),
                high=float(item.high),
                sourced=bool(item.sourced),
                source=str(item.source),
                reason=str(item.reason),
                table=str(item.table),
                row=int(item.row) - 1,
                column=str(item.column),
                nodes=_row_nodes(net, str(item.table), int(item.row) - 1, commodity),
            )
        )
    return found


def components(net: SupplyNetwork) -> dict[str, int]:
    """The weakly connected part of the network (through its links) each node is in."""
    nodes = list(dict.fromkeys([*net.producers["id"], *net.demand["id"]]))
    index = {n: i for i, n in enumerate(nodes)}
    rows = [index[s] for s in net.links["supplier"] if s in index]
    cols = [
        index[c]
        for s, c in zip(net.links["supplier"], net.links["customer"], strict=True)
        if s in index
    ]
    graph = sp.coo_matrix((np.ones(len(rows)), (rows, cols)), shape=(len(nodes), len(nodes)))
    _, labels = connected_components(graph, directed=False)
    return {n: int(labels[i]) for n, i in index.items()}


def touched_components(net: SupplyNetwork, scenario: Scenario) -> set[int] | None:
    """The parts of the network some event acts on (None: all of them).

    A part is touched when it holds a producer or buyer of a commodity an event names, or a
    producer or node an event names. An event that names no commodity, producer or node
    (only countries, or nothing) may act anywhere: then every part is touched.
    """
    part = components(net)
    made = pd.concat(
        [net.producers[["id", "commodity"]], net.demand[["id", "commodity"]]], ignore_index=True
    )
    touched: set[int] = set()
    for event in scenario.events:
        refs = event.references()
        commodities = set(refs.get("commodity", []))
        content = getattr(event, "value_content", None)
        if content is not None:
            commodities |= set(content.controlled)
        named = set(refs.get("producer", [])) | set(refs.get("node", []))
        if not commodities and not named:
            return None
        nodes = set(made.loc[made["commodity"].isin(commodities), "id"]) | named
        touched |= {part[n] for n in nodes if n in part}
    return touched


def scenario_inputs(scenario: Scenario) -> list[Input]:
    """One input per distribution in the scenario, and one per swung setting."""
    found = []
    for parameter in uncertain_parameters(scenario):
        found.append(
            Input(
                label=parameter.label,
                kind="scenario",
                group="scenario",
                base=median(parameter.value),
                low=quantile(parameter.value, 0.05),
                high=quantile(parameter.value, 0.95),
                sourced=False,
                reason="scenario parameter given as a distribution (p5 to p95)",
                parameter=parameter,
            )
        )
    for index, event in enumerate(scenario.events):
        for field, (low, high, reason) in EVENT_FIELDS.items():
            value = getattr(event, field, None)
            if not isinstance(value, int | float) or isinstance(value, bool):
                continue
            parameter = Parameter(index, field, None, float(value))
            found.append(
                Input(
                    label=parameter.label,
                    kind="scenario",
                    group="scenario",
                    base=float(value),
                    low=min(low, float(value)),
                    high=max(high, float(value)),
                    sourced=False,
                    reason=reason,
                    parameter=parameter,
                )
            )
    for name, stated in SETTINGS.items():
        given = getattr(scenario.settings, name)
        value = float(SETTING_DEFAULTS[name] if given is None else given)
        low, high = value * (1 - DEFAULT_RELATIVE_RANGE), value * (1 + DEFAULT_RELATIVE_RANGE)
        reason = "engine setting; default rule (value × 0.5 to × 1.5)"
        if stated is not None:
            low, high, reason = min(stated[0], value), max(stated[1], value), stated[2]
        found.append(
            Input(
                label=f"settings.{name}",
                kind="setting",
                group="settings",
                base=value,
                low=low,
                high=high,
                sourced=False,
                reason=reason,
                column=name,
            )
        )
    return found


def all_inputs(net: SupplyNetwork, scenario: Scenario) -> list[Input]:
    """Data rows, then scenario parameters and settings."""
    return data_inputs(net) + scenario_inputs(scenario)


def base_scenario(scenario: Scenario) -> Scenario:
    """The scenario with every distribution at its median (the audit's base case)."""
    for parameter in uncertain_parameters(scenario):
        scenario = with_value(scenario, parameter, median(parameter.value))
    return scenario


def _set_data(tables: dict[str, pd.DataFrame], item: Input, value: float) -> None:
    frame: Any = tables[item.table]
    column = frame.columns.get_loc(item.column)
    if item.table == "producers" and item.column == "capacity":
        output = frame.columns.get_loc("output")
        base = float(frame.iat[item.row, column])
        if base > 0:
            frame.iat[item.row, output] = float(frame.iat[item.row, output]) * value / base
    if item.table == "producers" and item.column == "output":
        capacity = frame.columns.get_loc("capacity")
        frame.iat[item.row, capacity] = max(float(frame.iat[item.row, capacity]), value)
    frame.iat[item.row, column] = value


def apply(
    net: SupplyNetwork, scenario: Scenario, values: dict[Input, float]
) -> tuple[SupplyNetwork, Scenario]:
    """The network and scenario with each input of ``values`` set to its value."""
    touched = {item.table for item in values if item.kind == "data"}
    tables = {name: net.table(name).copy() for name in touched}
    settings = {}
    for item, value in values.items():
        if item.kind == "data":
            _set_data(tables, item, value)
        elif item.kind == "scenario" and item.parameter is not None:
            scenario = with_value(scenario, item.parameter, value)
        else:
            settings[item.column] = value
    if settings:
        data = scenario.model_dump(by_alias=True, exclude_none=True, serialize_as_any=True)
        data["settings"].update(settings)
        changed = Scenario.model_validate(data)
        changed._path = scenario.path
        scenario = changed
    if tables:
        net = dataclasses.replace(net, **cast(Any, tables))
    return net, scenario
